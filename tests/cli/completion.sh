#!/usr/bin/env bash
# Shell completion: each tool's `completion bash|zsh|fish` script, loaded into a real bash (and
# zsh's bash emulation, and fish), completes subcommands, flags and flag values, and leaves out
# hidden subcommands and the old flag names kept as aliases.
source "$(dirname "$0")/lib.sh"

# bash_complete TOOL WORD... : the words bash offers for the last WORD (COMPREPLY, one per line)
bash_complete() {
  local tool="$1"; shift
  bash --norc --noprofile -c '
    source "$1"; shift
    fn="_${1//-/_}"
    COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=()
    "$fn"; printf "%s\n" "${COMPREPLY[@]}"' _ "$WORK/$tool.bash" "$tool" "$@"
}

for t in cci-measure cci-verify cci-run cci-bench; do
  bin="$CCI_BIN/$t/$t"
  expect 0 "$t completion bash" -- "$bin" completion bash
  cp "$WORK/out" "$WORK/$t.bash"
  check "$t: the bash script parses" -- bash -n "$WORK/$t.bash"
  bash_complete "$t" "" >"$WORK/subs"
  contains "$WORK/subs" "completion" "$t <TAB> offers its subcommands"
  expect 0 "$t completion zsh -o FILE" -- "$bin" completion zsh -o "$WORK/_$t"
  contains "$WORK/_$t" "#compdef $t" "$t: the zsh script is a #compdef function"
  expect 0 "$t completion fish" -- "$bin" completion fish
  contains "$WORK/out" "complete -c $t" "$t: the fish script names the command"
done
expect 2 "an unknown shell is a usage error" -- "$VERIFY" completion tcsh

bash_complete cci-verify re >"$WORK/c"
check "cci-verify re<TAB> -> report remote" -- test "$(tr '\n' ' ' <"$WORK/c")" = "report remote "
bash_complete cci-verify report --ven >"$WORK/c"
contains "$WORK/c" "--vendor" "cci-verify report --ven<TAB> -> --vendor"
bash_complete cci-verify report --vendor "" >"$WORK/c"
check "cci-verify report --vendor <TAB> -> auto amd hygon intel nvidia" -- test "$(tr '\n' ' ' <"$WORK/c")" = "auto amd hygon intel nvidia "
bash_complete cci-verify report --json --col >"$WORK/c"
contains "$WORK/c" "--color" "the common flags are offered after a subcommand"
bash_complete cci-verify --color "" >"$WORK/c"
check "--color <TAB> -> auto always never" -- test "$(tr '\n' ' ' <"$WORK/c")" = "auto always never "
bash_complete cci-verify report --release >"$WORK/c"
contains "$WORK/c" "--release-key" "cci-verify report --release<TAB> -> --release-key"
bash_complete cci-verify report --manifest- >"$WORK/c"
check "old flag names (hidden aliases) are not offered" -- bash -c "! grep -q -- --manifest \"\$1\"" _ "$WORK/c"
mkdir -p "$WORK/files" && touch "$WORK/files/report.bin"
(cd "$WORK/files" && bash_complete cci-verify report rep) >"$WORK/c"
contains "$WORK/c" "report.bin" "a positional FILE completes file names"
bash_complete cci-measure manifest "" >"$WORK/c"
contains "$WORK/c" "build" "nested subcommands: cci-measure manifest <TAB> -> build"
bash_complete cci-measure manifest build --ke >"$WORK/c"
contains "$WORK/c" "--key" "... and their flags"
bash_complete cci-run se >"$WORK/c"
check "hidden subcommands are left out: cci-run se<TAB> -> serve" -- test "$(tr '\n' ' ' <"$WORK/c")" = "serve "
bash_complete cci-run keys "" >"$WORK/c"
contains "$WORK/c" "revoke" "cci-run keys <TAB> -> add revoke list"

check "zsh and fish are installed (scripts/test installs them)" -- bash -c "command -v zsh && command -v fish"
if command -v zsh >/dev/null; then
  check "zsh: the script parses" -- zsh -n "$WORK/_cci-verify"
  # zsh filters COMPREPLY by the prefix itself, so the words are checked as a set here.
  zsh -f -c 'autoload -U compinit; compinit -u; source "$1"; emulate -L sh; setopt kshglob noshglob braceexpand
    COMP_WORDS=(cci-verify report --vendor ""); COMP_CWORD=3; _cci_verify; print -r -- "${COMPREPLY[@]}"' \
    _ "$WORK/_cci-verify" >"$WORK/c" 2>&1
  check "zsh (bashcompinit): cci-verify report --vendor <TAB> -> auto amd hygon intel nvidia" -- grep -qx "auto amd hygon intel nvidia" "$WORK/c"
fi
if command -v fish >/dev/null; then
  "$VERIFY" completion fish >"$WORK/cci-verify.fish"
  check "fish: the script parses" -- fish -n "$WORK/cci-verify.fish"
  fish --no-config -c "source $WORK/cci-verify.fish; complete -C 'cci-verify re'" >"$WORK/c" 2>&1
  check "fish: cci-verify re<TAB> -> remote, report" -- test "$(cut -f1 "$WORK/c" | tr '\n' ' ')" = "remote report "
fi
finish
