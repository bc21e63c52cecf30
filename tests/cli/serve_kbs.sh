#!/usr/bin/env bash
# cci-run serve --key-source kbs:// and cdh:// with an encrypted model: the key comes from a
# trustee KBS on 127.0.0.1 (tests/cli/kbs_server.py, written from trustee's protocol 0.4.0) after
# the RCAR handshake with the simulated platform's evidence (as trustee's sample TEE), its
# certificate pinned; an expired session is attested again; PolicyDeny is reported at once and
# not hammered; a wrong pin gets nothing. The simulated SEV-SNP and CSV reports also go in the
# hardware's shapes (--kbs-tee snp|csv), which the test KBS verifies as trustee's verifiers do, and
# its resource policy releases only to the deployment's measurement. The Confidential Data Hub
# source reads the key from a CDH on loopback.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
python3 -c 'import cryptography' 2>/dev/null || { echo "FAIL: python3-cryptography missing (scripts/test installs it)"; exit 1; }
KBS_PID=""
stop_kbs() { [ -n "$KBS_PID" ] && kill "$KBS_PID" 2>/dev/null; wait "$KBS_PID" 2>/dev/null; KBS_PID=""; }
trap 'serve_stop; stop_kbs; chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT

# start_kbs DIR [flags]: a test KBS whose ready file is DIR/ready.json; sets KBS_PORT, KBS_CERT.
start_kbs() {
  local dir="$1"; shift
  mkdir -p "$dir"
  python3 "$(dirname "$0")/kbs_server.py" "$dir/ready.json" --resource "default/tiny/dek=$WORK/dek.bin" "$@" >"$dir/requests.log" 2>"$dir/err.log" &
  KBS_PID=$!
  for _ in $(seq 1 100); do [ -s "$dir/ready.json" ] && break; sleep 0.1; done
  [ -s "$dir/ready.json" ] || { cat "$dir/err.log"; return 1; }
  KBS_PORT="$(jq -r .port "$dir/ready.json")"
  KBS_CERT="$(jq -r .cert "$dir/ready.json")"
}
# wait_log EVENT: until the server's log has EVENT (10 s at most).
wait_log() { for _ in $(seq 1 100); do grep -q "\"event\":\"$1\"" "$WORK/serve.log" && return 0; sleep 0.1; done; return 1; }
COMPLETE='{"prompt":"And God said","max_tokens":20,"temperature":0}'

check "setup: signed model, simulated platform, two users" -- serve_setup
expect 0 "encrypt the model" -- "$MEASURE" encrypt "$MODEL" -o "$WORK/enc" --key-id kbs:///default/tiny/dek --dek-out "$WORK/dek.bin"
sed -e "s|^  path: .*|&\n  encrypted: $WORK/enc|" "$WORK/cci.yaml" >"$WORK/sealed.yaml"
expect 0 "a deployment manifest recording the encrypted model" -- "$MEASURE" manifest build "$WORK/sealed.yaml" --key "$WORK/release.key" -o "$WORK/sealed.json"
SEALED=(--model "$WORK/enc" --deployment "$WORK/sealed.json")
export MODEL="$WORK/enc" SIGNED="--deployment $WORK/sealed.json"

check "a test KBS on 127.0.0.1 (the first resource request finds its session expired)" -- start_kbs "$WORK/kbs1" --expire-first 1
expect 2 "kbs:// without --kbs-cert is a usage error naming it" -- timeout 60 "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" "${SEALED[@]}" \
  --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0 --key-source "kbs://127.0.0.1:$KBS_PORT/default/tiny/dek"
contains "$WORK/err" "--kbs-cert" "... naming the flag"
expect 2 "a resource path with '..' is refused" -- timeout 60 "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" "${SEALED[@]}" \
  --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0 --key-source "kbs://127.0.0.1:$KBS_PORT/default/../dek"

