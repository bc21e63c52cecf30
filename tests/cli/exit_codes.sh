#!/usr/bin/env bash
# The exit codes of every tool against the table in docs/man/common/exit-status.md (cli::kExitCodes):
# 0 ok, 1 rejected, 2 usage, 3 cannot evaluate, 130 interrupted. One row per case; each row is run
# as written. Code 4 (internal) is a bug and has no case. Also: the old flag names still work as
# hidden aliases, hex flags take a 0x prefix, and argument errors come before any expensive work.
source "$(dirname "$0")/lib.sh"
EX="$CCI_SOURCE_DIR/examples"
W="$WORK"
NONCE=00112233445566778899aabbccddeeff

# Inputs every row may use (made once, with the tools themselves).
set -e
"$MEASURE" keygen --private-key "$W/release.key" >/dev/null 2>&1
"$MEASURE" keygen --private-key "$W/other.key" >/dev/null 2>&1
cp -r "$EX/tiny-model" "$W/model"
"$MEASURE" model "$W/model" --key "$W/release.key" -o "$W/model.sig" >/dev/null 2>&1
cp -r "$W/model" "$W/tampered" && printf 'x' >>"$W/tampered/config.json"
"$MEASURE" manifest build "$EX/cci.yaml" --key "$W/release.key" -o "$W/cci-manifest.json" >/dev/null 2>&1
SNP_MEAS="$("$VERIFY" manifest "$W/cci-manifest.json" --release-key "$W/release.pub" --json |
  jq -r '[.predicate.images[].launch_measurements[] | select(.platform == "snp") | .measurement][0]')"
"$RUN" sim init "$W/sim" --vendor amd --measurement "$SNP_MEAS" >/dev/null 2>&1
"$RUN" attest --tee sim-snp --sim-dir "$W/sim" --nonce "$NONCE" -o "$W/evidence.json" >/dev/null 2>&1
"$RUN" keys add --file "$W/api-keys.txt" --user alice >/dev/null 2>&1
truncate -s 6G "$W/big.bin"
set +e
SIM_OK=(--offline --trust-sim-root "$W/sim" --nonce "$NONCE")

# code | what | command (run with eval; $W is the work directory)
while IFS='|' read -r code what cmd; do
  code="${code// /}"
  [ -z "$code" ] || [ "${code:0:1}" = "#" ] && continue
  eval "expect $code \"\${what# }\" -- $cmd"
