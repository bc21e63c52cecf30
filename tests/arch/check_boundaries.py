#!/usr/bin/env python3
"""The layer rules of docs/architecture.md, checked on the source tree (a ctest, arch/boundaries):

1. Third-party headers stay in their one library: OpenSSL only in common/crypto, libcurl only in
   common/collateral, libtorch only in common/infer/engine.cpp, Boost.Beast only in
   common/serve/http.cpp, libseccomp only in common/serve/sandbox.cpp, libjose only in
   common/kbs/jwe.cpp.
2. Each library links what it includes: a `#include "LIB/..."` in common/A needs cci_LIB among
   A's link dependencies (transitively), read from the CMakeLists.txt files.
3. No library includes one above it: the link graph has no cycle (CMake would not build it) and
   includes follow it (rule 2).
4. Code comments cite what a reader can open: no reference to files outside the repository.
5. Only a verifier makes a verify::Verified<T>: the tests' back door (VerifiedForTests) is not
   used outside tests/.
Exits 1 listing every violation."""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
common = os.path.join(root, "common")
problems = []

def sources(base):
    for dirpath, _, files in os.walk(base):
        for f in files:
            if f.endswith((".h", ".cpp")):
                yield os.path.join(dirpath, f)

def rel(p):
    return os.path.relpath(p, root)

THIRD_PARTY = [
    (re.compile(r'#include\s*<openssl/'), lambda r: r.startswith("common/crypto/"), "OpenSSL outside common/crypto"),
    (re.compile(r'#include\s*<curl/'), lambda r: r.startswith("common/collateral/"), "libcurl outside common/collateral"),
    (re.compile(r'#include\s*<(torch/|ATen/|c10/)'), lambda r: r == "common/infer/engine.cpp" or r.startswith("tools/cci-train/"), "libtorch outside common/infer/engine.cpp"),
    (re.compile(r'#include\s*<boost/beast'), lambda r: r == "common/serve/http.cpp", "Boost.Beast outside common/serve/http.cpp"),
    (re.compile(r'#include\s*<seccomp'), lambda r: r == "common/serve/sandbox.cpp", "libseccomp outside common/serve/sandbox.cpp"),
    (re.compile(r'#include\s*<(jose/|jansson)'), lambda r: r == "common/kbs/jwe.cpp", "libjose outside common/kbs/jwe.cpp"),
    (re.compile(r'#include\s*<(xmlsec/|libxml/)'), lambda r: r == "common/verify/nvgpu_rim.cpp", "libxmlsec1/libxml2 outside common/verify/nvgpu_rim.cpp"),
    (re.compile(r'#include\s*<zlib\.h>'), lambda r: r == "common/kubernetes/init_data.cpp", "zlib outside common/kubernetes/init_data.cpp"),
]
OUTSIDE_REF = re.compile(r'(\.\./shared|shared/specs|specs/[a-z_-]+\.md)')

for base in ("common", "tools"):
    for path in sources(os.path.join(root, base)):
        r = rel(path)
        text = open(path, encoding="utf-8", errors="replace").read()
        for pattern, allowed, what in THIRD_PARTY:
            if pattern.search(text) and not allowed(r):
                problems.append(f"{r}: {what}")
        if "VerifiedForTests" in text and r != "common/verify/verified.h":
            problems.append(f"{r}: uses the tests' VerifiedForTests outside tests/")
        for line_no, line in enumerate(text.splitlines(), 1):
            if "//" in line and OUTSIDE_REF.search(line.split("//", 1)[1]):
                problems.append(f"{r}:{line_no}: cites a file outside the repository: {line.strip()[:100]}")

# Link graph of the cci_* libraries.
deps = {}
for lib in os.listdir(common):
    cml = os.path.join(common, lib, "CMakeLists.txt")
    if not os.path.isfile(cml):
        continue
    text = re.sub(r"#.*", "", open(cml).read())
    for m in re.finditer(r"target_link_libraries\(\s*(cci_\w+)([^)]*)\)", text, re.S):
        deps.setdefault(m.group(1), set()).update(re.findall(r"\bcci_\w+", m.group(2)))
deps = {k: v - {"cci_warnings"} for k, v in deps.items()}

def closure(lib, seen=None):
    seen = set() if seen is None else seen
    for d in deps.get(lib, ()):
        if d not in seen:
            seen.add(d)
            closure(d, seen)
    return seen

libs_of_folder = {}
for lib in deps:
    folder = lib[len("cci_"):]
    if folder in ("infer_core", "infer"):
        folder = "infer"
    libs_of_folder.setdefault(folder, []).append(lib)

for folder in sorted(os.listdir(common)):
    if folder not in libs_of_folder:
        continue
    mine = libs_of_folder[folder]
    reach = set(mine)
    for lib in mine:
        reach |= closure(lib)
    for path in sources(os.path.join(common, folder)):
        r = rel(path)
        # the torch engine file belongs to cci_infer; everything else in infer to cci_infer_core
        own = closure("cci_infer") | {"cci_infer"} if r == "common/infer/engine.cpp" else reach
        for inc in re.findall(r'#include\s*"(\w+)/', open(path, encoding="utf-8", errors="replace").read()):
            if inc == folder:
                continue
            needed = libs_of_folder.get(inc)
            if needed is None:
                continue
            if not any(n in own for n in needed):
                problems.append(f"{r}: includes {inc}/ but {'/'.join(mine)} does not link {'/'.join(needed)}")

for p in problems:
    print("FAIL", p)
print(f"{len(problems)} boundary violation(s)" if problems else "ok   the layer rules hold")
sys.exit(1 if problems else 0)
