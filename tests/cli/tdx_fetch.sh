#!/usr/bin/env bash
# cci-verify fetch for Intel TDX quotes against a PCS / PCCS stand-in on 127.0.0.1 that serves
# the vector collateral under the PCS API v4 paths, with the issuer chains percent-encoded in the
# answers' headers (tests/cli/kds_server.py). The expected paths are written here from Intel's
# PCS API, not by cci. Then cci-verify report --offline reads the cache. A set that fails the
# verifier's collateral checks (another FMSPC's TCB Info, a missing issuer chain, past its
# nextUpdate) is refused and nothing is cached.
source "$(dirname "$0")/lib.sh"
T="$CCI_TEST_VECTORS_DIR/tdx"
if [ ! -f "$T/manifest.json" ]; then echo "skipped: vectors not found ($T)"; exit 77; fi

Q="$T/quotes/dcapqvl_b0c06f_v4_sample.dat"
COL="$T/collateral/dcapqvl_b0c06f000000_2025-06-19"
OTHER="$T/collateral/dcapqvl_20a06f000000_2025-09-02"
AT=(--at 2025-07-01T00:00:00Z)
MRTD="$(jq -r '.quotes[] | select(.path == "quotes/dcapqvl_b0c06f_v4_sample.dat") | .mr_td' "$T/manifest.json")"
TCB_PATH="/tdx/certification/v4/tcb?fmspc=b0c06f000000"
QE_PATH="/tdx/certification/v4/qe/identity"
CRL_PATH="/sgx/certification/v4/pckcrl?ca=platform&encoding=der"
ROOT_PATH="/sgx/certification/v4/rootcacrl"

# map TCB_INFO_FILE TCB_CHAIN_HEADER_NAME: the PCS answers (the TCB Info and its header variable).
map() {
  jq -n --arg col "$COL" --arg tcb "$1" --arg th "$2" --arg t "$TCB_PATH" --arg q "$QE_PATH" --arg c "$CRL_PATH" --arg r "$ROOT_PATH" '{
    ($t): {file: $tcb, headers: {($th): "\($col)/tcb_info_issuer_chain.pem"}},
    ($q): {file: "\($col)/qe_identity.json", headers: {"SGX-Enclave-Identity-Issuer-Chain": "\($col)/qe_identity_issuer_chain.pem"}},
    ($c): {file: "\($col)/pck_crl.der", headers: {"SGX-PCK-CRL-Issuer-Chain": "\($col)/pck_crl_issuer_chain.pem"}},
    ($r): "\($col)/root_ca_crl.der",
    "/IntelSGXRootCA.der": "\($col)/root_ca_crl.der"}'
}
map "$COL/tcb_info.json" TCB-Info-Issuer-Chain >"$WORK/map.json"
map "$OTHER/tcb_info.json" TCB-Info-Issuer-Chain >"$WORK/map-other.json"
map "$COL/tcb_info.json" X-Something-Else >"$WORK/map-nochain.json"
start() {  # start MAP: sets PCS
  [ -n "${SERVER:-}" ] && { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; }
  rm -f "$WORK/port"
  python3 "$(dirname "$0")/kds_server.py" --map "$1" --port-file "$WORK/port" --log "$WORK/pcs.log" &
  SERVER=$!
  for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
  PCS="http://127.0.0.1:$(cat "$WORK/port")"
}
trap 'kill $SERVER 2>/dev/null; chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
start "$WORK/map.json"
ENTRY="$CCI_CACHE_DIR/intel/tdx/b0c06f000000-platform"

expect 2 "a PCS over plain http is refused unless named" -- "$VERIFY" fetch "$Q" --pccs-url "$PCS/ok" "${AT[@]}"
contains "$WORK/err" "--insecure-http-kds" "the flag to name is given"
expect 2 "--pcs-url and --pccs-url together" -- "$VERIFY" fetch "$Q" --pcs-url "$PCS/ok" --pccs-url "$PCS/ok" --insecure-http-kds

expect 0 "fetch from a PCCS: TCB Info, QE Identity, PCK CRL, root CA CRL" -- "$VERIFY" fetch "$Q" --pccs-url "$PCS/ok" --insecure-http-kds "${AT[@]}" --json
check "json: four items downloaded, vendor intel, FMSPC and PCK CA named" -- jq -e >/dev/null \
  '([.items[] | select(.status == "downloaded")] | length) == 4 and .vendor == "intel" and .fmspc == "b0c06f000000" and .pck_ca == "platform"' "$WORK/out"
