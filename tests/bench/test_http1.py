"""The webhooks benchmark's HTTP/1.1 client (bench/harness/http1.py) against a real socket
server: what it sends, how it reads answers, when it keeps a connection."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from harness.http1 import Http1Client, UnframedAnswer


class Server:
    """Answers each request with the next of `answers`; records requests and connections."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = answers
        self.requests: list[bytes] = []
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                self.requests.append(head + await reader.readexactly(length))
                answer = self.answers.pop(0)
                if not answer:
                    break  # close without answering
                writer.write(answer)
                await writer.drain()
                if b"Connection: close" in answer or b"X-Then-Idle-Close" in answer:
                    break
        except asyncio.IncompleteReadError:
            pass
        writer.close()


Serve = Callable[[list[bytes]], Awaitable[tuple[Server, str]]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[asyncio.Server] = []

    async def start(answers: list[bytes]) -> tuple[Server, str]:
        server = Server(answers)
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        servers.append(listening)
        port = listening.sockets[0].getsockname()[1]
        return server, f"http://127.0.0.1:{port}/webhooks/cj/token"

    yield start
    for listening in servers:
        listening.close()
        await listening.wait_closed()


def answer(status: int, body: bytes = b"{}", *extra: str) -> bytes:
    head = [f"HTTP/1.1 {status} X", f"content-length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def test_posts_reuse_one_connection_and_read_each_status(serve: Serve) -> None:
    server, url = await serve([answer(200), answer(503, b'{"status":503}'), answer(200)])
    client = Http1Client(url)
    statuses = [await client.post(b'{"a":1}', {"sign": "abc="}) for _ in range(3)]
    client.close()
    assert statuses == [200, 503, 200]
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /webhooks/cj/token HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nsign: abc=\r\n" in first
    assert first.endswith(b"Content-Length: 7\r\n\r\n" + b'{"a":1}')


async def test_connection_close_opens_a_new_one(serve: Serve) -> None:
    server, url = await serve([answer(200, b"{}", "Connection: close"), answer(200)])
    client = Http1Client(url)
    assert [await client.post(b"{}", {}) for _ in range(2)] == [200, 200]
    client.close()
    assert server.connections == 2


async def test_no_answer_or_an_unframed_one_is_an_error(serve: Serve) -> None:
    _, url = await serve([b"", b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"])
    client = Http1Client(url)
    with pytest.raises(ConnectionResetError):
        await client.post(b"{}", {})
    with pytest.raises(UnframedAnswer):
        await client.post(b"{}", {})
    client.close()


async def test_an_idle_connection_the_server_closed_is_not_reused(serve: Serve) -> None:
    """uvicorn closes a connection left idle past its keep-alive timeout without saying
    so in an answer: the next post opens a new connection instead of writing to it."""
    server, url = await serve([answer(200, b"{}", "X-Then-Idle-Close: 1"), answer(200)])
    client = Http1Client(url)
    assert await client.post(b"{}", {}) == 200
    async with asyncio.timeout(5):
        while server.connections == 1 and not client._idle[0].closed:
            await asyncio.sleep(0.01)
    async with asyncio.timeout(5):  # written to the closed one, it would wait for ever
        assert await client.post(b"{}", {}) == 200
    client.close()
    assert server.connections == 2
