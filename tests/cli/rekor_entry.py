#!/usr/bin/env python3
"""Writes a Rekor v1 log entry for a file, as Rekor's API returns it, from a test log key: a rekord
0.0.1 body (the file's SHA-256, its signature by the signer key, the signer's PEM public key), the
signed entry timestamp over RFC 8785 JSON {body, integratedTime, logID, logIndex}, and an inclusion
proof in a tree of one leaf under a signed checkpoint (C2SP signed note). ECDSA by openssl(1).
  rekor_entry.py FILE SIGNER_KEY SIGNER_PUB LOG_KEY LOG_PUB OUT [--cosign]"""
import base64, hashlib, json, subprocess, sys

f, signer_key, signer_pub, log_key, log_pub, out = sys.argv[1:7]
cosign = "--cosign" in sys.argv[7:]

def sign(key, data):
    return subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=data, capture_output=True, check=True).stdout

data = open(f, "rb").read()
body = json.dumps({"apiVersion": "0.0.1", "kind": "rekord", "spec": {
    "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(data).hexdigest()}},
    "signature": {"content": base64.b64encode(sign(signer_key, data)).decode(), "format": "x509",
                  "publicKey": {"content": base64.b64encode(open(signer_pub, "rb").read()).decode()}}}},
    separators=(",", ":"), sort_keys=True).encode()
spki = subprocess.run(["openssl", "pkey", "-pubin", "-in", log_pub, "-outform", "DER"], capture_output=True, check=True).stdout
log_id = hashlib.sha256(spki).digest()
t, index = 1760000000, 4242
set_payload = json.dumps({"body": base64.b64encode(body).decode(), "integratedTime": t, "logID": log_id.hex(), "logIndex": index},
                         separators=(",", ":"), sort_keys=True).encode()
set_sig = base64.b64encode(sign(log_key, set_payload)).decode()
root = hashlib.sha256(b"\x00" + body).digest()
note = "test.log - 1\n1\n" + base64.b64encode(root).decode() + "\n"
cp = note + "\n\u2014 test.log " + base64.b64encode(log_id[:4] + sign(log_key, note.encode())).decode() + "\n"
if cosign:
    doc = {"base64Signature": "", "rekorBundle": {"SignedEntryTimestamp": set_sig, "Payload": {
        "body": base64.b64encode(body).decode(), "integratedTime": t, "logIndex": index, "logID": log_id.hex()}}}
else:
    doc = {hashlib.sha256(body).hexdigest(): {"body": base64.b64encode(body).decode(), "integratedTime": t, "logID": log_id.hex(), "logIndex": index,
           "verification": {"signedEntryTimestamp": set_sig, "inclusionProof": {
               "checkpoint": cp, "hashes": [], "logIndex": 0, "rootHash": root.hex(), "treeSize": 1}}}}
json.dump(doc, open(out, "w"))
