#!/usr/bin/env bash
# cci-run serve with an encrypted model (docs/encrypted-model.md): the server starts sealed
# (attested certificate and fresh evidence, completions 503), cci-verify remote --provision-key
# sends the key only after the whole verdict accepts, on the verified connection; then the greedy
# output is the plain model's, byte for byte. Wrong keys, tampered ciphertext and repeated keys
# are refused; the key never reaches a log or a file, the plaintext never reaches the disk, and
# the accept loop holds none of it before the key comes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
SCAN="$(dirname "$0")/scan_memory.py"
trap 'serve_stop; chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT

check "setup: signed model, simulated platform, two users" -- serve_setup
# CCI_SEALED_MODEL=DIR runs the same round trip on another model directory (e.g. a 110M-shape one
# kept by cci-bench overhead --shape 110M --keep DIR: DIR/model); ctest uses the embedded model.
if [ -n "${CCI_SEALED_MODEL:-}" ]; then rm -rf "$MODEL" && cp -r "$CCI_SEALED_MODEL" "$MODEL"; fi
PLAIN="$MODEL"
# The canary: the embedded model is also compiled into cci-run, so its weights are no canary. 12
# fresh small floats replace the last row of the token embeddings (token 1023), and the plain
# model's greedy output is taken from cci-run generate on that plaintext.
python3 - "$PLAIN/model.safetensors" >"$WORK/canary.hex" <<'PY'
import json, os, random, struct, sys
path = sys.argv[1]
with open(path, "r+b") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    t = json.loads(f.read(n))["model.embed_tokens.weight"]
    at = 8 + n + t["data_offsets"][1] - 48
    rnd = random.Random(os.urandom(16))
    canary = struct.pack("<12f", *[rnd.uniform(-0.02, 0.02) for _ in range(12)])
    f.seek(at)
    f.write(canary)
print(canary.hex())
PY
CANARY="$(cat "$WORK/canary.hex")"
WANT="$("$RUN" generate --model "$PLAIN" --prompt "And God said" --max-tokens 20 --temperature 0 --no-echo --threads 1 2>/dev/null)"
check "the plain model's greedy output (the reference)" -- test -n "$WANT"
expect 0 "encrypt the model" -- "$MEASURE" encrypt "$PLAIN" -o "$WORK/enc" --key-id kbs:///default/tiny/dek --dek-out "$WORK/dek.bin" --chunk-size 65536
sed -e "s|^  path: .*|&\n  encrypted: $WORK/enc|" "$WORK/cci.yaml" >"$WORK/sealed.yaml"
expect 0 "a deployment manifest recording the encrypted model" -- "$MEASURE" manifest build "$WORK/sealed.yaml" --key "$WORK/release.key" -o "$WORK/sealed.json"
head -c 32 /dev/urandom >"$WORK/wrong.bin"
chmod 600 "$WORK/wrong.bin"
DEK_HEX="$(od -An -tx1 -v "$WORK/dek.bin" | tr -d ' \n')"
DEK_B64="$(base64 -w0 "$WORK/dek.bin")"
REMOTE=("$VERIFY" remote --trust-sim-root "$WORK/sim" --offline --insecure-no-crl --release-key "$WORK/release.pub")

# Start-up refusals: ciphertext that is not what the signed manifest records.
cp -r "$WORK/enc" "$WORK/bad"
flip_byte "$WORK/bad/model.safetensors" 5000
expect 1 "a flipped ciphertext byte is refused at start" -- timeout 60 "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" --model "$WORK/bad" \
  --deployment "$WORK/sealed.json" --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0
contains "$WORK/err" "model.safetensors is not the ciphertext the signed manifest records" "... naming the file"
rm -rf "$WORK/bad" && cp -r "$WORK/enc" "$WORK/bad"
python3 - "$WORK/bad/model.safetensors" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
hs = int.from_bytes(b[8:12], "little")  # header_size (docs/encrypted-model.md)
cs = 65536 + 16
b[hs:hs + cs], b[hs + cs:hs + 2 * cs] = b[hs + cs:hs + 2 * cs], b[hs:hs + cs]
open(p, "wb").write(b)
PY
expect 1 "two chunks swapped are refused at start" -- timeout 60 "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" --model "$WORK/bad" \
  --deployment "$WORK/sealed.json" --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0
contains "$WORK/err" "is not the ciphertext the signed manifest records" "... naming the file"
rm -rf "$WORK/bad" && cp -r "$WORK/enc" "$WORK/bad"
truncate -s -100 "$WORK/bad/model.safetensors"
expect 1 "a truncated file is refused at start" -- timeout 60 "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" --model "$WORK/bad" \
  --deployment "$WORK/sealed.json" --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0
