"""The load generator counts what a server really answered (fast: a toy asyncio server)."""

from __future__ import annotations

import asyncio
import threading

from benchmarks.http_load import run_load


def serve_in_thread(handler) -> tuple[int, threading.Event]:
    """A raw HTTP/1.1 server on a free loopback port, answering with ``handler(path)``."""
    ready, port = threading.Event(), []

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while head := await reader.readuntil(b"\r\n\r\n"):
            reply = handler(head.split(b" ")[1])
            if reply is None:
                writer.close()
                return
            # Head and body in separate writes: the client must reassemble split responses.
            status, body = reply
            writer.write(b"HTTP/1.1 %d X\r\ncontent-length: %d\r\n\r\n" % (status, len(body)))
            await writer.drain()
            writer.write(body)
            await writer.drain()

    async def main() -> None:
        server = await asyncio.start_server(client, "127.0.0.1", 0)
        port.append(server.sockets[0].getsockname()[1])
        ready.set()
        await asyncio.sleep(3600)

    threading.Thread(target=asyncio.run, args=(main(),), daemon=True).start()
    ready.wait(5)
    return port[0], ready


def test_counts_answers_and_errors():
    port, _ = serve_in_thread(lambda path: (200, b"x" * 3000) if path == b"/ok" else (404, b"no"))
    result = run_load("127.0.0.1", port, ["/ok", "/ok", "/missing"], {}, 4, 0.5)
    assert result.requests > 50 and 0 < result.errors < result.requests
    assert 0 < result.p50_ms <= result.p99_ms


def test_a_server_hanging_up_is_an_error():
    port, _ = serve_in_thread(lambda path: None)
    result = run_load("127.0.0.1", port, ["/"], {}, 2, 0.3)
    assert result.requests == 0 and result.errors == 2