check "serve with --key-source kbs:// starts" -- serve_start --key-source "kbs://127.0.0.1:$KBS_PORT/default/tiny/dek" --kbs-cert "$KBS_CERT"
check "... gets the key from the KBS and unseals the model" -- wait_log model_unsealed
check "the handshake as trustee sees it: auth, attest, an expired session, auth, attest, the resource" -- test \
  "$(jq -r '"\(.method) \(.path) \(.status) \(.error)"' "$WORK/kbs1/requests.log" | tr '\n' '|')" = \
  "POST /kbs/v0/auth 200 |POST /kbs/v0/attest 200 |GET /kbs/v0/resource/default/tiny/dek 401 TokenNotFound|POST /kbs/v0/auth 200 |POST /kbs/v0/attest 200 |GET /kbs/v0/resource/default/tiny/dek 200 |"
check "a completion from the KBS-keyed model" -- test "$(api /v1/completions "$KEY_A" "$COMPLETE")" = 200
check "... the plain model's greedy output" -- test "$(jq -r '.choices[0].text' "$WORK/body")" = " unto them, What do ye?"
check "the ready file and /metrics name the source" -- bash -c "test \"\$(jq -r .key_source '$WORK/ready.json')\" = kbs && curl -sS -k --pinnedpubkey '$PIN' '$URL/metrics' | grep -q '^cci_model_sealed{key_source=\"kbs\"} 0$'"
check "the key is in no log" -- bash -c "! grep -qiF -e \"\$(od -An -tx1 -v '$WORK/dek.bin' | tr -d ' \n')\" -e \"\$(base64 -w0 '$WORK/dek.bin')\" '$WORK/serve.log' '$WORK/serve.out' '$WORK/kbs1/requests.log'"
serve_stop
stop_kbs

check "a KBS whose policy refuses" -- start_kbs "$WORK/kbs2" --deny
check "serve starts sealed" -- serve_start --key-source "kbs://127.0.0.1:$KBS_PORT/default/tiny/dek" --kbs-cert "$KBS_CERT"
check "PolicyDeny is reported at once" -- wait_log model_key_fetch_failed
contains "$WORK/serve.log" "PolicyDeny" "... by its name"
sleep 3
check "... and not asked again at once (one resource request in 3 s)" -- test "$(grep -c '/kbs/v0/resource' "$WORK/kbs2/requests.log")" = 1
check "nothing is served" -- test "$(api /v1/completions "$KEY_A" "$COMPLETE")" = 503
serve_stop
stop_kbs

check "a KBS with another certificate than the pinned one" -- start_kbs "$WORK/kbs3"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/other-kbs.key" -out "$WORK/other-kbs.crt" -subj /CN=other -days 1 2>/dev/null
cp "$WORK/other-kbs.crt" "$WORK/other-ark.pem"
check "serve starts sealed" -- serve_start --key-source "kbs://127.0.0.1:$KBS_PORT/default/tiny/dek" --kbs-cert "$WORK/other-kbs.crt"
check "the KBS is refused by the pin" -- wait_log model_key_fetch_failed
contains "$WORK/serve.log" "public key does not match pinned public key" "... saying so"
check "... before anything was sent to it" -- test ! -s "$WORK/kbs3/requests.log"
serve_stop
stop_kbs

# The hardware shapes: the simulated platform's report as trustee's snp and csv verifiers read
# it (--kbs-tee), checked by the test KBS as trustee does (the report rebuilt from its fields and
# its signature; the simulator's ARK pinned) and released only to the expected measurement.
expect 2 "--kbs-tee csv on a SEV-SNP source is a usage error naming it" -- timeout 60 "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" "${SEALED[@]}" \
  --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0 --key-source "kbs://127.0.0.1:1/default/tiny/dek" --insecure-http-kbs --kbs-tee csv
contains "$WORK/err" "--kbs-tee" "... naming the flag"
expect 2 "--kbs-tee sample on hardware is a usage error (no hardware evidence at all)" -- timeout 60 "$RUN" serve --tee snp "${SEALED[@]}" \
  --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0 --key-source "kbs://127.0.0.1:1/default/tiny/dek" --insecure-http-kbs --kbs-tee sample
contains "$WORK/err" "sends no hardware evidence" "... saying why"
check "a test KBS that reads SEV-SNP evidence and releases to the deployment's measurement" -- \
  start_kbs "$WORK/kbs4" --snp-ark "$WORK/sim/amd/cert_chain.pem" --expect-measurement "$SNP_MEAS"
