#!/usr/bin/env python3
"""Writes the dns_query seed corpus: well-formed queries for the names the fuzz zone
serves, plus the hostile shapes the tests check (loops, truncation, huge counts, odd
classes and opcodes). Run from fuzz/: python3 gen_dns_corpus.py"""
import os
import struct

OUT = "corpus/dns_query"


def name(n):
    out = b""
    for label in [l for l in n.split(".") if l]:
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(qid, n, qtype, qclass=1, opcode=0, edns=False):
    flags = (opcode << 11) | 0x0100
    q = struct.pack(">HHHHHH", qid, flags, 1, 0, 0, 1 if edns else 0)
    q += name(n) + struct.pack(">HH", qtype, qclass)
    if edns:
        q += b"\0" + struct.pack(">HHIH", 41, 4096, 0, 0)
    return q


seeds = {
    "a_web": query(1, "web.marathon.mesos", 1),
    "a_web_edns": query(2, "WeB.marathon.mesos", 1, edns=True),
    "aaaa_web": query(3, "web.marathon.mesos", 28),
    "srv_web": query(4, "_web._tcp.marathon.mesos", 33, edns=True),
    "srv_named": query(5, "_http._web._tcp.marathon.mesos", 33),
    "a_slave": query(6, "api-prod.marathon.slave.mesos", 1),
    "soa_apex": query(7, "mesos", 6),
    "ns_apex": query(8, "mesos", 2),
    "any_web": query(9, "web.marathon.mesos", 255),
    "ptr": query(10, "9.0.0.127.in-addr.arpa", 12),
    "nx": query(11, "nope.marathon.mesos", 1),
    "outside": query(12, "example.org", 1),
    "class_ch": query(13, "version.bind", 16, qclass=3),
    "class_42": query(14, "web.marathon.mesos", 1, qclass=42),
    "opcode_notify": query(15, "mesos", 6, opcode=4),
    "opcode_update": query(16, "mesos", 6, opcode=5),
    "opcode_15": query(17, "web.marathon.mesos", 1, opcode=15),
    "truncated": query(18, "web.marathon.mesos", 1)[:-3],
    "header_only": query(19, "web.marathon.mesos", 1)[:12],
    "compression_loop": query(20, "x", 1)[:12] + b"\xc0\x0c\x00\x01\x00\x01",
    "huge_counts": query(21, "web.marathon.mesos", 1)[:4] + b"\xff" * 8
    + query(21, "web.marathon.mesos", 1)[12:],
    "two_questions": struct.pack(">HHHHHH", 22, 0x0100, 2, 0, 0, 0)
    + name("web.marathon.mesos") + b"\0\x01\0\x01" + b"\xc0\x0c\0\x1c\0\x01",
}
os.makedirs(OUT, exist_ok=True)
for key, data in seeds.items():
    with open(os.path.join(OUT, key), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {OUT}")
