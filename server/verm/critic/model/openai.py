"""A small OpenAI-compatible chat client for the remote critic (stdlib only).

The language server must not pull an HTTP stack, and a shared GPU box misbehaves in every way a
server can: busy (429), restarting (refused, 5xx), stalled mid-stream, or refusing
`response_format`. Each of those becomes a retry, a fail-over to the next URL, or one RemoteError
that says which URL, what came back and what to do — never a hang, never text delivered twice.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

_POLL_S = 0.05  # how often cancellation is polled while waiting or reading
_RETRY_AFTER_CAP_S = 30.0  # a server's Retry-After is honoured up to this
_MAX_BODY = 32 * 1024 * 1024  # a judgement is a few KiB; more than this is not an answer
_MAX_LINE = 4 * 1024 * 1024
_EXCERPT = 300
# Words in a 400/422 body that mean "this server will not do response_format / json_schema".
_SCHEMA_REFUSED = ("response_format", "json_schema", "guided", "not supported", "structured")

Messages = list[dict[str, Any]]


class RemoteError(Exception):
    """A remote model call failed; the message names the URL, what came back and what to do."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None):
        super().__init__(message)
        self.url = url
        self.status = status


class Cancelled(RemoteError):
    """The caller's `cancelled()` turned true (e.g. a newer save superseded this judgement)."""

    def __init__(self, url: str | None = None) -> None:
        super().__init__("cancelled", url=url)


@dataclass(frozen=True)
class EndpointConfig:
    """Where the model is served and how patiently to talk to it (chosen by the user only)."""

    urls: tuple[str, ...]
    model: str | None = None  # None: ask GET /models once and use the first id
    api_key_env: str | None = None  # the NAME of the variable holding the key, never the key
    timeout_s: float = 60.0  # connect, and each read: a stream silent this long has stalled
    retries: int = 2  # extra attempts on refused/reset connections, timeouts, 429 and 5xx
    concurrency: int = 4  # requests in flight at once, across threads
    deadline_s: float | None = None  # one complete() call, retries included; None: see below

    @property
    def deadline(self) -> float:
        """Bound on one call: deadline_s, else timeout_s for each attempt."""
        if self.deadline_s is not None:
            return self.deadline_s
        return self.timeout_s * (self.retries + 1)


@dataclass
class Completion:
    """The text a model answered, and how it came (for logs, benchmarks and fallbacks)."""

    text: str
    model: str
    url: str
    finish_reason: str | None
    used_schema: bool
    attempts: int
    elapsed_s: float


