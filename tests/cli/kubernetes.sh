#!/usr/bin/env bash
# Confidential Containers pods for a signed deployment (docs/deploy-kubernetes.md):
# cci-measure manifest build with a kubernetes: section records the pods' init-data and binds its
# digest (policy.host_data for SEV-SNP, mr_config_id for each tdx launch); cci-measure k8s renders
# the objects from the verified manifest. Checked independently: every object against the
# Kubernetes API schemas (kubernetes-models from npm, the oracle scripts/test installs), and the
# annotation decoded and digested by a Python implementation of trustee's init-data rule. Then
# the binding itself: a simulated SEV-SNP guest with that HOST_DATA is accepted against the
# manifest, the same guest started with other init-data is refused, naming HOST_DATA.
source "$(dirname "$0")/lib.sh"
EX="$CCI_SOURCE_DIR/examples"
HERE="$(dirname "$0")"
ORACLE="$CCI_SOURCE_DIR/build/test-oracles/k8s"
OVMF=/usr/share/ovmf/OVMF.fd
IMAGE="registry.example.com/cci-run@sha256:$(printf '0123456789abcdef%.0s' 1 2 3 4)"
Z=$(printf '%096d' 0)

check "the Kubernetes schema oracle is installed (scripts/test: npm ci into build/test-oracles/k8s)" -- test -d "$ORACLE/node_modules/kubernetes-models"
check "Debian's OVMF.fd is installed (scripts/lib.sh)" -- test -f "$OVMF"
"$MEASURE" keygen --private-key "$WORK/release.key" --public-key "$WORK/release.pub" >/dev/null 2>&1
"$MEASURE" keygen --private-key "$WORK/other.key" --public-key "$WORK/other.pub" >/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/kbs.key" -out "$WORK/kbs.crt" -days 30 -subj /CN=kbs.trustee.svc >/dev/null 2>&1

describe() {  # describe FILE [KUBERNETES-EXTRA-LINE]
  cat >"$1" <<YAML
version: 1
name: llm-demo
model:
  path: $EX/tiny-model
images:
  - name: snp-guest
    ovmf: $EX/launch/example-ovmf.fd
    kernel: $EX/launch/vmlinuz-example
    initrd: $EX/launch/initrd-example
    append: "console=ttyS0"
    launch:
      - mode: snp
        vcpus: 2
        vcpu_type: EPYC-Milan
      - mode: snp
        vcpus: 4
        vcpu_type: EPYC-Milan
      - mode: snp
        vcpus: 4
        vcpu_type: EPYC-Genoa
  - name: td
    ovmf: $OVMF
    launch:
      - mode: tdx
        rtmrs: [$Z, $Z, $Z, $Z]
kubernetes:
  image: $IMAGE
  runtime_class: kata-qemu-snp
  key_source: cdh:///default/llm-demo/dek
  kbs_url: https://kbs.trustee.svc:8080
  kbs_cert: $WORK/kbs.crt
${2:-}
YAML
}
describe "$WORK/cci.yaml"
expect 0 "manifest build with a kubernetes: section" -- "$MEASURE" manifest build "$WORK/cci.yaml" --key "$WORK/release.key" -o "$WORK/m.json"
"$VERIFY" manifest "$WORK/m.json" --key "$WORK/release.pub" --json >"$WORK/mv.json" 2>/dev/null
check "the manifest validates against its schema" -- python3 "$HERE/validate_json.py" "$CCI_SOURCE_DIR/manifests/deployment-v1.schema.json" \
  <(jq '.payload | @base64d | fromjson' "$WORK/m.json")

expect 0 "k8s renders the objects" -- "$MEASURE" k8s "$WORK/m.json" --release-key "$WORK/release.pub" -o "$WORK/pods.yaml"
contains "$WORK/out" "expected SEV-SNP HOST_DATA: " "it prints the expected HOST_DATA"
contains "$WORK/out" "launch snp-guest snp vcpus=4 EPYC-Genoa: " "it prints each pod shape's launch measurement"
expect 0 "k8s --json" -- "$MEASURE" k8s "$WORK/m.json" --release-key "$WORK/release.pub" -o "$WORK/pods2.yaml" --json
cp "$WORK/out" "$WORK/k8s.json"
check "the same objects twice (deterministic)" -- cmp -s "$WORK/pods.yaml" "$WORK/pods2.yaml"
check "--json lists the four launches with their vCPUs and CPU models" -- jq -e >/dev/null \
  '[.launches[] | "\(.platform):\(.vcpus // "-"):\(.vcpu_type // "-")"] == ["snp:2:EPYC-Milan","snp:4:EPYC-Milan","snp:4:EPYC-Genoa","tdx:-:-"]' "$WORK/k8s.json"