for p in "$TCB_PATH" "$QE_PATH" "$CRL_PATH" "$ROOT_PATH"; do
  check "asked for $p" -- grep -qxF "ok $p" "$WORK/pcs.log"
done
for f in tcb_info.json qe_identity.json tcb_info_issuer_chain.pem qe_identity_issuer_chain.pem pck_crl.der pck_crl_issuer_chain.pem root_ca_crl.der; do
  check "cached: $f" -- test -s "$ENTRY/$f"
done
check "the issuer chain header was decoded to the PEM Intel signs with" -- cmp -s "$ENTRY/tcb_info_issuer_chain.pem" "$COL/tcb_info_issuer_chain.pem"
check "TCB Info cached byte for byte" -- cmp -s "$ENTRY/tcb_info.json" "$COL/tcb_info.json"

before=$(wc -l <"$WORK/pcs.log")
expect 0 "a second fetch is served by the cache" -- "$VERIFY" fetch "$Q" --pccs-url "$PCS/ok" --insecure-http-kds "${AT[@]}"
check "no request for a cached set" -- test "$(wc -l <"$WORK/pcs.log")" -eq "$before"

expect 0 "cci-verify report --offline verifies from the cache alone" -- "$VERIFY" report "$Q" --offline "${AT[@]}" --measurement "$MRTD"
contains "$WORK/out" "PASS  tdx.tcb_info" "with the cached TCB Info"
contains "$WORK/out" "PASS  tdx.tcb_level" "... and its TCB level"
expect 0 "the cache entry is a directory --tdx-collateral takes" -- "$VERIFY" report "$Q" --tdx-collateral "$ENTRY" "${AT[@]}" --measurement "$MRTD"

# The report fetches on its own when the cache lacks the set (a fresh cache, PCS mode: the root CA
# CRL from the distribution point, mirrored here through CCI_PCS_ROOT_CRL_URL).
export CCI_CACHE_DIR="$WORK/cache2"
CCI_PCS_ROOT_CRL_URL="$PCS/ok/IntelSGXRootCA.der" expect 0 "cci-verify report fetches from the PCS when the cache lacks the set" -- \
  "$VERIFY" report "$Q" --pcs-url "$PCS/ok" --insecure-http-kds "${AT[@]}" --measurement "$MRTD"
contains "$WORK/err" "fetched Intel's tcb_info" "it says what it fetched"
check "asked the root CA CRL's distribution point" -- grep -qxF "ok /IntelSGXRootCA.der" "$WORK/pcs.log"

# Sets that fail the collateral checks are refused and not cached.
export CCI_CACHE_DIR="$WORK/cache3"
expect 3 "collateral past its nextUpdate is refused (checked at now)" -- "$VERIFY" fetch "$Q" --pccs-url "$PCS/ok" --insecure-http-kds
contains "$WORK/err" "tdx.root_crl" "the first stale check is named"
check "nothing cached" -- test ! -e "$CCI_CACHE_DIR/intel/tdx/b0c06f000000-platform/tcb_info.json"
start "$WORK/map-other.json"
expect 3 "another FMSPC's TCB Info is refused" -- "$VERIFY" fetch "$Q" --pccs-url "$PCS/ok" --insecure-http-kds "${AT[@]}"
contains "$WORK/err" "TCB Info is for FMSPC 20a06f000000, not b0c06f000000" "both FMSPCs are named"
check "nothing cached" -- test ! -e "$CCI_CACHE_DIR/intel/tdx/b0c06f000000-platform/tcb_info.json"
start "$WORK/map-nochain.json"
expect 3 "an answer without its issuer chain header is refused" -- "$VERIFY" fetch "$Q" --pccs-url "$PCS/ok" --insecure-http-kds "${AT[@]}"
contains "$WORK/err" "no tcb-info-issuer-chain header" "the missing header is named"
expect 3 "the PCS unreachable: an error naming the URL" -- "$VERIFY" fetch "$Q" --pcs-url http://127.0.0.1:9 --insecure-http-kds "${AT[@]}" --timeout 2 --attempts 1
contains "$WORK/err" "127.0.0.1:9" "the URL is named"
expect 2 "--items with an AMD item for a TDX quote" -- "$VERIFY" fetch "$Q" --pccs-url "$PCS/ok" --insecure-http-kds --items vcek
finish
