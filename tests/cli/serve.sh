#!/usr/bin/env bash
# cci-run serve end to end on 127.0.0.1 with the simulated SEV-SNP platform: start-up checks,
# cci-verify remote (accepts with --trust-sim-root only), the OpenAI API for two users at once,
# streaming, every bad input of the issue, a worker that crashes, and a short load run.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
trap 'serve_stop; chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT

check "setup: signed model, simulated platform, two users" -- serve_setup

# Start-up refusals: weights changed after signing; a manifest signed by another key.
cp -r "$MODEL" "$WORK/tampered"
printf '\x01' | dd of="$WORK/tampered/model.safetensors" bs=1 seek=4000 conv=notrunc status=none
expect 1 "serve refuses weights changed after signing" -- "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" --model "$WORK/tampered" \
  --manifest "$WORK/model.sig" --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0
contains "$WORK/err" "model.safetensors" "the refusal names the changed file"
"$MEASURE" keygen --private-key "$WORK/other.key" >/dev/null 2>&1
expect 1 "serve refuses a manifest signed by another key" -- "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" --model "$MODEL" \
  --manifest "$WORK/model.sig" --release-key "$WORK/other.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0
expect 3 "serve without a TEE fails, never falls back to a simulator" -- "$RUN" serve --model "$MODEL" --manifest "$WORK/model.sig" \
  --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --tsm-root "$WORK/none" --sev-guest "$WORK/none" --csv-guest "$WORK/none"

check "server starts" -- serve_start --request-timeout 3 --max-body-bytes 4096 --max-tokens 64
contains "$WORK/serve.log" "SIMULATED" "a simulated TEE is announced at start"

# cci-verify remote: accepted only when the simulated root is trusted by name.
expect 0 "cci-verify remote accepts the live simulated server with --trust-sim-root" -- "$VERIFY" remote "$URL" \
  --manifest "$WORK/model.sig" --manifest-key "$WORK/release.pub" --trust-sim-root "$WORK/sim" --offline --insecure-no-crl
contains "$WORK/out" "pin: $PIN" "it prints the key pin curl --pinnedpubkey takes"
contains "$WORK/err" "fresh evidence: bound to our nonce and to this TLS connection" "it checked fresh evidence"
expect 1 "cci-verify remote rejects it without --trust-sim-root" -- "$VERIFY" remote "$URL" \
  --manifest "$WORK/model.sig" --manifest-key "$WORK/release.pub" --offline --insecure-no-crl
"$MEASURE" model "$MODEL" --key "$WORK/other.key" --output "$WORK/other.sig" >/dev/null 2>&1
expect 1 "cci-verify remote rejects another manifest than the server's" -- "$VERIFY" remote "$URL" \
  --manifest "$WORK/other.sig" --manifest-key "$WORK/other.pub" --trust-sim-root "$WORK/sim" --offline --insecure-no-crl
contains "$WORK/err" "cci-manifest" "the refusal names the cci-manifest claim"
expect 1 "cci-verify remote rejects the right manifest under the wrong key" -- "$VERIFY" remote "$URL" \
  --manifest "$WORK/model.sig" --manifest-key "$WORK/other.pub" --trust-sim-root "$WORK/sim" --offline --insecure-no-crl
expect 1 "cci-verify remote rejects another deployment id" -- "$VERIFY" remote "$URL" --deploy prod-eu \
  --manifest "$WORK/model.sig" --manifest-key "$WORK/release.pub" --trust-sim-root "$WORK/sim" --offline --insecure-no-crl
"$VERIFY" remote "$URL" --manifest "$WORK/model.sig" --manifest-key "$WORK/release.pub" --trust-sim-root "$WORK/sim" \
  --offline --insecure-no-crl --json >"$WORK/remote.json" 2>/dev/null
check "--json carries the verdict and the pin" -- test "$(jq -r '.result + " " + .remote.pin' "$WORK/remote.json")" = "pass $PIN"
expect 2 "cci-verify remote wants https://" -- "$VERIFY" remote "http://127.0.0.1:1"

