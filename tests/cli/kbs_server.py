#!/usr/bin/env python3
"""A trustee KBS (protocol 0.4.0) on 127.0.0.1 for the tests, written from trustee's behaviour
(kbs/src/attestation/backend.rs, session.rs, error.rs, api_server.rs, kbs/src/jwe, the sample
verifier): RCAR auth/attest with a kbs-session-id cookie (32 hex digits, 5 minutes unless told),
the runtime-data binding SHA-384(JCS({"additional-evidence","nonce","tee-pubkey"})) checked
against the evidence's report_data, resources as flattened JWEs (ECDH-ES+A256KW, A256GCM,
epk in the protected header, Concat KDF over the shared x-coordinate), and RFC 7807 error bodies
(401 for everything but a missing plugin or bad path, PolicyDeny included).

Evidence, as trustee's verifiers read it (deps/verifier/src/{sample,snp,csv}):
  sample  {"svn","report_data"}: the binding only.
  snp     guest-components' SnpEvidence: the report is rebuilt from its fields (SEV-SNP ABI,
          ATTESTATION_REPORT), its ECDSA P-384 signature checked with the VCEK or VLEK from
          cert_chain, that certificate against the chain's ASK and the ARK given by --snp-ark
          (trustee pins AMD's; the tests pin the simulator's).
  csv     csv-rs's CsvEvidence: the report page (V1 fields unmasked with anonce), the PEK in
          cert_chain equal to the report's own, serial_number equal to its chip ID, and the
          report's SM2 signature by that PEK (openssl, SM3 with the PEK's user ID). The PEK's own
          chain (HSK, CEK from Hygon's KDS) is not checked here.
--expect-measurement HEX: the resource policy releases only to that launch measurement (snp,
csv), as the policy cci-measure kbs-artifacts writes does; anything else is PolicyDeny.

  kbs_server.py READY_FILE --resource REPO/TYPE/TAG=FILE [--deny] [--expire-first N]
                [--snp-ark PEM] [--expect-measurement HEX]

Writes {"port", "cert"} to READY_FILE once listening; logs one JSON line per request to stdout.
--expire-first N: the first N resource requests find their session gone (TokenNotFound), as after
a KBS restart or the session timeout. --deny: the resource policy refuses (PolicyDeny)."""
import argparse, base64, datetime, hashlib, http.server, json, os, ssl, subprocess, sys, tempfile, threading, time, uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from cryptography.exceptions import InvalidSignature
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


class Refused(Exception):
    pass


def octets(v, n, what):
    if not isinstance(v, list) or len(v) != n or not all(isinstance(b, int) and 0 <= b <= 255 for b in v):
        raise Refused(what)
    return bytes(v)


def snp_tcb(t):
    # TCB_VERSION: Turin (fmc present) FMC, bootloader, TEE, SNP, 3 reserved, microcode; earlier
    # products bootloader, TEE, 4 reserved, SNP, microcode.
    if t.get("fmc") is not None:
        return bytes([t["fmc"], t["bootloader"], t["tee"], t["snp"], 0, 0, 0, t["microcode"]])
    return bytes([t["bootloader"], t["tee"], 0, 0, 0, 0, t["snp"], t["microcode"]])


