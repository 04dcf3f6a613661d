"""A fault-injecting HTTP proxy in front of an S3 endpoint (tests and measurements).

Forwards every request to --upstream unchanged (headers, signature and body included) and
relays the answer, except that it can:
  --latency-ms N          wait N ms before forwarding each request (an S3 far away)
  --fail-every N          answer every Nth matching request itself with --fail-status
                          (default 500, InternalError), without forwarding it
  --drop-every N          forward every Nth matching request, then reset the connection
                          instead of answering (the write happened, the client cannot know)
  --stall-every N         forward every Nth matching request, then hold the answer for
                          --stall-ms (a slow response; longer than the client's timeout, it
                          becomes a timeout)
  --methods PUT,GET       which methods count as matching (default: all)
  --log-requests          one line per request on stderr ("request <METHOD> <path>")
Prints "PORT <n>" on stdout once listening (--port 0 picks a free one), and one line per
injected fault on stderr. Standard library only: runs under any python3.
"""

import argparse
import http.client
import http.server
import socket
import struct
import sys
import threading
import time
import urllib.parse


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--fail-every", type=int, default=0)
    p.add_argument("--fail-status", type=int, default=500)
    p.add_argument("--drop-every", type=int, default=0)
    p.add_argument("--stall-every", type=int, default=0)
    p.add_argument("--stall-ms", type=int, default=0)
    p.add_argument("--methods", default="")
    p.add_argument("--log-requests", action="store_true")
    args = p.parse_args()

    up = urllib.parse.urlparse(args.upstream)
    methods = {m.strip().upper() for m in args.methods.split(",") if m.strip()}
    counter = {"n": 0}
    lock = threading.Lock()

    def next_index(method: str) -> int:
        if methods and method not in methods:
            return 0
        with lock:
            counter["n"] += 1
            return counter["n"]

    def every(n: int, i: int) -> bool:
        return n > 0 and i > 0 and i % n == 0

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):  # quiet: faults are logged explicitly
            pass

        def _relay(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if args.latency_ms:
                time.sleep(args.latency_ms / 1000.0)
            i = next_index(self.command)
            if args.log_requests:
                sys.stderr.write(f"request {self.command} {self.path}\n")
            if every(args.fail_every, i):
                sys.stderr.write(f"fault: {self.command} {self.path} -> {args.fail_status}\n")
                msg = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError"
                       b"</Code><Message>injected fault</Message></Error>")
                if args.fail_status == 503:
                    msg = msg.replace(b"InternalError", b"SlowDown")
                self.send_response(args.fail_status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(msg)
                return
            conn = http.client.HTTPConnection(up.hostname, up.port or 80, timeout=60)
            headers = {k: v for k, v in self.headers.items()}
            conn.request(self.command, self.path, body=body if length else None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            if every(args.drop_every, i):
                sys.stderr.write(f"fault: {self.command} {self.path} forwarded, reply dropped\n")
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return
            if every(args.stall_every, i):
                sys.stderr.write(f"fault: {self.command} {self.path} stalled {args.stall_ms} ms\n")
                time.sleep(args.stall_ms / 1000.0)
            self.send_response_only(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() in ("transfer-encoding", "connection", "content-length"):
                    continue
                self.send_header(k, v)
            if self.command == "HEAD":
                self.send_header("Content-Length", resp.getheader("Content-Length") or "0")
            else:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def do_GET(self):
            self._relay()

        do_PUT = do_HEAD = do_DELETE = do_POST = do_GET

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True

        def handle_error(self, request, client_address):
            pass  # a client that went away (timeouts under test) is expected

    server = Server(("127.0.0.1", args.port), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
