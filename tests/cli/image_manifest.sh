#!/usr/bin/env bash
# cci-measure image / verity / manifest and cci-verify manifest / launch-measure, end to end:
# reference rows through the real command line (sev-snp-measure spelling), output formats,
# every bad input of the image issue with its exit code, and the signed manifest round trip.
source "$(dirname "$0")/lib.sh"
SNP="$CCI_TEST_VECTORS_DIR/measure/snp"
if [ ! -d "$SNP" ]; then echo "skipped: vectors not found ($SNP)"; exit 77; fi
F="$SNP/ovmf_AmdSev_suffix.bin"
S="$SNP/synth-ovmf.bin"
EX="$CCI_SOURCE_DIR/examples"

# --- reference rows (the full table is the unit test launch/*) --------------------------
expect 0 "snp row 2" -- "$MEASURE" image --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf "$F" --kernel /dev/null --initrd /dev/null --append "console=ttyS0 loglevel=7" --guest-features 0x21
check "snp row 2 digest is the only stdout line" -- test "$(cat "$WORK/out")" = 803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977
expect 0 "snp:ovmf-hash then --snp-ovmf-hash" -- "$MEASURE" image --mode snp:ovmf-hash --ovmf "$F"
H="$(cat "$WORK/out")"
expect 0 "snp with precomputed firmware hash" -- "$MEASURE" image --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf "$F" --snp-ovmf-hash "$H" --kernel /dev/null --initrd /dev/null --append "console=ttyS0 loglevel=7" --guest-features 0x21
contains "$WORK/out" 803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977 "precomputed hash gives the same digest"
expect 0 "gce, no vCPU type needed" -- "$MEASURE" image --mode snp --vcpus 4 --vmm-type gce --ovmf "$F" --kernel /dev/null --initrd /dev/null --append ""
contains "$WORK/out" 5c5debf100fc339f90276e761ee1f1658d08922c3b20e2a2e6c7a6c3370b2452a15a00eae11886a93d6fd1e7ab81e29d "gce digest"
expect 0 "seves synthetic" -- "$MEASURE" image --mode seves --vcpus 2 --vcpu-type EPYC-v4 --ovmf "$S" --kernel "$SNP/k.bin" --initrd "$SNP/i.bin" --append console=ttyS0
contains "$WORK/out" d3b1c2ba5bb55dbd92dae92d2e8ab9eb97baa46cc4f17df8b567eadf404b4665 "seves digest"
expect 0 "vcpu family/model/stepping = EPYC-v4" -- "$MEASURE" image --mode snp --vcpus 1 --vcpu-family 23 --vcpu-model 1 --vcpu-stepping 2 --ovmf "$S"
contains "$WORK/out" 5a01273fc20d02f3b1ab4ad1af2ffd4924bbcd7a4465f4d3a1be0d803b7caf2e40b33edc98d173da94e5c9605cbcdde3 "family/model/stepping digest"
expect 0 "vcpu-sig" -- "$MEASURE" image --mode snp --vcpus 1 --vcpu-sig 0x800f12 --ovmf "$S"
contains "$WORK/out" 5a01273fc20d02f3b1ab4ad1af2ffd4924bbcd7a4465f4d3a1be0d803b7caf2e40b33edc98d173da94e5c9605cbcdde3 "vcpu-sig digest"
expect 0 "base64 output" -- "$MEASURE" image --mode sev --ovmf "$S" --kernel "$SNP/k.bin" --initrd "$SNP/i.bin" --append console=ttyS0 --output-format base64
check "base64 decodes to the sev digest" -- test "$(base64 -d "$WORK/out" | od -An -tx1 | tr -d ' \n')" = e5bcc918115e55ce9550cb1817c7023141091941e31ecf74dbb845d84e6a7b8c
expect 0 "json output" -- "$MEASURE" image --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf "$S" --json
contains "$WORK/out" '"schema": "cci.measure.image.v1"' "json schema named"
contains "$WORK/out" '"digest_alg": "sha384"' "json digest algorithm"
expect 0 "csv mode warns it is unconfirmed" -- "$MEASURE" image --mode csv --ovmf "$S" --kernel "$SNP/k.bin"
contains "$WORK/err" "not been confirmed on Hygon hardware" "csv warning on stderr"