def snp_report_bytes(a):
    # SEV-SNP ABI, ATTESTATION_REPORT: 0x2A0 signed bytes, then the signature.
    le = lambda v, n: int(v).to_bytes(n, "little")
    b = bytearray(0x4A0)
    def put(off, data):
        b[off:off + len(data)] = data
    put(0x000, le(a["version"], 4)); put(0x004, le(a["guest_svn"], 4)); put(0x008, le(a["policy"], 8))
    put(0x010, octets(a["family_id"], 16, "family_id")); put(0x020, octets(a["image_id"], 16, "image_id"))
    put(0x030, le(a["vmpl"], 4)); put(0x034, le(a["sig_algo"], 4)); put(0x038, snp_tcb(a["current_tcb"]))
    put(0x040, le(a["plat_info"], 8)); put(0x048, le(a["key_info"], 4))
    put(0x050, octets(a["report_data"], 64, "report_data")); put(0x090, octets(a["measurement"], 48, "measurement"))
    put(0x0C0, octets(a["host_data"], 32, "host_data")); put(0x0E0, octets(a["id_key_digest"], 48, "id_key_digest"))
    put(0x110, octets(a["author_key_digest"], 48, "author_key_digest")); put(0x140, octets(a["report_id"], 32, "report_id"))
    put(0x160, octets(a["report_id_ma"], 32, "report_id_ma")); put(0x180, snp_tcb(a["reported_tcb"]))
    for off, k in ((0x188, "cpuid_fam_id"), (0x189, "cpuid_mod_id"), (0x18A, "cpuid_step")):
        if a.get(k) is not None:
            b[off] = a[k]
    put(0x1A0, octets(a["chip_id"], 64, "chip_id")); put(0x1E0, snp_tcb(a["committed_tcb"]))
    put(0x1E8, bytes([a["current"]["build"], a["current"]["minor"], a["current"]["major"]]))
    put(0x1EC, bytes([a["committed"]["build"], a["committed"]["minor"], a["committed"]["major"]]))
    put(0x1F0, snp_tcb(a["launch_tcb"]))
    if a.get("launch_mit_vector") is not None:
        put(0x1F8, le(a["launch_mit_vector"], 8))
    if a.get("current_mit_vector") is not None:
        put(0x200, le(a["current_mit_vector"], 8))
    put(0x2A0, octets(a["signature"]["r"], 72, "signature.r")); put(0x2E8, octets(a["signature"]["s"], 72, "signature.s"))
    return bytes(b)


def signed_by(cert, issuer):
    key = issuer.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=padding.PSS.AUTO), hashes.SHA384())
    else:
        key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))


def verify_snp(ev, ark):
    """Returns (report_data, measurement) of SNP evidence whose signature and chain hold."""
    a = ev["attestation_report"]
    raw = snp_report_bytes(a)
    certs = {c["cert_type"]: x509.load_der_x509_certificate(bytes(c["data"])) for c in (ev.get("cert_chain") or [])}
    vek = certs.get("VCEK") or certs.get("VLEK")
    if vek is None or "ASK" not in certs or ark is None:
        raise Refused("cert_chain: no VCEK/VLEK and ASK (this KBS fetches nothing from AMD's KDS)")
    signed_by(certs["ASK"], ark)
    signed_by(vek, certs["ASK"])
    r = int.from_bytes(raw[0x2A0:0x2E8], "little")
    s = int.from_bytes(raw[0x2E8:0x330], "little")
    vek.public_key().verify(encode_dss_signature(r, s), raw[:0x2A0], ec.ECDSA(hashes.SHA384()))
    return raw[0x50:0x90], raw[0x90:0xC0]


def pek_bytes(p):
    le = lambda v, n: int(v).to_bytes(n, "little")
    d = p["body"]["data"]
    out = bytearray(2084)
    def put(off, data):
        out[off:off + len(data)] = data
    put(0x000, le(p["body"]["ver"], 4)); out[4] = d["firmware"]["major"]; out[5] = d["firmware"]["minor"]
    put(0x006, le(d["reserved1"], 2)); put(0x008, le(d["pubkey"]["usage"], 4)); put(0x00C, le(d["pubkey"]["algo"], 4))
    put(0x010, le(d["pubkey"]["key"]["g"], 4)); put(0x014, octets(d["pubkey"]["key"]["x"], 72, "pek.x"))
    put(0x05C, octets(d["pubkey"]["key"]["y"], 72, "pek.y")); put(0x0A4, le(d["uid_size"], 2))
    put(0x0A6, octets(d["user_id"], 254, "pek.user_id")); put(0x1A4, octets(d["sid"], 16, "pek.sid"))
    put(0x1B4, octets(d["reserved2"], 608, "pek.reserved2"))
    for i, off in ((0, 0x414), (1, 0x61C)):
        sg = p["sigs"][i]
        put(off, le(sg["usage"], 4)); put(off + 4, le(sg["algo"], 4))
        put(off + 8, octets(sg["signature"]["r"], 72, "sig.r")); put(off + 80, octets(sg["signature"]["s"], 72, "sig.s"))
        put(off + 152, octets(sg["_reserved"], 368, "sig._reserved"))
    return bytes(out)


