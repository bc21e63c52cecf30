#!/usr/bin/env bash
# cci-run generate: the embedded model (deterministic greedy and seeded sampling, JSON, token
# ids), a model directory checked against its signed bundle (a flipped weight byte or an extra
# file stops the load, naming the file), llama2.c files, and bad input.
source "$(dirname "$0")/lib.sh"

expect 0 "generate on the embedded model (greedy)" -- "$RUN" generate --prompt "And God said" --temperature 0 --max-tokens 24
cp "$WORK/out" "$WORK/greedy1"
check "some text came out" -- test "$(wc -w < "$WORK/greedy1")" -ge 5
contains "$WORK/err" "tokens/s" "speed on stderr"
check "the prompt never reaches stderr" -- sh -c "! grep -q 'God said' '$WORK/err'"
expect 0 "greedy again" -- "$RUN" generate --prompt "And God said" --temperature 0 --max-tokens 24
check "greedy is deterministic" -- cmp -s "$WORK/out" "$WORK/greedy1"
expect 0 "sampled, seed 7" -- "$RUN" generate --prompt "In the beginning" --seed 7 --max-tokens 30 --threads 1
cp "$WORK/out" "$WORK/s7"
expect 0 "sampled, seed 7 on 2 threads" -- "$RUN" generate --prompt "In the beginning" --seed 7 --max-tokens 30 --threads 2
check "same seed, same text" -- cmp -s "$WORK/out" "$WORK/s7"
expect 0 "sampled, seed 8" -- "$RUN" generate --prompt "In the beginning" --seed 8 --max-tokens 30
check "another seed, other text" -- sh -c "! cmp -s '$WORK/out' '$WORK/s7'"
expect 0 "--token-ids" -- "$RUN" generate --prompt "And" --temperature 0 --max-tokens 8 --ignore-eos --token-ids
check "eight ids" -- test "$(wc -w < "$WORK/out")" -eq 8
check "ids are numbers" -- grep -Eq '^[0-9]+( [0-9]+)*$' "$WORK/out"
expect 0 "--json" -- "$RUN" generate --prompt "And" --temperature 0 --max-tokens 8 --ignore-eos --json
check "json has the counts" -- sh -c "jq -e '.generated_tokens == 8 and .prompt_tokens >= 2 and (.token_ids | length) == 8' '$WORK/out' >/dev/null"
# --device: the CPU by name; a GPU in a build against a CUDA libtorch on a machine that has one
# (greedy text equal to the CPU's), else refused (exit 3) before any model is read, saying why.
expect 0 "--device cpu" -- "$RUN" generate --prompt "And" --temperature 0 --max-tokens 8 --ignore-eos --json --device cpu
check "the JSON names the device" -- sh -c "jq -e '.device == \"cpu\"' '$WORK/out' >/dev/null"
expect 2 "--device gpu is a usage error" -- "$RUN" generate --prompt x --device gpu
contains "$WORK/err" "--device takes cpu, cuda or cuda:N" "... naming the choices"
"$RUN" generate --prompt "And God said" --temperature 0 --max-tokens 24 --device cuda >"$WORK/out" 2>"$WORK/err"
rc=$?
if [ $rc -ne 0 ]; then
  check "no CUDA here: exit 3, cannot run (got $rc)" -- test $rc -eq 3
  contains "$WORK/err" "--device cuda:0: " "... naming the device"
  check "... and no text" -- test ! -s "$WORK/out"
  expect 3 "cci-bench infer --device cuda is refused likewise" -- "$BENCH" infer --device cuda --threads 1
  contains "$WORK/err" "--device cuda:0: " "... naming the device"
else
  check "greedy text on the GPU equals the CPU's" -- cmp -s "$WORK/out" "$WORK/greedy1"
fi
cp -r "$CCI_SOURCE_DIR/models/kjv-tiny" "$WORK/bert"
sed -i 's/"model_type": "llama"/"model_type": "bert"/' "$WORK/bert/config.json"
expect 3 "an unsupported model_type is exit 3 (cannot evaluate), not 1 (rejected)" -- "$RUN" generate --model "$WORK/bert" --prompt "And"
contains "$WORK/err" "model_type 'bert' is not supported" "... naming the model type"
expect 2 "a prompt longer than the 128-token context" -- "$RUN" generate --prompt "$(printf 'and %.0s' $(seq 200))"
contains "$WORK/err" "context holds" "the context limit is named"
expect 2 "a bad temperature" -- "$RUN" generate --prompt x --temperature -1
expect 2 "--key without --manifest" -- "$RUN" generate --prompt x --key /dev/null

# A model directory, signed, then tampered with.
MODEL="$WORK/kjv"
cp -r "$CCI_SOURCE_DIR/models/kjv-tiny" "$MODEL"
expect 0 "keygen" -- "$MEASURE" keygen --private-key "$WORK/release.key"
expect 0 "sign the model" -- "$MEASURE" model "$MODEL" --key "$WORK/release.key" --output "$WORK/model.sig"
expect 0 "generate with --manifest" -- "$RUN" generate --model "$MODEL" --manifest "$WORK/model.sig" --key "$WORK/release.pub" --prompt "And God said" --temperature 0 --max-tokens 24
check "same text as the embedded copy" -- cmp -s "$WORK/out" "$WORK/greedy1"
cp "$MODEL/model.safetensors" "$WORK/weights.bak"
flip_byte "$MODEL/model.safetensors" 5000
expect 1 "a flipped weight byte stops the load" -- "$RUN" generate --model "$MODEL" --manifest "$WORK/model.sig" --key "$WORK/release.pub" --prompt x
contains "$WORK/err" "model.safetensors: content differs from the signed digest" "the file is named"
check "no text was generated" -- test ! -s "$WORK/out"
cp "$WORK/weights.bak" "$MODEL/model.safetensors"
echo x > "$MODEL/extra.txt"
expect 1 "an extra file stops the load" -- "$RUN" generate --model "$MODEL" --manifest "$WORK/model.sig" --key "$WORK/release.pub" --prompt x
contains "$WORK/err" "extra.txt: extra file" "the extra file is named"
rm "$MODEL/extra.txt"
expect 0 "another keygen" -- "$MEASURE" keygen --private-key "$WORK/other.key"
expect 1 "another signer's key" -- "$RUN" generate --model "$MODEL" --manifest "$WORK/model.sig" --key "$WORK/other.pub" --prompt x

