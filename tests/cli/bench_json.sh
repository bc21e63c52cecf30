#!/usr/bin/env bash
# Every cci-bench JSON document follows its schema in docs/schemas and records the machine: short
# runs of hash, image, seal and verify (and infer where the engine is built) validate, and so does
# every recorded document in docs/perf (each names its schema). The figures themselves are in
# docs/performance.md; the goals are checked with --check by hand, never here.
source "$(dirname "$0")/lib.sh"
SCHEMAS="$CCI_SOURCE_DIR/docs/schemas"
VALIDATE="$(dirname "$0")/validate_json.py"
valid() { python3 "$VALIDATE" "$SCHEMAS/$1.schema.json" "$2"; }

expect 0 "cci-bench hash, a small model" -- "$BENCH" hash --large-files 1 --large-size 8388608 --small-files 20 --repeat 1 --json
cp "$WORK/out" "$WORK/hash.json"
check "hash JSON validates against cci.bench.hash.v1" -- valid cci.bench.hash.v1 "$WORK/hash.json"
check "... and records the machine" -- jq -e '.machine.logical_cores >= 1 and .machine.cpu != ""' "$WORK/hash.json"

expect 0 "cci-bench image, small inputs" -- "$BENCH" image --kernel-size 1000000 --initrd-size 1000000 --repeat 1 --json
cp "$WORK/out" "$WORK/image.json"
check "image JSON validates against cci.bench.image.v1" -- valid cci.bench.image.v1 "$WORK/image.json"
check "... all four modes timed" -- test "$(jq -r '[.modes[].mode] | join(",")' "$WORK/image.json")" = "snp,seves,sev,csv"

expect 0 "cci-bench seal, a small model" -- "$BENCH" seal --large-files 1 --large-size 16777216 --small-files 4 --repeat 1 --json
cp "$WORK/out" "$WORK/seal.json"
check "seal JSON validates against cci.bench.seal.v1" -- valid cci.bench.seal.v1 "$WORK/seal.json"
check "... with a decryption rate and OpenSSL's" -- jq -e '.decrypt_bytes_per_s > 0 and .openssl_aes256gcm_bytes_per_s > 0' "$WORK/seal.json"
check "... OpenSSL measured once after every pass, the ratio from the two medians" -- jq -e '(.openssl_runs_bytes_per_s | length) == .repeat and (.decrypt_runs_bytes_per_s | length) == .repeat and ((.ratio - .decrypt_bytes_per_s / .openssl_aes256gcm_bytes_per_s) | fabs) < 1e-9' "$WORK/seal.json"
check "... a moving pass (no decryption) after every pass, and the ratio it bounds" -- jq -e '(.read_runs_bytes_per_s | length) == .repeat and .read_bytes_per_s > 0 and ((.copy_bound_ratio - .read_bytes_per_s / (.read_bytes_per_s + .openssl_aes256gcm_bytes_per_s)) | fabs) < 1e-9' "$WORK/seal.json"

if [ -f "$CCI_TEST_VECTORS_DIR/snp/manifest.json" ] && [ -f "$CCI_TEST_VECTORS_DIR/csv/hygon_hrk.cert" ]; then
  expect 0 "cci-bench verify, briefly" -- "$BENCH" verify --seconds 0.05 --json
  cp "$WORK/out" "$WORK/verify.json"
  check "verify JSON validates against cci.bench.verify.v2" -- valid cci.bench.verify.v2 "$WORK/verify.json"
else
  echo "skipped: cci-bench verify (vectors not found)"
fi

if "$BENCH" infer --help >/dev/null 2>&1; then
  expect 0 "cci-bench infer on the embedded model, one repeat" -- "$BENCH" infer --threads 1 --repeats 1 --json
  cp "$WORK/out" "$WORK/infer.json"
  check "infer JSON validates against cci.bench.infer.v1" -- valid cci.bench.infer.v1 "$WORK/infer.json"
  expect 0 "cci-bench infer with OPENBLAS_CORETYPE=Prescott" -- env OPENBLAS_CORETYPE=Prescott "$BENCH" infer --threads 1 --repeats 1 --json
  check "... names the kernels prefill ran on and the variable that chose them" -- jq -e '.prefill_blas == {"kernels": "Prescott", "openblas_coretype": "Prescott"}' "$WORK/out"
  expect 0 "... and without it, OpenBLAS's own choice" -- env -u OPENBLAS_CORETYPE "$BENCH" infer --threads 1 --repeats 1
  contains "$WORK/out" "(its choice for this CPU)" "... which the text output says"
  # A named shape's random weights are written out and mapped from the page cache, as cci-run maps
  # a model, in a scratch directory that is gone afterwards.
  mkdir -p "$WORK/tmp"
  expect 0 "cci-bench infer --shape 15M, four tokens" -- env TMPDIR="$WORK/tmp" "$BENCH" infer --shape 15M --threads 1 --repeats 1 --prompt 4 --decode 4 --json
  cp "$WORK/out" "$WORK/infer-15M.json"
  check "... validates against cci.bench.infer.v1" -- valid cci.bench.infer.v1 "$WORK/infer-15M.json"
  check "... names the random shape and decodes" -- jq -e '.model == "random 15M" and .rows[0].decode_tokens_s > 0 and .rows[0].read_bandwidth_gb_s > 0' "$WORK/infer-15M.json"
  check "... and leaves no scratch directory behind" -- test -z "$(ls -A "$WORK/tmp")"
fi

# The documents the performance page quotes.
n=0
for f in "$CCI_SOURCE_DIR"/docs/perf/*.json; do
  s="$(jq -r .schema "$f")"
  check "docs/perf/$(basename "$f") has a schema file ($s)" -- test -f "$SCHEMAS/$s.schema.json"
  check "docs/perf/$(basename "$f") validates against $s" -- valid "$s" "$f"
  n=$((n + 1))
done
check "the recorded documents were found" -- test "$n" -ge 10

# The validator refuses a document without the machine.
jq 'del(.machine)' "$WORK/hash.json" >"$WORK/bad.json"
check "a document without the machine is refused" -- bash -c "! python3 '$VALIDATE' '$SCHEMAS/cci.bench.hash.v1.schema.json' '$WORK/bad.json' >/dev/null"
finish