check "serve with --kbs-tee snp starts" -- serve_start --key-source "kbs://127.0.0.1:$KBS_PORT/default/tiny/dek" --kbs-cert "$KBS_CERT" --kbs-tee snp
check "... the KBS verified the report and its chain, and released the key" -- wait_log model_unsealed
check "... told the TEE snp" -- test "$(jq -r 'select(.path == "/kbs/v0/auth") | .tee' "$WORK/kbs4/requests.log" | sort -u)" = snp
check "... and refused nothing" -- bash -c "! grep -q refused '$WORK/kbs4/requests.log'"
check "a completion from the model keyed on SEV-SNP evidence" -- test "$(api /v1/completions "$KEY_A" "$COMPLETE")" = 200
serve_stop
stop_kbs
check "a KBS that expects another measurement" -- start_kbs "$WORK/kbs5" --snp-ark "$WORK/sim/amd/cert_chain.pem" --expect-measurement "$(printf '%096d' 0)"
check "serve starts sealed" -- serve_start --key-source "kbs://127.0.0.1:$KBS_PORT/default/tiny/dek" --kbs-cert "$KBS_CERT" --kbs-tee snp
check "the policy refuses the measurement" -- wait_log model_key_fetch_failed
contains "$WORK/serve.log" "PolicyDeny" "... as PolicyDeny"
check "nothing is served" -- test "$(api /v1/completions "$KEY_A" "$COMPLETE")" = 503
serve_stop
stop_kbs
check "a KBS that pins another ARK" -- start_kbs "$WORK/kbs6" --snp-ark "$WORK/other-ark.pem"
check "serve starts sealed" -- serve_start --key-source "kbs://127.0.0.1:$KBS_PORT/default/tiny/dek" --kbs-cert "$KBS_CERT" --kbs-tee snp
check "the attestation fails on the chain" -- wait_log model_key_fetch_failed
check "... as the KBS says" -- grep -q refused "$WORK/kbs6/requests.log"
serve_stop
stop_kbs

"$RUN" sim init "$WORK/sim-csv" --vendor hygon --measurement "$CSV_MEAS" >/dev/null 2>&1
check "a test KBS that reads CSV evidence (csv-rs's shape) and releases to the deployment's measurement" -- start_kbs "$WORK/kbs7" --expect-measurement "$CSV_MEAS"
TEE="--tee sim-csv --sim-dir $WORK/sim-csv" check "serve on simulated CSV with --kbs-tee csv starts" -- \
  serve_start --key-source "kbs://127.0.0.1:$KBS_PORT/default/tiny/dek" --kbs-cert "$KBS_CERT" --kbs-tee csv
check "... the KBS verified the report's SM2 signature and PEK, and released the key" -- wait_log model_unsealed
check "... told the TEE csv" -- test "$(jq -r 'select(.path == "/kbs/v0/auth") | .tee' "$WORK/kbs7/requests.log" | sort -u)" = csv
check "a completion from the model keyed on CSV evidence" -- test "$(api /v1/completions "$KEY_A" "$COMPLETE")" = 200
serve_stop
stop_kbs

# cdh:///: a Confidential Data Hub on loopback answers GET /cdh/resource/REPO/TYPE/TAG with the plaintext.
mkdir -p "$WORK/cdh/cdh/resource/default/tiny"
cp "$WORK/dek.bin" "$WORK/cdh/cdh/resource/default/tiny/dek"
python3 -m http.server 0 --bind 127.0.0.1 --directory "$WORK/cdh" >"$WORK/cdh.log" 2>&1 &
CDH_PID=$!
for _ in $(seq 1 50); do grep -q "port" "$WORK/cdh.log" && break; sleep 0.1; done
CDH_PORT="$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$WORK/cdh.log" | head -1)"
check "serve with --key-source cdh:/// starts" -- serve_start --key-source cdh:///default/tiny/dek --cdh-url "http://127.0.0.1:$CDH_PORT"
check "... gets the key from the data hub and unseals" -- wait_log model_unsealed
check "a completion from the CDH-keyed model" -- test "$(api /v1/completions "$KEY_A" "$COMPLETE")" = 200
serve_stop
kill "$CDH_PID" 2>/dev/null
finish