# --- bad input ---------------------------------------------------------------------
head -c 8192 /dev/zero > "$WORK/nofooter.fd"
expect 1 "firmware without a footer table" -- "$MEASURE" image --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf "$WORK/nofooter.fd"
contains "$WORK/err" "footer table" "footer table named"
cp "$S" "$WORK/badlen.fd"; chmod u+w "$WORK/badlen.fd"
printf '\xff\x7f' | dd of="$WORK/badlen.fd" bs=1 seek=$((8192 - 50)) conv=notrunc status=none
expect 1 "corrupt table length" -- "$MEASURE" image --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf "$WORK/badlen.fd"
contains "$WORK/err" "footer table length" "table length named"
expect 2 "0 vCPUs" -- "$MEASURE" image --mode snp --vcpus 0 --vcpu-type EPYC-v4 --ovmf "$S"
expect 2 "513 vCPUs" -- "$MEASURE" image --mode snp --vcpus 513 --vcpu-type EPYC-v4 --ovmf "$S"
expect 2 "unknown vCPU type" -- "$MEASURE" image --mode snp --vcpus 1 --vcpu-type EPYC-Zen9 --ovmf "$S"
contains "$WORK/err" "EPYC-Milan" "known types listed"
expect 2 "missing vCPU type under QEMU" -- "$MEASURE" image --mode snp --vcpus 1 --ovmf "$S"
expect 2 "missing --vcpus" -- "$MEASURE" image --mode seves --vcpu-type EPYC --ovmf "$S"
expect 3 "initrd that does not exist" -- "$MEASURE" image --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf "$S" --kernel "$SNP/k.bin" --initrd "$WORK/no-initrd"
contains "$WORK/err" "no-initrd" "missing initrd named"
expect 3 "command line over the limit" -- "$MEASURE" image --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf "$S" --kernel "$SNP/k.bin" --append "$(head -c 3000 /dev/zero | tr '\0' x)"
contains "$WORK/err" "command line" "command line named"
expect 3 "kernel for firmware without kernel hashes" -- "$MEASURE" image --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf "$SNP/ovmf_OvmfX64_suffix.bin" --kernel /dev/null
expect 2 "append without kernel" -- "$MEASURE" image --mode sev --ovmf "$S" --append x
expect 3 "missing firmware" -- "$MEASURE" image --mode sev --ovmf "$WORK/none.fd"
expect 2 "bad --snp-ovmf-hash" -- "$MEASURE" image --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf "$S" --snp-ovmf-hash 1234

# --- dm-verity ---------------------------------------------------------------------
# 1 MiB image, byte i = i % 251 (vectors/measure/README.md), built with shell tools only.
for i in $(seq 0 250); do printf "\\$(printf %03o "$i")"; done > "$WORK/p251"
: > "$WORK/data.img"; while [ "$(stat -c %s "$WORK/data.img")" -lt 1048576 ]; do cat "$WORK/p251" >> "$WORK/data.img"; done
truncate -s 1048576 "$WORK/data.img"
check "data image as in the README" -- test "$(sha256sum < "$WORK/data.img" | cut -d' ' -f1)" = 631b84027d6b9e52b539c4e8373622d23032dfadc64d60af87339c9037e4f769
expect 0 "verity, zero salt" -- "$MEASURE" verity "$WORK/data.img" --salt 0000000000000000000000000000000000000000000000000000000000000000
contains "$WORK/out" f7a2c03353a573af9c62e51838050ae1057f7bf1a92f43510e6c0599ff483866 "verity root, zero salt"
expect 0 "verity, empty salt, json, hash file" -- "$MEASURE" verity "$WORK/data.img" --salt - --json --hash-file "$WORK/data.hash"
contains "$WORK/out" 2741efefc98f2dbd797ca3c2b25241acaed1b3d21bf0ee20b633fe4a5051f20c "verity root, empty salt"
check "hash file: superblock + 3 tree blocks" -- test "$(stat -c %s "$WORK/data.hash")" -eq $((4 * 4096))
head -c 5000 /dev/zero > "$WORK/odd.img"
expect 3 "image not a multiple of the block size" -- "$MEASURE" verity "$WORK/odd.img" --salt -
contains "$WORK/err" "multiple of the data block size" "block size named"

# --- deployment manifest -------------------------------------------------------------
expect 0 "keygen" -- "$MEASURE" keygen --private-key "$WORK/rel.key"
expect 0 "manifest build from examples/" -- "$MEASURE" manifest build "$EX/cci.yaml" --key "$WORK/rel.key" -o "$WORK/m.json"
contains "$WORK/out" "image demo-guest  snp" "summary lists launch measurements"
expect 0 "manifest verifies" -- "$VERIFY" manifest "$WORK/m.json" --key "$WORK/rel.pub"
contains "$WORK/out" 'name: "tiny-demo"' "printed as YAML"
expect 0 "manifest --json" -- "$VERIFY" manifest "$WORK/m.json" --key "$WORK/rel.pub" --json
contains "$WORK/out" '"launch_measurements"' "json holds the predicate"
size=$(stat -c %s "$WORK/m.json")
for pos in 0 1 20 40 $((size / 3)) $((size / 2)) $((size - 120)) $((size - 60)) $((size - 2)) $((size - 1)); do
  cp "$WORK/m.json" "$WORK/flip.json"
  b=$(od -An -tu1 -j "$pos" -N1 "$WORK/m.json" | tr -d ' ')
  printf "\\$(printf %03o $((b ^ 1)))" | dd of="$WORK/flip.json" bs=1 seek="$pos" conv=notrunc status=none
  expect 1 "byte $pos flipped" -- "$VERIFY" manifest "$WORK/flip.json" --key "$WORK/rel.pub"