class _Retryable(Exception):
    """One attempt failed in a way the next attempt may not: network, timeout, 429, 5xx."""

    def __init__(self, error: RemoteError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class _SchemaRefused(Exception):
    """The server answered 400/422 about response_format: ask it again without one."""


class ChatClient:
    """Sends chat completions round-robin across the configured URLs; safe to share by threads."""

    def __init__(self, config: EndpointConfig) -> None:
        if not config.urls:
            raise RemoteError("no remote critic URL configured; give one like "
                              "http://gpu-box:8000/v1")
        if config.timeout_s <= 0 or config.retries < 0 or config.concurrency < 1:
            raise RemoteError(f"remote critic settings out of range (timeout_s="
                              f"{config.timeout_s}, retries={config.retries}, concurrency="
                              f"{config.concurrency}); use timeout_s > 0, retries >= 0, "
                              "concurrency >= 1")
        self.config = config
        self.urls = tuple(base_url(u) for u in config.urls)
        self._slots = threading.BoundedSemaphore(config.concurrency)
        self._lock = threading.Lock()
        self._next = 0
        self._no_schema: set[str] = set()
        self._model: str | None = config.model

    def complete(self, messages: Messages, *, schema: dict[str, Any] | None = None,
                 schema_name: str = "judgement", max_tokens: int = 1024,
                 temperature: float = 0.0, top_p: float | None = None,
                 top_k: int | None = None, repetition_penalty: float | None = None,
                 stream: bool = False, on_text: Callable[[str], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> Completion:
        """Ask the model; raise RemoteError (Cancelled when `cancelled()` turns true).

        `on_text` gets each piece of text once, as it arrives. `cancelled` is polled between
        reads and waits, and from a watcher thread that closes a blocked socket.
        """
        started = time.monotonic()
        params: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature}
        extra = {"top_p": top_p, "top_k": top_k, "repetition_penalty": repetition_penalty}
        params.update({k: v for k, v in extra.items() if v is not None})
        call = _Call(self.config, self._headers(stream), cancelled, on_text)
        with self._lock:
            first = self._next
            self._next += 1
        error = RemoteError("no attempt made")
        try:
            pauses = 0
            for n in range(self.config.retries + 1):
                url = self.urls[(first + n) % len(self.urls)]
                try:
                    text, model, finish, used = self._attempt(
                        call, url, messages, params, schema, schema_name, stream)
                    return Completion(text, model, url, finish, used, call.attempts,
                                      time.monotonic() - started)
                except _Retryable as exc:
                    error = exc.error
                    if n == self.config.retries or call.delivered:
                        break
                    if n + 1 >= len(self.urls):  # the next URL was tried already: back off
                        self._pause(call, pauses, exc.retry_after, error)
                        pauses += 1
                    log.info("remote critic: %s; trying again", error)
            raise RemoteError(f"{error} (gave up after {call.attempts} attempt(s))",
                              url=error.url, status=error.status)
        finally:
            call.close()

    def _headers(self, stream: bool) -> dict[str, str]:
        """Request headers; the key is read from the environment each time (it may rotate)."""
        headers = {"Content-Type": "application/json", "User-Agent": "verm",
                   "Accept": "text/event-stream" if stream else "application/json"}
        name = self.config.api_key_env
        if name is not None:
            key = os.environ.get(name, "").strip()
            if not key:
                raise RemoteError(f"the remote critic's API key variable {name} is not set or "
                                  f"empty; export {name}=<key>, or leave api_key_env unset for "
                                  "a server without a key")
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _attempt(self, call: _Call, url: str, messages: Messages, params: dict[str, Any],
                 schema: dict[str, Any] | None, schema_name: str,
                 stream: bool) -> tuple[str, str, str | None, bool]:
        """One try at one URL, holding a concurrency slot; falls back once to no schema."""
        with _Slot(self._slots, call, url):
            call.attempts += 1
            model = self._model_name(call, url)
            body: dict[str, Any] = {"model": model, "messages": messages, **params}
            if stream:
                body["stream"] = True
            with self._lock:
                use_schema = schema is not None and url not in self._no_schema
            if use_schema:
                try:
                    body["response_format"] = {"type": "json_schema", "json_schema": {
                        "name": schema_name, "schema": schema}}
                    return (*call.chat(url, body, model), True)
                except _SchemaRefused as exc:
                    log.info("remote critic: %s refuses response_format (%s); asking without",
                             url, exc)
                    with self._lock:
                        self._no_schema.add(url)
                    del body["response_format"]
                    call.attempts += 1
            return (*call.chat(url, body, model), False)

    def _model_name(self, call: _Call, url: str) -> str:
        """The configured model, else the first one the server lists (asked once per client)."""
        with self._lock:
            if self._model is not None:
                return self._model
        data = call.get_json(url + "/models")
        models = data.get("data") if isinstance(data, dict) else None
        if not isinstance(models, list) or not models or not isinstance(models[0], dict) \
                or not isinstance(models[0].get("id"), str):
            raise RemoteError(f"{url}/models lists no model ({_excerpt(json.dumps(data))}); "
                              "set the served model name in the remote critic's settings",
                              url=url)
        with self._lock:
            self._model = self._model or models[0]["id"]
            return self._model

    def _pause(self, call: _Call, n: int, retry_after: float | None,
               error: RemoteError) -> None:
        """Back off before trying a URL again: Retry-After if given, else 0.5 s * 2**n ± jitter."""
        delay = retry_after if retry_after is not None else 0.5 * 2 ** n * random.uniform(0.5, 1.5)
        delay = min(delay, _RETRY_AFTER_CAP_S)
        if delay >= call.remaining():
            raise RemoteError(f"{error} (no time left to wait {delay:.1f} s and try again within "
                              f"the {call.deadline_s:g} s deadline)",
                              url=error.url, status=error.status)
        end = time.monotonic() + delay
        while (left := end - time.monotonic()) > 0:
            call.check(error.url)
            time.sleep(min(_POLL_S, left))
        call.check(error.url)


class _Slot:
    """A concurrency slot, waited for with cancellation and the deadline in mind."""

    def __init__(self, slots: threading.BoundedSemaphore, call: _Call, url: str) -> None:
        self._slots, self._call, self._url = slots, call, url

    def __enter__(self) -> None:
        while not self._slots.acquire(timeout=_POLL_S):
            self._call.check(self._url)
            if self._call.remaining() <= 0:
                raise RemoteError(f"{self._url}: no free request slot within the "
                                  f"{self._call.deadline_s:g} s deadline; raise concurrency",
                                  url=self._url)

    def __exit__(self, *exc: object) -> None:
        self._slots.release()


class _Call:
    """One complete() call across its attempts: deadline, cancellation, text delivered so far."""

    def __init__(self, config: EndpointConfig, headers: dict[str, str],
                 cancelled: Callable[[], bool] | None,
                 on_text: Callable[[str], None] | None) -> None:
        self.timeout_s = config.timeout_s
        self.deadline_s = config.deadline
        self.headers = headers
        self.on_text = on_text
        self.attempts = 0
        self.delivered = False
        self._end = time.monotonic() + self.deadline_s
        self._cancelled = cancelled
        self._fired = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None  # of the current attempt (the response's own)
        self._clipped = False
        if cancelled is not None:
            threading.Thread(target=self._watch, name="verm-openai-cancel", daemon=True).start()

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def check(self, url: str | None) -> None:
        """Raise Cancelled if the caller gave up."""
        if self._fired.is_set() or (self._cancelled is not None and self._cancelled()):
            self._fired.set()
            raise Cancelled(url)

    def close(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        """Shut the socket of a blocked read the moment `cancelled()` turns true."""
        assert self._cancelled is not None
        while not self._stop.wait(_POLL_S):
            if self._cancelled():
                self._fired.set()
                with self._lock:
                    sock = self._sock
                if sock is not None:
                    with suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                return


    def get_json(self, url: str) -> Any:
        """GET a JSON document (the model list)."""
        with self._exchange("GET", url, None) as resp:
            return _parse_json(self._read_body(resp, url), url)

    def chat(self, base: str, body: dict[str, Any], model: str) -> tuple[str, str, str | None]:
        """POST one chat completion; returns (text, model, finish_reason)."""
        url = base + "/chat/completions"
        raw = json.dumps(body).encode()
        with self._exchange("POST", url, raw, schema="response_format" in body) as resp:
            kind = (resp.getheader("Content-Type") or "").lower()
            if body.get("stream") and kind.startswith("text/event-stream"):
                return self._read_stream(resp, url, model)
            data = _parse_json(self._read_body(resp, url), url)
        text, model, finish = _from_completion(data, url, model)
        if text:
            self._deliver(text)
        return text, model, finish

    @contextmanager
    def _exchange(self, method: str, url: str, body: bytes | None, *,
                  schema: bool = False) -> Iterator[http.client.HTTPResponse]:
        """Connect, send and read the status on a fresh connection, closed on the way out.

        A non-2xx answer becomes the right exception (retryable, schema refused, or final).
        """
        self.check(url)
        parts = urlsplit(url)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else \
            http.client.HTTPConnection
        conn = kind(parts.hostname or "", parts.port, timeout=self._read_timeout(url))
        try:
            try:
                conn.connect()
                with self._lock:
                    self._sock = conn.sock  # kept: http.client drops conn.sock on Connection: close
                self.check(url)
                conn.request(method, parts.path, body=body, headers=self.headers)
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                self.check(url)
                raise self._network_error(url, exc) from None
            with resp:
                if not 200 <= resp.status < 300:
                    raise self._status_error(resp, url, schema)
                yield resp
        finally:
            conn.close()
            with self._lock:
                sock, self._sock = self._sock, None
            if sock is not None:
                sock.close()

    def _read_timeout(self, url: str) -> float:
        left = self.remaining()
        if left <= 0:
            raise RemoteError(f"{url}: no answer within the {self.deadline_s:g} s deadline; "
                              "raise timeout_s (or deadline_s) or ask for fewer max_tokens",
                              url=url)
        self._clipped = left < 0.95 * self.timeout_s  # a timeout then means the deadline
        return min(self.timeout_s, left)

    def _arm(self, url: str) -> None:
        """Bound the next read by timeout_s and by what is left of the deadline."""
        if self._sock is not None:
            self._sock.settimeout(self._read_timeout(url))

    def _read_body(self, resp: http.client.HTTPResponse, url: str,
                   limit: int = _MAX_BODY) -> bytes:
        """Read a whole body one socket read at a time, so deadline and cancel are checked."""
        parts: list[bytes] = []
        size = 0
        while size < limit:
            try:
                self._arm(url)
                piece = resp.read1(65536)
            except (OSError, http.client.HTTPException) as exc:
                self.check(url)
                raise self._network_error(url, exc) from None
            self.check(url)
            if not piece:
                return b"".join(parts)
            parts.append(piece)
            size += len(piece)
        raise RemoteError(f"{url}: the answer is larger than {limit // 1024} KiB; this is not a "
                          "chat completion — check the URL", url=url)

    def _read_stream(self, resp: http.client.HTTPResponse, url: str,
                     model: str) -> tuple[str, str, str | None]:
        """Parse SSE as it arrives, handing each content delta to on_text at once."""
        events = _SseEvents()
        parts: list[str] = []
        finish: str | None = None
        while True:
            try:
                self._arm(url)
                line = resp.readline(_MAX_LINE)
            except (OSError, http.client.HTTPException) as exc:
                self.check(url)
                error = self._network_error(url, exc, streamed=sum(map(len, parts)))
                if self.delivered:  # never retry: the caller has seen part of this answer
                    raise error.error from None
                raise error from None
            self.check(url)
            if len(line) >= _MAX_LINE and not line.endswith(b"\n"):
                raise RemoteError(f"{url}: an event line longer than {_MAX_LINE // 1024} KiB in "
                                  "the stream; this is not a chat completion stream", url=url)
            payload = events.feed(line.decode("utf-8", "replace")) if line else events.flush()
            if payload is not None:
                if payload.strip() == "[DONE]":
                    break
                chunk = _parse_json(payload.encode(), url, streaming=True)
                if isinstance(chunk, dict) and chunk.get("error") is not None:
                    raise self._stream_error(chunk["error"], url)
                model = _text(chunk, "model") or model
                for choice in _list(chunk, "choices"):
                    if isinstance(choice, dict) and choice.get("index", 0) == 0:
                        delta = choice.get("delta")
                        text = delta.get("content") if isinstance(delta, dict) else None
                        if isinstance(text, str) and text:
                            parts.append(text)
                            self._deliver(text)
                        finish = choice.get("finish_reason") or finish
            if not line:  # the stream ended without [DONE]: keep what came
                break
        return "".join(parts), model, finish

    def _deliver(self, text: str) -> None:
        self.delivered = True
        if self.on_text is not None:
            self.on_text(text)


    def _network_error(self, url: str, exc: BaseException, streamed: int = 0) -> _Retryable:
        if isinstance(exc, TimeoutError):
            if self._clipped:
                what = (f"no answer within the {self.deadline_s:g} s deadline; raise timeout_s "
                        "(or deadline_s) or ask for fewer max_tokens")
            else:
                what = (f"the server sent nothing for {self.timeout_s:g} s (stalled or "
                        "overloaded); check the server or raise timeout_s")
        elif isinstance(exc, ConnectionRefusedError):
            what = "connection refused; is the model server running there? Check the URL"
        elif isinstance(exc, socket.gaierror):
            what = f"unknown host ({exc}); check the URL"
        else:
            what = (f"the connection failed ({type(exc).__name__}: {_excerpt(str(exc))}); "
                    "check the server and the network")
        if streamed:
            what += f" — after {streamed} characters of the answer had arrived"
        return _Retryable(RemoteError(f"{url}: {what}", url=url))

    def _status_error(self, resp: http.client.HTTPResponse, url: str,
                      schema: bool) -> Exception:
        status = resp.status
        try:
            raw = self._read_body(resp, url, limit=64 * 1024)
        except (_Retryable, RemoteError) as exc:
            if isinstance(exc, Cancelled):
                return exc
            raw = b""
        low = raw.decode("utf-8", "replace").lower()
        if schema and status in (400, 422) and any(word in low for word in _SCHEMA_REFUSED):
            return _SchemaRefused(f"HTTP {status}: {_error_detail(raw)}")
        if status in (401, 403):
            hint = "the server refused the credentials; check the API key (api_key_env)"
        elif status == 404:
            hint = ("check the URL (a base URL like http://gpu-box:8000/v1) and the model name "
                    "(GET /v1/models lists the served names)")
        elif status == 413:
            hint = "the request is too large for the server; send smaller images"
        elif status == 429:
            hint = "the server is busy; lower concurrency or try again later"
        elif status >= 500:
            hint = "the server failed; see its log"
        else:
            hint = "the server rejected the request"
        error = RemoteError(f"{url}: HTTP {status} {resp.reason}: {_error_detail(raw)} — {hint}",
                            url=url, status=status)
        if status in (408, 429) or status >= 500:
            return _Retryable(error, _retry_after(resp.getheader("Retry-After")))
        return error

    def _stream_error(self, error: Any, url: str) -> Exception:
        """An `error` object inside a 200 stream: retryable unless it is the request's fault."""
        message = _text(error, "message") if isinstance(error, dict) else str(error)
        code = error.get("code") if isinstance(error, dict) else None
        remote = RemoteError(f"{url}: the server reported an error in the stream: "
                             f"{_excerpt(message or json.dumps(error))}", url=url,
                             status=code if isinstance(code, int) else None)
        if self.delivered or (isinstance(code, int) and 400 <= code < 500 and code != 429):
            return remote
        return _Retryable(remote)


class _SseEvents:
    """Server-sent events from lines: each event's `data:` lines, joined; comments skipped."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> str | None:
        """Take one line; return an event's data when a blank line ends it."""
        line = line.rstrip("\n").rstrip("\r")
        if not line:
            return self.flush()
        if line.startswith(":"):  # a comment or keep-alive (": ping")
            return None
        field, _, value = line.partition(":")
        if field == "data":
            self._data.append(value.removeprefix(" "))
        return None

    def flush(self) -> str | None:
        """The pending event, if any (a stream may end without the last blank line)."""
        if not self._data:
            return None
        data, self._data = "\n".join(self._data), []
        return data


def base_url(url: str) -> str:
    """Normalise a configured URL to the API base (…/v1): scheme, host and version path."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteError(f"remote critic URL {url!r} is not an http(s) URL; give a base URL "
                          "like http://gpu-box:8000/v1")
    if parts.username or parts.password:
        raise RemoteError(f"remote critic URL for {parts.hostname} carries credentials; put the "
                          "key in an environment variable and name it in api_key_env")
    path = parts.path.rstrip("/")
    for suffix in ("/chat/completions", "/models"):
        path = path.removesuffix(suffix)
    if not re.search(r"/v\d+$", path):
        path += "/v1"
    return f"{parts.scheme}://{parts.netloc}{path}"


def _from_completion(data: Any, url: str, model: str) -> tuple[str, str, str | None]:
    """(text, model, finish_reason) of a non-streamed chat completion."""
    if isinstance(data, dict) and data.get("error") is not None:
        error = data["error"]
        message = _text(error, "message") if isinstance(error, dict) else str(error)
        raise RemoteError(f"{url}: the server answered an error: {_excerpt(message)}", url=url)
    choices = _list(data, "choices")
    message = choices[0].get("message") if choices and isinstance(choices[0], dict) else None
    if not isinstance(message, dict):
        raise RemoteError(f"{url}: the answer has no choices[0].message "
                          f"({_excerpt(json.dumps(data))}); is this an OpenAI-compatible "
                          "chat completions endpoint?", url=url)
    content = message.get("content")
    if isinstance(content, list):  # content parts, as some servers answer
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if content is not None and not isinstance(content, str):
        raise RemoteError(f"{url}: choices[0].message.content is not text "
                          f"({_excerpt(json.dumps(content))})", url=url)
    return content or "", _text(data, "model") or model, choices[0].get("finish_reason")


def _parse_json(raw: bytes, url: str, streaming: bool = False) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        where = "an event in the stream is" if streaming else "the answer is"
        raise RemoteError(f"{url}: {where} not JSON ({_excerpt(raw.decode('utf-8', 'replace'))})"
                          "; is this an OpenAI-compatible endpoint (e.g. vllm serve …/v1)?",
                          url=url) from None


def _error_detail(raw: bytes) -> str:
    """The message of an OpenAI/vLLM error body ({"error": {...}} or {"message": ...})."""
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        for candidate in (error if isinstance(error, dict) else {}, data):
            for key in ("message", "detail"):
                value = candidate.get(key)
                if value:
                    return _excerpt(value if isinstance(value, str) else json.dumps(value))
        if isinstance(error, str):
            return _excerpt(error)
    return _excerpt(raw.decode("utf-8", "replace")) or "(empty body)"


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), if it has one."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def _excerpt(text: str, limit: int = _EXCERPT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _text(data: Any, key: str) -> str | None:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _list(data: Any, key: str) -> list[Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, list) else []
