#!/usr/bin/env bash
# Signing with a key that never leaves a PKCS#11 token: a P-384 key generated inside
# SoftHSM2, used through OpenSSL's pkcs11 engine; the bundle verifies with its public half.
source "$(dirname "$0")/lib.sh"
need_vectors
MODULE=/usr/lib/softhsm/libsofthsm2.so
# Under ASan: full malloc stacks, so tests/lsan.supp can match the engine leak by function.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}fast_unwind_on_malloc=0"
for tool in softhsm2-util pkcs11-tool; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool missing (scripts/test installs softhsm2 and opensc)"; exit 1; }
done
export SOFTHSM2_CONF="$WORK/softhsm2.conf"
mkdir -p "$WORK/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$WORK/tokens" > "$SOFTHSM2_CONF"
expect 0 "token initialised" -- softhsm2-util --init-token --free --label cci-release --pin 1234 --so-pin 5678
expect 0 "P-384 key generated inside the token" -- pkcs11-tool --module "$MODULE" --token-label cci-release --login --pin 1234 \
  --keypairgen --key-type EC:secp384r1 --label model-key --id 01
# Export the public half through OpenSSL's pkcs11 engine (independent of cci's code path).
cat > "$WORK/openssl.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
MODULE_PATH = $MODULE
init = 0
CNF
expect 0 "public key exported" -- env OPENSSL_CONF="$WORK/openssl.cnf" openssl pkey -engine pkcs11 -inform engine -pubin \
  -in "pkcs11:token=cci-release;object=model-key;type=public" -pubout -out "$WORK/pub.pem"
cp -r "$OMS/mini-model" "$WORK/model"; chmod -R u+w "$WORK/model"
URI="pkcs11:token=cci-release;object=model-key;type=private"
expect 0 "sign with the token key (PIN from CCI_PKCS11_PIN)" -- env CCI_PKCS11_PIN=1234 "$MEASURE" model "$WORK/model" \
  --key "$URI" --pkcs11-module "$MODULE" -o "$WORK/model.sig"
expect 0 "bundle verifies with the exported public key" -- "$VERIFY" model "$WORK/model" --signature "$WORK/model.sig" --key "$WORK/pub.pem"
expect 3 "wrong PIN is refused" -- env CCI_PKCS11_PIN=0000 "$MEASURE" model "$WORK/model" --key "$URI" --pkcs11-module "$MODULE" -o "$WORK/bad.sig"
check "nothing written with the wrong PIN" -- test ! -e "$WORK/bad.sig"
contains "$WORK/err" "the token refused the PIN" "the wrong PIN is named as such"
# No PIN and no terminal to ask on: a usage error with the hint, before the engine is touched,
# and none of libp11's own stderr lines.
expect 2 "no PIN, stdin not a terminal" -- env -u CCI_PKCS11_PIN "$MEASURE" model "$WORK/model" --key "$URI" --pkcs11-module "$MODULE" -o "$WORK/bad.sig"
contains "$WORK/err" "set CCI_PKCS11_PIN" "the hint names CCI_PKCS11_PIN"
check "no libp11 noise" -- bash -c "! grep -E -q 'PKCS11_get_private_key|Login to token failed|UI_process' '$WORK/err'"
expect 0 "the URI's own pin-value is used" -- env -u CCI_PKCS11_PIN "$MEASURE" model "$WORK/model" --key "$URI;pin-value=1234" --pkcs11-module "$MODULE" -o "$WORK/uri.sig"
expect 3 "a wrong pin-value in the URI" -- env -u CCI_PKCS11_PIN "$MEASURE" model "$WORK/model" --key "$URI;pin-value=9876" --pkcs11-module "$MODULE" -o "$WORK/bad.sig"
check "a PIN in the URI is never printed" -- bash -c "! grep -q 9876 '$WORK/err' && grep -q 'pin-value=\*\*\*' '$WORK/err'"
check "no libp11 noise on a wrong PIN" -- bash -c "! grep -E -q 'PKCS11_get_private_key|Login to token failed' '$WORK/err'"
expect 3 "no such object on the token" -- env CCI_PKCS11_PIN=1234 "$MEASURE" model "$WORK/model" --key "pkcs11:token=cci-release;object=nokey;type=private" --pkcs11-module "$MODULE" -o "$WORK/bad.sig"
contains "$WORK/err" "no private key at pkcs11:token=cci-release;object=nokey;type=private on the token" "the missing object is named"
finish