# The API, two users at once.
check "health" -- test "$(api /health)" = 200
check "models needs a key" -- test "$(api /v1/models)" = 401
check "models with alice's key" -- test "$(api /v1/models "$KEY_A")" = 200
contains "$WORK/body" '"id":"model"' "the model is listed under its directory's name"
api /v1/completions "$KEY_A" '{"prompt":"And God said","max_tokens":20,"temperature":0}' >"$WORK/status_a" &
pa=$!
api /v1/chat/completions "$KEY_B" '{"messages":[{"role":"user","content":"In the beginning"}],"max_tokens":20}' >"$WORK/status_b" 2>&1 &
pb=$!
wait $pa $pb
check "alice gets a completion" -- test "$(cat "$WORK/status_a")" = 200
check "bob gets a chat completion at the same time" -- test "$(cat "$WORK/status_b")" = 200
curl -sS -k --pinnedpubkey "$PIN" "$URL/v1/completions" -H "Authorization: Bearer $KEY_A" \
  -d '{"prompt":"And God said","max_tokens":20,"temperature":0}' >"$WORK/a1.json"
check "greedy completion text" -- test "$(jq -r '.choices[0].text' "$WORK/a1.json")" = " unto them, What do ye?"
check "usage counts tokens" -- test "$(jq -r '.usage.prompt_tokens' "$WORK/a1.json")" -gt 0
curl -sS -k --pinnedpubkey "$PIN" "$URL/v1/chat/completions" -H "Authorization: Bearer $KEY_B" \
  -d '{"messages":[{"role":"user","content":"And God said"}],"max_tokens":20,"temperature":0}' >"$WORK/chat.json"
curl -sS -N -k --pinnedpubkey "$PIN" "$URL/v1/chat/completions" -H "Authorization: Bearer $KEY_B" \
  -d '{"messages":[{"role":"user","content":"And God said"}],"max_tokens":20,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}' >"$WORK/sse.txt"
check "streaming: server-sent events end with [DONE]" -- test "$(tail -n 2 "$WORK/sse.txt" | head -n 1)" = "data: [DONE]"
streamed="$(grep '^data: {' "$WORK/sse.txt" | sed 's/^data: //' | jq -j '.choices[0].delta.content // ""')"
check "streamed deltas join to the same greedy text as the whole answer" -- test "$streamed" = "$(jq -r '.choices[0].message.content' "$WORK/chat.json")"
check "... which is not empty" -- test -n "$streamed"
check "the last event has finish_reason and usage" -- test "$(grep '^data: {' "$WORK/sse.txt" | tail -n 1 | sed 's/^data: //' | jq -r '.choices[0].finish_reason + " " + (.usage.total_tokens|tostring)')" != " null"

# Bad input.
check "wrong API key: 401" -- test "$(api /v1/completions cci-0000 '{"prompt":"a"}')" = 401
contains "$WORK/body" "authentication_error" "an OpenAI error body"
check "malformed JSON: 400" -- test "$(api /v1/completions "$KEY_A" '{"prompt": "a",')" = 400
contains "$WORK/body" '"param":"body"' "the error names the body"
check "bad field: 400 naming it" -- test "$(api /v1/completions "$KEY_A" '{"prompt":"a","max_tokens":1000}')" = 400
contains "$WORK/body" '"param":"max_tokens"' "the error names max_tokens"
head -c 5000 /dev/zero | tr '\0' 'x' >"$WORK/big"
check "a body over the limit: 413" -- test "$(api /v1/completions "$KEY_A" "{\"prompt\":\"$(cat "$WORK/big")\"}")" = 413
check "unknown endpoint: 404" -- test "$(api /v1/nothing "$KEY_A")" = 404
check "another model name: 404" -- test "$(api /v1/completions "$KEY_A" '{"model":"gpt-4","prompt":"a"}')" = 404
curl -sS -k --tls-max 1.2 "$URL/health" >/dev/null 2>&1
check "a TLS 1.2-only client cannot connect" -- test $? -ne 0
check "a client that skips verification is still served (cci-verify remote never does this)" -- \
  test "$(curl -sS -k -o /dev/null -w '%{http_code}' "$URL/health")" = 200
check "one connection serves one user: a second key on it is refused" -- bash -c \
  "curl -sS -k '$URL/v1/models' -H 'Authorization: Bearer $KEY_A' -o /dev/null --next -k '$URL/v1/models' -H 'Authorization: Bearer $KEY_B' -o '$WORK/second' -w '%{http_code}' | grep -qx 401"
start=$(date +%s)
slow="$(python3 "$CLIENT" slow "$URL" 20)"
check "a slow client (one byte a second) is cut off by --request-timeout ($slow)" -- bash -c "echo '$slow' | grep -q '^closed'"
check "... while others are served meanwhile" -- test "$(api /health)" = 200

