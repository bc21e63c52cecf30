#!/usr/bin/env python3
"""Cuts a TDX quote (v4 or v5) into the pieces a second verifier needs, written from Intel's
"Quote Format" tables without cci's parser: the signed bytes (header and TD report), the quote
signature and the QE report signature as DER ECDSA-Sig-Value, the attestation key as a P-256
SubjectPublicKeyInfo (PEM), the QE report, the QE authentication data and the PCK chain. Also
checks what needs no signature: QE REPORT_DATA = SHA-256(attestation key || auth data) || 0.
Prints the TD report's fields as JSON.

usage: tdx_quote_split.py QUOTE OUTDIR
"""
import base64
import hashlib
import json
import struct
import sys


def der_int(b):
    b = b.lstrip(b"\0") or b"\0"
    if b[0] & 0x80:
        b = b"\0" + b
    return b"\x02" + bytes([len(b)]) + b


def der_sig(rs):
    body = der_int(rs[:32]) + der_int(rs[32:])
    return b"\x30" + bytes([len(body)]) + body


def spki_pem(xy):
    prefix = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200") + b"\x04"
    b64 = base64.b64encode(prefix + xy).decode()
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64)) + "\n-----END PUBLIC KEY-----\n"


def main():
    quote = open(sys.argv[1], "rb").read()
    out = sys.argv[2]
    version, key_type, tee_type = struct.unpack_from("<HHI", quote, 0)
    assert key_type == 2 and tee_type == 0x81, "not an ECDSA P-256 TDX quote"
    pos = 48
    body_size = 584
    if version == 5:
        body_type, body_size = struct.unpack_from("<HI", quote, 48)
        assert (body_type, body_size) in ((2, 584), (3, 648)), "unknown body"
        pos = 54
    else:
        assert version == 4, "version %d" % version
    body = quote[pos:pos + body_size]
    signed_end = pos + body_size
    (sig_len,) = struct.unpack_from("<I", quote, signed_end)
    sd = quote[signed_end + 4:signed_end + 4 + sig_len]
    assert len(sd) == sig_len, "signature data truncated"
    sig, ak = sd[0:64], sd[64:128]
    cert_type, cert_size = struct.unpack_from("<HI", sd, 128)
    assert cert_type == 6 and cert_size == len(sd) - 134, "certification data"
    c = sd[134:]
    qe_report, qe_sig = c[0:384], c[384:448]
    (auth_len,) = struct.unpack_from("<H", c, 448)
    auth = c[450:450 + auth_len]
    inner_type, inner_size = struct.unpack_from("<HI", c, 450 + auth_len)
    assert inner_type == 5, "inner certification data type"
    chain = c[456 + auth_len:456 + auth_len + inner_size]
    assert qe_report[320:384] == hashlib.sha256(ak + auth).digest() + bytes(32), "QE REPORT_DATA does not bind the attestation key"
    files = {
        "signed.bin": quote[:signed_end],
        "quote_sig.der": der_sig(sig),
        "ak.pem": spki_pem(ak).encode(),
        "qe_report.bin": qe_report,
        "qe_sig.der": der_sig(qe_sig),
        "pck_chain.pem": chain.rstrip(b"\0"),
    }
    for name, data in files.items():
        with open(out + "/" + name, "wb") as f:
            f.write(data)
    names = [("tee_tcb_svn", 16), ("mr_seam", 48), ("mr_signer_seam", 48), ("seam_attributes", 8), ("td_attributes", 8), ("xfam", 8),
             ("mr_td", 48), ("mr_config_id", 48), ("mr_owner", 48), ("mr_owner_config", 48), ("rtmr0", 48), ("rtmr1", 48), ("rtmr2", 48),
             ("rtmr3", 48), ("report_data", 64)]
    fields, at = {"version": version}, 0
    for name, size in names:
        fields[name] = body[at:at + size].hex()
        at += size
    print(json.dumps(fields))


if __name__ == "__main__":
    main()
