#!/usr/bin/env bash
# What the tools carry (a ctest, arch/links): cci-measure, cci-verify and cci-run link no libtorch
# (ldd), and cci-verify holds no code of the guest side (evidence sources, guest devices) or of the
# simulators (their private keys and report signing): only the verifier's libraries.
set -uo pipefail
bin="$1"
fail=0
# cci-run too: libtorch is cci-run-engine's alone (generate, serve's workers), so cci-run's other
# commands, serve's accept loop among them, start without loading it.
for t in cci-measure/cci-measure cci-verify/cci-verify cci-run/cci-run; do
  if ldd "$bin/$t" | grep -Eq 'libtorch|libc10|libgomp'; then echo "FAIL $t links libtorch or OpenMP"; fail=1; else echo "ok   $t links no libtorch"; fi
done
syms="$(nm -C "$bin/cci-verify/cci-verify" 2>/dev/null)"
if [ -z "$syms" ]; then echo "FAIL cannot read cci-verify's symbols"; exit 1; fi
for ns in 'cci::attest::' 'cci::sim::' 'cci::infer::'; do
  if grep -q "$ns" <<<"$syms"; then echo "FAIL cci-verify carries $ns code"; fail=1; else echo "ok   cci-verify carries no $ns code"; fi
done
grep -q 'cci::appraise::appraise' <<<"$syms" && echo "ok   cci-verify decides through cci::appraise" || { echo "FAIL cci-verify does not call cci::appraise"; fail=1; }
exit "$fail"