contains "$WORK/err" "the signed manifest records" "... naming the size"
rm -rf "$WORK/bad" && cp -r "$WORK/enc" "$WORK/bad"
cp "$WORK/enc/config.json" "$WORK/bad/tokenizer.model"
expect 1 "a file moved over another is refused at start" -- timeout 60 "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" --model "$WORK/bad" \
  --deployment "$WORK/sealed.json" --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0
contains "$WORK/err" "tokenizer.model" "... naming the file"
rm -rf "$WORK/bad"
expect 2 "--key-source for a plain model is a usage error" -- timeout 60 "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" --model "$PLAIN" \
  --deployment "$WORK/cci-manifest.json" --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0 --key-source push
expect 2 "an unknown key source is a usage error" -- timeout 60 "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" --model "$WORK/enc" \
  --deployment "$WORK/sealed.json" --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0 --key-source ftp://x
contains "$WORK/err" "--key-source" "... naming the flag"
# (start-up refusals run under timeout: a server that wrongly starts fails the test instead of hanging it)

MODEL="$WORK/enc" SIGNED="--deployment $WORK/sealed.json" serve_start --max-tokens 64
check "the ready file says the key comes by push" -- test "$(jq -r .key_source "$WORK/ready.json")" = push
check "completions answer 503 while sealed" -- test "$(api /v1/completions "$KEY_A" '{"prompt":"And God said","max_tokens":20,"temperature":0}')" = 503
contains "$WORK/body" "model key not provisioned" "... saying why"
check "the attested certificate is served while sealed" -- test "$(api /v1/attestation/certificate)" = 200
check "/metrics shows the sealed model" -- bash -c "curl -sS -k --pinnedpubkey '$PIN' '$URL/metrics' | grep -q '^cci_model_sealed{key_source=\"push\"} 1$'"
SERVER_PROC="$(jq -r .pid "$WORK/ready.json")"
"$SCAN" "$SERVER_PROC" "$CANARY" >"$WORK/scan" 2>&1
case $? in
  0) check "the accept loop's memory holds no plaintext before the key" -- true ;;
  77) echo "SKIP the accept loop's memory cannot be read here (not root): the scan is not counted" ;;
  *) check "the accept loop's memory holds no plaintext before the key" -- false; cat "$WORK/scan" ;;
esac

# The key goes only to a server that verified, and only on that connection.
expect 1 "an unverified server gets no key (no --trust-sim-root)" -- "$VERIFY" remote "$URL" --offline --insecure-no-crl \
  --release-key "$WORK/release.pub" --provision-key "$WORK/dek.bin"
contains "$WORK/err" "the model key was NOT sent" "... and says so"
check "... and the server never saw one" -- bash -c "! grep -q model_key_offered '$WORK/serve.log'"
expect 1 "a wrong key is refused" -- "${REMOTE[@]}" "$URL" --provision-key "$WORK/wrong.bin"
contains "$WORK/err" "does not open this model" "... saying the key does not open the model"
check "... and the server stays sealed" -- test "$(api /v1/completions "$KEY_A" '{"prompt":"And God said","max_tokens":20,"temperature":0}')" = 503
check "a key bound to another connection is refused" -- test "$(curl -sS -k --pinnedpubkey "$PIN" -o "$WORK/body" -w '%{http_code}' "$URL/v1/attestation/model-key" \
  -d "{\"key\":\"$DEK_B64\",\"binding\":\"$(printf '%064d' 0)\"}")" = 403
contains "$WORK/body" "binding" "... naming the binding"
# Ciphertext the host rewrites in place after the start-up check: the right key is refused too
# (the GCM tags fail), the server stays sealed, and serves once the bytes are back.
cp "$WORK/enc/model.safetensors" "$WORK/sealed-weights.orig"
sleep 1.1  # keys are rate limited to one try per second from one address
flip_byte "$WORK/enc/model.safetensors" 100000
expect 1 "the right key on ciphertext rewritten after the start is refused" -- "${REMOTE[@]}" "$URL" --provision-key "$WORK/dek.bin"
contains "$WORK/err" "ciphertext rewritten after the start-up check" "... saying what may have happened"
check "... and nothing is served" -- test "$(api /v1/completions "$KEY_A" '{"prompt":"And God said","max_tokens":20,"temperature":0}')" = 503
flip_byte "$WORK/enc/model.safetensors" 100000
cmp -s "$WORK/enc/model.safetensors" "$WORK/sealed-weights.orig" || echo "FAIL could not restore the ciphertext"
sleep 1.1
expect 0 "cci-verify remote --provision-key: verified, then provisioned" -- "${REMOTE[@]}" "$URL" --provision-key "$WORK/dek.bin" --json
check "... the verdict says the key was provisioned, and the attested key source push" -- jq -e '.result == "pass" and .remote.key_provisioned == true and .remote.key_source == "push"' "$WORK/out"
check "/metrics shows the model unsealed" -- bash -c "curl -sS -k --pinnedpubkey '$PIN' '$URL/metrics' | grep -q '^cci_model_sealed{key_source=\"push\"} 0$'"
curl -sS -k --pinnedpubkey "$PIN" "$URL/v1/completions" -H "Authorization: Bearer $KEY_A" \
  -d '{"prompt":"And God said","max_tokens":20,"temperature":0}' >"$WORK/a1.json"
