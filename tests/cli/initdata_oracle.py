#!/usr/bin/env python3
"""An independent implementation of trustee's init-data rule (Confidential Containers trustee,
kbs/docs/initdata.md, version 0.1.0), for checking what cci renders and records:

  the annotation io.katacontainers.config.hypervisor.cc_init_data = base64(gzip(TOML));
  the TOML has version "0.1.0", algorithm sha256|sha384|sha512 and a [data] table of strings;
  digest = HASH(algorithm)(the TOML text exactly as delivered);
  SEV-SNP HOST_DATA = the digest cut or zero-padded to 32 bytes, TDX MRCONFIGID to 48.

Python's own base64, gzip, tomllib and hashlib; nothing of cci's. Reads the annotation value
from argv[1] (or '-' for stdin), prints JSON; exit 1 when the document breaks the rule.
"""
import base64
import gzip
import hashlib
import json
import sys
import tomllib


def fit(digest: bytes, length: int) -> bytes:
    return digest[:length] if len(digest) >= length else digest + bytes(length - len(digest))


def main() -> int:
    value = sys.stdin.read() if sys.argv[1] == "-" else sys.argv[1]
    text = gzip.decompress(base64.b64decode("".join(value.split()), validate=True)).decode("utf-8")
    doc = tomllib.loads(text)
    if doc.get("version") != "0.1.0":
        print("version is not 0.1.0", file=sys.stderr)
        return 1
    alg = doc.get("algorithm")
    if alg not in ("sha256", "sha384", "sha512"):
        print(f"unsupported algorithm {alg!r}", file=sys.stderr)
        return 1
    data = doc.get("data")
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        print("[data] is not a table of strings", file=sys.stderr)
        return 1
    digest = hashlib.new(alg, text.encode("utf-8")).digest()
    cci = tomllib.loads(data["cci.toml"]) if "cci.toml" in data else {}
    json.dump({"algorithm": alg, "digest": digest.hex(), "snp_host_data": fit(digest, 32).hex(),
               "tdx_mr_config_id": fit(digest, 48).hex(), "data_keys": sorted(data), "cci": cci,
               "policy": data.get("policy.rego", "")}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
