#!/usr/bin/env bash
# cci-run serve end to end on 127.0.0.1 with the simulated SEV-SNP platform: start-up checks,
# cci-verify remote (accepts with --trust-sim-root only; SEV-SNP, CSV and TDX), the OpenAI API for two users at once,
# streaming, every bad input of the issue, a worker that crashes, and a short load run.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
trap 'serve_stop; chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT

check "setup: signed model, simulated platform, two users" -- serve_setup

# Start-up refusals: weights changed after signing; a manifest signed by another key.
cp -r "$MODEL" "$WORK/tampered"
flip_byte "$WORK/tampered/model.safetensors" 4000
expect 1 "serve refuses weights changed after signing" -- "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" --model "$WORK/tampered" \
  --deployment "$WORK/cci-manifest.json" --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0
contains "$WORK/err" "model.safetensors" "the refusal names the changed file"
"$MEASURE" keygen --private-key "$WORK/other.key" >/dev/null 2>&1
expect 1 "serve refuses a manifest signed by another key" -- "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" --model "$MODEL" \
  --deployment "$WORK/cci-manifest.json" --release-key "$WORK/other.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0
expect 2 "a model bundle given as --deployment is refused, saying so" -- "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" --model "$MODEL" \
  --deployment "$WORK/model.sig" --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0
contains "$WORK/err" "give it with --signature" "the right flag is named"
expect 2 "neither --deployment nor --manifest" -- "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" --model "$MODEL" \
  --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0
# A bad --listen is a usage error found before any work: with tampered weights as well, the
# answer is the usage error (exit 2), not the weights' refusal (exit 1) that verifying would give.
for bad in 127.0.0.1:99999 localhost:8443 127.0.0.1: nohostport; do
  expect 2 "--listen $bad is refused before the weights are read" -- "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" --model "$WORK/tampered" \
    --deployment "$WORK/cci-manifest.json" --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen "$bad"
  contains "$WORK/err" "--listen" "... naming --listen"
done
expect 3 "serve --device cuda is refused before the weights are read (the workers compute on the CPU only so far)" -- "$RUN" serve \
  --tee sim-snp --sim-dir "$WORK/sim" --model "$WORK/tampered" --deployment "$WORK/cci-manifest.json" --release-key "$WORK/release.pub" \
  --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0 --device cuda
contains "$WORK/err" "--device cuda:0: cci-run serve computes on the CPU only" "... saying so"
expect 2 "serve --device with no such device kind" -- "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" --model "$MODEL" \
  --deployment "$WORK/cci-manifest.json" --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0 --device tpu
expect 3 "serve without a TEE fails, never falls back to a simulator" -- "$RUN" serve --model "$MODEL" --deployment "$WORK/cci-manifest.json" \
  --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --tsm-root "$WORK/none" --sev-guest "$WORK/none" --csv-guest "$WORK/none"

check "server starts from the deployment manifest" -- serve_start --request-timeout 3 --max-body-bytes 4096 --max-tokens 64
contains "$WORK/serve.log" "SIMULATED" "a simulated TEE is announced at start"

# cci-verify remote needs nothing but the URL and the release key: the manifest comes from the
# server, its digest must be the claims', its signature the release key's, and MEASUREMENT one it lists.
expect 0 "cci-verify remote URL --release-key: verified against the deployment manifest" -- "$VERIFY" remote "$URL" \
  --release-key "$WORK/release.pub" --trust-sim-root "$WORK/sim" --offline --insecure-no-crl
contains "$WORK/out" "PASS  policy.measurement" "MEASUREMENT is one the deployment manifest lists"
contains "$WORK/out" "PASS  policy.min_tcb" "the manifest's policy (TCB minimums) applies"
contains "$WORK/out" "pin: $PIN" "it prints the key pin curl --pinnedpubkey takes"
contains "$WORK/err" "manifest: deployment 'tiny-demo', signed by the release key, named by the claims" "the served manifest is named"
contains "$WORK/err" "fresh evidence: bound to our nonce and to this TLS connection" "it checked fresh evidence"
check "GET /v1/attestation/manifest is the signed manifest, byte for byte" -- bash -c \
  "curl -sS -k --pinnedpubkey '$PIN' '$URL/v1/attestation/manifest' | cmp -s - '$WORK/cci-manifest.json'"