def sm2_verify(pek, message, r_le, s_le):
    # Hygon keeps SM2 coordinates and signature values little-endian in 72-byte fields (32 used).
    x = pek[0x014:0x014 + 32][::-1]
    y = pek[0x05C:0x05C + 32][::-1]
    uid = pek[0x0A6:0x0A6 + int.from_bytes(pek[0x0A4:0x0A6], "little")]
    # SubjectPublicKeyInfo: id-ecPublicKey with the SM2 curve (1.2.156.10197.1.301).
    spki = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200") + b"\x04" + x + y
    sig = encode_dss_signature(int.from_bytes(r_le[:32], "little"), int.from_bytes(s_le[:32], "little"))
    with tempfile.TemporaryDirectory() as d:
        for name, data in (("k.der", spki), ("m.bin", message), ("s.der", sig)):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        res = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", os.path.join(d, "k.der"), "-rawin",
                              "-digest", "sm3", "-pkeyopt", "distid:" + uid.decode("latin-1"), "-in", os.path.join(d, "m.bin"),
                              "-sigfile", os.path.join(d, "s.der")], capture_output=True)
    if res.returncode != 0:
        raise Refused("the report's SM2 signature by the PEK")


def verify_csv(ev):
    """Returns (report_data, measure) of CSV evidence whose PEK, serial and signature hold."""
    ar = ev["attestation_report"]
    data = octets(ar["data"], 4096, "attestation_report.data")
    magic = octets(ar["magic"], 16, "magic")
    v2 = magic == b"ATTESTATION_EXT\0" and ar["flags"] == 1
    if v2:
        fields, pek_off, sig_off, signed = data[:0xBC], 0x490, 0x400, 0x400
    else:
        anonce = data[0xBC:0xC0]
        fields = bytes(b ^ anonce[i % 4] for i, b in enumerate(data[:0xBC]))
        pek_off, sig_off, signed = 0x150, 0x0C0, 0x0B4
    pek = pek_bytes(ev["cert_chain"]["pek"])
    if data[pek_off:pek_off + 2084] != pek:
        raise Refused("cert_chain.pek is not the report's PEK")
    if bytes(ev["serial_number"]) != data[pek_off + 2084:pek_off + 2084 + 64]:
        raise Refused("serial_number is not the report's chip ID")
    sm2_verify(pek, data[:signed], data[sig_off:sig_off + 72], data[sig_off + 72:sig_off + 144])
    return fields[0x40:0x80], fields[0x90:0xB0]


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
        self.snp_ark = None
        if args.snp_ark:
            # The self-issued certificate of the PEM file (a simulator's cert_chain.pem holds ASK and ARK).
            with open(args.snp_ark, "rb") as f:
                pems = [p + b"-----END CERTIFICATE-----\n" for p in f.read().split(b"-----END CERTIFICATE-----") if b"BEGIN" in p]
            roots = [c for c in map(x509.load_pem_x509_certificate, pems) if c.subject == c.issuer]
            if len(roots) != 1:
                raise SystemExit("--snp-ark: no single self-issued certificate in " + args.snp_ark)
            self.snp_ark = roots[0]


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
            print(json.dumps({"method": self.command, "path": self.path, "status": status, "tee": getattr(self, "tee", ""),
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
                self.tee = req["tee"]
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
                    measurement = None
                    if s["tee"] == "sample":
                        report_data = base64.b64decode(ev["report_data"])
                    elif s["tee"] == "snp":
                        report_data, measurement = verify_snp(ev, state.snp_ark)
                    elif s["tee"] == "csv":
                        report_data, measurement = verify_csv(ev)
                    else:
                        return fail()
                    # trustee compares the digest with the start of REPORT_DATA (SNP and CSV
                    # hold 64 bytes: the rest is zero).
                    if report_data[:len(digest)] != digest or any(report_data[len(digest):]):
                        return fail()
                except (KeyError, TypeError, ValueError, IndexError, Refused, InvalidSignature) as e:
                    print(json.dumps({"refused": str(e) or type(e).__name__}), flush=True)
                    return fail()
                s["attested"], s["pubkey"], s["measurement"] = True, typed, measurement
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
            if state.args.deny or (state.args.expect_measurement and (s.get("measurement") or b"").hex() != state.args.expect_measurement.lower()):
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
    p.add_argument("--snp-ark")
    p.add_argument("--expect-measurement")
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
