#!/usr/bin/env bash
# cci-verify fetch against a KDS stand-in on 127.0.0.1 that serves the vector files under
# KDS paths (tests/cli/kds_server.py); then cci-verify report --offline with the server gone.
# The expected URLs are written here from the KDS rules (specs/snp.md §5.3), not by cci.
source "$(dirname "$0")/lib.sh"
SNP="$CCI_TEST_VECTORS_DIR/snp"
if [ ! -f "$SNP/manifest.json" ]; then echo "skipped: vectors not found ($SNP)"; exit 77; fi

field() { "$VERIFY" show "$1" --json | jq -r ".report.$2"; }
# kds_vcek_url REPORT PRODUCT: /vcek/v1/P/HWID?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=..[&fmcSPL=..]
kds_vcek_url() {
  local chip tcb hw
  chip=$(field "$1" chip_id); tcb=$(field "$1" reported_tcb)
  if [ "$2" = Turin ]; then hw=${chip:0:16}; else hw=$chip; fi
  printf '/vcek/v1/%s/%s?blSPL=%s&teeSPL=%s&snpSPL=%s&ucodeSPL=%s' "$2" "$hw" \
    "$(jq -r .bootloader <<<"$tcb")" "$(jq -r .tee <<<"$tcb")" "$(jq -r .snp <<<"$tcb")" "$(jq -r .microcode <<<"$tcb")"
  [ "$2" = Turin ] && printf '&fmcSPL=%s' "$(jq -r .fmc <<<"$tcb")"
  return 0
}

MILAN="$SNP/milan/tav_milan_v3_report.bin"
TURIN="$SNP/turin/tav_turin_v5_report.bin"
VLEK="$SNP/vlek/trustee_milan_v3_vlek_report.bin"
openssl x509 -in "$SNP/milan/tav_milan_v3_vcek.pem" -outform der -out "$WORK/milan_vcek.der"
openssl x509 -in "$SNP/turin/tav_turin_v5_vcek.pem" -outform der -out "$WORK/turin_vcek.der"
MILAN_URL=$(kds_vcek_url "$MILAN" Milan)
TURIN_URL=$(kds_vcek_url "$TURIN" Turin)
check "Turin URL has a 16-digit hwID and fmcSPL" -- grep -qE '^/vcek/v1/Turin/[0-9a-f]{16}\?blSPL=1&teeSPL=1&snpSPL=4&ucodeSPL=81&fmcSPL=1$' <<<"$TURIN_URL"

# A CRL that claims to be ARK-Milan's but is signed by a throwaway key.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/fake.key" -out "$WORK/fake.pem" -days 2 \
  -subj "/OU=Engineering/C=US/L=Santa Clara/ST=CA/O=Advanced Micro Devices/CN=ARK-Milan" 2>/dev/null
: > "$WORK/index.txt"
printf '[ca]\ndefault_ca=c\n[c]\ndatabase=%s\ndefault_md=sha384\ndefault_crl_days=30\n' "$WORK/index.txt" > "$WORK/ca.cnf"
openssl ca -gencrl -config "$WORK/ca.cnf" -keyfile "$WORK/fake.key" -cert "$WORK/fake.pem" -out "$WORK/fake_crl.pem" 2>/dev/null
openssl crl -in "$WORK/fake_crl.pem" -outform der -out "$WORK/fake_crl.der"
check "forged CRL built" -- test -s "$WORK/fake_crl.der"

jq -n --arg m "$MILAN_URL" --arg t "$TURIN_URL" --arg snp "$SNP" --arg w "$WORK" '{
  ($m): "\($w)/milan_vcek.der", ($t): "\($w)/turin_vcek.der",
  "/vcek/v1/Milan/cert_chain": "\($snp)/ca/kds_cert_chain/ask_ark_milan.pem",
  "/vcek/v1/Turin/cert_chain": "\($snp)/ca/kds_cert_chain/ask_ark_turin_vcek.pem",
  "/vlek/v1/Milan/cert_chain": "\($snp)/ca/kds_cert_chain/ask_ark_milan_vlek.pem",
  "/vcek/v1/Genoa/cert_chain": "\($snp)/ca/kds_cert_chain/ask_ark_genoa.pem",
  "/vcek/v1/Milan/crl": "\($w)/fake_crl.der" }' > "$WORK/map.json"

