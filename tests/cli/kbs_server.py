#!/usr/bin/env python3
"""A trustee KBS (protocol 0.4.0) on 127.0.0.1 for the tests, written from trustee's behaviour
(kbs/src/attestation/backend.rs, session.rs, error.rs, api_server.rs, kbs/src/jwe, the sample
verifier): RCAR auth/attest with a kbs-session-id cookie (32 hex digits, 5 minutes unless told),
the runtime-data binding SHA-384(JCS({"additional-evidence","nonce","tee-pubkey"})) checked
against the sample evidence's report_data, resources as flattened JWEs (ECDH-ES+A256KW, A256GCM,
epk in the protected header, Concat KDF over the shared x-coordinate), and RFC 7807 error bodies
(401 for everything but a missing plugin or bad path, PolicyDeny included).

  kbs_server.py READY_FILE --resource REPO/TYPE/TAG=FILE [--deny] [--expire-first N] [--tls]

Writes {"port", "cert"} to READY_FILE once listening; logs one JSON line per request to stdout.
--expire-first N: the first N resource requests find their session gone (TokenNotFound), as after
a KBS restart or the session timeout. --deny: the resource policy refuses (PolicyDeny)."""
import argparse, base64, datetime, hashlib, http.server, json, os, ssl, sys, threading, time, uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from cryptography.x509.oid import NameOID

PREFIX = "https://github.com/confidential-containers/kbs/errors/"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jcs(v):
    # RFC 8785 for the values the protocol carries (objects, strings, integers).
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def concat_kdf(z, alg, bits):
    # RFC 7518 section 4.6.2 (one round of SHA-256 suffices for 256 bits).
    other = len(alg).to_bytes(4, "big") + alg.encode() + b"\0\0\0\0" + b"\0\0\0\0" + bits.to_bytes(4, "big")
    return hashlib.sha256(b"\0\0\0\1" + z + other).digest()[: bits // 8]


def jwe_to(pub_jwk, plaintext):
    # trustee kbs/src/jwe: ecdh_es_a256kw_p256
    x, y = b64u_dec(pub_jwk["x"]), b64u_dec(pub_jwk["y"])
    if len(x) != 32 or len(y) != 32:
        raise ValueError("coordinates")
    peer = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()).public_key()
    eph = ec.generate_private_key(ec.SECP256R1())
    z = eph.exchange(ec.ECDH(), peer)
    kek = concat_kdf(z, "ECDH-ES+A256KW", 256)
    cek = os.urandom(32)
    n = eph.public_key().public_numbers()
    header = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM",
              "epk": {"crv": "P-256", "kty": "EC", "x": b64u(n.x.to_bytes(32, "big")), "y": b64u(n.y.to_bytes(32, "big"))}}
    protected = b64u(json.dumps(header, separators=(",", ":")).encode())
    iv = os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, plaintext, protected.encode())
    return {"protected": protected, "encrypted_key": b64u(aes_key_wrap(kek, cek)), "iv": b64u(iv),
            "ciphertext": b64u(sealed[:-16]), "tag": b64u(sealed[-16:])}


def self_signed():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-kbs")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    return (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
            cert.public_bytes(serialization.Encoding.PEM))


class State:
    def __init__(self, args):
        self.args = args
        self.sessions = {}  # id -> {"nonce", "expires", "attested", "pubkey"}
        self.expire_left = args.expire_first
        self.resources = {}
        for r in args.resource:
            path, _, f = r.partition("=")
            self.resources[path] = open(f, "rb").read()
        self.lock = threading.Lock()