done <<'TABLE'
# cci-measure
0 | measure: keygen                                    | "$MEASURE" keygen --private-key "$W/k2.key"
0 | measure: model signs                               | "$MEASURE" model "$W/model" --key "$W/release.key" -o "$W/m2.sig"
0 | measure: model -o - (the bundle on stdout)         | "$MEASURE" model "$W/model" --key "$W/release.key" -o -
0 | measure: image                                     | "$MEASURE" image --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf "$EX/launch/example-ovmf.fd"
0 | measure: verity                                    | "$MEASURE" verity "$EX/launch/model-disk.img" --salt - --hash-file "$W/disk.verity"
0 | measure: manifest build -o -                       | "$MEASURE" manifest build "$EX/cci.yaml" --key "$W/release.key" -o -
3 | measure: --incremental without its state file    | "$MEASURE" model "$W/model" --key "$W/release.key" -o "$W/m3.sig" --incremental "$W/model.sig"
2 | measure: no subcommand                             | "$MEASURE"
2 | measure: unknown flag                              | "$MEASURE" model "$W/model" --kee "$W/release.key"
2 | measure: bad --threads                             | "$MEASURE" model "$W/model" --key "$W/release.key" -j many
2 | measure: no signing key                            | "$MEASURE" model "$W/model"
2 | measure: -o - with --json                          | "$MEASURE" model "$W/model" --key "$W/release.key" -o - --json
2 | measure: bad --snp-ovmf-hash, before any hashing   | "$MEASURE" image --mode snp --vcpus 2 --vcpu-type EPYC-Milan --snp-ovmf-hash 0xzz
3 | measure: the model directory is missing            | "$MEASURE" model "$W/nope" --key "$W/release.key" -o "$W/x.sig"
3 | measure: the key file is missing                   | "$MEASURE" model "$W/model" --key "$W/nope.key" -o "$W/x.sig"
2 | measure: keygen will not overwrite without --force | "$MEASURE" keygen --private-key "$W/release.key"
0 | measure: encrypt (a new key)                      | "$MEASURE" encrypt "$W/model" -o "$W/enc" --key-id kbs:///r/t/k
0 | measure: decrypt                                   | "$MEASURE" decrypt "$W/enc" -o "$W/dec" --dek "$W/enc.dek"
1 | measure: decrypt with another key                  | "$MEASURE" decrypt "$W/enc" -o "$W/dec2" --dek <(head -c 32 /dev/urandom)
3 | measure: decrypt with a key file of the wrong size | "$MEASURE" decrypt "$W/enc" -o "$W/dec3" --dek "$W/release.pub"
2 | measure: encrypt -o - (a directory)                | "$MEASURE" encrypt "$W/model" -o - --key-id kbs:///r/t/k
2 | measure: encrypt with a bad --key-id               | "$MEASURE" encrypt "$W/model" -o "$W/enc3" --key-id "a b"
2 | measure: encrypt with a bad --chunk-size           | "$MEASURE" encrypt "$W/model" -o "$W/enc4" --key-id kbs:///r/t/k --chunk-size 100
130 | measure: SIGINT while hashing 6 GB             | timeout --preserve-status -s INT 0.5 "$MEASURE" model "$W/big.bin" --key "$W/release.key" -o "$W/big.sig"
# cci-verify
0 | verify: model                                      | "$VERIFY" model "$W/model" --signature "$W/model.sig" --release-key "$W/release.pub"
0 | verify: model, old names -k/--key                  | "$VERIFY" model "$W/model" --signature "$W/model.sig" -k "$W/release.pub"
0 | verify: manifest                                   | "$VERIFY" manifest "$W/cci-manifest.json" --release-key "$W/release.pub"
0 | verify: manifest, old name --key                   | "$VERIFY" manifest "$W/cci-manifest.json" --key "$W/release.pub"
0 | verify: report (simulated, named)                  | "$VERIFY" report "$W/evidence.json" --deployment "$W/cci-manifest.json" --release-key "$W/release.pub" "${SIM_OK[@]}"
0 | verify: report, old names --manifest/--manifest-key | "$VERIFY" report "$W/evidence.json" --manifest "$W/cci-manifest.json" --manifest-key "$W/release.pub" "${SIM_OK[@]}"
0 | verify: report, 0x on --measurement and --nonce    | "$VERIFY" report "$W/evidence.json" --measurement "0x$SNP_MEAS" --offline --trust-sim-root "$W/sim" --nonce "0x$NONCE"
0 | verify: show                                       | "$VERIFY" show "$W/evidence.json"
0 | verify: completion                                 | "$VERIFY" completion bash
1 | verify: tampered model                             | "$VERIFY" model "$W/tampered" --signature "$W/model.sig" --release-key "$W/release.pub"
1 | verify: manifest under another key                 | "$VERIFY" manifest "$W/cci-manifest.json" --release-key "$W/other.pub"
1 | verify: report, wrong measurement                  | "$VERIFY" report "$W/evidence.json" --measurement "${SNP_MEAS%??}00" "${SIM_OK[@]}"
1 | verify: report, simulated root not named           | "$VERIFY" report "$W/evidence.json" --deployment "$W/cci-manifest.json" --release-key "$W/release.pub" --offline --nonce "$NONCE"
1 | verify: report, wrong nonce                        | "$VERIFY" report "$W/evidence.json" --measurement "$SNP_MEAS" --offline --trust-sim-root "$W/sim" --nonce 0xff
2 | verify: no subcommand                              | "$VERIFY"
2 | verify: --release-key and its old name together    | "$VERIFY" manifest "$W/cci-manifest.json" --release-key "$W/release.pub" --key "$W/release.pub"
2 | verify: manifest without a key                     | "$VERIFY" manifest "$W/cci-manifest.json"
2 | verify: --vendor intel                             | "$VERIFY" report "$W/evidence.json" --vendor intel
2 | verify: --vendor hygon on SEV-SNP evidence         | "$VERIFY" report "$W/evidence.json" --vendor hygon "${SIM_OK[@]}"
2 | verify: fetch --vendor hygon on SEV-SNP evidence   | "$VERIFY" fetch "$W/evidence.json" --vendor hygon
2 | verify: bad hex in --measurement                   | "$VERIFY" report "$W/evidence.json" --measurement 0xzz "${SIM_OK[@]}"
2 | verify: --deployment without --release-key         | "$VERIFY" report "$W/evidence.json" --deployment "$W/cci-manifest.json" "${SIM_OK[@]}"
2 | verify: --report-data and --nonce together         | "$VERIFY" report "$W/evidence.json" --report-data "$NONCE" "${SIM_OK[@]}"
3 | verify: the report file is missing                 | "$VERIFY" report "$W/nope.bin" --offline
3 | verify: the model directory is missing             | "$VERIFY" model "$W/nope" --signature "$W/model.sig" --release-key "$W/release.pub"
3 | verify: the key file is missing                    | "$VERIFY" manifest "$W/cci-manifest.json" --release-key "$W/nope.pub"
# cci-run
0 | run: keys list                                     | "$RUN" keys list --file "$W/api-keys.txt"
0 | run: attest -o - (old name --out also works)       | "$RUN" attest --tee sim-snp --sim-dir "$W/sim" --nonce "$NONCE" --out -
0 | run: attest with 0x on --nonce                     | "$RUN" attest --tee sim-snp --sim-dir "$W/sim" --nonce "0x$NONCE" -o "$W/e2.json"
2 | run: attest without a nonce                        | "$RUN" attest --tee sim-snp --sim-dir "$W/sim" -o "$W/e3.json"
2 | run: attest without an output                      | "$RUN" attest --tee sim-snp --sim-dir "$W/sim" --nonce "$NONCE"
2 | run: bad --listen, before the model is verified    | "$RUN" serve --model "$W/model" --deployment "$W/cci-manifest.json" --release-key "$W/release.pub" --api-keys "$W/api-keys.txt" --listen 127.0.0.1:99999
3 | run: sim init will not overwrite                   | "$RUN" sim init "$W/sim" --vendor amd
3 | run: attest on hardware that is not here           | "$RUN" attest --tee snp --tsm-root "$W/no-tsm" --sev-guest "$W/no-dev" --nonce "$NONCE" -o "$W/e4.json"
# cci-bench
2 | bench: no subcommand                               | "$BENCH"
2 | bench: load without --pin                          | "$BENCH" load https://127.0.0.1:9 --keys "$W/api-keys.txt"
2 | bench: unknown --vendor                            | "$BENCH" verify --vendor arm
3 | bench: load against a closed port                  | "$BENCH" load https://127.0.0.1:9 --pin sha256//AAAA --keys "$W/api-keys.txt" --users 1 --requests 1
TABLE

# The table's codes are the documented ones.
for c in 0 1 2 3 130; do
  check "exit code $c is in docs/man/common/exit-status.md" -- grep -q "^| $c |" "$CCI_SOURCE_DIR/docs/man/common/exit-status.md"
done
# No expensive work before an argument error: with a bad --listen and a model that does not
# exist, the answer is the usage error (2), so the address was checked before the model was read.
expect 2 "a bad --listen is refused before the model is looked at" -- "$RUN" serve --model "$W/no-such-model" \
  --deployment "$W/cci-manifest.json" --release-key "$W/release.pub" --api-keys "$W/api-keys.txt" --listen nonsense
contains "$WORK/err" "listen" "... naming --listen"
finish