python3 "$(dirname "$0")/kds_server.py" --map "$WORK/map.json" --port-file "$WORK/port" --log "$WORK/kds.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
KDS="http://127.0.0.1:$(cat "$WORK/port")"
requests() { grep -c "$1" "$WORK/kds.log" 2>/dev/null || echo 0; }
# kds_restart MAP: the stand-in again, serving MAP; sets SERVER and KDS.
kds_restart() {
  kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null
  rm -f "$WORK/port.next"
  python3 "$(dirname "$0")/kds_server.py" --map "$1" --port-file "$WORK/port.next" --log "$WORK/kds.log" &
  SERVER=$!
  for _ in $(seq 50); do [ -s "$WORK/port.next" ] && break; sleep 0.1; done
  KDS="http://127.0.0.1:$(cat "$WORK/port.next")"
}

# --- plain http only by name ---------------------------------------------------------------
expect 2 "a key server over plain http is refused unless named" -- "$VERIFY" fetch "$MILAN" --kds-url "$KDS/ok" --items cert_chain
contains "$WORK/err" "--insecure-http-kds" "the flag to name is given"
CCI_KDS_URL="$KDS/ok" expect 2 "... also from CCI_KDS_URL" -- "$VERIFY" fetch "$MILAN" --items cert_chain
check "nothing asked over http" -- bash -c "! grep -q 'ok /vcek/v1/Milan/cert_chain' '$WORK/kds.log' 2>/dev/null"

# --- the happy path: fetch, then verify offline with the server gone -----------------------
expect 0 "fetch Milan VCEK and chain" -- "$VERIFY" fetch "$MILAN" --insecure-http-kds --kds-url "$KDS/ok" --items vcek,cert_chain
contains "$WORK/out" "downloaded vcek" "VCEK downloaded"
contains "$WORK/out" "downloaded cert_chain" "chain downloaded"
check "VCEK cached under product, chip and TCB" -- test -f "$CCI_CACHE_DIR/amd/Milan/vcek/$(field "$MILAN" chip_id)/bl4-tee0-snp24-ucode219.der"
expect 0 "fetch Turin (8-byte hwID, fmcSPL)" -- "$VERIFY" fetch "$TURIN" --insecure-http-kds --kds-url "$KDS/ok" --items vcek,cert_chain --json
contains "$WORK/out" '"status": "downloaded"' "json lists the downloads"
before=$(wc -l < "$WORK/kds.log")
expect 0 "second fetch is served by the cache" -- "$VERIFY" fetch "$MILAN" --insecure-http-kds --kds-url "$KDS/ok" --items vcek,cert_chain
contains "$WORK/out" "cached     vcek" "cache hit reported"
check "no request for cached items" -- test "$(wc -l < "$WORK/kds.log")" -eq "$before"
expect 0 "fetch --output-dir --encoding der (as snpguest writes them)" -- "$VERIFY" fetch "$MILAN" --insecure-http-kds --kds-url "$KDS/ok" --items vcek,cert_chain --output-dir "$WORK/certs" --encoding der
check "vcek.der, ask.der, ark.der written" -- test -s "$WORK/certs/vcek.der" -a -s "$WORK/certs/ask.der" -a -s "$WORK/certs/ark.der"
check "ark.der is the KDS chain's second certificate" -- bash -c "openssl x509 -inform der -in '$WORK/certs/ark.der' -noout -subject | grep -q ARK-Milan"
expect 0 "... and --encoding pem" -- "$VERIFY" fetch "$MILAN" --insecure-http-kds --kds-url "$KDS/ok" --items vcek,cert_chain --output-dir "$WORK/certs-pem" --encoding pem --json
check "vcek.pem is PEM" -- grep -q "BEGIN CERTIFICATE" "$WORK/certs-pem/vcek.pem"
check "json names the files written" -- jq -e '.written | length == 3' "$WORK/out"
expect 0 "the exported files verify the report" -- "$VERIFY" report "$MILAN" --vek "$WORK/certs/vcek.der" --cert-chain "$WORK/certs/ask.der" --cert-chain "$WORK/certs/ark.der" --offline --insecure-no-crl --at 2026-06-01 --insecure-any-measurement
expect 2 "--encoding must be pem or der" -- "$VERIFY" fetch "$MILAN" --output-dir "$WORK/x" --encoding b64

