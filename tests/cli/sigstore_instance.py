#!/usr/bin/env python3
"""A private Sigstore instance for tests, written from the public formats (no network): a Fulcio CA
(root and intermediate), a CT log and a Rekor v1 log, each with its own P-256 key, described by a
trusted_root.json; and keyless signing of a DSSE payload as a Sigstore bundle v0.3: an ephemeral key,
a ten-minute Fulcio-style certificate for an OIDC identity (SAN, issuer extension 1.3.6.1.4.1.57264.1.8)
with an embedded SCT over its precertificate (RFC 6962 section 3.2), the DSSE signature over the PAE,
and a dsse 0.0.1 Rekor entry with its signed entry timestamp (RFC 8785 JSON) and an inclusion proof in
a tree of one leaf under a signed checkpoint (C2SP signed note).

  sigstore_instance.py init DIR
  sigstore_instance.py sign DIR INPUT IDENTITY ISSUER OUT
      (INPUT: a key-based OMS bundle, e.g. cci-measure model's, whose DSSE payload is re-signed
      keylessly, or an in-toto statement, e.g. cci-measure manifest build --unsigned's)
"""
import base64
import datetime
import hashlib
import json
import os
import struct
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

B64 = lambda b: base64.b64encode(b).decode()
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def new_key():
    return ec.generate_private_key(ec.SECP256R1())


def spki(key):
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def save_key(path, key):
    open(path, "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def load_key(path):
    return serialization.load_pem_private_key(open(path, "rb").read(), None)


def ecdsa(key, data):
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def ca_cert(subject_cn, key, issuer_cert, issuer_key, path_len):
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore.test"), x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_cert.subject if issuer_cert else name).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(NOW - datetime.timedelta(days=1))
         .not_valid_after(NOW + datetime.timedelta(days=3650))
         .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
         .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True))
    return b.sign(issuer_key or key, hashes.SHA256())