check "... whose SHA-256 the ready file reports" -- test "$(jq -r .manifest_sha256 "$WORK/ready.json")" = "$(sha256sum "$WORK/cci-manifest.json" | cut -d' ' -f1)"
expect 1 "cci-verify remote rejects it without --trust-sim-root" -- "$VERIFY" remote "$URL" \
  --release-key "$WORK/release.pub" --offline --insecure-no-crl
expect 1 "cci-verify remote rejects a local manifest other than the server's" -- "$VERIFY" remote "$URL" \
  --manifest "$WORK/model.sig" --release-key "$WORK/release.pub" --trust-sim-root "$WORK/sim" --offline --insecure-no-crl
contains "$WORK/err" "cci-manifest" "the refusal names the cci-manifest claim"
expect 1 "cci-verify remote rejects the server's manifest under another release key" -- "$VERIFY" remote "$URL" \
  --release-key "$WORK/other.pub" --trust-sim-root "$WORK/sim" --offline --insecure-no-crl
expect 1 "cci-verify remote rejects another deployment id" -- "$VERIFY" remote "$URL" --deploy prod-eu \
  --release-key "$WORK/release.pub" --trust-sim-root "$WORK/sim" --offline --insecure-no-crl
expect 2 "cci-verify remote without the release key: usage, naming it" -- "$VERIFY" remote "$URL" --trust-sim-root "$WORK/sim" --offline --insecure-no-crl
contains "$WORK/err" "--release-key" "the flag is named"
"$VERIFY" remote "$URL" --release-key "$WORK/release.pub" --trust-sim-root "$WORK/sim" \
  --offline --insecure-no-crl --json >"$WORK/remote.json" 2>/dev/null
check "--json carries the verdict, the pin and the manifest" -- test "$(jq -r '.result + " " + .remote.pin + " " + .remote.manifest.kind' "$WORK/remote.json")" = "pass $PIN deployment"
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

# Logs name the route, never what the client wrote in the request line.
api /v1/secret-canary-path-8c1f "$KEY_A" >/dev/null
check "a request path is never logged" -- bash -c "! grep -q secret-canary-path-8c1f '$WORK/serve.log'"
contains "$WORK/serve.log" '"route":"other"' "an unknown path is logged as route 'other'"

# Prometheus /metrics: open on this loopback listener, counts and latencies only (never the
# content, the users, their keys or the paths clients wrote).
check "GET /metrics without a key on loopback: 200" -- test "$(api /metrics)" = 200
cp "$WORK/body" "$WORK/metrics.txt"
contains "$WORK/metrics.txt" '# TYPE cci_requests_total counter' "the text exposition format"
check "completions are counted" -- bash -c "grep -E '^cci_requests_total\{route=\"/v1/completions\",code=\"200\"\} [1-9]' '$WORK/metrics.txt'"
check "chat streams have a time to first token" -- bash -c "grep -E '^cci_time_to_first_token_seconds_count [1-9]' '$WORK/metrics.txt'"
check "generated tokens are counted" -- bash -c "grep -E '^cci_completion_tokens_total [1-9]' '$WORK/metrics.txt'"
check "the 401s are counted" -- bash -c "grep -E '^cci_auth_failures_total [1-9]' '$WORK/metrics.txt'"
check "two per-user workers are running" -- bash -c "grep -qx 'cci_workers 2' '$WORK/metrics.txt'"
check "no user name, key, prompt or client path in /metrics" -- bash -c \
  "! grep -E -q 'alice|bob|$KEY_A|God|secret-canary' '$WORK/metrics.txt'"

# HTTP/1.1 pipelining: every request answered, in order (three were answered once before).
check "three pipelined GET /health: three answers" -- test "$(python3 "$CLIENT" pipeline "$URL" 3)" = 3
check "twenty pipelined: twenty answers" -- test "$(python3 "$CLIENT" pipeline "$URL" 20)" = 20

