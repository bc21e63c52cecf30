#!/usr/bin/env python3
"""A stand-in for the AMD KDS (and Intel's PCS) on 127.0.0.1, for cci-verify fetch tests.

The first path segment picks the behaviour, the rest is looked up (with its query string)
in a JSON map of KDS path -> file:
  /ok/...          the mapped file, or 404
  /notfound/...    404
  /ratelimit1/...  429 (Retry-After: 1) on the first request for each path, then as /ok
  /ratelimited/... 429 (Retry-After: 1) always
  /garbage/...     200 with bytes that are no certificate
  /hang/...        no answer for 60 s
A map value is a file name, or {"file": NAME, "headers": {HEADER: FILE}}: each header's value is
FILE's text percent-encoded (RFC 3986), as Intel's PCS sends issuer chains.
Every request is appended to the log as "SCENARIO PATH".
"""
import argparse
import http.server
import json
import threading
import time
import urllib.parse

parser = argparse.ArgumentParser()
parser.add_argument("--map", required=True)
parser.add_argument("--port-file", required=True)
parser.add_argument("--log", required=True)
args = parser.parse_args()

with open(args.map) as f:
    files = json.load(f)
seen = set()
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        _, scenario, rest = self.path.split("/", 2)
        path = "/" + rest
        with lock:
            with open(args.log, "a") as log:
                log.write(f"{scenario} {path}\n")
            first = (scenario, path) not in seen
            seen.add((scenario, path))
        if scenario == "hang":
            time.sleep(60)
            return
        if scenario == "notfound":
            return self.answer(404, b"Not Found")
        if scenario == "ratelimited" or (scenario == "ratelimit1" and first):
            return self.answer(429, b"Too Many Requests", [("Retry-After", "1")])
        if scenario == "garbage":
            return self.answer(200, b"<html>this is not a certificate</html>" * 10)
        if path not in files:
            return self.answer(404, b"Not Found")
        entry = files[path]
        headers = []
        if isinstance(entry, dict):
            for name, header_file in entry.get("headers", {}).items():
                with open(header_file) as h:
                    headers.append((name, urllib.parse.quote(h.read(), safe="")))
            entry = entry["file"]
        with open(entry, "rb") as f:
            self.answer(200, f.read(), headers)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(args.port_file + ".tmp", args.port_file)
server.serve_forever()
