"""The bluegreen demo app: `/` reports its color and version as JSON, `/health` answers.

Settings come from the environment: COLOR, APP_VERSION, PORT (default 8080),
HEALTH_STATUS (the status `/health` answers, default 200; set 503 to simulate a sick release).
On SIGTERM (`docker stop`) it stops accepting, lets requests in flight finish, and exits.
"""
import json
import os
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        color = os.environ.get("COLOR", "unknown")
        version = os.environ.get("APP_VERSION", "unknown")
        if self.path.split("?")[0] == os.environ.get("HEALTH_PATH", "/health"):
            status = int(os.environ.get("HEALTH_STATUS", "200"))
            self._send(status, {"status": "ok" if status < 400 else "unhealthy", "color": color})
            return
        self._send(200, {"color": color, "version": version, "host": socket.gethostname()})

    def log_message(self, *args) -> None:  # quiet: a load test makes thousands of requests
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


if __name__ == "__main__":
    server = Server(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler)
    # As PID 1 the app gets no default SIGTERM action: without this, `docker stop` would wait
    # its whole timeout and then kill requests mid-answer.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    server.server_close()
    time.sleep(0.5)  # answers already being written get to finish
