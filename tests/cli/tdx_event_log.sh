#!/usr/bin/env bash
# A TDX guest's CC event log travels with its evidence: cci-run attest puts the CCEL log (--ccel;
# on hardware the ACPI table's log area in sysfs) into the evidence file, cci-verify report and
# show replay it against the quote's RTMRs without --event-log, and the KBS client sends it to
# trustee as cc_eventlog (unit test). The log is genuine (go-tdx-guest's COS-113 capture); the
# simulated TD is given that capture's RTMRs, so its replay must match exactly.
source "$(dirname "$0")/lib.sh"
T="$CCI_TEST_VECTORS_DIR/tdx"
if [ ! -f "$T/manifest.json" ]; then echo "skipped: vectors not found ($T)"; exit 77; fi
LOG="$T/ccel/gtg_cos113/ccel_data.dat"
QUOTE="$T/quotes/gtg_00806f05_v4_cos113.dat"
SIM="$WORK/sim"
NONCE=00112233445566778899aabbccddeeff

expect 0 "the genuine log's replay (cci-verify show, against its own quote)" -- "$VERIFY" show "$QUOTE" --event-log "$LOG" --json
check "... every RTMR matches the quote" -- jq -e >/dev/null '[.event_log.replayed[] | .matches_quote] == [true, true, true, true]' "$WORK/out"
jq -c '[.event_log.replayed.rtmr0.value, .event_log.replayed.rtmr1.value, .event_log.replayed.rtmr2.value, .event_log.replayed.rtmr3.value]' "$WORK/out" >"$WORK/rtmrs.json"
expect 0 "a simulated TD" -- "$RUN" sim init "$SIM" --vendor intel
jq --slurpfile r "$WORK/rtmrs.json" '.guest.rtmr = $r[0]' "$SIM/intel/platform.json" >"$WORK/p.json" && cp "$WORK/p.json" "$SIM/intel/platform.json"
expect 0 "attest --ccel: the log goes into the evidence file" -- "$RUN" attest --tee sim-tdx --sim-dir "$SIM" --nonce "$NONCE" --ccel "$LOG" -o "$WORK/e.json"
check "... byte for byte" -- sh -c "jq -r .event_log '$WORK/e.json' | base64 -d | cmp -s - '$LOG'"
V=(report --trust-sim-root "$SIM" --nonce "$NONCE" --insecure-any-measurement --offline)
expect 0 "report replays the evidence's log, no --event-log needed" -- "$VERIFY" "${V[@]}" "$WORK/e.json"
contains "$WORK/out" "PASS  policy.event_log" "the replay is compared with RTMR0-3"
expect 0 "show replays it too" -- "$VERIFY" show "$WORK/e.json" --json
check "... and every RTMR matches" -- jq -e >/dev/null '[.event_log.replayed[] | .matches_quote] == [true, true, true, true]' "$WORK/out"

# The log is unauthenticated: one changed byte in an event's digest changes the replay.
python3 - "$WORK/e.json" "$WORK/bad.json" <<'PY'
import base64, json, sys
e = json.load(open(sys.argv[1]))
log = bytearray(base64.b64decode(e["event_log"]))
log[200] ^= 1  # inside the first events' digests
e["event_log"] = base64.b64encode(bytes(log)).decode()
json.dump(e, open(sys.argv[2], "w"))
PY
expect 1 "a log altered in one byte: rejected" -- "$VERIFY" "${V[@]}" "$WORK/bad.json"
contains "$WORK/out" "FAIL  policy.event_log" "the replay differs"
expect 0 "--event-log overrides the evidence's" -- "$VERIFY" "${V[@]}" "$WORK/bad.json" --event-log "$LOG"
jq 'del(.event_log)' "$WORK/e.json" >"$WORK/nolog.json"
expect 0 "evidence without a log: not compared, said" -- "$VERIFY" "${V[@]}" "$WORK/nolog.json"
contains "$WORK/out" "SKIP  policy.event_log" "the skip is said"
expect 0 "attest without --ccel on a simulator: no log, no noise" -- "$RUN" attest --tee sim-tdx --sim-dir "$SIM" --nonce "$NONCE" --ccel "$WORK/none" -o "$WORK/e0.json"
check "... no event_log in the file" -- jq -e >/dev/null 'has("event_log") | not' "$WORK/e0.json"
finish
