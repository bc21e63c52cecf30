#!/usr/bin/env bash
# Many replicas, each verified (docs/deploy-kubernetes.md): three cci-run serve replicas of one
# signed deployment on 127.0.0.1 (simulated SEV-SNP platforms, each server its own key) behind a
# TCP round-robin balancer (L4 passthrough, tests/cli/rr_proxy.py). cci-verify remote verifies every
# connection: a key seen before is known, a new key gets the whole verification. Replacing one
# replica by a server with an unlisted measurement makes exactly the connections that reach it
# fail, naming that replica (its key through the balancer, its address when listed). cci-bench load
# over the replicas verifies every connection and counts it: no errors with the three, refusals
# (and only those requests lost) with the impostor.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
serve_setup || { echo "FAIL setup"; exit 1; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap 'cleanup; chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT

# start_replica NAME SIM_DIR: a server on that simulated platform.
start_replica() {
  "$RUN" serve --tee sim-snp --sim-dir "$2" --model "$MODEL" --deployment "$WORK/cci-manifest.json" --release-key "$WORK/release.pub" \
    --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0 --ready-file "$WORK/ready-$1.json" --threads 1 --exit-with-parent \
    >/dev/null 2>"$WORK/serve-$1.log" &
  PIDS+=($!)
  for _ in $(seq 1 300); do
    [ -s "$WORK/ready-$1.json" ] && return 0
    sleep 0.1
  done
  echo "replica $1 did not start:"; cat "$WORK/serve-$1.log"; return 1
}
hostport() { jq -r .url "$WORK/ready-$1.json" | sed 's|https://||'; }
pin() { jq -r .pin "$WORK/ready-$1.json"; }

# start_proxy NAME BACKEND...: a round-robin balancer; sets PROXY to its URL.
start_proxy() {
  local name="$1"; shift
  python3 "$(dirname "$0")/rr_proxy.py" "$WORK/proxy-$name.port" "$WORK/proxy-$name.log" "$@" &
  PIDS+=($!)
  for _ in $(seq 1 100); do [ -s "$WORK/proxy-$name.port" ] && break; sleep 0.05; done
  PROXY="https://127.0.0.1:$(cat "$WORK/proxy-$name.port")"
}

# The replicas share one (simulated) AMD platform, as real ones share AMD's root; the impostor runs
# on it too, in a VM whose launch measurement the manifest does not list.
cp -r "$WORK/sim" "$WORK/sim-impostor"
jq '.guest.measurement = "'"$(printf '%096d' 0)"'"' "$WORK/sim/amd/platform.json" >"$WORK/sim-impostor/amd/platform.json"
for r in a b c; do start_replica "$r" "$WORK/sim" || exit 1; done
start_replica impostor "$WORK/sim-impostor" || exit 1
check "three replicas, three different keys" -- test "$(for r in a b c; do pin "$r"; done | sort -u | wc -l)" = 3
TRUST=(--release-key "$WORK/release.pub" --offline --insecure-no-crl --trust-sim-root "$WORK/sim")

start_proxy good "$(hostport a)" "$(hostport b)" "$(hostport c)"
expect 0 "six connections through the balancer: each verified or a key verified before" -- \
  "$VERIFY" remote "$PROXY" "${TRUST[@]}" --connections 6 --json
cp "$WORK/out" "$WORK/good.json"
check "three keys verified in full, three connections reached a key verified before" -- jq -e >/dev/null \
  '.connections == 6 and .verifications == 3 and .keys_verified == 3 and .refused == 0 and ([.replicas[].outcome] == ["verified","verified","verified","verified-before","verified-before","verified-before"])' "$WORK/good.json"
check "the verified keys are the three replicas'" -- test "$(jq -r '[.replicas[] | select(.outcome == "verified") | .pin] | sort | join(" ")' "$WORK/good.json")" = \
  "$(for r in a b c; do pin "$r"; done | sort | tr '\n' ' ' | sed 's/ $//')"

# One replica replaced by a server whose VM has an unlisted measurement.
start_proxy bad "$(hostport a)" "$(hostport b)" "$(hostport impostor)"
expect 1 "through the balancer with the impostor: refused" -- "$VERIFY" remote "$PROXY" "${TRUST[@]}" --connections 6 --json
cp "$WORK/out" "$WORK/bad.json"
check "exactly the connections that reached it (3rd, 6th) fail, each verified again" -- jq -e >/dev/null \
  '[.replicas[] | select(.outcome == "refused") | .connection] == [3, 6] and .verifications == 4 and .keys_verified == 2 and .refused == 2' "$WORK/bad.json"
check "each refusal names the impostor's key" -- test "$(jq -r '[.replicas[] | select(.outcome == "refused") | .pin] | unique | .[]' "$WORK/bad.json")" = "$(pin impostor)"
check "and says why: its measurement is not the manifest's" -- jq -e >/dev/null '[.replicas[] | select(.outcome == "refused") | .message | test("measurement"; "i")] | all' "$WORK/bad.json"
expect 1 "the same in text" -- "$VERIFY" remote "$PROXY" "${TRUST[@]}" --connections 3
contains "$WORK/err" "(key $(pin impostor)): REFUSED" "the text names the refused replica by its key"
contains "$WORK/err" "3 connection(s) to 1 target(s): 2 replica key(s) verified, 1 refused" "and sums up"

# Replicas listed by address: each named by it. (Under ASan only the impostor and one replica: the
# same code per target, each verification several times slower there.)
LISTED=(a b c)
[ "$SANITIZED" = 1 ] && LISTED=(a)
URLS=()
for r in "${LISTED[@]}" impostor; do URLS+=("https://$(hostport "$r")"); done
expect 1 "replicas listed, the impostor among them: the replicas verified, the impostor refused" -- "$VERIFY" remote "${URLS[@]}" "${TRUST[@]}"
for r in "${LISTED[@]}"; do contains "$WORK/out" "replica $(hostport "$r") (key $(pin "$r")): verified SIMULATED" "replica $r verified, named by its address"; done
contains "$WORK/err" "replica $(hostport impostor) (key $(pin impostor)): REFUSED" "the impostor refused, named by its address"
expect 0 "--all-replicas resolves the name to every address (here: one)" -- "$VERIFY" remote "https://$(hostport a)" --all-replicas "${TRUST[@]}" --json
check "one target, verified" -- jq -e >/dev/null '.targets == 1 and .replicas[0].outcome == "verified"' "$WORK/out"

# cci-bench load over the replicas: every connection checked, new keys verified once.
printf '%s\n%s\n' "$KEY_A" "$KEY_B" >"$WORK/api-keys.txt"
start_proxy load "$(hostport a)" "$(hostport b)" "$(hostport c)"
expect 0 "bench load through the balancer over three replicas" -- "$BENCH" load "$PROXY" --keys "$WORK/api-keys.txt" --users 3 --requests 4 \
  --requests-per-connection 2 --max-tokens 4 "${TRUST[@]}" --json
cp "$WORK/out" "$WORK/load.json"
check "0 errors, every connection checked, three keys verified once each" -- jq -e >/dev/null \
  '.errors == 0 and .succeeded == 12 and .connections == 6 and .verified_connections == 6 and .refused_connections == 0 and .keys_verified == 3 and .verifications >= 3 and .trust == "verified"' "$WORK/load.json"
check "the document follows its schema" -- python3 "$(dirname "$0")/validate_json.py" "$CCI_SOURCE_DIR/docs/schemas/cci.bench.load.v1.schema.json" "$WORK/load.json"
start_proxy load-bad "$(hostport a)" "$(hostport b)" "$(hostport impostor)"
expect 1 "bench load with the impostor behind the balancer" -- "$BENCH" load "$PROXY" --keys "$WORK/api-keys.txt" --users 3 --requests 2 \
  --max-tokens 4 "${TRUST[@]}" --json
check "only its connection refused, only its requests lost" -- jq -e >/dev/null \
  '.refused_connections == 1 and .errors == 2 and .succeeded == 4 and (.first_error | contains("refused"))' "$WORK/out"
if [ "$SANITIZED" = 0 ]; then
  expect 0 "bench load over the replicas listed, pinned (one --pin each)" -- "$BENCH" load "https://$(hostport a)" "https://$(hostport b)" \
    --pin "$(pin a)" --pin "$(pin b)" --keys "$WORK/api-keys.txt" --users 2 --requests 2 --max-tokens 4 --json
fi
expect 2 "bench load with neither --pin nor --release-key" -- "$BENCH" load "$PROXY" --keys "$WORK/api-keys.txt"
finish