expect 3 "a forged CRL is not cached" -- "$VERIFY" fetch "$MILAN" --insecure-http-kds --kds-url "$KDS/ok" --items crl
contains "$WORK/err" "KDS answer for the crl refused" "forged CRL refused"
check "forged CRL absent from the cache" -- test ! -e "$CCI_CACHE_DIR/amd/Milan/vcek_crl.der"

kill $SERVER; wait $SERVER 2>/dev/null
expect 0 "Milan verifies offline from the cache, server gone" -- "$VERIFY" report "$MILAN" --offline --insecure-no-crl --at 2026-06-01 --insecure-any-measurement
contains "$WORK/out" "PASS  snp.vek_hwid" "offline verification ran the chip binding"
expect 0 "Turin verifies offline from the cache" -- "$VERIFY" report "$TURIN" --offline --insecure-no-crl --at 2026-06-01 --insecure-any-measurement
expect 3 "without --insecure-no-crl the missing CRL stops it" -- "$VERIFY" report "$MILAN" --offline --at 2026-06-01
contains "$WORK/out" "FAIL  snp.crl" "CRL check named"
export CCI_CACHE_DIR="$WORK/cache-empty"
expect 3 "nothing cached and offline" -- "$VERIFY" report "$MILAN" --offline --insecure-no-crl --at 2026-06-01
expect 3 "KDS unreachable" -- "$VERIFY" fetch "$MILAN" --insecure-http-kds --kds-url "$KDS/ok" --timeout 2
contains "$WORK/err" "Couldn't connect" "connection failure named"

