#!/usr/bin/env python3
"""An OCSP responder on 127.0.0.1 for several issuers, for cci-verify fetch tests.

Each POSTed request (RFC 6960 Appendix A.1, application/ocsp-request) is answered by OpenSSL's
own responder (`openssl ocsp -reqin ... -respout ...`, which echoes the request's nonce) run for
each issuer given, until one knows the certificate (its answer is not "unknown"). The issuers'
certificates and keys are DIR/NAME.pem and DIR/NAME.key; a certificate's status is DIR/status.json
{serial hex: "good" | "revoked"} (absent: good). The first path segment picks the behaviour:
  /ok        as above
  /replay    the answer to the first request about a certificate, to every later one about it (a replay)
  /error     HTTP 500
Every request is appended to the log as "SCENARIO".
"""
import argparse
import datetime
import http.server
import json
import os
import subprocess
import tempfile
import threading

parser = argparse.ArgumentParser()
parser.add_argument("--dir", required=True)
parser.add_argument("--issuer", action="append", required=True)
parser.add_argument("--port-file", required=True)
parser.add_argument("--log", required=True)
args = parser.parse_args()
lock = threading.Lock()
first_answer = {}


def serials_of(request):
    with tempfile.NamedTemporaryFile(suffix=".der") as f:
        f.write(request)
        f.flush()
        text = subprocess.run(["openssl", "ocsp", "-reqin", f.name, "-req_text"], capture_output=True, text=True).stdout
    return tuple(l.split(":", 1)[1].strip().upper() for l in text.splitlines() if "Serial Number:" in l)


def answer_for(request):
    with tempfile.TemporaryDirectory() as tmp:
        req = os.path.join(tmp, "req.der")
        with open(req, "wb") as f:
            f.write(request)
        status = {}
        status_file = os.path.join(args.dir, "status.json")
        if os.path.exists(status_file):
            with open(status_file) as f:
                status = json.load(f)
        yesterday = (datetime.datetime.utcnow() - datetime.timedelta(days=1)).strftime("%y%m%d%H%M%SZ")
        index = os.path.join(tmp, "index.txt")
        with open(index, "w") as f:
            for serial, st in status.items():
                if st == "revoked":
                    f.write(f"R\t991231235959Z\t{yesterday},keyCompromise\t{serial}\tunknown\t/CN=x\n")
        # Every serial asked about is good unless status.json says otherwise.
        text = subprocess.run(["openssl", "ocsp", "-reqin", req, "-req_text"], capture_output=True, text=True).stdout
        serials = [l.split(":", 1)[1].strip().upper() for l in text.splitlines() if "Serial Number:" in l]
        with open(index, "a") as f:
            for s in serials:
                if status.get(s) != "revoked":
                    f.write(f"V\t991231235959Z\t\t{s}\tunknown\t/CN=x\n")
        for name in args.issuer:
            pem = os.path.join(args.dir, name + ".pem")
            key = os.path.join(args.dir, name + ".key")
            resp = os.path.join(tmp, name + ".der")
            r = subprocess.run(["openssl", "ocsp", "-index", index, "-CA", pem, "-rsigner", pem, "-rkey", key, "-reqin", req,
                                "-respout", resp, "-ndays", "1"], capture_output=True)
            if r.returncode != 0 or not os.path.exists(resp):
                continue
            text = subprocess.run(["openssl", "ocsp", "-respin", resp, "-resp_text", "-noverify"], capture_output=True, text=True).stdout
            if "Cert Status: unknown" not in text:
                with open(resp, "rb") as f:
                    return f.read()
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self, status, body=b"", ctype="application/ocsp-response"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        scenario = self.path.strip("/").split("/")[0]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            with open(args.log, "a") as log:
                log.write(f"{scenario} {self.headers.get('Content-Type')}\n")
        if scenario == "error":
            return self.answer(500, b"oops", "text/plain")
        with lock:
            key = (scenario, serials_of(body))
            if scenario == "replay" and key in first_answer:
                return self.answer(200, first_answer[key])
            resp = answer_for(body)
            if resp is None:
                return self.answer(404, b"no issuer knows it", "text/plain")
            first_answer.setdefault(key, resp)
        self.answer(200, resp)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(args.port_file + ".tmp", args.port_file)
server.serve_forever()
