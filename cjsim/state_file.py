"""`CJSIM_STATE`: the simulator's remembered state in one JSON file, so a restart keeps it.

Every request that may change state (any method but GET/HEAD/OPTIONS, CJ's API and the
control API alike) saves the state before its answer starts: once a caller has seen CJ's
answer, a restart remembers what it answered. A save writes a temporary file next to the
target, fsyncs it and renames it over the target (then fsyncs the folder), so a crash at
any moment leaves either the previous file or the new one, never a torn one. Saves are
serialised; one whose content did not change writes nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cjsim import snapshot
from cjsim.state import SimState

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class StateFileError(RuntimeError):
    """The state file exists but cannot be used; the message says which file and why."""


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()
        self._last: bytes | None = None

    def load_into(self, state: SimState) -> bool:
        """Restore `state` from the file; False when there is no file yet."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StateFileError(f"cannot read {self.path}: {exc}") from exc
        try:
            snapshot.restore(state, json.loads(raw, object_hook=snapshot.decode))
        except (ValueError, snapshot.SnapshotError) as exc:
            raise StateFileError(
                f"{self.path} is not a state this cjsim can read ({exc}); move it away or "
                "delete it to start with an empty simulator"
            ) from exc
        self._last = raw
        return True

    async def save(self, state: SimState) -> None:
        async with self._lock:
            data = json.dumps(snapshot.dump(state), default=snapshot.encode).encode()
            if data == self._last:
                return
            await asyncio.to_thread(self._write, data)
            self._last = data

    def _write(self, data: bytes) -> None:
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{self.path.name}.{os.getpid()}.tmp"
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


class SaveBeforeAnswer:
    """ASGI middleware: a request that may have changed state saves it before answering."""

    def __init__(self, app: ASGIApp, state: SimState, state_file: StateFile) -> None:
        self.app = app
        self.state = state
        self.state_file = state_file

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_ONLY_METHODS:
            await self.app(scope, receive, send)
            return

        async def save_then_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                await self.state_file.save(self.state)
            await send(message)

        await self.app(scope, receive, save_then_send)
