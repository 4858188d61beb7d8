"""Real servers on loopback for the tests: llama.cpp's OpenAI-compatible server serving the
embedded model's GGUF (installed by tools/setup.sh), and a fault-injecting proxy in front of it.

A request through the proxy whose text names a fault (`FAULT_<name>`) gets it; every other
request is forwarded unchanged. Each answered request is logged by its body's hash, so a test
can count the paid calls a re-run repeats.
"""

import hashlib
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class LlamaServer:
    """`python -m llama_cpp.server` on a free loopback port; stop() kills it like a crash."""

    def __init__(self, gguf: str, log: Path):
        self.gguf, self.log = gguf, log
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "LlamaServer":
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "llama_cpp.server", "--model", self.gguf, "--host",
                 "127.0.0.1", "--port", str(self.port), "--n_ctx", "2048",
                 "--logits_all", "true"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/models", timeout=1)
                return self
            except OSError as err:
                if self.process.poll() is not None:
                    tail = self.log.read_text()[-2000:]
                    raise RuntimeError(f"llama.cpp server exited: {tail}") from err
                time.sleep(0.3)
        raise TimeoutError("llama.cpp server did not start")

    def served(self) -> int:
        """Chat requests answered so far (uvicorn logs each one)."""
        return self.log.read_text(errors="replace").count("POST /v1/chat/completions")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MARKER = re.compile(rb"FAULT_([a-z0-9_]+)")
FAULTS = {
    "unavailable_once": "503 the first time a request is seen, then forwarded",
    "always_500": "500 every time",
    "hang": "no answer until the client has timed out",
    "empty": "an empty completion",
    "not_utf8": "a completion with bytes that are not UTF-8",
    "not_json": "an HTML page with status 200",
    "out_of_range": "'Score: 7' written; next-token choices without any of 1-5",
}


class FaultProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, hang_s: float = 5.0):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream, self.hang_s = upstream.rstrip("/"), hang_s
        self.seen: set[bytes] = set()
        self.paid: list[str] = []  # body hashes of the requests the upstream answered
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def repeated(self) -> int:
        """Paid calls whose request had been answered before."""
        return len(self.paid) - len(set(self.paid))


class _Handler(BaseHTTPRequestHandler):
    server: FaultProxy

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self._forward(b"", "GET")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        found = MARKER.search(body)
        fault = found.group(1).decode() if found else None
        with self.server.lock:
            first = body not in self.server.seen
            self.server.seen.add(body)
        if fault == "unavailable_once" and first or fault == "always_500":
            status = 503 if fault == "unavailable_once" else 500
            return self._send(status, json.dumps({"error": {"message": fault}}).encode())
        if fault == "not_json":
            return self._send(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        if fault == "hang":
            time.sleep(self.server.hang_s)
        self._forward(body, "POST", fault)

    def _forward(self, body: bytes, method: str, fault: str | None = None) -> None:
        request = urllib.request.Request(
            self.server.upstream + self.path.removeprefix("/v1"),
            data=body or None,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, payload = err.code, err.read()
        except OSError:  # the client gave up first (a hang)
            return
        if method == "POST" and status == 200:
            with self.server.lock:
                self.server.paid.append(hashlib.sha256(body).hexdigest())
            payload = _corrupt(payload, fault)
        try:
            self._send(status, payload)
        except OSError:
            pass  # the client has closed the connection (it timed out)

    def _send(self, status: int, payload: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _corrupt(payload: bytes, fault: str | None) -> bytes:
    if fault not in ("empty", "not_utf8", "out_of_range"):
        return payload
    answer = json.loads(payload)
    choice = answer["choices"][0]
    text = {"empty": "", "not_utf8": "@@BYTES@@", "out_of_range": "Score: 7"}[fault]
    if "message" in choice:
        choice["message"]["content"] = text
    else:
        choice["text"] = text
        if fault == "out_of_range" and choice.get("logprobs"):
            choice["logprobs"]["top_logprobs"] = [{" 7": -0.1, " 0": -2.5, " ten": -3.0}]
    return json.dumps(answer).encode().replace(b"@@BYTES@@", b"\xff\xfe\xfa invalid")
