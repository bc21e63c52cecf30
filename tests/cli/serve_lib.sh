# Shared by serve.sh and serve_isolation.sh: a copy of the embedded default model, a signed
# deployment manifest naming it and the example VM image (examples/cci.yaml), a simulated SEV-SNP
# platform playing that image's launch measurement, two users, and a cci-run serve on 127.0.0.1
# (any free port) started from the deployment manifest.
# shellcheck shell=bash
CLIENT="$(dirname "${BASH_SOURCE[0]}")/serve_client.py"
MODEL="$WORK/model"
SERVER_PID=""

# deployment_measurement MANIFEST PLATFORM: the first launch measurement it lists for PLATFORM.
deployment_measurement() {
  "$VERIFY" manifest "$1" --key "$WORK/release.pub" --json |
    jq -r --arg p "$2" '[.predicate.images[].launch_measurements[] | select(.platform == $p) | .measurement][0]'
}

serve_setup() {
  cp -r "$CCI_SOURCE_DIR/models/kjv-tiny" "$MODEL"
  "$MEASURE" keygen --private-key "$WORK/release.key" >/dev/null 2>&1 || return 1
  "$MEASURE" model "$MODEL" --key "$WORK/release.key" --output "$WORK/model.sig" >/dev/null 2>&1 || return 1
  sed -e "s|path: tiny-model|path: $MODEL|" -e "s|launch/|$CCI_SOURCE_DIR/examples/launch/|g" "$CCI_SOURCE_DIR/examples/cci.yaml" >"$WORK/cci.yaml"
  "$MEASURE" manifest build "$WORK/cci.yaml" --key "$WORK/release.key" -o "$WORK/cci-manifest.json" >/dev/null 2>&1 || return 1
  SNP_MEAS="$(deployment_measurement "$WORK/cci-manifest.json" snp)"
  CSV_MEAS="$(deployment_measurement "$WORK/cci-manifest.json" csv)"
  "$RUN" sim init "$WORK/sim" --vendor amd --measurement "$SNP_MEAS" >/dev/null 2>&1 || return 1
  KEY_A="$("$RUN" keys add --file "$WORK/keys.txt" --user alice 2>/dev/null)" || return 1
  KEY_B="$("$RUN" keys add --file "$WORK/keys.txt" --user bob 2>/dev/null)" || return 1
}

# serve_start [extra flags...]: starts the server, waits for its ready file; sets URL, PIN.
# TEE="--tee sim-csv --sim-dir DIR" picks another simulated platform; SIGNED="--manifest FILE"
# serves a plain model bundle instead of the deployment manifest; RELEASE="--release-identity ..."
# names its signer instead of the release key.
serve_start() {
  rm -f "$WORK/ready.json"
  : >"$WORK/serve.log"
  # shellcheck disable=SC2086
  "$RUN" serve ${TEE:---tee sim-snp --sim-dir $WORK/sim} --model "$MODEL" ${SIGNED:---deployment $WORK/cci-manifest.json} \
    ${RELEASE:---release-key $WORK/release.pub} --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0 \
    --ready-file "$WORK/ready.json" --threads "${SERVE_THREADS:-1}" "$@" >"$WORK/serve.out" 2>>"$WORK/serve.log" &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    [ -s "$WORK/ready.json" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -s "$WORK/ready.json" ] || { echo "server did not start:"; cat "$WORK/serve.log"; return 1; }
  URL="$(jq -r .url "$WORK/ready.json")"
  PIN="$(jq -r .pin "$WORK/ready.json")"
}

serve_stop() {
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=""
}

# api PATH KEY BODY: a request with the pinned key; prints the HTTP status, body in $WORK/body.
api() {
  curl -sS -k --pinnedpubkey "$PIN" -o "$WORK/body" -w '%{http_code}' "$URL$1" \
    ${2:+-H "Authorization: Bearer $2"} ${3:+-H 'Content-Type: application/json' --data-binary "$3"}
}

# pids of a user's worker and of its connection processes still alive, from the structured log.
worker_pid_of() {
  grep '^{' "$WORK/serve.log" | jq -r --arg u "$1" 'select(.event=="worker_started" and .user==$u) | .worker_pid' | tail -n 1
}
conn_pids_of() {
  local ids
  ids="$(grep '^{' "$WORK/serve.log" | jq -r --arg u "$1" 'select(.event=="session" and .user==$u) | .conn' | sort -u)"
  for id in $ids; do
    grep '^{' "$WORK/serve.log" | jq -r --argjson c "$id" 'select(.event=="connection" and .conn==$c) | .conn_pid'
  done | while read -r p; do [ -d "/proc/$p" ] && echo "$p"; done
}
