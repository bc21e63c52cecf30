#!/usr/bin/env bash
# Release pipeline step: sign a model directory and prove the bundle verifies before publishing.
#   ci-sign-model.sh MODEL_DIR KEY(PEM or pkcs11: URI) PUBKEY OUT.sig
set -euo pipefail
model="$1" key="$2" pub="$3" out="$4"
cci-measure model "$model" --key "$key" --output "$out" --json > "$out.measure.json"
cci-verify model "$model" --signature "$out" --key "$pub" --json > "$out.verify.json"
echo "signed $(jq -r .root_digest.sha256 "$out.measure.json") -> $out"
