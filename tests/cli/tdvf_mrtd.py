#!/usr/bin/env python3
"""A second, separately written MRTD computation for cli/tdx_mrtd, and TDVF images to feed it.

  tdvf_mrtd.py mrtd FIRMWARE            prints the MRTD (hex) of a TDVF image
  tdvf_mrtd.py make OUT [VARIANT]       writes a small synthetic TDVF image (not bootable)

The rules, from the public specifications (Intel TDX Virtual Firmware Design Guide, section 11,
"TDVF Metadata"; Intel TDX Module ABI Reference, TDH.MEM.PAGE.ADD and TDH.MR.EXTEND): the OVMF
footer GUID table (ending 32 bytes before the image end) holds entry e47a6535-... with a le32
offset from the end to the "TDVF" descriptor; each section not marked PAGE.AUG (bit 1) is added
page by page, a 128-byte buffer "MEM.PAGE.ADD" + GPA at byte 16; a section marked MR.EXTEND
(bit 0) has each page extended right after it is added (upstream QEMU + KVM), per 256 bytes a
128-byte buffer "MR.EXTEND" + GPA followed by the 256 bytes; MRTD is one SHA-384 over all of it.
"""
import hashlib
import struct
import sys
import uuid

FOOTER = uuid.UUID("96b582de-1fb2-45f7-baea-a366c55a082d").bytes_le
TDX = uuid.UUID("e47a6535-984a-4798-865e-4685a7bf8ec2").bytes_le


def table_entries(img):
    footer_at = len(img) - 32 - 18
    assert img[footer_at + 2:footer_at + 18] == FOOTER, "no OVMF footer table"
    total = struct.unpack_from("<H", img, footer_at)[0]
    begin, end, out = footer_at - (total - 18), footer_at, {}
    while end > begin:
        n = struct.unpack_from("<H", img, end - 18)[0]
        out[img[end - 16:end]] = img[end - n:end - 18]
        end -= n
    return out


def sections(img):
    off = struct.unpack_from("<I", table_entries(img)[TDX], 0)[0]
    start = len(img) - off
    sig, length, version, count = struct.unpack_from("<4sIII", img, start)
    assert sig == b"TDVF" and version == 1 and length == 16 + 32 * count
    return [struct.unpack_from("<IIQQII", img, start + 16 + 32 * i) for i in range(count)]


def mrtd(img):
    h = hashlib.sha384()
    for data_offset, raw_size, gpa, mem_size, _type, attributes in sections(img):
        if attributes & 2:
            continue
        mem = img[data_offset:data_offset + raw_size] + bytes(mem_size - raw_size)
        for page in range(0, mem_size, 4096):
            h.update(b"MEM.PAGE.ADD".ljust(16, b"\0") + struct.pack("<Q", gpa + page) + bytes(104))
            if attributes & 1:
                for chunk in range(page, page + 4096, 256):
                    h.update(b"MR.EXTEND".ljust(16, b"\0") + struct.pack("<Q", gpa + chunk) + bytes(104))
                    h.update(mem[chunk:chunk + 256])
    return h.hexdigest()


def make(variant):
    size = 0x10000
    img = bytearray((i * 13 + 5) & 0xFF for i in range(size))
    # BFV: the image's first 0x8000 bytes at 0xfff00000, extended; a zero-filled tail in memory
    # past its file data (0x6000 bytes in the file, 0x8000 in memory); a TD_HOB and TempMem
    # added without data; a PAGE.AUG TempMem that is not added at all.
    secs = [(0x0, 0x6000, 0xFFF00000, 0x8000, 0, 1), (0x8000, 0x1000, 0xFFF08000, 0x1000, 1, 0),
            (0, 0, 0x809000, 0x2000, 2, 0), (0, 0, 0x800000, 0x3000, 3, 0), (0, 0, 0x900000, 0x4000, 3, 2)]
    # One section replaced (index, new section), or one descriptor field wrong.
    section_variants = {
        "outside": (0, (0xF000, 0x6000, 0xFFF00000, 0x8000, 0, 1)),
        "overlap": (3, (0, 0, 0x80A000, 0x3000, 3, 0)),
        "unaligned": (2, (0, 0, 0x809800, 0x2000, 2, 0)),
        "attributes": (1, (0x8000, 0x1000, 0xFFF08000, 0x1000, 1, 4)),
        "raw-larger": (1, (0x8000, 0x2000, 0xFFF08000, 0x1000, 1, 0)),
        "huge": (3, (0, 0, 0x100000000, 0x200000000, 3, 0)),
    }
    assert variant in section_variants or variant in ("", "signature", "version", "length", "no-tdx"), variant
    if variant in section_variants:
        index, section = section_variants[variant]
        secs[index] = section
    sig = b"TDVX" if variant == "signature" else b"TDVF"
    version = 2 if variant == "version" else 1
    length_delta = 4 if variant == "length" else 0
    desc = struct.pack("<4sIII", sig, 16 + 32 * len(secs) + length_delta, version, len(secs))
    desc += b"".join(struct.pack("<IIQQII", *s) for s in secs)
    desc_at = 0xC000
    img[desc_at:desc_at + len(desc)] = desc
    entries = b""
    if variant != "no-tdx":
        entries += struct.pack("<I", size - desc_at) + struct.pack("<H", 4 + 18) + TDX
    table = entries + struct.pack("<H", len(entries) + 18) + FOOTER
    img[size - 32 - len(table):size - 32] = table
    return bytes(img)


def main():
    if sys.argv[1] == "mrtd":
        print(mrtd(open(sys.argv[2], "rb").read()))
    elif sys.argv[1] == "make":
        open(sys.argv[2], "wb").write(make(sys.argv[3] if len(sys.argv) > 3 else ""))
    else:
        sys.exit("usage: tdvf_mrtd.py mrtd FIRMWARE | make OUT [VARIANT]")


if __name__ == "__main__":
    main()
