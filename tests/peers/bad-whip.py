#!/usr/bin/env python3
"""A WHIP endpoint that misbehaves on purpose, one way per path, for rtccall's bad-input tests.

Usage: bad-whip.py PORT   (listens on 127.0.0.1:PORT; prints "ready" when it does)

  /loop          every request: 307 to itself (a redirect loop)
  /hop           307 to /err (a redirect that is followed)
  /nolocation    201 with an SDP body that is not an answer to anything, and no Location
  /notsdp        201 with a text body
  /huge          201 with a 10 MB body
  /garbage-link  OPTIONS: Link headers that are not ice-server links; POST: 404
  /silent        reads the request and never answers
  /err           400 "bad offer: no ICE" (two lines of body)
"""
import http.server
import socketserver
import sys
import time

FAKE_ANSWER = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\n"
    "a=mid:0\r\na=ice-ufrag:zzzz\r\na=ice-pwd:zzzzzzzzzzzzzzzzzzzzzzzz\r\n"
    "a=fingerprint:sha-256 00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:"
    "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00\r\n"
    "a=setup:active\r\na=recvonly\r\na=rtpmap:111 opus/48000/2\r\n"
)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_OPTIONS(self):
        if self.path == "/garbage-link":
            self.send(204, headers=[("Link", "garbage"), ("Link", '<turn:>; rel="ice-server"')])
        elif self.path == "/silent":
            time.sleep(3600)
        else:
            self.send(204)

    def do_POST(self):
        self.read_body()
        p = self.path
        if p == "/loop":
            self.send(307, headers=[("Location", "/loop")])
        elif p == "/hop":
            self.send(307, headers=[("Location", "/err")])
        elif p == "/nolocation":
            self.send(201, FAKE_ANSWER.encode(), [("Content-Type", "application/sdp")])
        elif p == "/notsdp":
            self.send(201, b"hello\n", [("Content-Type", "text/plain"), ("Location", "/r")])
        elif p == "/huge":
            self.send(201, b"v=0\r\n" + b"a" * (10 * 1024 * 1024),
                      [("Content-Type", "application/sdp"), ("Location", "/r")])
        elif p == "/silent":
            time.sleep(3600)
        elif p == "/err":
            self.send(400, b"bad offer: no ICE\nsecond line\n", [("Content-Type", "text/plain")])
        else:
            self.send(404, b"not here\n")

    def do_DELETE(self):
        self.send(404, b"no such resource\n")

    def do_PATCH(self):
        self.read_body()
        self.send(405)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    srv = Server(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    srv.serve_forever()
