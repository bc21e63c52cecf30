#!/usr/bin/env python3
"""scan_memory.py PID HEX: is the byte string HEX in the readable memory of process PID?
Exit 0: not found; 1: found; 77: the memory cannot be read here (no CAP_SYS_PTRACE for a
non-dumpable process). Reads /proc/PID/maps and /proc/PID/mem (Linux proc(5))."""
import sys

pid, needle = sys.argv[1], bytes.fromhex(sys.argv[2])
try:
    maps = open(f"/proc/{pid}/maps").read().splitlines()
    mem = open(f"/proc/{pid}/mem", "rb", buffering=0)
except PermissionError:
    sys.exit(77)
readable = 0
for line in maps:
    fields = line.split()
    lo, hi = (int(x, 16) for x in fields[0].split("-"))
    if fields[1][0] != "r" or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]")):
        continue
    tail = b""
    pos = lo
    while pos < hi:
        n = min(1 << 22, hi - pos)
        try:
            mem.seek(pos)
            chunk = mem.read(n)
        except (OSError, ValueError):
            break
        readable += len(chunk)
        if needle in tail + chunk:
            print(f"found at {fields[0]} {' '.join(fields[5:])}")
            sys.exit(1)
        tail = chunk[-len(needle):]
        pos += n
if readable == 0:
    sys.exit(77)
print(f"not found in {readable} readable bytes")
sys.exit(0)
