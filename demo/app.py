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

HTTP/2 too, on the same port: a connection that opens with HTTP/2's client preface (cleartext with
prior knowledge, "h2c": what gRPC clients and Node's `http2.connect("http://...")` speak) is served
by the `h2` library; `/` and `/health` answer as over HTTP/1.1, `/stream` is HTTP/1.1's only (404).
One connection carries many requests, so it stays on one pod as a kept-alive HTTP/1.1 connection
does. On SIGTERM it sends GOAWAY (no error, the last stream it answered) and closes: the client
opens a new connection for its next requests. Anything else on the port is HTTP/1.1, unchanged.
"""
import json
import os
import select
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import h2.config
import h2.connection
import h2.events
import h2.exceptions

stopping = threading.Event()  # set on SIGTERM: open streams end cleanly, HTTP/2 connections get GOAWAY

# The first bytes of every HTTP/2 connection (RFC 9113, section 3.4).
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def opens_with_h2_preface(conn: socket.socket) -> bool:
    """Peeks (reads nothing) at a new connection's first bytes: HTTP/2's preface, or anything else.
    An HTTP/1.1 request differs from the preface within its first five bytes ("PRI *"), so the
    wait for more bytes is only for a client sending the preface, or a part of it and no more
    (after a second, HTTP/1.1 answers that as it always has)."""
    deadline = time.monotonic() + 1
    while True:
        try:
            head = conn.recv(len(H2_PREFACE), socket.MSG_PEEK)
        except OSError:
            return False
        if head == H2_PREFACE:
            return True
        if not head or not H2_PREFACE.startswith(head) or time.monotonic() > deadline:
            return False
        time.sleep(0.005)  # a part of the preface so far: look again once more has come


def serve_h2(conn: socket.socket, answer) -> None:
    """Serves one HTTP/2 connection (its preface still unread) until the client closes it, or
    SIGTERM: then GOAWAY, and the connection is closed once the client has read it."""
    h2c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    h2c.initiate_connection()
    conn.sendall(h2c.data_to_send())
    while not stopping.is_set():
        if not select.select([conn], [], [], 0.1)[0]:
            continue
        try:
            data = conn.recv(65536)
        except OSError:
            return
        if not data:
            return
        try:
            events = h2c.receive_data(data)
        except h2.exceptions.ProtocolError:
            conn.sendall(h2c.data_to_send())  # h2 has queued a GOAWAY naming the error
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                headers = dict(event.headers)
                status, body = answer(headers.get(":method", ""), headers.get(":path", "/"))
                data = (json.dumps(body) + "\n").encode()
                h2c.send_headers(event.stream_id, [(":status", str(status)), ("content-type", "application/json"), ("content-length", str(len(data)))])
                h2c.send_data(event.stream_id, data, end_stream=True)
            elif isinstance(event, h2.events.ConnectionTerminated):
                conn.sendall(h2c.data_to_send())
                return
        conn.sendall(h2c.data_to_send())
    # SIGTERM: every request read so far is answered. GOAWAY names the last of them; a request the
    # client sent after it was not processed, and the client may send it again elsewhere.
    h2c.close_connection()
    try:
        conn.sendall(h2c.data_to_send())
        conn.shutdown(socket.SHUT_WR)
        # Read until the client closes (or 0.3 s): closing with unread bytes would reset the
        # connection, and a reset can overtake the GOAWAY.
        end = time.monotonic() + 0.3
        while time.monotonic() < end and select.select([conn], [], [], max(0.0, end - time.monotonic()))[0] and conn.recv(65536):
            pass
    except OSError:
        pass


def answer(path: str) -> tuple:
    """The status and JSON body of every path but `/stream`, over HTTP/1.1 and HTTP/2 alike."""
    color = os.environ.get("COLOR", "unknown")
    version = os.environ.get("APP_VERSION", "unknown")
    if path == os.environ.get("HEALTH_PATH", "/health"):
        status = int(os.environ.get("HEALTH_STATUS", "200"))
        return status, {"status": "ok" if status < 400 else "unhealthy", "color": color}
    # APP_STATUS (default 200): the status every other path answers; set 500 to simulate a
    # release that passes its health check and is broken (the smoke test's case).
    return int(os.environ.get("APP_STATUS", "200")), {"color": color, "version": version, "host": socket.gethostname()}


def answer_h2(method: str, target: str) -> tuple:
    path = target.partition("?")[0]
    if method != "GET":
        return 501, {"error": f"unsupported method {method}"}
    if path == "/stream":
        return 404, {"error": "/stream is served over HTTP/1.1 only"}
    return answer(path)


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

    def handle(self) -> None:
        if opens_with_h2_preface(self.connection):
            serve_h2(self.connection, answer_h2)
            return
        super().handle()

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path, _, query = self.path.partition("?")
        if path == "/stream":
            color = os.environ.get("COLOR", "unknown")
            version = os.environ.get("APP_VERSION", "unknown")
            self._stream(query, {"color": color, "version": version, "host": socket.gethostname()})
            return
        self._send(*answer(path))

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
