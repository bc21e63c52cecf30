#!/usr/bin/env python3
"""scan_memory.py PID HEX: is the byte string HEX in the memory of process PID?
Exit 0: not found; 1: found; 77: the memory cannot be read here (no CAP_SYS_PTRACE for a
non-dumpable process). Reads /proc/PID/smaps and /proc/PID/mem (Linux proc(5)). Mappings with no
resident page are skipped (nothing of them is in memory), and so are mappings of more than
16 GiB: reservations such as AddressSanitizer's shadow, whose few touched pages hold no user data
and whose reading would take hours."""
import sys

pid, needle = sys.argv[1], bytes.fromhex(sys.argv[2])
try:
    smaps = open(f"/proc/{pid}/smaps").read().splitlines()
    mem = open(f"/proc/{pid}/mem", "rb", buffering=0)
except PermissionError:
    sys.exit(77)

regions = []  # (lo, hi, perms, name, rss_kib)
for line in smaps:
    fields = line.split()
    if fields and "-" in fields[0] and len(fields) >= 5 and not fields[0].endswith(":"):
        lo, hi = (int(x, 16) for x in fields[0].split("-"))
        regions.append([lo, hi, fields[1], " ".join(fields[5:]), 0])
    elif fields and fields[0] == "Rss:" and regions:
        regions[-1][4] = int(fields[1])

readable = skipped = 0
for lo, hi, perms, name, rss in regions:
    if perms[0] != "r" or name in ("[vvar]", "[vsyscall]") or rss == 0:
        continue
    if hi - lo > (16 << 30):
        skipped += 1
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
            print(f"found at {lo:x}-{hi:x} {name}")
            sys.exit(1)
        tail = chunk[-len(needle):]
        pos += n
if readable == 0:
    sys.exit(77)
print(f"not found in {readable} readable bytes ({skipped} reservations over 16 GiB skipped)")
sys.exit(0)
