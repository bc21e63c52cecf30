#!/usr/bin/env bash
# cci-verify model on keyless (Sigstore) OMS bundles: every oms-model case of the Sigstore vectors'
# manifest gives its expected verdict (exit 0 verified, 1 refused), with no network at all: each
# run is in a network namespace of its own (or, where unprivileged namespaces are unavailable,
# with socket() made fatal by a preloaded shim).
source "$(dirname "$0")/lib.sh"
SIG="$CCI_TEST_VECTORS_DIR/sigstore"
if [ ! -f "$SIG/manifest.json" ]; then echo "skipped: vectors not found ($SIG)"; exit 77; fi

if unshare -rn true 2>/dev/null; then
  OFFLINE=(unshare -rn)
  echo "offline: network namespace (unshare -rn)"
else
  cat >"$WORK/nonet.c" <<'C'
#include <stdio.h>
#include <unistd.h>
int socket(int d, int t, int p) { (void)d; (void)t; (void)p; fputs("network access attempted\n", stderr); _exit(99); }
C
  cc -shared -fPIC -o "$WORK/nonet.so" "$WORK/nonet.c" || { echo "FAIL cannot build the no-network shim"; exit 1; }
  OFFLINE=(env LD_PRELOAD="$WORK/nonet.so" ASAN_OPTIONS="verify_asan_link_order=0:${ASAN_OPTIONS:-}")
  echo "offline: socket() is fatal (LD_PRELOAD shim)"
fi
# The namespace really has no route out (a TCP connection to a public address fails at once).
check "the offline runner has no network" -- bash -c "! ${OFFLINE[*]} python3 -c 'import socket; socket.create_connection((\"1.1.1.1\", 443), timeout=2)' 2>/dev/null"

python3 - "$SIG/manifest.json" >"$WORK/cases" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for c in m["cases"]:
    if c["kind"] != "oms-model":
        continue
    print("\t".join([c["id"], c["expect"], c["bundle"], c["model_dir"], c.get("trusted_root", "trusted_root/public-good.json"),
                     c["identity"], c["issuer"], ",".join(c.get("ignore_paths") or [])]))
PY
n=0
while IFS=$'\t' read -r id verdict bundle dir root identity issuer ignore; do
  args=(model "$SIG/$dir" --signature "$SIG/$bundle" --identity "$identity" --issuer "$issuer" --trusted-root "$SIG/$root")
  IFS=, read -ra ign <<<"$ignore"
  for p in "${ign[@]}"; do args+=(--ignore "$p"); done
  want=1; [ "$verdict" = accept ] && want=0
  expect "$want" "$id: $verdict" -- "${OFFLINE[@]}" "$VERIFY" "${args[@]}"
  n=$((n + 1))
done <"$WORK/cases"
check "all 32 keyless OMS cases ran ($n)" -- test "$n" -eq 32

V110=(model "$SIG/oms/v1.1.0-sigstore" --signature "$SIG/oms/v1.1.0-sigstore/model.sig" --trusted-root "$SIG/trusted_root/public-good.json")
expect 0 "verified: the signer is named" -- "$VERIFY" "${V110[@]}" --identity stefanb@us.ibm.com --issuer https://sigstore.verify.ibm.com/oauth2
contains "$WORK/out" "signed by stefanb@us.ibm.com (issuer https://sigstore.verify.ibm.com/oauth2)" "the signer in the verdict"
contains "$WORK/out" "sigstore.tlog_inclusion" "the Rekor inclusion proof among the checks"
contains "$WORK/out" "sigstore.timestamp" "the RFC 3161 timestamp among the checks"
expect 0 "--json names the signer and the signing times" -- "$VERIFY" --json "${V110[@]}" --identity stefanb@us.ibm.com --issuer https://sigstore.verify.ibm.com/oauth2
check "signer in JSON" -- python3 -c "
import json,sys; d=json.load(open('$WORK/out')); s=d['signer']
assert s['identity']=='stefanb@us.ibm.com' and s['issuer']=='https://sigstore.verify.ibm.com/oauth2', s
assert '2025-10-10T02:12:20Z' in s['signed_at'], s"
expect 0 "--identity-regexp matching the whole identity" -- "$VERIFY" "${V110[@]}" --identity-regexp '.*@us\.ibm\.com' --issuer https://sigstore.verify.ibm.com/oauth2
expect 1 "--identity-regexp matching only a part" -- "$VERIFY" "${V110[@]}" --identity-regexp 'stefanb' --issuer https://sigstore.verify.ibm.com/oauth2
contains "$WORK/err" "sigstore.identity" "the failing check named"
expect 2 "an identity without an issuer" -- "$VERIFY" "${V110[@]}" --identity stefanb@us.ibm.com
contains "$WORK/err" "--issuer" "the missing flag named"
expect 2 "a keyless signer without a trusted root" -- "$VERIFY" model "$SIG/oms/v1.1.0-sigstore" --signature "$SIG/oms/v1.1.0-sigstore/model.sig" \
  --identity stefanb@us.ibm.com --issuer https://sigstore.verify.ibm.com/oauth2
contains "$WORK/err" "--trusted-root" "the trusted root asked for"
expect 2 "a signer and a release key at once" -- "$VERIFY" "${V110[@]}" --identity a --issuer b --release-key "$OMS/keys/signing-key-pub.pem"
expect 2 "a keyless bundle checked with a CA chain (a certificate bundle's flag)" -- "$VERIFY" model "$SIG/oms/v1.1.0-sigstore" \
  --signature "$SIG/oms/v1.1.0-sigstore/model.sig" --certificate-chain "$OMS/keys/ca-cert.pem" --ignore ignore-me
finish