# The Kubernetes API schemas (kubernetes-models), on every object.
node "$HERE/k8s_schema.mjs" "$ORACLE" "$WORK/pods.yaml" >"$WORK/objects.json" 2>"$WORK/schema.err"
check "every object validates against the Kubernetes API schemas" -- test -s "$WORK/objects.json"
sed 's/^/     /' "$WORK/schema.err"
check "ConfigMap, headless Service, StatefulSet" -- jq -e >/dev/null \
  '[.[] | .kind] == ["ConfigMap","Service","StatefulSet"] and .[1].spec.clusterIP == "None" and .[2].spec.serviceName == "llm-demo" and .[2].spec.replicas == 3' "$WORK/objects.json"
check "the pods: Kata runtime class, the pinned image, no service account token" -- jq -e >/dev/null --arg img "$IMAGE" \
  '.[2].spec.template.spec | .runtimeClassName == "kata-qemu-snp" and .containers[0].image == $img and .automountServiceAccountToken == false' "$WORK/objects.json"
check "the ConfigMap carries the signed manifest byte for byte" -- cmp -s "$WORK/m.json" <(jq -j '.[0].data["cci-manifest.json"]' "$WORK/objects.json")
check "cci-run serve gets the manifest, the release key and the data hub as key source" -- jq -e >/dev/null \
  '.[2].spec.template.spec.containers[0].args | index("--deployment") and index("--release-key") and (.[index("--key-source") + 1] == "cdh:///default/llm-demo/dek")' "$WORK/objects.json"

# trustee's init-data rule, implemented again in Python, on the annotation as rendered.
jq -r '.[2].spec.template.metadata.annotations["io.katacontainers.config.hypervisor.cc_init_data"]' "$WORK/objects.json" >"$WORK/annotation"
python3 "$HERE/initdata_oracle.py" - <"$WORK/annotation" >"$WORK/oracle.json" 2>"$WORK/oracle.err"
check "the annotation decodes to init-data 0.1.0 (base64, gzip, TOML)" -- jq -e >/dev/null '.algorithm == "sha384"' "$WORK/oracle.json"
sed 's/^/     /' "$WORK/oracle.err"
ORACLE_HD=$(jq -r .snp_host_data "$WORK/oracle.json")
check "HOST_DATA printed by cci = the independent digest" -- test "$(jq -r .snp_host_data "$WORK/k8s.json")" = "$ORACLE_HD"
check "HOST_DATA in the signed policy = the independent digest" -- test "$(jq -r .predicate.policy.host_data "$WORK/mv.json")" = "$ORACLE_HD"
check "MRCONFIGID of the tdx launch = the independent digest (48 bytes)" -- test \
  "$(jq -r '.predicate.images[1].launch_measurements[0].mr_config_id' "$WORK/mv.json")" = "$(jq -r .tdx_mr_config_id "$WORK/oracle.json")"
check "init-data digest recorded = the independent one" -- test "$(jq -r .predicate.kubernetes.init_data.digest "$WORK/mv.json")" = "$(jq -r .digest "$WORK/oracle.json")"
check "init-data holds the agent's and data hub's settings, the agent policy and what the pod serves" -- jq -e >/dev/null \
  '.data_keys == ["aa.toml","cci.toml","cdh.toml","policy.rego"]' "$WORK/oracle.json"
check "cci.toml names the model's digest and the pinned image" -- jq -e >/dev/null --arg img "$IMAGE" \
  --arg root "$(jq -r .predicate.model.root_digest.sha256 "$WORK/mv.json")" '.cci.model_sha256 == $root and .cci.image == $img' "$WORK/oracle.json"
check "the agent policy refuses exec and lets only the pinned image run" -- jq -e >/dev/null --arg img "$IMAGE" \
  '(.policy | contains("default ExecProcessRequest := false") and contains("default CopyFileRequest := false") and contains("default SetPolicyRequest := false") and contains("image-name\"] == \"" + $img + "\""))' "$WORK/oracle.json"

