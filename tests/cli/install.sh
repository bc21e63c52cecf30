#!/usr/bin/env bash
# cmake --install of this build into a staging prefix: the tools land in bin/ and run from there
# (cci-run finds its connection process and its engine next to it), and `man -M PREFIX/share/man` shows each
# tool's manual page.
source "$(dirname "$0")/lib.sh"
BUILD="$(cd "$CCI_BIN/.." && pwd)"
STAGE="$WORK/stage"
expect 0 "cmake --install into a staging prefix" -- cmake --install "$BUILD" --prefix "$STAGE"
for t in cci-measure cci-verify cci-run cci-bench; do
  check "$t installed in bin/" -- test -x "$STAGE/bin/$t"
  expect 0 "installed $t --version" -- "$STAGE/bin/$t" --version
  contains "$WORK/out" "$t " "$t prints its name and version"
done
if [ -x "$CCI_BIN/cci-run/cci-run-conn" ]; then
  check "cci-run-conn installed next to cci-run" -- test -x "$STAGE/bin/cci-run-conn"
  check "cci-run-engine installed next to cci-run" -- test -x "$STAGE/bin/cci-run-engine"
  expect 0 "the installed cci-run runs generate through cci-run-engine" -- "$STAGE/bin/cci-run" generate --prompt "And" --temperature 0 --max-tokens 4 --ignore-eos --token-ids
  check "... four token ids" -- test "$(wc -w < "$WORK/out")" -eq 4
fi
for t in cci-measure cci-verify cci-run cci-bench; do
  check "$t: bash, zsh and fish completion installed" -- test -s "$STAGE/share/bash-completion/completions/$t" -a \
    -s "$STAGE/share/zsh/site-functions/_$t" -a -s "$STAGE/share/fish/vendor_completions.d/$t.fish"
done
bash --norc -c 'source "$1"; COMP_WORDS=(cci-verify re); COMP_CWORD=1; _cci_verify; echo "${COMPREPLY[*]}"' _ \
  "$STAGE/share/bash-completion/completions/cci-verify" >"$WORK/comp" 2>&1
check "the installed bash completion completes cci-verify re<TAB> -> report remote" -- grep -qx "report remote" "$WORK/comp"
check "go-md2man and man are installed (scripts/test installs them)" -- bash -c "command -v go-md2man && command -v man" 
if command -v go-md2man >/dev/null && command -v man >/dev/null; then
  for t in cci-measure cci-verify cci-run cci-bench; do
    check "$t(1) installed" -- test -s "$STAGE/share/man/man1/$t.1"
    MANWIDTH=100 man -M "$STAGE/share/man" "$t" >"$WORK/page" 2>"$WORK/err"
    contains "$WORK/page" "SYNOPSIS" "man -M PREFIX/share/man $t shows the page"
  done
  MANWIDTH=100 man -M "$STAGE/share/man" cci-verify >"$WORK/page" 2>&1
  contains "$WORK/page" "verify signed model bundles" "cci-verify(1) names the tool"
contains "$WORK/page" "CCI-VERIFY(1)" "... in a proper page header"
fi
finish
