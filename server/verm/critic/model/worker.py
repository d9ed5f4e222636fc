"""The model worker process: ``python -m verm.critic.model.worker``, spoken to over a pipe.

One JSON object per line each way. Requests: ``{"id", "op": "load", "spec"}``,
``{"id", "op": "generate", "messages", "images": [base64 PNG...], "sampling"}``,
``{"id", "op": "cancel"}`` (stops that generation early). Events: ``{"id", "event": "status",
"message", "fraction"}`` while loading, ``{"id", "event": "text", "text"}`` as generation
produces it, then ``{"id", "event": "done", ...}`` or ``{"id", "event": "error", "message"}``.

The protocol has the process's real stdout to itself: file descriptor 1 is pointed at stderr
first, so a library that prints cannot corrupt it. End of input ends the worker.
"""

from __future__ import annotations

import base64
import io
import json
import os
import queue
import sys
import threading
import traceback
from typing import IO, Any

from verm.critic.model.runtime import Loaded, ModelSpec, Sampling, generate, load

MAX_LINE = 256 * 1024 * 1024  # a request line: two 1024-px PNGs in base64 are a few MB


class Worker:
    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.lock = threading.Lock()
        self.loaded: Loaded | None = None
        self.spec: ModelSpec | None = None
        self.stops: dict[Any, threading.Event] = {}

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, ensure_ascii=False)
        with self.lock:
            self.out.write(line + "\n")
            self.out.flush()

    def handle(self, request: dict[str, Any]) -> None:
        rid = request.get("id")
        try:
            op = request.get("op")
            if op == "load":
                self.load(rid, ModelSpec.from_json(request["spec"]))
            elif op == "generate":
                self.generate(rid, request)
            elif op == "ping":
                self.send({"id": rid, "event": "done"})
            else:
                self.send({"id": rid, "event": "error", "message": f"unknown op {op!r}"})
        except Exception as exc:
            detail = traceback.format_exc(limit=6)
            print(detail, file=sys.stderr, flush=True)
            self.send({"id": rid, "event": "error",
                       "message": f"{type(exc).__name__}: {exc}", "detail": detail[-4000:]})
        finally:
            self.stops.pop(rid, None)

    def load(self, rid: Any, spec: ModelSpec) -> None:
        if self.loaded is None or self.spec != spec:
            self.loaded = None
            self.loaded = load(spec, lambda message, fraction: self.send(
                {"id": rid, "event": "status", "message": message, "fraction": fraction}))
            self.spec = spec
        self.send({"id": rid, "event": "done", "facts": self.loaded.facts})

    def generate(self, rid: Any, request: dict[str, Any]) -> None:
        if self.loaded is None:
            raise RuntimeError("no model loaded (send a load request first)")
        from PIL import Image

        images = [Image.open(io.BytesIO(base64.b64decode(b))).convert("RGB")
                  for b in request.get("images", [])]
        stop = self.stops.setdefault(rid, threading.Event())
        stats = generate(self.loaded, request["messages"], images,
                         Sampling.from_json(request.get("sampling") or {}),
                         lambda text: self.send({"id": rid, "event": "text", "text": text}), stop)
        self.send({"id": rid, "event": "done", **stats})


def main() -> int:
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # stray prints of libraries go to stderr, not into the protocol
    sys.stdout = sys.stderr
    worker = Worker(protocol)
    jobs: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def serve() -> None:
        while True:
            request = jobs.get()
            if request is None:
                return
            worker.handle(request)

    runner = threading.Thread(target=serve, name="verm-worker", daemon=True)
    runner.start()
    for line in sys.stdin.buffer:
        if len(line) > MAX_LINE:
            continue
        try:
            request = json.loads(line)
        except ValueError:
            continue
        if not isinstance(request, dict):
            continue
        if request.get("op") == "cancel":
            worker.stops.setdefault(request.get("id"), threading.Event()).set()
            continue
        if request.get("op") == "generate":
            worker.stops.setdefault(request.get("id"), threading.Event())
        jobs.put(request)
    jobs.put(None)
    runner.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
