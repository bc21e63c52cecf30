# Helpers for the CLI tests. Each test script runs the real executables with a scrubbed
# environment and checks exit codes, stdout and stderr.
# shellcheck shell=bash
set -uo pipefail
: "${CCI_BIN:?}" "${CCI_TEST_VECTORS_DIR:=$CCI_SOURCE_DIR/../shared/vectors}"
export CCI_TEST_VECTORS_DIR
MEASURE="$CCI_BIN/cci-measure/cci-measure"
VERIFY="$CCI_BIN/cci-verify/cci-verify"
BENCH="$CCI_BIN/cci-bench/cci-bench"
RUN="$CCI_BIN/cci-run/cci-run"
OMS="$CCI_TEST_VECTORS_DIR/measure/oms"
unset CCI_KEY_PASSWORD CCI_PKCS11_PIN CCI_PKCS11_MODULE CCI_THREADS CCI_PROGRESS CLICOLOR_FORCE
export NO_COLOR=1 TERM=dumb
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cci-cli-XXXXXX")"
# Tests never reach the internet: a KDS lookup that a test did not arrange fails at once
# (port 9 is closed), and the collateral cache is private to the test.
export CCI_KDS_URL=http://127.0.0.1:9 CCI_PCS_URL=http://127.0.0.1:9 CCI_NVIDIA_OCSP_URL=http://127.0.0.1:9 CCI_NVIDIA_RIM_URL=http://127.0.0.1:9 CCI_CACHE_DIR="$WORK/cache"
trap 'chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
failures=0
passes=0
# The ASan/UBSan build (every process several times slower): scripts run fewer repetitions of a
# race there, the dev build keeps the full count.
SANITIZED=0
[ "${CCI_SANITIZED:-OFF}" = ON ] && SANITIZED=1

# A genuine SEV-SNP report that verifies offline with its own collateral, at a fixed clock, any
# measurement accepted: for tests of policy keys that are not SEV-SNP's.
SNP_OK=(report --offline --insecure-no-crl "$CCI_TEST_VECTORS_DIR/snp/genoa/lunal_genoa_v5_report.bin"
  --vek "$CCI_TEST_VECTORS_DIR/snp/genoa/lunal_genoa_v5_vcek.der" --cert-chain "$CCI_TEST_VECTORS_DIR/snp/ca/kds_cert_chain/ask_ark_genoa.pem"
  --at 2026-06-01 --insecure-any-measurement)

need_vectors() {
  if [ ! -d "$OMS" ]; then echo "skipped: vectors not found ($OMS)"; exit 77; fi
}

# expect RC DESCRIPTION -- command...   (stdout/stderr kept in $WORK/out, $WORK/err)
expect() {
  local want="$1" what="$2"; shift 3
  local t0="${EPOCHREALTIME/./}"
  "$@" >"$WORK/out" 2>"$WORK/err"
  local rc=$?
  # CCI_TEST_TIMING=1: how long each command took (where a script spends its time).
  [ -n "${CCI_TEST_TIMING:-}" ] && printf '%8.2f s  ' "$(( ${EPOCHREALTIME/./} - t0 ))e-6"
  if [ "$rc" -eq "$want" ]; then
    passes=$((passes + 1)); echo "ok   $what (exit $rc)"
  else
    failures=$((failures + 1)); echo "FAIL $what: exit $rc, want $want"
    sed 's/^/     stdout: /' "$WORK/out" | head -20; sed 's/^/     stderr: /' "$WORK/err" | head -20
  fi
}

# contains FILE TEXT DESCRIPTION
contains() {
  if grep -qF -- "$2" "$1"; then passes=$((passes + 1)); echo "ok   $3"
  else failures=$((failures + 1)); echo "FAIL $3: '$2' not in $(basename "$1")"; sed 's/^/     /' "$1" | head -20; fi
}

check() {  # check DESCRIPTION -- command (true/false)
  local what="$1"; shift 2
  if "$@"; then passes=$((passes + 1)); echo "ok   $what"; else failures=$((failures + 1)); echo "FAIL $what"; fi
}

finish() {
  echo "$passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}

# flip_byte FILE OFFSET: inverts one bit of the byte at OFFSET (a write of a fixed value would be
# no change at all when the byte already held it).
flip_byte() {
  python3 -c 'import sys
p, at = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(at); b = f.read(1)[0]; f.seek(at); f.write(bytes([b ^ 1]))' "$1" "$2"
}
