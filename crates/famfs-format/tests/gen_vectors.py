#!/usr/bin/env python3
"""Test vectors for famfs-format, built from the documented layouts with
Python's struct and zlib.crc32 (no code shared with the Rust encoder).

Prints one line per case: NAME HEX.
"""
import struct
import uuid
import zlib

FS = uuid.UUID("11111111-2222-3333-4444-555555555555").bytes
DEV = uuid.UUID("66666666-7777-8888-9999-aaaaaaaaaaaa").bytes
SYS = uuid.UUID("bbbbbbbb-cccc-dddd-eeee-ffffffffffff").bytes


def superblock():
    head = struct.pack("<QQQQQII16s16s16s", 0x87B282FF, 48, 0x200000, 8 << 20, 0x200000, 2, 2,
                       FS, DEV, SYS)
    assert len(head) == 96
    crc = zlib.crc32(head)
    rest = struct.pack("<QI4xQ16s64s", crc, 0, 4 << 30, DEV, b"dax0.0")
    sb = head + rest
    assert len(sb) == 200
    return sb


def log_header():
    slots = ((8 << 20) - 48) // 544
    head = struct.pack("<QQQ", 0xBADCAFEF00D, 8 << 20, slots - 1)
    return head + struct.pack("<QQQ", zlib.crc32(head), 5, 5)


def entry(seq, etype, body):
    body = body.ljust(520, b"\0")
    e = struct.pack("<QI4x", seq, etype) + body
    assert len(e) == 536
    return e + struct.pack("<Q", zlib.crc32(e))


def file_simple():
    fmap = struct.pack("<I4xI4x", 0, 2)
    fmap += struct.pack("<QQQ", 0, 4 << 20, 2 << 20) + struct.pack("<QQQ", 0, 8 << 20, 2 << 20)
    fmap = fmap.ljust(416, b"\0")
    body = struct.pack("<QIIII80s", 3 << 20, 2, 1000, 100, 0o644, b"dir/data.bin") + fmap
    return entry(7, 0, body)


def file_interleaved():
    fmap = struct.pack("<I4xI4x", 1, 1) + struct.pack("<QQ", 2, 2 << 20)
    fmap += struct.pack("<QQQ", 0, 64 << 20, 4 << 20) + struct.pack("<QQQ", 0, 128 << 20, 4 << 20)
    fmap = fmap.ljust(416, b"\0")
    body = struct.pack("<QIIII80s", 8 << 20, 2, 0, 0, 0o444, b"striped") + fmap
    return entry(8, 0, body)


def mkdir():
    return entry(9, 1, struct.pack("<III80s", 1000, 100, 0o755, b"a/b/c"))


for name, data in [("superblock", superblock()), ("log_header", log_header()),
                   ("file_simple", file_simple()), ("file_interleaved", file_interleaved()),
                   ("mkdir", mkdir())]:
    print(name, data.hex())