def make_handler(state):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def answer(self, status, body, cookie=None):
            data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if cookie:
                expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=state.args.session_seconds)
                self.send_header("Set-Cookie", f"kbs-session-id={cookie}; Expires={expires.strftime('%a, %d %b %Y %H:%M:%S GMT')}")
            self.end_headers()
            self.wfile.write(data)
            print(json.dumps({"method": self.command, "path": self.path, "status": status,
                              "error": body.get("type", "").replace(PREFIX, "") if isinstance(body, dict) else ""}), flush=True)

        def error(self, variant, detail, status=401):
            self.answer(status, {"type": PREFIX + variant, "detail": detail})

        def session(self):
            for part in self.headers.get("Cookie", "").split(";"):
                k, _, v = part.strip().partition("=")
                if k == "kbs-session-id":
                    s = state.sessions.get(v)
                    if s and s["expires"] > time.time():
                        return v, s
            return None, None

        def body(self):
            n = int(self.headers.get("Content-Length", "0"))
            if n > 2 * 1024 * 1024:
                return None
            try:
                return json.loads(self.rfile.read(n))
            except ValueError:
                return None

        def do_POST(self):
            if self.path == "/kbs/v0/auth":
                req = self.body()
                if not isinstance(req, dict) or "extra-params" not in req or not isinstance(req.get("version"), str) or not isinstance(req.get("tee"), str):
                    return self.error("AttestationError", "Attestation error: RCAR handshake Auth failed: deserialize Request")
                if req["version"] != "0.4.0":
                    return self.error("AttestationError", "Attestation error: RCAR handshake Auth failed: KBS Client Protocol Version Mismatch: expect =0.4.0 while the request is " + req["version"])
                sid = uuid.uuid4().hex
                nonce = base64.b64encode(os.urandom(32)).decode()
                with state.lock:
                    state.sessions[sid] = {"nonce": nonce, "expires": time.time() + state.args.session_seconds, "attested": False, "tee": req["tee"]}
                return self.answer(200, {"nonce": nonce, "extra-params": ""}, cookie=sid)
            if self.path == "/kbs/v0/attest":
                sid, s = self.session()
                a = self.body()
                fail = lambda: self.error("AttestationError", "Attestation error: RCAR handshake Attest failed")
                if not s or not isinstance(a, dict):
                    return fail()
                try:
                    rd = a["runtime-data"]
                    if rd["nonce"] != s["nonce"]:
                        return fail()
                    k = rd["tee-pubkey"]
                    typed = {m: k[m] for m in ("kty", "crv", "alg", "x", "y")}
                    digest = hashlib.sha384(jcs({"tee-pubkey": typed, "nonce": rd["nonce"],
                                                 "additional-evidence": a["tee-evidence"]["additional_evidence"]}).encode()).digest()
                    ev = a["tee-evidence"]["primary_evidence"]
                    if s["tee"] != "sample" or base64.b64decode(ev["report_data"]) != digest:
                        return fail()
                except (KeyError, TypeError, ValueError):
                    return fail()
                s["attested"], s["pubkey"] = True, typed
                return self.answer(200, {"token": "eyJhbGciOiJub25lIn0.e30."}, cookie=sid)
            self.error("PluginNotFound", "Plugin %s not found" % self.path.split("/")[3] if self.path.count("/") >= 3 else "", 404)

        def do_GET(self):
            prefix = "/kbs/v0/resource/"
            if not self.path.startswith(prefix):
                return self.error("PluginNotFound", "Plugin not found", 404)
            sid, s = self.session()
            if not s or not s["attested"]:
                return self.error("TokenNotFound", "Attestation Token not found")
            with state.lock:
                if state.expire_left > 0:
                    state.expire_left -= 1
                    del state.sessions[sid]
                    return self.error("TokenNotFound", "Attestation Token not found")
            if state.args.deny:
                return self.error("PolicyDeny", "Access denied by policy")
            data = state.resources.get(self.path[len(prefix):])
            if data is None:
                return self.error("PluginInternalError", "Plugin internal error")
            try:
                return self.answer(200, jwe_to(s["pubkey"], data))
            except ValueError:
                return self.error("JweError", "JWE failed")

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("ready")
    p.add_argument("--resource", action="append", default=[])
    p.add_argument("--deny", action="store_true")
    p.add_argument("--expire-first", type=int, default=0)
    p.add_argument("--session-seconds", type=int, default=300)
    args = p.parse_args()
    state = State(args)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    key_pem, cert_pem = self_signed()
    d = os.path.dirname(os.path.abspath(args.ready))
    with open(os.path.join(d, "kbs-key.pem"), "wb") as f:
        f.write(key_pem)
    with open(os.path.join(d, "kbs-cert.pem"), "wb") as f:
        f.write(cert_pem)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "kbs-cert.pem"), os.path.join(d, "kbs-key.pem"))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    tmp = args.ready + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"port": server.server_address[1], "cert": os.path.join(d, "kbs-cert.pem")}, f)
    os.rename(tmp, args.ready)
    server.serve_forever()


if __name__ == "__main__":
    main()