def log_entry(url, key):
    return {"baseUrl": url, "hashAlgorithm": "SHA2_256",
            "publicKey": {"rawBytes": B64(spki(key)), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                          "validFor": {"start": (NOW - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}},
            "logId": {"keyId": B64(hashlib.sha256(spki(key)).digest())}}


def init(d):
    os.makedirs(d, exist_ok=True)
    root_key, int_key, ct_key, rekor_key = new_key(), new_key(), new_key(), new_key()
    root = ca_cert("sigstore-test-root", root_key, None, None, 1)
    inter = ca_cert("sigstore-test-intermediate", int_key, root, root_key, 0)
    for n, k in (("root", root_key), ("intermediate", int_key), ("ct", ct_key), ("rekor", rekor_key)):
        save_key(os.path.join(d, n + ".key"), k)
    open(os.path.join(d, "intermediate.pem"), "wb").write(inter.public_bytes(serialization.Encoding.PEM))
    tr = {"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
          "tlogs": [log_entry("https://rekor.sigstore.test", rekor_key)],
          "certificateAuthorities": [{"subject": {"organization": "sigstore.test", "commonName": "sigstore-test-root"}, "uri": "https://fulcio.sigstore.test",
                                      "certChain": {"certificates": [{"rawBytes": B64(c.public_bytes(serialization.Encoding.DER))} for c in (inter, root)]},
                                      "validFor": {"start": (NOW - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}}],
          "ctlogs": [log_entry("https://ctfe.sigstore.test", ct_key)],
          "timestampAuthorities": []}
    json.dump(tr, open(os.path.join(d, "trusted_root.json"), "w"), indent=1)


def leaf_builder(ephemeral, inter, identity, issuer):
    san = x509.RFC822Name(identity) if "@" in identity and "://" not in identity else x509.UniformResourceIdentifier(identity)
    issuer_der = b"\x0c" + bytes([len(issuer.encode())]) + issuer.encode()  # UTF8String (issuers under 128 bytes)
    return (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(inter.subject).public_key(ephemeral.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - datetime.timedelta(minutes=1))
            .not_valid_after(NOW + datetime.timedelta(minutes=10))
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
            .add_extension(x509.SubjectAlternativeName([san]), critical=True)
            .add_extension(x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.57264.1.8"), issuer_der), critical=False))


def sct_list(ct_key, inter_key, precert_tbs, ts_ms):
    issuer_key_hash = hashlib.sha256(spki(inter_key)).digest()
    signed = (struct.pack(">BBQH", 0, 0, ts_ms, 1) + issuer_key_hash + struct.pack(">I", len(precert_tbs))[1:] + precert_tbs + b"\x00\x00")
    sig = ecdsa(ct_key, signed)
    sct = struct.pack(">B", 0) + hashlib.sha256(spki(ct_key)).digest() + struct.pack(">QH", ts_ms, 0) + struct.pack(">BBH", 4, 3, len(sig)) + sig
    lst = struct.pack(">H", len(sct)) + sct
    inner = struct.pack(">H", len(lst)) + lst
    return b"\x04" + der_len(len(inner)) + inner  # the extension value is an OCTET STRING holding the list


def der_len(n):
    return bytes([n]) if n < 128 else (bytes([0x81, n]) if n < 256 else bytes([0x82, n >> 8, n & 0xFF]))


def sign(d, keyed_bundle, identity, issuer, out):
    inter_key, ct_key, rekor_key = load_key(os.path.join(d, "intermediate.key")), load_key(os.path.join(d, "ct.key")), load_key(os.path.join(d, "rekor.key"))
    inter = x509.load_pem_x509_certificate(open(os.path.join(d, "intermediate.pem"), "rb").read())
    doc = json.load(open(keyed_bundle))
    if "dsseEnvelope" in doc:  # a key-based bundle: its payload re-signed
        payload, payload_type = base64.b64decode(doc["dsseEnvelope"]["payload"]), doc["dsseEnvelope"]["payloadType"]
    else:  # an in-toto statement (cci-measure manifest build --unsigned): its exact bytes
        payload, payload_type = open(keyed_bundle, "rb").read(), "application/vnd.in-toto+json"
    ephemeral = new_key()
    b = leaf_builder(ephemeral, inter, identity, issuer)
    precert = b.sign(inter_key, hashes.SHA256())
    sct = sct_list(ct_key, inter_key, precert.tbs_certificate_bytes, int(NOW.timestamp()) * 1000)
    leaf = b.add_extension(x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2"), sct), critical=False).sign(inter_key, hashes.SHA256())
    pae = b"DSSEv1 %d %s %d " % (len(payload_type), payload_type.encode(), len(payload)) + payload
    sig = ecdsa(ephemeral, pae)
    leaf_pem = leaf.public_bytes(serialization.Encoding.PEM)
    body = json.dumps({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
        "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(b"(unused)").hexdigest()},
        "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
        "signatures": [{"signature": B64(sig), "verifier": B64(leaf_pem)}]}}, separators=(",", ":"), sort_keys=True).encode()
    log_id = hashlib.sha256(spki(rekor_key)).digest()
    t, index = int(time.time()), 7
    set_payload = json.dumps({"body": B64(body), "integratedTime": t, "logID": log_id.hex(), "logIndex": index}, separators=(",", ":"), sort_keys=True).encode()
    root_hash = hashlib.sha256(b"\x00" + body).digest()
    note = "rekor.sigstore.test - 1\n1\n" + B64(root_hash) + "\n"
    checkpoint = note + "\n\u2014 rekor.sigstore.test " + B64(log_id[:4] + ecdsa(rekor_key, note.encode())) + "\n"
    bundle = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
              "verificationMaterial": {"certificate": {"rawBytes": B64(leaf.public_bytes(serialization.Encoding.DER))},
                                       "tlogEntries": [{"logIndex": str(index), "logId": {"keyId": B64(log_id)}, "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                                                        "integratedTime": str(t), "inclusionPromise": {"signedEntryTimestamp": B64(ecdsa(rekor_key, set_payload))},
                                                        "inclusionProof": {"logIndex": "0", "rootHash": B64(root_hash), "treeSize": "1", "hashes": [],
                                                                           "checkpoint": {"envelope": checkpoint}},
                                                        "canonicalizedBody": B64(body)}]},
              "dsseEnvelope": {"payload": B64(payload), "payloadType": payload_type, "signatures": [{"sig": B64(sig)}]}}
    json.dump(bundle, open(out, "w"), separators=(",", ":"))


if __name__ == "__main__":
    if sys.argv[1] == "init":
        init(sys.argv[2])
    elif sys.argv[1] == "sign":
        sign(*sys.argv[2:7])
    else:
        sys.exit(__doc__)