# Model output is always valid UTF-8 on the wire: at temperature 2, seed 1 samples a byte piece
# (the first byte of a multi-byte character) followed by ASCII, which once killed the worker.
wa="$(worker_pid_of alice)"
BYTES='{"prompt":"And God said","max_tokens":60,"temperature":2,"top_p":1,"seed":1,"stream":true}'
curl -sS -N -k --pinnedpubkey "$PIN" "$URL/v1/completions" -H "Authorization: Bearer $KEY_A" -d "$BYTES" >"$WORK/utf8.txt"
check "an ill-formed byte sequence: the stream is complete, ending in [DONE]" -- test "$(tail -n 2 "$WORK/utf8.txt" | head -n 1)" = "data: [DONE]"
grep '^data: {' "$WORK/utf8.txt" | sed 's/^data: //' | jq -j '.choices[0].text // ""' >"$WORK/utf8.text"
check "... whose text is valid UTF-8" -- python3 -c "open('$WORK/utf8.text','rb').read().decode('utf-8', 'strict')"
check "... with U+FFFD where the sequence was ill-formed" -- grep -q $'\xef\xbf\xbd' "$WORK/utf8.text"
check "... served by the same worker, still alive" -- test "$(worker_pid_of alice)" = "$wa" -a -d "/proc/$wa"
check "the same request without streaming: 200" -- test "$(api /v1/completions "$KEY_A" "${BYTES/true/false}")" = 200
check "no model output in the logs" -- bash -c "! grep -qF \"\$(head -c 24 '$WORK/utf8.text')\" '$WORK/serve.log'"

# A worker that died while idle is reaped before the next request is routed: that request
# starts a new worker instead of failing on the dead one. "Died" means exited (a zombie, or
# already reaped): SIGKILL is asynchronous, and a request that reaches a worker still tearing
# down is an in-flight crash (502, below). Under ASan an exit takes a while.
kill -KILL "$wa"
for _ in $(seq 200); do
  [ -d "/proc/$wa" ] && [ "$(awk '{print $3}' "/proc/$wa/stat" 2>/dev/null)" != Z ] || break
  sleep 0.05
done
check "alice's request right after her idle worker died: 200 from a new worker" -- test "$(api /v1/completions "$KEY_A" '{"prompt":"a","max_tokens":4}')" = 200
check "... another process" -- test "$(worker_pid_of alice)" != "$wa"

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

# A short load run through cci-bench (the 8 x 50 figure is in docs/performance.md).
printf '%s\n%s\n' "$KEY_A" "$KEY_B" >"$WORK/raw-keys"
expect 0 "cci-bench load: 4 users x 5 requests, zero errors" -- "$BENCH" load "$URL" --pin "$PIN" --keys "$WORK/raw-keys" --users 4 --requests 5 --max-tokens 8 --json
check "load report: 20 succeeded" -- test "$(jq -r .succeeded "$WORK/out")" = 20
check "load JSON validates against cci.bench.load.v1 (machine recorded)" -- \
  python3 "$(dirname "$0")/validate_json.py" "$CCI_SOURCE_DIR/docs/schemas/cci.bench.load.v1.schema.json" "$WORK/out"
expect 3 "cci-bench load refuses a server with another key pin (nothing measured: 3)" -- "$BENCH" load "$URL" --pin "sha256//AAAA" --keys "$WORK/raw-keys" --users 1 --requests 1

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

# Hostile clients cannot take the slots: idle sockets, stalled handshakes, a client that stops
# reading, a flood of fresh-evidence requests.
served_of() {  # served_of N: how many of N sequential /health requests got 200 within 5 s each
  local ok=0
  for _ in $(seq 1 "$1"); do
    [ "$(curl -sS -k --max-time 5 -o /dev/null -w '%{http_code}' "$URL/health" 2>/dev/null)" = 200 ] && ok=$((ok + 1))
  done
  echo "$ok"
}
log_count() { grep -c "$1" "$WORK/serve.log"; }
# A stalled TLS handshake has sent a byte, so it holds a connection process: at most
# --max-peer-connections of them live, and a newcomer evicts the oldest that has not
# authenticated. The server first takes the whole flood (each a process start: seconds under the
# sanitizers); the handshake deadline outlasts the measurement, so the legitimate requests meet
# full slots rather than a backlog or slots the deadline has already freed.
check "server for the handshake flood starts" -- serve_start --handshake-timeout 60 --max-peer-connections 16
python3 "$CLIENT" idle "$URL" 150 90 5 >"$WORK/idle.out" &
idle_pid=$!
for _ in $(seq 1 100); do grep -q ready "$WORK/idle.out" 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 1 600); do [ "$(log_count '"event":"connection",')" -ge 150 ] && break; sleep 0.1; done
check "the server took all 150 stalled handshakes ($(log_count '"event":"connection",') connections)" -- test "$(log_count '"event":"connection",')" -ge 150
evicted_before="$(log_count '"event":"connection_evicted"')"
served="$(served_of 25)"
check "150 stalled TLS handshakes: $served of 25 legitimate requests served" -- test "$served" = 25
check "... taking a slot a stalled handshake held (evictions $evicted_before, then $(log_count '"event":"connection_evicted"'))" -- \
  test "$(log_count '"event":"connection_evicted"')" -gt "$evicted_before"
