#!/usr/bin/env python3
"""Prints the shell commands of README.md's "Thirty seconds per audience" section, one per line:
the ```sh blocks, continuation lines joined, comment-only lines dropped, trailing comments kept
(the shell ignores them)."""
import sys

text = open(sys.argv[1], encoding="utf-8").read()
start = text.index("## Thirty seconds per audience")
end = text.find("\n## ", start + 1)
section = text[start:end if end > 0 else len(text)]
in_block = False
pending = ""
for line in section.splitlines():
    if line.startswith("```"):
        in_block = line.strip() == "```sh" if not in_block else False
        continue
    if not in_block or line.lstrip().startswith("#") or not line.strip():
        continue
    if line.rstrip().endswith("\\"):
        pending += line.rstrip()[:-1].rstrip() + " "
        continue
    print((pending + line.strip()).strip())
    pending = ""
