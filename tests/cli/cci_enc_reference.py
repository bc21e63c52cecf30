#!/usr/bin/env python3
"""An independent reader and writer of the CCI-ENC1 encrypted model file, written from
docs/encrypted-model.md only (python3-cryptography's AES-GCM), used as the tests' oracle.

  cci_enc_reference.py decrypt KEYFILE SEALED          -> plaintext on stdout (exit 1 on any failure)
  cci_enc_reference.py encrypt KEYFILE PLAIN NAME KEY_ID CHUNK PREFIX_HEX DIGEST_HEX -> sealed on stdout
  cci_enc_reference.py header SEALED                   -> the header as JSON
"""
import hashlib
import json
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"CCI-ENC1"
FIXED = 76
TAG = 16


def header_bytes(chunk, size, prefix, digest, name, key_id):
    name_b, key_b = name.encode(), key_id.encode()
    return (MAGIC + struct.pack("<IIII", FIXED + len(name_b) + len(key_b), 1, chunk, 0) + struct.pack("<Q", size) + prefix + b"\0" +
            digest + struct.pack("<HH", len(name_b), len(key_b)) + name_b + key_b)


def parse_header(data):
    if data[:8] != MAGIC:
        raise ValueError("magic")
    header_size, version, chunk, flags = struct.unpack_from("<IIII", data, 8)
    (size,) = struct.unpack_from("<Q", data, 24)
    prefix, reserved, digest = data[32:39], data[39], data[40:72]
    name_len, key_len = struct.unpack_from("<HH", data, 72)
    if version != 1 or flags != 0 or reserved != 0 or header_size != FIXED + name_len + key_len:
        raise ValueError("header")
    if chunk < 4096 or chunk > 64 << 20 or chunk & (chunk - 1):
        raise ValueError("chunk_size")
    name = data[FIXED:FIXED + name_len].decode()
    key_id = data[FIXED + name_len:header_size].decode()
    return dict(header_size=header_size, chunk=chunk, size=size, prefix=prefix, digest=digest, name=name, key_id=key_id)


def chunks(size, chunk):
    return max(1, -(-size // chunk))


def nonce(prefix, i, n):
    return prefix + struct.pack(">I", i) + (b"\x01" if i == n - 1 else b"\x00")


def encrypt(key, plain, name, key_id, chunk, prefix, digest):
    head = header_bytes(chunk, len(plain), prefix, digest, name, key_id)
    aad = hashlib.sha256(head).digest()
    n = chunks(len(plain), chunk)
    out = bytearray(head)
    for i in range(n):
        out += AESGCM(key).encrypt(nonce(prefix, i, n), plain[i * chunk:(i + 1) * chunk], aad)
    return bytes(out)


def decrypt(key, data):
    h = parse_header(data)
    head = data[:h["header_size"]]
    n = chunks(h["size"], h["chunk"])
    if len(data) != h["header_size"] + h["size"] + TAG * n:
        raise ValueError("size")
    aad = hashlib.sha256(head).digest()
    out, pos = bytearray(), h["header_size"]
    for i in range(n):
        length = min(h["chunk"], h["size"] - i * h["chunk"]) + TAG
        out += AESGCM(key).decrypt(nonce(h["prefix"], i, n), data[pos:pos + length], aad)
        pos += length
    return h, bytes(out)


def main():
    cmd = sys.argv[1]
    if cmd == "decrypt":
        key = open(sys.argv[2], "rb").read()
        try:
            _, plain = decrypt(key, open(sys.argv[3], "rb").read())
        except Exception as e:  # any failure is a refusal
            print("refused:", type(e).__name__, e, file=sys.stderr)
            sys.exit(1)
        sys.stdout.buffer.write(plain)
    elif cmd == "encrypt":
        key = open(sys.argv[2], "rb").read()
        plain = open(sys.argv[3], "rb").read()
        sys.stdout.buffer.write(encrypt(key, plain, sys.argv[4], sys.argv[5], int(sys.argv[6]), bytes.fromhex(sys.argv[7]), bytes.fromhex(sys.argv[8])))
    elif cmd == "header":
        h = parse_header(open(sys.argv[2], "rb").read())
        h["prefix"], h["digest"] = h["prefix"].hex(), h["digest"].hex()
        print(json.dumps(h))


if __name__ == "__main__":
    main()