kill "$idle_pid" 2>/dev/null; wait "$idle_pid" 2>/dev/null
serve_stop

check "server with short deadlines starts" -- serve_start --handshake-timeout 3 --write-timeout 2 --fresh-rate 0.2
python3 "$CLIENT" idle "$URL" 150 8 >"$WORK/idle.out" &
idle_pid=$!
for _ in $(seq 1 100); do grep -q ready "$WORK/idle.out" 2>/dev/null && break; sleep 0.1; done
served="$(served_of 25)"
check "150 idle TCP sockets (no TLS, no bytes): $served of 25 legitimate requests served" -- test "$served" = 25
check "... and the silent sockets hold no process" -- test "$(log_count '"event":"connection",')" -lt 60
wait "$idle_pid"
python3 "$CLIENT" idle "$URL" 5 5 >/dev/null &
idle_pid=$!
sleep 4.5
contains "$WORK/serve.log" '"reason":"handshake-timeout"' "a socket that sends nothing is closed after --handshake-timeout"
wait "$idle_pid"
stopped="$(python3 "$CLIENT" stopreader "$URL" 3000 6)"
check "a client that stops reading is cut off after --write-timeout ($stopped)" -- bash -c "echo '$stopped' | grep -q 'closed=1' && ! echo '$stopped' | grep -q 'answers=3000 '"
check "... while others are served" -- test "$(served_of 3)" = 3
# --fresh-rate 0.2: one answer, then one per 5 s: some of 40 get 429 even when each takes a second (sanitizers).
fresh_one() { curl -sS -k --max-time 10 -o /dev/null -w '%{http_code}\n' "$URL/v1/attestation/fresh" -d "{\"nonce\":\"$(openssl rand -hex 32)\"}"; }
export -f fresh_one; export URL
seq 1 40 | xargs -P 8 -I{} bash -c fresh_one >"$WORK/fresh.codes" 2>/dev/null
check "fresh evidence is rate limited: some of 40 at once get 429" -- grep -qx 429 "$WORK/fresh.codes"
check "... the others get evidence" -- grep -qx 200 "$WORK/fresh.codes"
check "... and the accept loop keeps serving meanwhile" -- test "$(served_of 3)" = 3
serve_stop

