#!/usr/bin/env python3
"""A TCP round-robin balancer for tests: L4 passthrough (no TLS termination), as a Kubernetes
Service or an L4 load balancer in front of attested replicas. Connection i goes to backend
i mod n. Writes its port to PORT_FILE once listening; one line per connection to LOG_FILE.

  rr_proxy.py PORT_FILE LOG_FILE HOST:PORT [HOST:PORT ...]
"""
import os
import socket
import sys
import threading


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def serve(client, backend):
    host, port = backend.rsplit(":", 1)
    try:
        upstream = socket.create_connection((host, int(port)))
    except OSError:
        client.close()
        return
    a = threading.Thread(target=pump, args=(client, upstream), daemon=True)
    b = threading.Thread(target=pump, args=(upstream, client), daemon=True)
    a.start()
    b.start()
    a.join()
    b.join()
    client.close()
    upstream.close()


def main():
    port_file, log_file, backends = sys.argv[1], sys.argv[2], sys.argv[3:]
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(listener.getsockname()[1]))
    os.rename(tmp, port_file)
    n = 0
    with open(log_file, "a", buffering=1) as log:
        while True:
            client, _ = listener.accept()
            backend = backends[n % len(backends)]
            n += 1
            log.write(f"{n} {backend}\n")
            threading.Thread(target=serve, args=(client, backend), daemon=True).start()


if __name__ == "__main__":
    main()
