#!/usr/bin/env python3
"""Test clients for cci-run serve that curl cannot play (tests/cli/serve*.sh).

  hold URL KEY PROMPT SECONDS     one completion, print "ready", keep the connection open
  stall URL PROMPT SECONDS        send a request head and half a body holding PROMPT, then wait
  slow URL SECONDS                send a request one byte a second; print how long the server
                                  let it go on before closing the connection
  scan CANARY PID...              search each process's memory (/proc/PID/mem, root only) for
                                  CANARY; print "PID found|absent" per process
  idle URL N SECONDS [BYTES]      open N TCP sockets (sending BYTES bytes of a TLS ClientHello on
                                  each, default none), print "ready", hold them SECONDS
  pipeline URL N                  N "GET /health" in one write; print how many answers came back
  stopreader URL N SECONDS        pipeline N "GET /v1/attestation/certificate" and never read;
                                  after SECONDS drain and print "answers=K of N closed=0|1"

The TLS clients do not check the certificate: cci-verify remote does that in the tests.
"""
import json
import socket
import ssl
import sys
import time
import urllib.parse


def tls_connect(url):
    u = urllib.parse.urlsplit(url)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    raw = socket.create_connection((u.hostname, u.port), timeout=60)
    return ctx.wrap_socket(raw, server_hostname=u.hostname), u.hostname


def request_bytes(host, path, key, body):
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    if key:
        head += f"Authorization: Bearer {key}\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    return head.encode(), body.encode()


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("connection closed before a response")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        rest += s.recv(65536)
    return int(head.split()[1]), rest[:length]


def hold(url, key, prompt, seconds):
    s, host = tls_connect(url)
    body = json.dumps({"prompt": prompt, "max_tokens": 8, "temperature": 0})
    head, payload = request_bytes(host, "/v1/completions", key, body)
    s.sendall(head + payload)
    status, _ = read_response(s)
    print(f"ready {status}", flush=True)
    time.sleep(float(seconds))
    s.close()


def stall(url, prompt, seconds):
    s, host = tls_connect(url)
    body = json.dumps({"prompt": prompt, "max_tokens": 8})
    head, payload = request_bytes(host, "/v1/completions", None, body + " " * 64)
    s.sendall(head + payload[: len(body)])
    print("ready", flush=True)
    time.sleep(float(seconds))
    s.close()


def slow(url, seconds):
    s, host = tls_connect(url)
    head, _ = request_bytes(host, "/v1/completions", "x", "{}")
    start = time.time()
    try:
        for b in head:
            s.sendall(bytes([b]))
            time.sleep(1)
            if time.time() - start > float(seconds):
                print("still-open", round(time.time() - start, 1))
                return
        print("sent-all", round(time.time() - start, 1))
    except (OSError, ssl.SSLError):
        print("closed", round(time.time() - start, 1))


# The first bytes of a TLS 1.3 ClientHello record (handshake, legacy version 3.1, length).
CLIENT_HELLO_START = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03])


def idle(url, n, seconds, nbytes="0"):
    u = urllib.parse.urlsplit(url)
    socks = []
    for _ in range(int(n)):
        s = socket.create_connection((u.hostname, u.port), timeout=10)
        if int(nbytes):
            s.sendall(CLIENT_HELLO_START[: int(nbytes)])
        socks.append(s)
    print("ready", flush=True)
    time.sleep(float(seconds))
    for s in socks:
        s.close()


def pipeline(url, n):
    s, host = tls_connect(url)
    one = f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    s.sendall(one * int(n))
    answers = 0
    for _ in range(int(n)):
        try:
            status, body = read_response(s)
        except SystemExit:
            break
        answers += 1 if status == 200 and b"ok" in body else 0
    print(answers, flush=True)


def stopreader(url, n, seconds):
    import threading
    u = urllib.parse.urlsplit(url)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((u.hostname, u.port), timeout=60)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s = ctx.wrap_socket(raw, server_hostname=u.hostname)
    one = f"GET /v1/attestation/certificate HTTP/1.1\r\nHost: {u.hostname}\r\n\r\n".encode()

    def writer():
        try:
            for _ in range(int(n)):
                s.sendall(one)
        except (OSError, ssl.SSLError):
            pass

    threading.Thread(target=writer, daemon=True).start()
    time.sleep(float(seconds))
    data = b""
    closed = 0
    s.settimeout(5)
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                closed = 1
                break
            data += chunk
    except (socket.timeout, TimeoutError):
        closed = 0  # still open: the server would have waited for us forever
    except (OSError, ssl.SSLError):
        closed = 1
    print(f"answers={data.count(b'HTTP/1.1 200')} of {n} closed={closed}", flush=True)


def scan(canary, pids):
    """Reads every readable mapping in 64 MiB pieces (overlapping by the needle's length).
    Mappings over 64 GiB are sanitizer shadow memory (reserved, not data) and are skipped."""
    needle = canary.encode()
    piece = 64 << 20
    for pid in pids:
        found = False
        with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
            for line in maps:
                addr, perms = line.split()[:2]
                if not perms.startswith("r") or "[vvar]" in line or "[vsyscall]" in line:
                    continue
                lo, hi = (int(x, 16) for x in addr.split("-"))
                if hi - lo > (64 << 30):
                    continue
                pos = lo
                while pos < hi and not found:
                    try:
                        mem.seek(pos)
                        data = mem.read(min(piece + len(needle), hi - pos))
                    except (OSError, ValueError, OverflowError):
                        break
                    found = needle in data
                    pos += piece
                if found:
                    break
        print(pid, "found" if found else "absent", flush=True)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"hold": hold, "stall": stall, "slow": slow, "idle": idle, "pipeline": pipeline, "stopreader": stopreader}.get(
        cmd, lambda *a: scan(a[0], a[1:]))(*args)