# The host swaps the release key, the manifest and every model file for attacker-signed ones
# while the server runs. Nothing is re-read by path: a new user's worker serves the attested model.
cp -r "$MODEL" "$WORK/model.orig"; cp "$WORK/release.pub" "$WORK/release.pub.orig"; cp "$WORK/cci-manifest.json" "$WORK/cci-manifest.json.orig"
check "server starts (swap test)" -- serve_start
A1='{"prompt":"And God said","max_tokens":20,"temperature":0}'
curl -sS -k --pinnedpubkey "$PIN" "$URL/v1/completions" -H "Authorization: Bearer $KEY_A" -d "$A1" >"$WORK/before.json"
"$MEASURE" keygen --private-key "$WORK/evil.key" >/dev/null 2>&1
cp -r "$MODEL" "$WORK/evil-model"
python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[-100:] = bytes(100); open(p,'wb').write(b)" "$WORK/evil-model/model.safetensors"
sed -e "s|path: $MODEL|path: $WORK/evil-model|" "$WORK/cci.yaml" >"$WORK/evil.yaml"
"$MEASURE" manifest build "$WORK/evil.yaml" --key "$WORK/evil.key" -o "$WORK/evil-manifest.json" >/dev/null 2>&1
for f in "$WORK"/evil-model/*; do cp "$f" "$MODEL/.swap" && mv "$MODEL/.swap" "$MODEL/$(basename "$f")"; done
cp "$WORK/evil.pub" "$WORK/release.pub.new" && mv "$WORK/release.pub.new" "$WORK/release.pub"
cp "$WORK/evil-manifest.json" "$WORK/cci-manifest.new" && mv "$WORK/cci-manifest.new" "$WORK/cci-manifest.json"
check "the files on disk are now the attacker's" -- bash -c "! cmp -s '$MODEL/model.safetensors' '$WORK/model.orig/model.safetensors'"
curl -sS -k --pinnedpubkey "$PIN" "$URL/v1/completions" -H "Authorization: Bearer $KEY_B" -d "$A1" >"$WORK/after.json"
check "a new user's worker, started after the swap, serves the attested model" -- \
  test "$(jq -r '.choices[0].text' "$WORK/after.json")" = "$(jq -r '.choices[0].text' "$WORK/before.json")"
check "... which is not empty" -- test -n "$(jq -r '.choices[0].text' "$WORK/after.json")"
expect 0 "cci-verify remote with the original release key still verifies the same deployment" -- "$VERIFY" remote "$URL" \
  --release-key "$WORK/release.pub.orig" --trust-sim-root "$WORK/sim" --offline --insecure-no-crl
expect 1 "... and the attacker's key does not verify what the server attests" -- "$VERIFY" remote "$URL" \
  --release-key "$WORK/evil.pub" --trust-sim-root "$WORK/sim" --offline --insecure-no-crl
serve_stop
rm -rf "$MODEL"; cp -r "$WORK/model.orig" "$MODEL"; cp "$WORK/release.pub.orig" "$WORK/release.pub"; cp "$WORK/cci-manifest.json.orig" "$WORK/cci-manifest.json"

# A weight file rewritten in place (same inode) after the start: a new worker hashes what it
# maps, refuses to start, and its user gets 503 saying why (dm-verity stops this on real images).
check "server starts (in-place test)" -- serve_start
check "alice is served before the rewrite" -- test "$(api /v1/completions "$KEY_A" '{"prompt":"a","max_tokens":2}')" = 200
flip_byte "$MODEL/model.safetensors" 5000
check "bob's new worker refuses the rewritten model: 503" -- test "$(api /v1/completions "$KEY_B" '{"prompt":"a","max_tokens":2}')" = 503
contains "$WORK/body" "no longer matches its attested manifest" "... saying why"
contains "$WORK/serve.log" '"event":"worker_start_failed"' "the accept loop logs the refused start"

# Revoking a key takes effect on the running server: the user's connections and worker end.
python3 "$CLIENT" hold "$URL" "$KEY_A" "In the beginning" 30 >"$WORK/hold.out" &
hold_pid=$!
for _ in $(seq 1 100); do grep -q ready "$WORK/hold.out" 2>/dev/null && break; sleep 0.1; done
wa="$(worker_pid_of alice)"
expect 0 "cci-run keys revoke --user alice" -- "$RUN" keys revoke --file "$WORK/keys.txt" --user alice
for _ in $(seq 1 40); do grep -q '"event":"user_revoked"' "$WORK/serve.log" && break; sleep 0.1; done
contains "$WORK/serve.log" '"event":"user_revoked"' "the server re-read the key file without a restart"
check "alice's key is refused at once: 401" -- test "$(api /v1/completions "$KEY_A" '{"prompt":"a","max_tokens":2}')" = 401
check "alice's open connection is gone" -- test -z "$(conn_pids_of alice)"
check "alice's worker is gone" -- bash -c "sleep 0.5; ! test -d /proc/$wa"
kill "$hold_pid" 2>/dev/null; wait "$hold_pid" 2>/dev/null
KEY_A="$("$RUN" keys add --file "$WORK/keys.txt" --user alice 2>/dev/null)"
serve_stop
rm -rf "$MODEL"; cp -r "$WORK/model.orig" "$MODEL"

# A server whose platform plays a launch measurement the deployment manifest does not list.
"$RUN" sim init "$WORK/sim-other" --vendor amd --measurement "$(printf 'ab%.0s' $(seq 48))" >/dev/null 2>&1
TEE="--tee sim-snp --sim-dir $WORK/sim-other" check "server on a platform playing another VM image starts" -- serve_start
expect 1 "cci-verify remote refuses a measurement the manifest does not list" -- "$VERIFY" remote "$URL" \
  --release-key "$WORK/release.pub" --trust-sim-root "$WORK/sim-other" --offline --insecure-no-crl
contains "$WORK/out" "FAIL  policy.measurement" "the failed check is named"
serve_stop

# A plain model bundle names no VM: the server says so loudly; a client must pin a measurement.
SIGNED="--manifest $WORK/model.sig" check "server from a plain model bundle starts" -- serve_start
contains "$WORK/serve.log" "clients can check the model's signature but NOT which VM image serves it" "the server warns"
expect 1 "cci-verify remote refuses it without an expected measurement" -- "$VERIFY" remote "$URL" \
  --release-key "$WORK/release.pub" --trust-sim-root "$WORK/sim" --offline --insecure-no-crl
contains "$WORK/out" "FAIL  policy.measurement: no expected measurement" "the missing expectation is the failed check"
contains "$WORK/out" "--insecure-any-measurement" "... and says what to give or name"
expect 0 "... accepts it with the measurement pinned by hand" -- "$VERIFY" remote "$URL" \
  --release-key "$WORK/release.pub" --trust-sim-root "$WORK/sim" --offline --insecure-no-crl --measurement "$SNP_MEAS"
expect 0 "... or with any image accepted by name" -- "$VERIFY" remote "$URL" \
  --release-key "$WORK/release.pub" --trust-sim-root "$WORK/sim" --offline --insecure-no-crl --insecure-any-measurement
contains "$WORK/out" "SKIP  policy.measurement: no expected measurement: ANY VM image is accepted" "the waiver is visible"
serve_stop

# The same scheme on a simulated Hygon CSV platform playing the manifest's CSV launch digest.
# (--firmware 1.55: the example policy's min_firmware is one version number for both vendors.)
"$RUN" sim init "$WORK/sim-csv" --vendor hygon --measurement "$CSV_MEAS" --firmware 1.55 >/dev/null 2>&1
TEE="--tee sim-csv --sim-dir $WORK/sim-csv" check "server on simulated CSV starts" -- serve_start
expect 0 "cci-verify remote verifies the CSV server against the deployment manifest" -- "$VERIFY" remote "$URL" \
  --release-key "$WORK/release.pub" --trust-sim-root "$WORK/sim-csv" --offline
contains "$WORK/out" "Hygon CSV" "... as a (simulated) Hygon CSV report"
contains "$WORK/out" "PASS  policy.measurement" "... whose measure the manifest lists"
expect 1 "... and refuses it without --trust-sim-root" -- "$VERIFY" remote "$URL" --release-key "$WORK/release.pub" --offline
check "completions over the CSV-attested channel" -- test "$(api /v1/completions "$KEY_A" '{"prompt":"a","max_tokens":2}')" = 200
serve_stop

# Intel TDX: a deployment manifest with a tdx launch (MRTD of Debian's OVMF.fd, RTMR0-3 of the
# reference boot the simulator plays), a server on the simulated TDX platform, cci-verify remote.
Z=$(printf '%096d' 0)
sed "s|^disks:|  - name: tdx-guest\n    ovmf: /usr/share/ovmf/OVMF.fd\n    launch:\n      - mode: tdx\n        rtmrs: [$Z, $Z, $Z, $Z]\n\ndisks:|" \
  "$WORK/cci.yaml" >"$WORK/cci-tdx.yaml"
expect 0 "a deployment manifest with a tdx launch" -- "$MEASURE" manifest build "$WORK/cci-tdx.yaml" --key "$WORK/release.key" -o "$WORK/tdx-manifest.json"
TDX_MEAS="$(deployment_measurement "$WORK/tdx-manifest.json" tdx)"
"$RUN" sim init "$WORK/sim-tdx" --vendor intel --measurement "$TDX_MEAS" >/dev/null 2>&1
TEE="--tee sim-tdx --sim-dir $WORK/sim-tdx" SIGNED="--deployment $WORK/tdx-manifest.json" check "server on simulated TDX starts" -- serve_start
expect 0 "cci-verify remote verifies the TDX server against the deployment manifest" -- "$VERIFY" remote "$URL" \
  --release-key "$WORK/release.pub" --trust-sim-root "$WORK/sim-tdx"
contains "$WORK/out" "Intel TDX quote" "... as a (simulated) Intel TDX quote"
for c in policy.measurement policy.rtmr policy.report_data; do contains "$WORK/out" "PASS  $c" "... $c passes"; done
contains "$WORK/err" "fresh evidence: bound to our nonce and to this TLS connection" "... with fresh evidence"
expect 1 "... and refuses it without --trust-sim-root" -- "$VERIFY" remote "$URL" --release-key "$WORK/release.pub"
check "completions over the TDX-attested channel" -- test "$(api /v1/completions "$KEY_A" '{"prompt":"a","max_tokens":2}')" = 200
serve_stop
check "logs are structured: every line from the server's processes is JSON" -- bash -c \
  "grep -v '^WARNING' '$WORK/serve.log' | grep -v '^serving ' | jq -e . >/dev/null"
finish
