"""A minimal HTTP/1.1 client for the open-loop generator: POSTs over keep-alive connections.

On a 2-core machine the generator shares the CPU with the service it measures; aiohttp's
client spent 300-800 µs of CPU per webhook, as much as the service's intake itself. This
one does only what the benchmark needs, for a fraction of that: one request at a time
per connection (no pipelining, as CJ sends), a body of known length, answers framed by
`Content-Length` (as uvicorn sends them; a chunked answer is refused, not misread), the
connection kept unless the server says `Connection: close`. An idle connection is reused
unless the server has closed it meanwhile; with none idle a new one is opened (the caller
bounds how many are in flight).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import cast
from urllib.parse import urlsplit

_HEAD_END = b"\r\n\r\n"


class UnframedAnswer(Exception):
    """An answer without `Content-Length` (chunked or read to close): not supported."""


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._answer: asyncio.Future[tuple[int, bool]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        answer = self._answer
        if answer is None or answer.done():
            return
        end = self._buffer.find(_HEAD_END)
        if end < 0:
            return
        head = bytes(self._buffer[:end]).lower()
        length = _content_length(head)
        if length is None:
            answer.set_exception(UnframedAnswer(head.split(b"\r\n", 1)[0].decode()))
            self.close()
            return
        if len(self._buffer) < end + 4 + length:
            return
        del self._buffer[: end + 4 + length]
        answer.set_result((int(head[9:12]), b"\r\nconnection: close" not in head))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(exc or ConnectionResetError("closed by the server"))

    async def exchange(self, request: bytes) -> tuple[int, bool]:
        """Send `request`; the answer's status and whether the connection stays open."""
        assert self._transport is not None
        if self.closed or self._transport.is_closing():
            raise ConnectionResetError("closed by the server before the request was sent")
        self._answer = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return await self._answer

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()


def _content_length(head: bytes) -> int | None:
    start = head.find(b"\r\ncontent-length:")
    if start < 0:
        return None
    start += len(b"\r\ncontent-length:")
    end = head.find(b"\r\n", start)
    return int(head[start : end if end >= 0 else None])


class Http1Client:
    """POSTs to one URL; `close` ends every connection."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"an http:// URL with a host: {url}")
        self._host = parts.hostname
        self._port = parts.port or 80
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        self._start = f"POST {target or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n".encode()
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()

    async def post(self, body: bytes, headers: Mapping[str, str]) -> int:
        """The answer's status; raises OSError (or UnframedAnswer) when there is none."""
        request = b"".join(
            (
                self._start,
                *(f"{name}: {value}\r\n".encode() for name, value in headers.items()),
                b"Content-Length: %d\r\n\r\n" % len(body),
                body,
            )
        )
        connection = self._idle_connection() or await self._connect()
        try:
            status, keep = await connection.exchange(request)
        except BaseException:
            self._drop(connection)
            raise
        if keep and not connection.closed:
            self._idle.append(connection)
        else:
            self._drop(connection)
        return status

    def _idle_connection(self) -> _Connection | None:
        """An idle connection the server has not closed meanwhile (uvicorn closes one left
        idle past its keep-alive timeout, e.g. between two levels)."""
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
            self._drop(connection)
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(_Connection, self._host, self._port)
        self._open.add(connection)
        return connection

    def _drop(self, connection: _Connection) -> None:
        connection.close()
        self._open.discard(connection)

    def close(self) -> None:
        for connection in self._open:
            connection.close()
        self._open.clear()
        self._idle.clear()