# --- a misbehaving KDS --------------------------------------------------------------------
kds_restart "$WORK/map.json"
expect 0 "report (online) fetches what it lacks" -- "$VERIFY" report "$MILAN" --insecure-http-kds --kds-url "$KDS/ok" --insecure-no-crl --at 2026-06-01 --insecure-any-measurement
check "online report asked the KDS for the VCEK" -- test "$(requests "ok $MILAN_URL")" -ge 1
export CCI_CACHE_DIR="$WORK/cache-bad"
expect 3 "404" -- "$VERIFY" fetch "$MILAN" --insecure-http-kds --kds-url "$KDS/notfound" --items vcek
contains "$WORK/err" "HTTP 404" "404 named"
expect 0 "429 once, then served (Retry-After honoured)" -- "$VERIFY" fetch "$MILAN" --insecure-http-kds --kds-url "$KDS/ratelimit1" --items vcek
contains "$WORK/err" "HTTP 429, retrying in 1 s" "back-off reported"
check "the VCEK was asked for twice" -- test "$(requests "ratelimit1 $MILAN_URL")" -eq 2
rm -rf "$CCI_CACHE_DIR"
expect 3 "429 every time" -- "$VERIFY" fetch "$MILAN" --insecure-http-kds --kds-url "$KDS/ratelimited" --items vcek --attempts 2
contains "$WORK/err" "rate-limited; still refused after 2 tries" "rate limit named"
expect 3 "garbage answer" -- "$VERIFY" fetch "$MILAN" --insecure-http-kds --kds-url "$KDS/garbage" --items vcek,cert_chain
contains "$WORK/err" "KDS answer for the cert_chain refused" "garbage chain refused"
contains "$WORK/err" "the vcek cannot be checked before the cert chain is cached" "no VCEK is taken without a chain to check it against"
check "garbage not cached" -- test ! -e "$CCI_CACHE_DIR/amd/Milan/vcek"
start=$(date +%s)
expect 3 "hanging KDS times out" -- "$VERIFY" fetch "$MILAN" --insecure-http-kds --kds-url "$KDS/hang" --items cert_chain --timeout 2
contains "$WORK/err" "timeout" "timeout named"
check "timeout honoured (< 15 s)" -- test $(( $(date +%s) - start )) -lt 15
# A Turin VCEK served at the Milan URL (wrong chip) is refused before caching.
jq --arg m "$MILAN_URL" --arg w "$WORK" '.[$m] = "\($w)/turin_vcek.der"' "$WORK/map.json" > "$WORK/map2.json"
kds_restart "$WORK/map2.json"
expect 3 "another chip's VCEK is refused" -- "$VERIFY" fetch "$MILAN" --insecure-http-kds --kds-url "$KDS/ok" --items vcek
contains "$WORK/err" "hwID is not this chip's ID" "wrong chip named"
expect 3 "VLEK report: the VLEK is not fetched, the chain is" -- "$VERIFY" fetch "$VLEK" --insecure-http-kds --kds-url "$KDS/ok" --items vcek,cert_chain
contains "$WORK/err" "signed by a VLEK" "VLEK explained"
contains "$WORK/out" "downloaded cert_chain" "VLEK chain downloaded"
check "VLEK chain from the vlek path" -- test "$(requests "ok /vlek/v1/Milan/cert_chain")" -eq 1
# --- a poisoning mirror: a VCEK with this chip's ID and TCB, signed by a key of its own -------
# (the simulator makes one: AMD's extensions, the Milan vector's chip and TCB, its own ASK).
chip=$(field "$MILAN" chip_id)
"$RUN" sim init "$WORK/evil" --vendor amd --product Milan --chip-id "$chip" --bl-spl 4 --tee-spl 0 --snp-spl 24 --ucode-spl 219 >/dev/null 2>&1
openssl x509 -in "$WORK/evil/amd/vcek.pem" -outform der -out "$WORK/evil_vcek.der"
jq --arg m "$MILAN_URL" --arg w "$WORK" '.[$m] = "\($w)/evil_vcek.der"' "$WORK/map.json" > "$WORK/map3.json"
kds_restart "$WORK/map3.json"
EVIL="$KDS"
export CCI_CACHE_DIR="$WORK/cache-poison"
VCEK_FILE="$CCI_CACHE_DIR/amd/Milan/vcek/$chip/bl4-tee0-snp24-ucode219.der"
expect 3 "a VCEK not signed by the pinned chain's ASK is refused" -- "$VERIFY" fetch "$MILAN" --insecure-http-kds --kds-url "$EVIL/ok" --items vcek
contains "$WORK/err" "not signed by the Milan ASK" "the forged signature is named"
check "... and nothing is cached for the chip" -- test ! -e "$VCEK_FILE"
# A poisoned entry already in the cache (left by anything else) is dropped and fetched again.
mkdir -p "$(dirname "$VCEK_FILE")"
cp "$WORK/evil_vcek.der" "$VCEK_FILE"
expect 3 "offline: a poisoned cached VCEK is dropped, never used" -- "$VERIFY" report "$MILAN" --offline --insecure-no-crl --at 2026-06-01 --insecure-any-measurement
contains "$WORK/err" "dropped" "the drop is reported"
check "... and removed from the cache" -- test ! -e "$VCEK_FILE"
cp "$WORK/evil_vcek.der" "$VCEK_FILE"
kds_restart "$WORK/map.json"
expect 0 "online: the poisoned entry is fetched once more from an honest server" -- "$VERIFY" report "$MILAN" --insecure-http-kds --kds-url "$KDS/ok" --insecure-no-crl --at 2026-06-01 --insecure-any-measurement
check "the cache now holds AMD's VCEK" -- cmp -s "$VCEK_FILE" "$WORK/milan_vcek.der"

expect 0 "cci-verify fetch --help" -- "$VERIFY" fetch --help
contains "$WORK/out" "Example" "fetch --help has examples"
finish
