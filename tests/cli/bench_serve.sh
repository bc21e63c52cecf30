#!/usr/bin/env bash
# cci-bench overhead and users on the embedded model (short runs: the figures themselves are in
# docs/performance.md): they run the real serving path, their JSON validates against the
# documented schemas (docs/schemas), their numbers are sane, and their SVG charts render.
source "$(dirname "$0")/lib.sh"
SCHEMAS="$CCI_SOURCE_DIR/docs/schemas"
VALIDATE="$(dirname "$0")/validate_json.py"
jqe() { jq -e "$@" >/dev/null; }

expect 0 "cci-bench overhead runs native and secure paths (pinned to CPU 0)" -- "$BENCH" overhead --runs 2 --generate 8 --threads 1 --cpus 0 --json --plot "$WORK/overhead.svg"
cp "$WORK/out" "$WORK/overhead.json"
check "overhead JSON validates against cci.bench.overhead.v2" -- python3 "$VALIDATE" "$SCHEMAS/cci.bench.overhead.v2.schema.json" "$WORK/overhead.json"
check "two runs on each side" -- test "$(jq '[.native.decode_tokens_s.values, .secure.decode_tokens_s.values] | map(length) | add' "$WORK/overhead.json")" = 4
check "positive decode rates" -- jqe '.native.decode_tokens_s.min > 0 and .secure.decode_tokens_s.min > 0' "$WORK/overhead.json"
check "the engine's own figures on both sides, and the secure split" -- jqe '.native.engine_decode_tokens_s.min > 0 and .secure.engine_prefill_seconds.min > 0 and .secure_split.transport_to_first_token_seconds.median > 0' "$WORK/overhead.json"
check "one engine thread pinned to one CPU uses every CPU, and the JSON says so" -- jqe '.engine_uses_every_cpu == true' "$WORK/overhead.json"
check "a 95 % interval around each overhead median" -- jqe '.overhead.decode.ci95[0] <= .overhead.decode.median and .overhead.decode.median <= .overhead.decode.ci95[1]' "$WORK/overhead.json"
check "the machine's load is measured, and decides whether there is a verdict" -- jqe '.load.runs.wall_seconds > 0 and .load.quiet_second.wall_seconds >= 1 and (if .load.others_fraction_of_one_cpu > .load.limit then .goals_met == null and (.result | startswith("not meaningful")) elif .blas.native != .blas.worker then .goals_met == null and (.result | startswith("not comparable")) elif .result == "met" or .result == "not met" then (.goals_met | type) == "boolean" else .goals_met == null and (.result | startswith("inconclusive")) end)' "$WORK/overhead.json"
check "each goal's verdict follows from its 95 % interval (met: at or below the goal; not met: above; else inconclusive)" -- jqe '[.goal_verdicts[] | .verdict == (if .ci95[1] <= .goal then "met" elif .ci95[0] > .goal then "not met" else "inconclusive" end) and .ci95[0] <= .median and .median <= .ci95[1]] | length == 4 and all' "$WORK/overhead.json"
check "... and the result from the goals, on an idle machine" -- jqe 'if .load.others_fraction_of_one_cpu > .load.limit or .blas.native != .blas.worker then true else ([.goal_verdicts[].verdict] as $v | .result == (if ($v | index("not met")) then "not met" elif ($v | all(. == "met")) then "met" else "inconclusive: an interval straddles its goal" end)) end' "$WORK/overhead.json"
check "the native engine's spread between runs is reported" -- jqe '.native_decode_spread >= 0' "$WORK/overhead.json"
# The client thread asks for the shortest scheduler slice during secure runs (Linux 6.12+ custom
# slices), so that it reads text as it comes instead of waiting for an engine thread's slice.
newer_kernel=$(uname -r | awk -F'[.-]' '{print ($1 > 6 || ($1 == 6 && $2 >= 12)) ? "true" : "false"}')
check "the client's short scheduler slice is recorded (and on Linux 6.12 or later, granted)" -- jqe --argjson newer "$newer_kernel" '(.client_short_slice | type) == "boolean" and (if $newer then .client_short_slice else true end)' "$WORK/overhead.json"
check "both sides name the BLAS kernels their prefill ran on, the same ones" -- jqe '.blas.native != "" and .blas.native == .blas.worker' "$WORK/overhead.json"
# OpenBLAS picks its kernels per process, from the CPU or from OPENBLAS_CORETYPE: the operator's
# choice must reach the worker (it once did not, and the worker's prefill ran 38 % faster than the
# native engine's). Prescott's kernels run on every x86-64 CPU.
expect 0 "overhead with OPENBLAS_CORETYPE=Prescott in the environment" -- env OPENBLAS_CORETYPE=Prescott "$BENCH" overhead --runs 1 --generate 4 --threads 1 --json
check "... the native engine and the worker both run Prescott's kernels" -- jqe '.blas.native == "Prescott" and .blas.worker == "Prescott" and (.result | startswith("not comparable") | not)' "$WORK/out"
# Another process spinning on a CPU meanwhile: the default limit (5 % of one CPU) voids the verdict.
( while kill -0 $$ 2>/dev/null; do :; done ) &  # stops with this script, even if it is killed
hog=$!
expect 3 "a verdict on a machine another process loads is refused (--check: exit 3)" -- "$BENCH" overhead --runs 2 --generate 8 --threads 1 --check --json
kill "$hog"
wait "$hog" 2>/dev/null
check "... saying why" -- jqe '.result == "not meaningful: the machine was busy" and .goals_met == null' "$WORK/out"
expect 0 "--instances 2: two fresh servers, their runs pooled" -- "$BENCH" overhead --runs 1 --instances 2 --generate 4 --threads 1 --json
check "... one pair from each" -- jqe '.instances == 2 and (.native.decode_tokens_s.values | length) == 2 and (.secure.decode_tokens_s.values | length) == 2' "$WORK/out"
# Each streamed piece of text wakes the connection process and the client, which take CPU from
# an engine that uses every core: the benchmark counts the pieces, and runs the server at another
# --stream-interval when asked.
check "the pieces of text per run and the server's stream interval (its default, 0.1 s) are recorded" -- jqe '.secure_split.pieces_per_run.min >= 1 and .stream_interval_seconds == 0.1' "$WORK/overhead.json"
expect 0 "--stream-interval 0: every token's text goes alone" -- "$BENCH" overhead --runs 1 --generate 8 --threads 1 --stream-interval 0 --json
check "... in more than two pieces" -- jqe '.stream_interval_seconds == 0 and .secure_split.pieces_per_run.median > 2' "$WORK/out"
expect 0 "--stream-interval 1: the first piece at once, the rest together" -- "$BENCH" overhead --runs 1 --generate 8 --threads 1 --stream-interval 1 --json
check "... in at most two pieces" -- jqe '.stream_interval_seconds == 1 and .secure_split.pieces_per_run.max <= 2' "$WORK/out"
expect 2 "--stream-interval above 1 s is a usage error" -- "$BENCH" overhead --runs 1 --stream-interval 5 --json
expect 2 "--cpus with a CPU this machine lacks is a usage error" -- "$BENCH" overhead --runs 1 --cpus 4096 --json
check "memory per process: the worker maps the weights, its private part is apart" -- jqe '[.memory[] | select(.role == "cci-run serve-worker")] | length == 1 and .[0].file_mib > 0 and .[0].private_mib > 0 and .[0].peak_rss_mib >= .[0].rss_mib' "$WORK/overhead.json"
check "one-time costs measured: handshake and worker start" -- jqe '.one_time.attestation_handshake_seconds.median > 0 and .one_time.worker_first_request_seconds > 0' "$WORK/overhead.json"
check "the machine is recorded" -- jqe '.machine.cpu != "" and .machine.read_bandwidth_gb_s > 0' "$WORK/overhead.json"
check "the overhead chart renders (rsvg-convert)" -- rsvg-convert "$WORK/overhead.svg" -o "$WORK/overhead.png"
check "... into a non-empty PNG" -- test -s "$WORK/overhead.png"

