"""A stand-in OpenAI-compatible server for tests, for the faults a real server won't do on demand.

Scripted replies (500s, 429 with Retry-After, a refused response_format, a stalled or slow SSE
stream, garbage) on 127.0.0.1 with a free port; every request it received is recorded, and every
piece of a stream it sent is time-stamped, so tests assert on order rather than on sleeps.

    with StandinServer([error(500, "boom"), completion('{"ok": true}')]) as server:
        ChatClient(EndpointConfig(urls=(server.url,))).complete(messages)
        assert server.chats[-1].body["model"] == "standin"
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer to POST /v1/chat/completions."""

    status: int = 200
    body: bytes = b""  # sent whole with a Content-Length, unless `pieces` is given
    headers: dict[str, str] = field(default_factory=dict)
    pieces: list[bytes] | None = None  # sent one HTTP chunk each, `delay_s` apart (a stream)
    delay_s: float = 0.0
    stall_s: float = 0.0  # silence before the status line, or after `stall_after` pieces
    stall_after: int | None = None
    drop: bool = False  # close the connection without a word


@dataclass
class Received:
    """A request as the stand-in saw it."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: Any  # parsed JSON, or None
    at: float  # time.monotonic()


def completion(text: str, *, model: str = "standin", finish_reason: str = "stop") -> Reply:
    """A plain (non-streamed) chat completion."""
    return _json(200, {"id": "cmpl-1", "object": "chat.completion", "model": model,
                       "choices": [{"index": 0, "finish_reason": finish_reason,
                                    "message": {"role": "assistant", "content": text}}]})


def stream(deltas: Iterable[str], *, delay_s: float = 0.0, finish_reason: str | None = "stop",
           done: bool = True, model: str = "standin", crlf: bool = False, split: int = 0,
           keepalive: bool = False, stall_after: int | None = None,
           stall_s: float = 0.0) -> Reply:
    """An SSE chat stream as vLLM sends it: a role chunk, one chunk per delta, [DONE].

    `crlf` ends lines with CRLF, `split` cuts the bytes into pieces of that size (events split
    across reads), `keepalive` puts a `: ping` comment before every event.
    """
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": "chunk-1", "object": "chat.completion.chunk", "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    events = [json.dumps(chunk({"role": "assistant", "content": ""}))]
    events += [json.dumps(chunk({"content": d})) for d in deltas]
    if finish_reason is not None:
        events.append(json.dumps(chunk({}, finish_reason)))
    if done:
        events.append("[DONE]")
    return sse_reply(events, delay_s=delay_s, crlf=crlf, split=split, keepalive=keepalive,
                     stall_after=stall_after, stall_s=stall_s)


def sse_reply(events: Iterable[str], *, delay_s: float = 0.0, crlf: bool = False,
              split: int = 0, keepalive: bool = False, stall_after: int | None = None,
              stall_s: float = 0.0) -> Reply:
    """Raw SSE events (each a `data:` payload) as one streamed reply."""
    end = "\r\n" if crlf else "\n"
    texts = [(f": ping{end}" if keepalive else "") + f"data: {e}{end}{end}" for e in events]
    pieces = [t.encode() for t in texts]
    if split:
        raw = b"".join(pieces)
        pieces = [raw[i:i + split] for i in range(0, len(raw), split)]
    return Reply(headers={"Content-Type": "text/event-stream"}, pieces=pieces, delay_s=delay_s,
                 stall_after=stall_after, stall_s=stall_s)


def error(status: int, message: str, *, retry_after: str | None = None,
          vllm_style: bool = True) -> Reply:
    """An error body: vLLM's flat {"object": "error", ...} or OpenAI's {"error": {...}}."""
    if vllm_style:
        body: dict[str, Any] = {"object": "error", "message": message, "type": "BadRequestError",
                                "param": None, "code": status}
    else:
        body = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    reply = _json(status, body)
    if retry_after is not None:
        reply.headers["Retry-After"] = retry_after
    return reply


def garbage(text: str, *, status: int = 200, content_type: str = "text/html") -> Reply:
    """A body that is not an OpenAI answer (a proxy's page, a wrong port)."""
    return Reply(status=status, body=text.encode(), headers={"Content-Type": content_type})


def stall(seconds: float) -> Reply:
    """Accept the request and say nothing for `seconds`."""
    return Reply(stall_s=seconds, body=b"{}")


def unused_url() -> str:
    """A base URL where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _json(status: int, data: Any) -> Reply:
    return Reply(status=status, body=json.dumps(data).encode(),
                 headers={"Content-Type": "application/json"})


Script = Iterable[Reply] | Callable[[Received], Reply]


class StandinServer:
    """A threaded HTTP server answering /v1/models and scripted /v1/chat/completions."""

    def __init__(self, replies: Script | None = None, *, model: str = "standin",
                 default: Reply | None = None) -> None:
        self.model = model
        self.default = default or completion('{"errors": []}', model=model)
        self.requests: list[Received] = []
        self.sent: list[tuple[float, bytes]] = []  # (time.monotonic(), piece) of each piece
        self.max_in_flight = 0
        self._in_flight = 0
        self._script: Callable[[Received], Reply] | None = None
        self._queue: deque[Reply] = deque()
        if callable(replies):
            self._script = replies
        elif replies is not None:
            self._queue.extend(replies)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _handler(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def chats(self) -> list[Received]:
        """The chat completion requests, in order."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def start(self) -> StandinServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()  # wakes stalled handlers
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reply_for(self, request: Received) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._script is not None:
                return self._script(request)
            return self._queue.popleft() if self._queue else self.default

    def _enter(self, delta: int) -> None:
        with self._lock:
            self._in_flight += delta
            self.max_in_flight = max(self.max_in_flight, self._in_flight)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-stream is what several tests do on purpose."""


def _handler(server: StandinServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            with server._lock:
                server.requests.append(self._received(None))
            if self.path.rstrip("/").endswith("/models"):
                data = {"object": "list", "data": [{"id": server.model, "object": "model"}]}
                self._send(_json(200, data))
            else:
                self._send(error(404, f"no route {self.path}"))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if not self.path.rstrip("/").endswith("/chat/completions"):
                with server._lock:
                    server.requests.append(self._received(body))
                self._send(error(404, f"no route {self.path}"))
                return
            server._enter(+1)
            try:
                self._send(server._reply_for(self._received(body)))
            finally:
                server._enter(-1)

        def _received(self, body: Any) -> Received:
            headers = {k.lower(): v for k, v in self.headers.items()}
            return Received(self.command, self.path, headers, body, time.monotonic())

        def _send(self, reply: Reply) -> None:
            self.close_connection = True
            if reply.drop:
                return
            if reply.stall_s and reply.stall_after is None and server._closing.wait(
                    reply.stall_s):
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Connection", "close")
            if reply.pieces is None:
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for n, piece in enumerate(reply.pieces):
                if n and reply.delay_s and server._closing.wait(reply.delay_s):
                    return
                if n == reply.stall_after and server._closing.wait(reply.stall_s):
                    return
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.flush()
                with server._lock:
                    server.sent.append((time.monotonic(), piece))
            self.wfile.write(b"0\r\n\r\n")

    return Handler