# A worker that crashes costs its own user one request; the next one gets a new worker.
wa="$(worker_pid_of alice)"
kill -STOP "$wa"
api /v1/completions "$KEY_A" '{"prompt":"And God said","max_tokens":8}' >"$WORK/status_crash" &
pc=$!
sleep 0.5
kill -KILL "$wa"
wait $pc
check "alice's request in flight when her worker dies: 502" -- test "$(cat "$WORK/status_crash")" = 502
check "bob carries on" -- test "$(api /v1/completions "$KEY_B" '{"prompt":"a","max_tokens":4}')" = 200
check "alice's next request gets a new worker" -- test "$(api /v1/completions "$KEY_A" '{"prompt":"a","max_tokens":4}')" = 200
check "the new worker is another process" -- test "$(worker_pid_of alice)" != "$wa"

# A short load run through cci-bench (the 8 x 50 figure is in the closing note).
printf '%s\n%s\n' "$KEY_A" "$KEY_B" >"$WORK/raw-keys"
expect 0 "cci-bench load: 4 users x 5 requests, zero errors" -- "$BENCH" load "$URL" --pin "$PIN" --keys "$WORK/raw-keys" --users 4 --requests 5 --max-tokens 8 --json
check "load report: 20 succeeded" -- test "$(jq -r .succeeded "$WORK/out")" = 20
expect 1 "cci-bench load refuses a server with another key pin" -- "$BENCH" load "$URL" --pin "sha256//AAAA" --keys "$WORK/raw-keys" --users 1 --requests 1

serve_stop
contains "$WORK/serve.log" '"event":"stopped"' "the server stops cleanly on SIGTERM"

# Limits: one live user at a time, one connection at work per user, idle workers exit after 2 s.
check "server with tight limits starts" -- serve_start --max-users 1 --max-user-connections 1 --idle-timeout 2
python3 "$CLIENT" hold "$URL" "$KEY_A" "In the beginning" 30 >"$WORK/hold.out" &
hold_pid=$!
for _ in $(seq 1 100); do grep -q ready "$WORK/hold.out" 2>/dev/null && break; sleep 0.1; done
check "alice's first connection is served" -- grep -q "ready 200" "$WORK/hold.out"
check "alice's second connection at the same time: 429" -- test "$(api /v1/completions "$KEY_A" '{"prompt":"a","max_tokens":2}')" = 429
check "bob while alice's worker lives (--max-users 1): 503" -- test "$(api /v1/completions "$KEY_B" '{"prompt":"a","max_tokens":2}')" = 503
kill "$hold_pid" 2>/dev/null; wait "$hold_pid" 2>/dev/null
for _ in $(seq 1 60); do grep -q '"event":"worker_exited"' "$WORK/serve.log" && break; sleep 0.1; done
contains "$WORK/serve.log" '"event":"worker_idle_exit"' "alice's idle worker is told to exit"
check "... and exits" -- grep -q '"event":"worker_exited"' "$WORK/serve.log"
check "then bob is served" -- test "$(api /v1/completions "$KEY_B" '{"prompt":"a","max_tokens":2}')" = 200
serve_stop

# The same scheme on a simulated Hygon CSV platform.
"$RUN" sim init "$WORK/sim-csv" --vendor hygon >/dev/null 2>&1
TEE="--tee sim-csv --sim-dir $WORK/sim-csv" check "server on simulated CSV starts" -- serve_start
expect 0 "cci-verify remote accepts the CSV server with its expected measurement" -- "$VERIFY" remote "$URL" \
  --manifest "$WORK/model.sig" --manifest-key "$WORK/release.pub" --trust-sim-root "$WORK/sim-csv" --offline --measurement "$(printf '0%.0s' $(seq 64))"
contains "$WORK/out" "Hygon CSV" "... as a (simulated) Hygon CSV report"
expect 1 "... and refuses it without one (CSV V1 fields are masked)" -- "$VERIFY" remote "$URL" \
  --manifest "$WORK/model.sig" --manifest-key "$WORK/release.pub" --trust-sim-root "$WORK/sim-csv" --offline
check "completions over the CSV-attested channel" -- test "$(api /v1/completions "$KEY_A" '{"prompt":"a","max_tokens":2}')" = 200
serve_stop
check "logs are structured: every line from the server's processes is JSON" -- bash -c \
  "grep -v '^WARNING' '$WORK/serve.log' | grep -v '^serving ' | jq -e . >/dev/null"
finish
