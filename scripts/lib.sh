# Shared by scripts/test and scripts/demo: install Debian packages when missing, build.
# shellcheck shell=bash

CCI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Everything the build, the tests and the demo use. Only Debian 12 packages.
CCI_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libssl-dev openssl
  libcli11-dev nlohmann-json3-dev doctest-dev libyaml-cpp-dev
  libcurl4-openssl-dev
  cryptsetup-bin jq python3 go-md2man man-db zsh fish
  softhsm2 libengine-pkcs11-openssl opensc
  clang-14 libclang-rt-14-dev
  libtorch-dev libopenblas0-openmp libsentencepiece-dev sentencepiece libpcre2-dev libcbor-dev
  libboost-dev libseccomp-dev libjose-dev curl python3-jsonschema python3-cryptography librsvg2-bin
  ovmf libxmlsec1-dev xmlsec1 zlib1g-dev
)

cci_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Installs the packages that are not installed yet (idempotent; no-op when all present). The
# package manager's output goes to a log file; on failure its end is shown.
cci_install_packages() {
  local missing=()
  for p in "${CCI_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root or sudo to apt-get install: ${missing[*]}" >&2; exit 3; }
    sudo=(sudo)
  fi
  local log="${TMPDIR:-/tmp}/cci-apt-$(id -u).log"
  cci_log "installing ${#missing[@]} Debian packages (log: $log): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "apt-get failed; the whole log: $log" >&2
    exit 3
  fi
}

# The npm test oracles (tests/oracles/*/package.json, exact versions in package-lock.json), each
# installed with `npm ci` into build/test-oracles/NAME; Debian's nodejs and npm when there is no
# npm yet. Idempotent: skipped while the installed lock equals the committed one. Tests never
# reach the network; this runs before them.
cci_install_test_oracles() {
  if ! command -v npm >/dev/null; then
    local CCI_PACKAGES=(nodejs npm)
    cci_install_packages
  fi
  local dir name dest
  for dir in "$CCI_ROOT"/tests/oracles/*/; do
    name=$(basename "$dir")
    dest="$CCI_ROOT/build/test-oracles/$name"
    if [ -d "$dest/node_modules" ] && cmp -s "$dir/package-lock.json" "$dest/package-lock.json"; then continue; fi
    cci_log "installing the $name test oracle (npm ci: $dest)"
    rm -rf "$dest" && mkdir -p "$dest"
    cp "$dir/package.json" "$dir/package-lock.json" "$dest/"
    local log="$dest/npm.log"
    if ! (cd "$dest" && npm ci --no-audit --no-fund) >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      echo "npm ci failed for the $name test oracle; the whole log: $log" >&2
      exit 3
    fi
  done
}

# cci_build PRESET [TARGET...]: configure (once) and build (everything, or the targets named)
# with two jobs.
cci_build_steps() {
  local preset="$1"
  shift
  cmake --preset "$preset" || return
  if [ $# -gt 0 ]; then cmake --build --preset "$preset" --target "$@"; else cmake --build --preset "$preset"; fi
}

cci_build() {
  local preset="$1"
  shift
  cd "$CCI_ROOT"
  local log="$CCI_ROOT/build/$preset-build.log"
  mkdir -p "$CCI_ROOT/build"
  cci_log "configuring and building preset '$preset'${*:+ (targets: $*)} (log: build/$preset-build.log)"
  local rc=0
  # CCI_BUILD_QUIET=1 (the demo): the compiler's output only in the log. Otherwise (the tests,
  # CI) it is shown as it comes, and kept in the log too.
  if [ "${CCI_BUILD_QUIET:-0}" = 1 ]; then
    cci_build_steps "$preset" "$@" >"$log" 2>&1 || rc=$?
  else
    cci_build_steps "$preset" "$@" 2>&1 | tee "$log" || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then
    grep -E "error|Error" "$log" | head -n 20 >&2 || true
    tail -n 20 "$log" >&2
    echo "the build failed; the whole log: $log" >&2
    exit "$rc"
  fi
  # The build is warning-free in every preset (the dev preset makes warnings errors): say so if not.
  if grep -q "warning:" "$log"; then
    cci_log "the build printed compiler warnings (see $log)"
  fi
}