# trustee's artefacts for the pods: the key only for the listed launches with the pods' HOST_DATA.
expect 0 "kbs-artifacts for the same manifest" -- "$MEASURE" kbs-artifacts "$WORK/m.json" --release-key "$WORK/release.pub" -o "$WORK/trustee"
HD_B64=$(python3 -c 'import base64, sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "$ORACLE_HD")
contains "$WORK/trustee/resource-policy.rego" "snp.init_data == \"$HD_B64\"" "the KBS resource policy requires the pods' HOST_DATA (init_data)"
contains "$WORK/trustee/resource-policy.rego" "$(jq -r .tdx_mr_config_id "$WORK/oracle.json")" "and, for the TDX launch, their MRCONFIGID"

# Another kind, namespace and replica count.
expect 0 "k8s --kind deployment --namespace llm --replicas 5" -- "$MEASURE" k8s "$WORK/m.json" --release-key "$WORK/release.pub" --kind deployment --namespace llm --replicas 5 -o "$WORK/dep.yaml"
node "$HERE/k8s_schema.mjs" "$ORACLE" "$WORK/dep.yaml" >"$WORK/dep.json" 2>/dev/null
check "the Deployment validates, in namespace llm, 5 replicas, no serviceName" -- jq -e >/dev/null \
  '.[2].kind == "Deployment" and .[2].metadata.namespace == "llm" and .[2].spec.replicas == 5 and (.[2].spec | has("serviceName") | not)' "$WORK/dep.json"
check "the certificate names the Service in its namespace" -- jq -e >/dev/null \
  '.[2].spec.template.spec.containers[0].args | index("llm-demo.llm.svc.cluster.local") != null' "$WORK/dep.json"
check "the schema oracle can fail: a string replica count is refused" -- bash -c \
  "! node '$HERE/k8s_schema.mjs' '$ORACLE' <(sed 's/^  replicas: 5/  replicas: \"5\"/' '$WORK/dep.yaml') >/dev/null 2>&1"

# Refusals.
expect 1 "k8s with another release key" -- "$MEASURE" k8s "$WORK/m.json" --release-key "$WORK/other.pub" -o "$WORK/x.yaml"
check "nothing written on a refusal" -- test ! -e "$WORK/x.yaml"
expect 2 "k8s with a bad object name" -- "$MEASURE" k8s "$WORK/m.json" --release-key "$WORK/release.pub" --name Bad_Name -o "$WORK/x.yaml"
expect 2 "k8s with --replicas 0" -- "$MEASURE" k8s "$WORK/m.json" --release-key "$WORK/release.pub" --replicas 0
"$MEASURE" manifest build "$EX/cci.yaml" --key "$WORK/release.key" -o "$WORK/plain.json" >/dev/null 2>&1
expect 2 "k8s on a manifest without a kubernetes section" -- "$MEASURE" k8s "$WORK/plain.json" --release-key "$WORK/release.pub"
contains "$WORK/err" "no kubernetes section" "it says what is missing"
sed "s|$IMAGE|registry.example.com/cci-run:latest|" "$WORK/cci.yaml" >"$WORK/tag.yaml"
expect 3 "an image pinned by tag only" -- "$MEASURE" manifest build "$WORK/tag.yaml" --key "$WORK/release.key" -o "$WORK/x.json"
contains "$WORK/err" "tag.yaml:27: kubernetes.image: pin the image by digest" "the error names the file, line and key"
describe "$WORK/hd.yaml" "policy:
  host_data: $(printf '11%.0s' $(seq 32))"
expect 3 "a hand-given policy.host_data that is not the init-data's" -- "$MEASURE" manifest build "$WORK/hd.yaml" --key "$WORK/release.key" -o "$WORK/x.json"
contains "$WORK/err" "policy.host_data is not the pods' init-data digest" "it says why"

# The binding: a simulated guest of the 2-vCPU Milan shape with the pods' HOST_DATA verifies against
# the manifest; the same guest launched with other init-data (HOST_DATA) does not.
MEAS=$(jq -r '.predicate.images[0].launch_measurements[0].measurement' "$WORK/mv.json")
NONCE=$(printf 'ab%.0s' $(seq 32))
"$RUN" sim init "$WORK/sim-ok" --vendor amd --measurement "$MEAS" --host-data "$ORACLE_HD" >/dev/null 2>&1
"$RUN" sim init "$WORK/sim-other" --vendor amd --measurement "$MEAS" --host-data "$(printf '22%.0s' $(seq 32))" >/dev/null 2>&1
"$RUN" attest --tee sim-snp --sim-dir "$WORK/sim-ok" --nonce "$NONCE" -o "$WORK/ok.json" >/dev/null 2>&1
"$RUN" attest --tee sim-snp --sim-dir "$WORK/sim-other" --nonce "$NONCE" -o "$WORK/other.json" >/dev/null 2>&1
expect 0 "a pod with the rendered init-data verifies against the manifest" -- "$VERIFY" report "$WORK/ok.json" --trust-sim-root "$WORK/sim-ok" \
  --deployment "$WORK/m.json" --release-key "$WORK/release.pub" --nonce "$NONCE"
expect 1 "the same VM launched with other init-data is refused" -- "$VERIFY" report "$WORK/other.json" --trust-sim-root "$WORK/sim-other" \
  --deployment "$WORK/m.json" --release-key "$WORK/release.pub" --nonce "$NONCE"
contains "$WORK/out" "HOST_DATA" "the refusal names HOST_DATA"
finish
