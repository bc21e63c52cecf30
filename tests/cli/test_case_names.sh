#!/usr/bin/env bash
# ctest learns doctest case names through doctest_discover_tests, which splits a name at ';':
# such a case becomes entries that match no test and pass without running anything. So no
# TEST_CASE name may contain ';'. (This check once found six cases that had never run.)
source "$(dirname "$0")/lib.sh"
grep -n 'TEST_CASE("[^"]*;' "$CCI_SOURCE_DIR"/tests/unit/*.cpp >"$WORK/bad"
check "no doctest case name contains ';'" -- test ! -s "$WORK/bad"
sed 's/^/     /' "$WORK/bad"
printf 'TEST_CASE("a; b") {}\n' >"$WORK/probe.cpp"
check "the check itself finds one" -- grep -q 'TEST_CASE("[^"]*;' "$WORK/probe.cpp"
finish
