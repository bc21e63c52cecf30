# OCSP answers for a simulated NVIDIA GPU (cci-run sim init --vendor nvidia), made by OpenSSL's
# own responder (`openssl ocsp`, RFC 6960), never by cci: the request from `openssl ocsp -reqout`,
# the answer from `openssl ocsp -index ... -reqin ... -respout`.
# shellcheck shell=bash

# ocsp_split SIM: the sim's certificates as single files under $WORK/ocsp/: brom, ica, identity,
# root (the device chain) and rim_signer, rim_root, with their issuers' keys (*.key).
ocsp_split() {
  local sim="$1" d="$WORK/ocsp"
  mkdir -p "$d"
  python3 - "$sim" "$d" <<'PY' || return 1
import base64, re, sys
sim, d = sys.argv[1], sys.argv[2]
pems = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", open(sim + "/nvidia/chain.pem").read(), re.S)
for name, pem in zip(["leaf", "brom", "ica", "identity", "root"], pems):
    open(f"{d}/{name}.pem", "w").write(pem if pem.endswith("\n") else pem + "\n")
xml = open(sim + "/nvidia/driver_rim.xml").read()
certs = re.findall(r"<(?:ds:)?X509Certificate>(.*?)</(?:ds:)?X509Certificate>", xml, re.S)
signer = "".join(certs[0].split())  # the signer first, as NVIDIA writes KeyInfo
lines = "\n".join(signer[i:i + 64] for i in range(0, len(signer), 64))
open(f"{d}/rim_signer.pem", "w").write(f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n")
PY
  cp "$sim/nvidia/rim_root.pem" "$d/rim_root.pem"
  cp "$sim/nvidia/device.key" "$d/brom.key"
  cp "$sim/nvidia/provisioner.key" "$d/ica.key"
  cp "$sim/nvidia/identity.key" "$d/identity.key"
  cp "$sim/nvidia/device_root.key" "$d/root.key"
  cp "$sim/nvidia/rim_root.key" "$d/rim_root.key"
}

# ocsp_answer CERT ISSUER OUT [STATUS [SIGNER [DIGEST [DAYS]]]]: OpenSSL's answer about
# $WORK/ocsp/CERT.pem from a responder for ISSUER. STATUS: good (default), revoked (keyCompromise,
# a day ago) or unknown (not in the responder's index). SIGNER: the responder's certificate and
# key as $WORK/ocsp/SIGNER.{pem,key} (default: the issuer itself). DIGEST: the CertID's (sha384).
# OCSP_EXTRA: more options for the responder (-resp_no_certs: the signature is the last field).
ocsp_answer() {
  local cert="$1" issuer="$2" out="$3" status="${4:-good}" signer="${5:-$2}" digest="${6:-sha384}" days="${7:-1}" d="$WORK/ocsp"
  local serial idx="$d/index-$RANDOM.txt" revoked
  serial="$(openssl x509 -in "$d/$cert.pem" -noout -serial | cut -d= -f2)"
  revoked="$(date -u -d '1 day ago' +%y%m%d%H%M%SZ)"
  case "$status" in
    good) printf 'V\t991231235959Z\t\t%s\tunknown\t/CN=x\n' "$serial" >"$idx" ;;
    revoked) printf 'R\t991231235959Z\t%s,keyCompromise\t%s\tunknown\t/CN=x\n' "$revoked" "$serial" >"$idx" ;;
    unknown) : >"$idx" ;;
  esac
  openssl ocsp -issuer "$d/$issuer.pem" "-$digest" -cert "$d/$cert.pem" -no_nonce -reqout "$d/req.der" >/dev/null 2>&1 || return 1
  openssl ocsp -index "$idx" -CA "$d/$issuer.pem" -rsigner "$d/$signer.pem" -rkey "$d/$signer.key" -reqin "$d/req.der" \
    -respout "$out" -ndays "$days" ${OCSP_EXTRA:-} >/dev/null 2>&1
}

# ocsp_delegate ISSUER NAME [EKU]: a delegated responder NAME.{pem,key} issued by ISSUER, with
# extendedKeyUsage EKU (default OCSPSigning; "none" for none).
ocsp_delegate() {
  local issuer="$1" name="$2" eku="${3:-OCSPSigning}" d="$WORK/ocsp"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$d/$name.key" -subj "/CN=cci test OCSP responder $name" \
    -out "$d/$name.csr" >/dev/null 2>&1 || return 1
  if [ "$eku" = none ]; then : >"$d/$name.ext"; else printf 'extendedKeyUsage=%s\n' "$eku" >"$d/$name.ext"; fi
  openssl x509 -req -in "$d/$name.csr" -CA "$d/$issuer.pem" -CAkey "$d/$issuer.key" -set_serial 4242 -days 30 \
    -extfile "$d/$name.ext" -out "$d/$name.pem" >/dev/null 2>&1
}

# ocsp_all SIM DIR: good answers for the whole sim (BROM, ICA, identity, RIM signer) into DIR.
ocsp_all() {
  local dir="$2"
  mkdir -p "$dir"
  ocsp_split "$1" &&
    ocsp_answer brom ica "$dir/brom.der" &&
    ocsp_answer ica identity "$dir/ica.der" &&
    ocsp_answer identity root "$dir/identity.der" &&
    ocsp_answer rim_signer rim_root "$dir/rim_signer.der"
}
