"""The bluegreen demo app: `/` reports its color and version as JSON, `/health` answers,
`/stream` sends Server-Sent Events.

Settings come from the environment: COLOR, APP_VERSION, PORT (default 8080),
HEALTH_STATUS (the status `/health` answers, default 200; set 503 to simulate a sick release).

`/stream?seconds=S&interval=MS` (defaults 30 and 150, at most 3600 and 10000) sends an event
`tick` every MS milliseconds for S seconds, its data `{"color", "version", "host", "n"}`, then an
event `end` with `{"reason": "done"}` and the end of the chunked body. A client sees the stream
end cleanly (the `end` event, then the terminating chunk) or not (a cut: no `end` event).

On SIGTERM (`docker stop`) it stops accepting, lets requests in flight finish, ends open streams
cleanly (an `end` event with `{"reason": "shutdown"}`), and exits.
"""
import json
import os
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

stopping = threading.Event()  # set on SIGTERM: open streams end cleanly


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real app behind a proxy
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for the
    # peer's delayed ACK (about 40 ms) on a kept-alive connection.
    disable_nagle_algorithm = True

    def _send(self, status: int, body: dict) -> None:
        data = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _stream(self, query: str, info: dict) -> None:
        args = parse_qs(query)
        try:
            seconds = min(float(args.get("seconds", ["30"])[0]), 3600.0)
            interval = min(max(float(args.get("interval", ["150"])[0]), 10.0), 10000.0) / 1000
        except ValueError:
            self._send(400, {"error": "seconds and interval must be numbers"})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Accel-Buffering", "no")  # nginx: pass each event on at once
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        end = time.monotonic() + seconds
        n = 0
        reason = "done"
        try:
            while time.monotonic() < end:
                n += 1
                self._chunk(f"id: {n}\nevent: tick\ndata: {json.dumps({**info, 'n': n})}\n\n")
                if stopping.wait(interval):
                    reason = "shutdown"
                    break
            self._chunk(f"event: end\ndata: {json.dumps({**info, 'n': n, 'reason': reason})}\n\n")
            self.wfile.write(b"0\r\n\r\n")  # the end of the chunked body: a clean end
            self.wfile.flush()
        except OSError:  # the client (or the proxy) went away
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        color = os.environ.get("COLOR", "unknown")
        version = os.environ.get("APP_VERSION", "unknown")
        path, _, query = self.path.partition("?")
        if path == "/stream":
            self._stream(query, {"color": color, "version": version, "host": socket.gethostname()})
            return
        if path == os.environ.get("HEALTH_PATH", "/health"):
            status = int(os.environ.get("HEALTH_STATUS", "200"))
            self._send(status, {"status": "ok" if status < 400 else "unhealthy", "color": color})
            return
        # APP_STATUS (default 200): the status every other path answers; set 500 to simulate a
        # release that passes its health check and is broken (the smoke test's case).
        self._send(int(os.environ.get("APP_STATUS", "200")), {"color": color, "version": version, "host": socket.gethostname()})

    def log_message(self, *args) -> None:  # quiet: a load test makes thousands of requests
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


if __name__ == "__main__":
    server = Server(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler)
    # As PID 1 the app gets no default SIGTERM action: without this, `docker stop` would wait
    # its whole timeout and then kill requests mid-answer.
    def on_sigterm(*_) -> None:
        stopping.set()
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, on_sigterm)
    server.serve_forever()
    server.server_close()
    time.sleep(0.5)  # answers already being written, and streams' end events, get to finish