# The host swaps an unsigned tokenizer in and out by rename while models load (it once got the
# unsigned file parsed after the signed one was hashed): every run either refuses, or uses the
# signed bytes; none exits 0 with the unsigned tokenizer ("God" decodes as "Dog" in it).
cp "$MODEL/tokenizer.model" "$WORK/tok.signed"
python3 -c "import sys; b=open(sys.argv[1],'rb').read(); n=b.replace(b'\xe2\x96\x81God', b'\xe2\x96\x81Dog', 1); assert n != b; open(sys.argv[2],'wb').write(n)" \
  "$WORK/tok.signed" "$WORK/tok.unsigned"
# The swapper stops with this script even when it is killed (a ctest timeout sends SIGKILL, and an
# orphaned swapper would spin for ever): it runs while the script's shell ($$) lives.
( while kill -0 $$ 2>/dev/null; do
    cp "$WORK/tok.unsigned" "$MODEL/.t" && mv "$MODEL/.t" "$MODEL/tokenizer.model"
    cp "$WORK/tok.signed" "$MODEL/.t" && mv "$MODEL/.t" "$MODEL/tokenizer.model"
  done ) 2>/dev/null &
swapper=$!
used_unsigned=0; refused=0; signed_runs=0
RACE_RUNS=30
[ "$SANITIZED" = 1 ] && RACE_RUNS=10  # each load is ~5 s under ASan; the dev build runs all 30
for _ in $(seq 1 "$RACE_RUNS"); do
  "$RUN" generate --model "$MODEL" --manifest "$WORK/model.sig" --key "$WORK/release.pub" --prompt "And God said" \
    --temperature 0 --max-tokens 24 >"$WORK/race.out" 2>"$WORK/race.err"
  rc=$?
  if [ $rc -eq 0 ] && cmp -s "$WORK/race.out" "$WORK/greedy1"; then signed_runs=$((signed_runs + 1))
  elif [ $rc -eq 0 ]; then used_unsigned=$((used_unsigned + 1))
  else refused=$((refused + 1)); fi
done
kill "$swapper"; wait "$swapper" 2>/dev/null
rm -f "$MODEL/.t"; cp "$WORK/tok.signed" "$MODEL/tokenizer.model"
check "a tokenizer swapped by rename during $RACE_RUNS loads is never used ($signed_runs signed, $refused refused)" -- test "$used_unsigned" -eq 0

# Bad model files.
head -c 1000 "$WORK/weights.bak" > "$MODEL/model.safetensors"
expect 1 "a truncated safetensors file" -- "$RUN" generate --model "$MODEL" --prompt x
contains "$WORK/err" "model.safetensors" "the file is named"
cp "$WORK/weights.bak" "$MODEL/model.safetensors"
echo '{"model_type":"llama","vocab_size":1024,"hidden_size":128,"intermediate_size":384,"num_hidden_layers":5,"num_attention_heads":4,"num_key_value_heads":2,"tie_word_embeddings":true}' > "$MODEL/config.json"
expect 1 "config.json says 5 layers, the weights have 4" -- "$RUN" generate --model "$MODEL" --prompt x
contains "$WORK/err" "model.layers.4" "the missing tensor is named"
echo 'not a protobuf' > "$MODEL/tokenizer.model"
expect 1 "a tokenizer that does not parse" -- "$RUN" generate --model "$MODEL" --prompt x
contains "$WORK/err" "tokenizer.model" "the tokenizer is named"
expect 3 "no such model" -- "$RUN" generate --model "$WORK/nothing" --prompt x

# llama2.c checkpoints (the shared stories260K when present).
S260="$CCI_TEST_VECTORS_DIR/../models/stories260K/stories260K.bin"
if [ -f "$S260" ]; then
  expect 2 "a llama2.c file has no tokenizer: --prompt refused" -- "$RUN" generate --model "$S260" --prompt "Once"
  contains "$WORK/err" "--prompt-ids" "the way out is named"
  expect 0 "llama2.c greedy ids" -- "$RUN" generate --model "$S260" --prompt-ids 1 --token-ids --temperature 0 --max-tokens 16 --ignore-eos
  check "sixteen ids" -- test "$(wc -w < "$WORK/out")" -eq 16
fi

# cci-bench infer: figures for a random-weight shape (correctness of the report, not speed).
expect 0 "cci-bench infer --shape 15M --json" -- "$BENCH" infer --shape 15M --threads 1 --repeats 1 --json
check "bench rows carry positive rates and efficiencies" -- sh -c "jq -e '.rows[0] | .decode_tokens_s > 0 and .prefill_tokens_s > 0 and .read_bandwidth_gb_s > 0 and .matmul_gflop_s > 0 and .decode_efficiency > 0' '$WORK/out' >/dev/null"
expect 2 "cci-bench infer with an unknown shape" -- "$BENCH" infer --shape 7B
expect 2 "cci-bench infer with a bad thread list" -- "$BENCH" infer --threads 0,x
finish
