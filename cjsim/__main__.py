"""`python -m cjsim`: serve the simulator with uvicorn.

CJSIM_HOST (default 127.0.0.1), CJSIM_PORT (default 8700), CJSIM_LOG_LEVEL (default info),
CJSIM_ACCESS_LOG (1 to log every request; off by default so benchmarks are not slowed).
Initial limits come from CJSIM_QPS, CJSIM_LATENCY_MS, CJSIM_JITTER_MS, CJSIM_POINTS_PER_DAY.
CJSIM_STATE (default `.cjsim/state.json`, relative to the working folder) is the file the
accounts, tokens, orders, disputes and balance are kept in across restarts; set it empty to
keep them in memory only (benchmarks and tests that want a fresh simulator do).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import uvicorn

from cjsim.app import create_app
from cjsim.gate import SimulatedConnectionReset
from cjsim.state_file import StateFile, StateFileError

DEFAULT_STATE_FILE = ".cjsim/state.json"


class _QuietResets(logging.Filter):
    """A `reset` fault is intended: log one line instead of uvicorn's traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, SimulatedConnectionReset):
            record.msg = "cjsim: connection dropped by a reset fault"
            record.args = ()
            record.exc_info = None
            record.levelno = logging.INFO
            record.levelname = "INFO"
        return True


def state_file_from_env() -> StateFile | None:
    raw = os.environ.get("CJSIM_STATE", DEFAULT_STATE_FILE).strip()
    return StateFile(Path(raw).resolve()) if raw else None


def main() -> None:
    state_file = state_file_from_env()
    try:
        app = create_app(state_file=state_file)
    except StateFileError as exc:
        sys.exit(f"cjsim: {exc}")
    where = f"state in {state_file.path}" if state_file else "state in memory only"
    sys.stderr.write(f"cjsim: {where}\n")
    config = uvicorn.Config(
        app,
        host=os.environ.get("CJSIM_HOST", "127.0.0.1"),
        port=int(os.environ.get("CJSIM_PORT", "8700")),
        log_level=os.environ.get("CJSIM_LOG_LEVEL", "info"),
        access_log=os.environ.get("CJSIM_ACCESS_LOG", "0") == "1",
        # Requests held by a timeout_after_commit fault must not delay shutdown for long.
        timeout_graceful_shutdown=2,
    )
    logging.getLogger("uvicorn.error").addFilter(_QuietResets())  # after Config set logging up
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
