#!/usr/bin/env bash
# Per-user isolation of cci-run serve, checked from outside as root: a random canary that only
# alice sends is searched in the memory (/proc/PID/mem) of the accept loop and of every process
# that serves bob; it must not be there. As a positive control, the scanner must find it in the
# connection process that is still receiving alice's request. The logs must not contain it either.
# The processes run with PR_SET_DUMPABLE 0, so only root can read their memory: skipped otherwise.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
trap 'serve_stop; kill $(jobs -p) 2>/dev/null; chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
if [ "$(id -u)" -ne 0 ]; then echo "skipped: reading /proc/PID/mem of hardened processes needs root"; exit 77; fi

check "setup" -- serve_setup
# A secret in the server's environment (a key password, say) must not reach its children.
export CCI_KEY_PASSWORD="env-canary-$(openssl rand -hex 8)"
# Two engine threads per worker: the compute pool has threads of its own, each checked below.
SERVE_THREADS=2 check "server starts" -- serve_start --request-timeout 60
unset CCI_KEY_PASSWORD
CANARY="cci-canary-$(openssl rand -hex 16)"

# Alice: two whole requests with the canary (plain and streamed), then one she is still sending.
check "alice's completion with the canary" -- test "$(api /v1/completions "$KEY_A" "{\"prompt\":\"$CANARY and God said\",\"max_tokens\":16}")" = 200
check "alice's streamed chat with the canary" -- test "$(api /v1/chat/completions "$KEY_A" \
  "{\"messages\":[{\"role\":\"user\",\"content\":\"$CANARY\"}],\"max_tokens\":16,\"stream\":true}")" = 200
# Bob: a request, and his connection stays open during the scan.
python3 "$CLIENT" hold "$URL" "$KEY_B" "In the beginning" 60 >"$WORK/hold.out" &
for _ in $(seq 1 100); do grep -q ready "$WORK/hold.out" 2>/dev/null && break; sleep 0.1; done
check "bob's request answered, his connection held open" -- grep -q "ready 200" "$WORK/hold.out"
python3 "$CLIENT" stall "$URL" "$CANARY" 60 >"$WORK/stall.out" &
for _ in $(seq 1 100); do grep -q ready "$WORK/stall.out" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
stalled_conn="$(grep '^{' "$WORK/serve.log" | jq -r 'select(.event=="connection") | .conn_pid' | tail -n 1)"

accept_pid="$SERVER_PID"
bob_worker="$(worker_pid_of bob)"
bob_conns="$(conn_pids_of bob | tr '\n' ' ')"
alice_worker="$(worker_pid_of alice)"
echo "     accept loop $accept_pid; bob: worker $bob_worker, connections $bob_conns; alice: worker $alice_worker, connection being sent $stalled_conn"
check "bob has a live worker and a live connection process" -- test -n "$bob_worker" -a -n "$bob_conns"
for p in $alice_worker $bob_worker $bob_conns; do
  check "process $p: seccomp filter on, no new privileges" -- bash -c "grep -q '^Seccomp:[[:space:]]*2' /proc/$p/status && grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$p/status"
  # Every thread, not only the first: threads share the address space, so one unfiltered thread
  # (a compute pool started during warm-up, before the filter) is a way around the filter.
  check "process $p: every thread ($(ls /proc/$p/task | wc -l)) under the filter" -- \
    bash -c "for t in /proc/$p/task/*; do grep -q '^Seccomp:[[:space:]]*2' \$t/status && grep -q '^NoNewPrivs:[[:space:]]*1' \$t/status || { echo \"thread \${t##*/} unfiltered\"; exit 1; }; done"
done

check "positive control: the accept loop's environment has the secret" -- grep -qz '^CCI_KEY_PASSWORD=env-canary-' "/proc/$accept_pid/environ"
for p in $alice_worker $bob_worker $bob_conns $stalled_conn; do
  check "process $p: an allow-listed environment, without the secret" -- bash -c "! grep -qz '^CCI_KEY_PASSWORD=' /proc/$p/environ"
done

python3 "$CLIENT" scan "$CANARY" "$stalled_conn" >"$WORK/scan-positive"
contains "$WORK/scan-positive" "$stalled_conn found" "positive control: the scanner finds the canary in the connection receiving it"
python3 "$CLIENT" scan "$CANARY" "$accept_pid" $bob_worker $bob_conns >"$WORK/scan"
sed 's/^/     /' "$WORK/scan"
check "scanned the accept loop and all of bob's processes" -- test "$(wc -l <"$WORK/scan")" -eq $((2 + $(echo $bob_conns | wc -w)))
check "the canary is in none of them" -- bash -c "! grep -q found '$WORK/scan'"
check "bob is still served" -- test "$(api /v1/completions "$KEY_B" '{"prompt":"a","max_tokens":4}')" = 200

serve_stop
check "the canary is in no log line" -- bash -c "! grep -qF '$CANARY' '$WORK/serve.log' '$WORK/serve.out'"
check "the logs did record alice's requests" -- bash -c "grep '^{' '$WORK/serve.log' | jq -r 'select(.event==\"completion\" and .proc==\"worker\") | .user' | grep -qx alice"
# --exit-with-parent: a server whose parent is killed (SIGKILL, no chance to clean up) stops too,
# and its worker with it. Without the flag the orphan would keep serving (a benchmark killed
# mid-run left one behind).
alive() { local st; st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)"; [ -n "$st" ] && [ "$st" != Z ]; }
for flag in --exit-with-parent ""; do
  rm -f "$WORK/ready2.json" "$WORK/child.pid"
  bash -c '"$0" serve --tee sim-snp --sim-dir "$1/sim" --model "$2" --deployment "$1/cci-manifest.json" --release-key "$1/release.pub" \
    --api-keys "$1/keys.txt" --listen 127.0.0.1:0 --ready-file "$1/ready2.json" --threads 1 $3 2>/dev/null & echo $! >"$1/child.pid"; wait' \
    "$RUN" "$WORK" "$MODEL" "$flag" &
  parent=$!
  for _ in $(seq 1 100); do [ -s "$WORK/ready2.json" ] && break; sleep 0.1; done
  child="$(cat "$WORK/child.pid")"
  kill -9 "$parent"; wait "$parent" 2>/dev/null
  for _ in $(seq 1 50); do alive "$child" || break; sleep 0.1; done
  if [ -n "$flag" ]; then
    check "--exit-with-parent: the server stops when its parent is killed" -- bash -c "$(declare -f alive); ! alive $child"
  else
    check "control: without it the orphaned server keeps running" -- alive "$child"
    kill -TERM "$child" 2>/dev/null
  fi
done
finish