check "greedy output of the decrypted model is the plain model's, byte for byte" -- test "$(jq -r '.choices[0].text' "$WORK/a1.json")" = "$WANT"
sleep 1.1
expect 1 "a second key in the same server start is refused" -- "${REMOTE[@]}" "$URL" --provision-key "$WORK/dek.bin"
contains "$WORK/err" "already provisioned" "... saying so"
WORKER="$(worker_pid_of alice)"
"$SCAN" "$WORKER" "$CANARY" >"$WORK/scan" 2>&1
case $? in
  1) check "positive control: the scanner finds the canary in the worker that serves the model" -- true ;;
  77) echo "SKIP the worker's memory cannot be read here (not root): the scan is not counted" ;;
  *) check "positive control: the scanner finds the canary in the worker that serves the model" -- false; cat "$WORK/scan" ;;
esac
serve_stop

# Nothing written anywhere holds the key or the plaintext.
check "the key is in no log or file the server wrote" -- bash -c "! grep -rqiF -e '$DEK_HEX' -e '$DEK_B64' '$WORK/serve.log' '$WORK/serve.out' '$WORK/ready.json'"
# find_canary FILE...: exit 0 when one of the files holds the canary's bytes.
find_canary() {
  python3 -c 'import sys
needle = bytes.fromhex(sys.argv[1])
for p in sys.argv[2:]:
    try:
        if needle in open(p, "rb").read():
            print(p); sys.exit(0)
    except OSError:
        pass
sys.exit(1)' "$CANARY" "$@"
}
no_canary() { ! find_canary "$@"; }
mapfile -d '' WRITTEN < <(find "$WORK" /tmp -xdev -type f -newer "$WORK/sealed.json" ! -path "$PLAIN/*" -size -1G -print0 2>/dev/null)
check "the plaintext canary is on no disk file outside the owner's plaintext directory (${#WRITTEN[@]} files written since)" -- \
  no_canary "${WRITTEN[@]}"
check "... while the same search finds it in the plaintext (the search works)" -- find_canary "$PLAIN/model.safetensors"

# file:// (development only): served at once, with a warning and key_source "file".
MODEL="$WORK/enc" SIGNED="--deployment $WORK/sealed.json" serve_start --key-source "file://$WORK/dek.bin"
check "the ready file says key_source file" -- test "$(jq -r .key_source "$WORK/ready.json")" = file
expect 0 "cci-verify remote of the file-keyed server" -- "${REMOTE[@]}" "$URL" --json
check "... the attested claims name the development key source" -- jq -e '.remote.key_source == "file"' "$WORK/out"
contains "$WORK/err" "development only" "... with a warning"
contains "$WORK/serve.log" "for development only" "a warning at start"
for _ in $(seq 1 50); do grep -q model_unsealed "$WORK/serve.log" && break; sleep 0.1; done
check "a completion from the file-keyed server" -- test "$(api /v1/completions "$KEY_A" '{"prompt":"And God said","max_tokens":20,"temperature":0}')" = 200
check "... the same greedy output" -- test "$(jq -r '.choices[0].text' "$WORK/body")" = "$WANT"
expect 1 "a pushed key is refused when the source is a file" -- "${REMOTE[@]}" "$URL" --provision-key "$WORK/dek.bin"
serve_stop
MODEL="$WORK/enc" SIGNED="--deployment $WORK/sealed.json" serve_start --key-source "file://$WORK/wrong.bin"
for _ in $(seq 1 50); do grep -q model_key_refused "$WORK/serve.log" && break; sleep 0.1; done
contains "$WORK/serve.log" "model_key_refused" "a wrong key file is refused"
check "... and nothing is served" -- test "$(api /v1/completions "$KEY_A" '{"prompt":"x","max_tokens":2}')" = 503
serve_stop
finish