expect 0 "cci-bench users 1,2" -- "$BENCH" users --users 1,2 --requests 1 --generate 4 --json --plot "$WORK/users.svg"
cp "$WORK/out" "$WORK/users.json"
check "users JSON validates against cci.bench.users.v1" -- python3 "$VALIDATE" "$SCHEMAS/cci.bench.users.v1.schema.json" "$WORK/users.json"
check "two levels; two workers at the second" -- test "$(jq -r '"\(.levels | length) \(.levels[1].workers | length)"' "$WORK/users.json")" = "2 2"
check "workers share the weights: PSS below RSS" -- jqe '[.levels[1].workers[] | select(.readable) | .pss_mib < .rss_mib] | all' "$WORK/users.json"
check "the users chart renders" -- rsvg-convert "$WORK/users.svg" -o "$WORK/users.png"

# The validator itself must refuse a document that breaks the schema.
jq '.native.decode_tokens_s.median = "fast"' "$WORK/overhead.json" >"$WORK/bad.json"
check "a broken document is refused by the validator" -- bash -c "! python3 '$VALIDATE' '$SCHEMAS/cci.bench.overhead.v2.schema.json' '$WORK/bad.json' >/dev/null"
expect 2 "overhead refuses --model with --shape" -- "$BENCH" overhead --model "$WORK" --shape 15M
finish
