#!/usr/bin/env bash
# README.md's "Thirty seconds per audience", command by command as written, from a copy of the
# repository's examples: each command's exit code and a line of its output are checked against
# the table below, in order, so the README cannot drift from the tools. Inputs the README takes
# from the user's world come from here: a SoftHSM token named "release" with a key "model", and
# report.bin, its VCEK/chain/CRL and CSV evidence from the cci-run simulator (so the genuine-root
# checks reject them: exit 1, naming the simulated root). There is no network: the KDS, the DNS
# name cvm.example and a TEE device are all absent, and those commands must say so (exit 3).
source "$(dirname "$0")/lib.sh"
MODULE=/usr/lib/softhsm/libsofthsm2.so
# Under ASan, the command that loads the PKCS#11 engine gets full malloc stacks (tests/lsan.supp
# matches its leak by function); the rest keep the fast unwinder, many times quicker.
FULL_STACKS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}fast_unwind_on_malloc=0"
D="$WORK/repo"
mkdir -p "$D/models" && cp -r "$CCI_SOURCE_DIR/examples" "$D/" && cp -r "$CCI_SOURCE_DIR/models/kjv-tiny" "$D/models/" && cd "$D" || exit 1
# No network: a key server that is not there (https, so the refusal is the connection, not the scheme).
export CCI_KDS_URL=https://127.0.0.1:9
export PATH="$CCI_BIN/cci-measure:$CCI_BIN/cci-verify:$CCI_BIN/cci-run:$CCI_BIN/cci-bench:$PATH"

# The user's world: an HSM token, a report and its collateral, CSV evidence, a nonce.
export SOFTHSM2_CONF="$WORK/softhsm2.conf" CCI_PKCS11_PIN=1234
mkdir -p "$WORK/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$WORK/tokens" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label release --pin 1234 --so-pin 5678 >/dev/null
pkcs11-tool --module "$MODULE" --token-label release --login --pin 1234 --keypairgen --key-type EC:secp384r1 \
  --label model --id 01 >/dev/null 2>&1
export NONCE=00112233445566778899aabbccddeeff MEAS SM3 KEY=not-a-key
MEAS=$(printf 'ab%.0s' $(seq 48))
SM3=$(printf '00%.0s' $(seq 32))
cci-run sim init "$WORK/sim" --vendor amd --measurement "$MEAS" >/dev/null 2>&1
cci-run attest --tee sim-snp --sim-dir "$WORK/sim" --nonce "$NONCE" -o "$WORK/snp.json" >/dev/null 2>&1
jq -r .report "$WORK/snp.json" | base64 -d >report.bin
cp "$WORK/sim/amd/vcek.pem" vcek.der && cp "$WORK/sim/amd/cert_chain.pem" ask_ark_milan.pem && cp "$WORK/sim/amd/crl.der" milan.crl
cci-run sim init "$WORK/simc" --vendor hygon >/dev/null 2>&1
cci-run attest --tee sim-csv --sim-dir "$WORK/simc" --nonce "$NONCE" -o csv_evidence.json >/dev/null 2>&1
cp "$WORK/simc/hygon/hsk_cek.cert" hsk_cek.cert && cp "$WORK/simc/hygon/hrk.cert" hrk.cert
echo not-a-key >keys.txt
check "the user's inputs are staged" -- test -s report.bin -a -s csv_evidence.json -a -s vcek.der

# command prefix | exit code | a line of output (stdout or stderr; empty: not checked)
TABLE=$(cat <<'ROWS'
cci-measure keygen --private-key release.key|0|private key: release.key (mode 0600)
cci-measure model models/kjv-tiny --key release.key -o kjv-tiny.sig|0|wrote kjv-tiny.sig
cci-measure model models/kjv-tiny --key 'pkcs11:token=release;object=model'|0|wrote kjv-tiny.hsm.sig
cci-measure encrypt models/kjv-tiny -o kjv-tiny.enc|0|wrote a new model key to kjv-tiny.enc.dek (mode 0600)
cci-measure verity examples/launch/model-disk.img|0|6634b35017ca804911310d02e91defc32707687a513ae1f50cc6f15770d3490f
cci-measure image --mode snp --vcpus 4|0|
cci-measure manifest build examples/cci.yaml|0|wrote cci-manifest.json
cci-verify model models/kjv-tiny --signature kjv-tiny.sig --release-key release.pub|0|verified: models/kjv-tiny matches kjv-tiny.sig
echo $?|0|0
cci-verify model models/kjv-tiny --signature kjv-tiny.sig --release-key release.pub --json|0|"status": "ok"
cci-verify manifest cci-manifest.json --release-key release.pub|0|verified: true
cci-verify show report.bin|0|measurement:
cci-verify fetch report.bin|3|Couldn't connect
cci-verify report report.bin --offline --deployment cci-manifest.json|3|FAIL  snp.vek: no VCEK/VLEK certificate
cci-verify report report.bin --vek vcek.der|1|"result": "fail"
cci-verify report csv_evidence.json|1|FAIL  csv.hrk_pinned
cci-run generate --prompt 'And God said'|0|And God said
cci-run generate --model models/kjv-tiny --signature kjv-tiny.sig|0|Hello
cci-run attest --nonce $NONCE -o evidence.json|3|
cci-bench infer|-|a benchmark: cci-bench stays out of ctest
cci-run keys add --file api-keys.txt --user alice|0|added user alice
cci-run serve --model examples/tiny-model --deployment cci-manifest.json|1|model_type is missing
cci-run keys revoke --file api-keys.txt --user alice|0|
cci-verify remote https://cvm.example:8443|3|cvm.example
curl --pinnedpubkey|6|
cci-bench load https://cvm.example:8443|3|cvm.example
ROWS
)
mapfile -t rows <<<"$TABLE"
mapfile -t cmds < <(python3 "$CCI_SOURCE_DIR/tests/cli/readme_commands.py" "$CCI_SOURCE_DIR/README.md")
check "the README has as many commands as the table (${#rows[@]})" -- test "${#cmds[@]}" -eq "${#rows[@]}"
for i in "${!rows[@]}"; do
  IFS='|' read -r prefix want text <<<"${rows[$i]}"
  cmd="${cmds[$i]:-}"
  if [ "${cmd#"$prefix"}" = "$cmd" ]; then
    failures=$((failures + 1)); echo "FAIL README command $((i + 1)) is '$cmd', the table expects '$prefix...'"
    continue
  fi
  if [ "$want" = "-" ]; then echo "not run: $cmd ($text)"; continue; fi
  if [ "$prefix" = "echo \$?" ]; then cmd="(exit 0); $cmd"; fi  # the code of the command before it
  asan="${ASAN_OPTIONS:-}"
  case "$cmd" in *pkcs11:*) asan="$FULL_STACKS" ;; esac
  expect "$want" "README: ${cmd:0:90}" -- env ASAN_OPTIONS="$asan" timeout 120 bash -c "$cmd"
  if [ -n "$text" ]; then
    cat "$WORK/out" "$WORK/err" >"$WORK/both"
    contains "$WORK/both" "$text" "... prints '$text'"
  fi
done
finish