done
expect 0 "another key" -- "$MEASURE" keygen --private-key "$WORK/other.key"
expect 1 "manifest with another key" -- "$VERIFY" manifest "$WORK/m.json" --key "$WORK/other.pub"
printf 'version: 1\nname: x\nmodel:\n  path: %s\n  hash: sha256\n' "$EX/tiny-model" > "$WORK/unknown.yaml"
expect 3 "YAML with an unknown key" -- "$MEASURE" manifest build "$WORK/unknown.yaml" --key "$WORK/rel.key" -o "$WORK/u.json"
contains "$WORK/err" "unknown.yaml:5: model: unknown key 'hash'" "unknown key with line"
check "no output file on failure" -- test ! -e "$WORK/u.json"
printf 'version: 1\nname: x\nname: y\nmodel: {path: %s}\n' "$EX/tiny-model" > "$WORK/dup.yaml"
expect 3 "YAML with a duplicate key" -- "$MEASURE" manifest build "$WORK/dup.yaml" --key "$WORK/rel.key" -o "$WORK/u.json"
contains "$WORK/err" "dup.yaml:3: duplicate key 'name'" "duplicate key with line"
printf 'version: 1\nname: x\nmodel: {path: %s}\npolicy:\n  allow_debug: "no"\n' "$EX/tiny-model" > "$WORK/type.yaml"
expect 3 "YAML with a wrong type" -- "$MEASURE" manifest build "$WORK/type.yaml" --key "$WORK/rel.key" -o "$WORK/u.json"
contains "$WORK/err" "type.yaml:5: policy.allow_debug: expected true or false" "wrong type with line"

# --- SEV LAUNCH_MEASURE (virtee/sev vector: GLD = SHA-256(""), API 0.18 build 15) ------
printf '66320db73158a35a255d051758e95ed4\n' > "$WORK/tik.hex"
BLOB=6faab2daae389bcd3405a05d6cafe33c0414f7bedd0bae19ba5f38b7fd1664ea4fbe0bedbad6c86ae8f68971d103e554
GLD=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
expect 0 "launch-measure matches" -- "$VERIFY" launch-measure --measurement "$BLOB" --tik "$WORK/tik.hex" --api-major 0 --api-minor 18 --build 15 --expected-digest "$GLD"
B64=$(printf '%s' "$BLOB" | sed 's/../\\x&/g' | xargs -0 printf | base64 -w0)
expect 0 "launch-measure, base64 blob as QEMU prints it" -- "$VERIFY" launch-measure --measurement "$B64" --tik "$WORK/tik.hex" --api-major 0 --api-minor 18 --build 15 --expected-digest "$GLD" --json
contains "$WORK/out" '"result": "pass"' "json pass"
expect 1 "launch-measure, other policy" -- "$VERIFY" launch-measure --measurement "$BLOB" --tik "$WORK/tik.hex" --api-major 0 --api-minor 18 --build 15 --policy 1 --expected-digest "$GLD"
expect 1 "launch-measure against the manifest (no match)" -- "$VERIFY" launch-measure --measurement "$BLOB" --tik "$WORK/tik.hex" --api-major 0 --api-minor 18 --build 15 --manifest "$WORK/m.json" --key "$WORK/rel.pub"
expect 1 "launch-measure, truncated blob" -- "$VERIFY" launch-measure --measurement "${BLOB:0:90}" --tik "$WORK/tik.hex" --api-major 0 --api-minor 18 --build 15 --expected-digest "$GLD"

# --- help teaches --------------------------------------------------------------------
for c in image verity "manifest build"; do
  expect 0 "cci-measure $c --help" -- "$MEASURE" $c --help
  contains "$WORK/out" "Example" "cci-measure $c --help has examples"
done
for c in manifest launch-measure; do
  expect 0 "cci-verify $c --help" -- "$VERIFY" $c --help
  contains "$WORK/out" "Example" "cci-verify $c --help has examples"
done
finish
