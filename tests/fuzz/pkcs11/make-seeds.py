#!/usr/bin/env python3
"""Writes the seed corpus of the module's fuzz target, a directory per call
(corpus/<call>/), in the input format fuzz_pkcs11.c reads.  Sessions 0, 1
and 2 of an input are on alice's (RSA), carol's (P-256) and dave's (P-384)
tokens; handles index what earlier calls of the input found or made.
    make-seeds.py CORPUS_DIR      (needs the openssl command for EC points)"""
import os
import struct
import subprocess
import sys

CALLS = ["find", "get_attributes", "set_attributes", "create", "copy", "destroy", "derive",
         "unwrap", "wrap", "encrypt", "decrypt", "sign", "verify", "digest", "initialize",
         "open", "close", "mechanism_info", "random"]
SEL = {name: i for i, name in enumerate(CALLS)}

CKA = dict(CLASS=0x0, TOKEN=0x1, PRIVATE=0x2, LABEL=0x3, VALUE=0x11, KEY_TYPE=0x100,
           ID=0x102, SENSITIVE=0x103, ENCRYPT=0x104, DECRYPT=0x105, WRAP=0x106, UNWRAP=0x107,
           SIGN=0x108, VERIFY=0x10A, DERIVE=0x10C, VALUE_LEN=0x161, EXTRACTABLE=0x162,
           MODIFIABLE=0x170, COPYABLE=0x171, DESTROYABLE=0x172, ALLOWED_MECHANISMS=0x40000600)
CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKO_SECRET_KEY, CKO_CERTIFICATE = 2, 3, 4, 1
CKK_GENERIC, CKK_AES = 0x10, 0x1F
CKM = dict(RSA_PKCS=0x1, RSA_PKCS_OAEP=0x9, SHA256_RSA_PKCS=0x40, SHA256_RSA_PKCS_PSS=0x43,
           ECDSA=0x1041, ECDSA_SHA256=0x1044, ECDH1_DERIVE=0x1050, SHA256=0x250,
           AES_ECB=0x1081, AES_CBC=0x1082, AES_CBC_PAD=0x1085, AES_KEY_WRAP=0x2109,
           AES_KEY_WRAP_PAD=0x210A, AES_KEY_WRAP_KWP=0x210B)


def u8(v): return struct.pack("<B", v & 0xFF)
def u16(v): return struct.pack("<H", v & 0xFFFF)
def u32(v): return struct.pack("<I", v & 0xFFFFFFFF)
def data(b, null=False): return u16(len(b)) + b + u8(0xFF if null else 0)
def raw_bytes(b): return u16(len(b)) + b


def attr(type_, kind, value=None):
    """kind: null (a length), bytes, ulong, bool, buffer (a size to fill)."""
    head = u8(0xFF) + u32(type_)
    if kind == "null":
        return head + u8(0) + u16(value)
    if kind == "bytes":
        return head + u8(1) + raw_bytes(value)
    if kind == "ulong":
        return head + u8(2) + u32(value)
    if kind == "bool":
        return head + u8(3) + u8(value)
    return head + u8(4) + u16(value)


def template(*attrs): return u8(len(attrs)) + b"".join(attrs)
def session(i): return u8(i)
def handle(i): return u8(i)
def raw_handle(h): return u8(0xFF) + u32(h)
def out(kind, size): return u8(kind) + u16(size)  # 0 NULL (size query), 1 buffer, 2 no length


def mech(type_, param=b"", kind=0):
    """kind 0: no parameter, 1: raw bytes, 2: the structure (param holds its fields)."""
    if kind == 0:
        return u8(0xFF) + u32(type_) + u8(0)
    if kind == 1:
        return u8(0xFF) + u32(type_) + u8(1) + raw_bytes(param)
    return u8(0xFF) + u32(type_) + u8(2) + param


def ecdh_params(kdf_index, shared, point):
    return u8(kdf_index) + raw_bytes(shared) + (u8(1) if not shared else b"") + raw_bytes(point)


def oaep_params(): return u8(1) + u8(1) + u8(1) + raw_bytes(b"")
def pss_params(): return u8(1) + u8(1) + u32(32)


def find(s, klass): return u8(SEL["find"]) + session(s) + template(attr(CKA["CLASS"], "ulong", klass)) + u8(8)


def op(name, s, mechanism, key, steps):
    """steps: (kind, data, out) with kind 0 single, 1 update, 2 final, 3 digest-key."""
    body = u8(SEL[name]) + session(s) + mechanism + key + u8(len(steps))
    for kind, payload, output, *key_of_step in steps:
        body += u8(kind) + data(payload) + output + b"".join(key_of_step)
    return body


def ec_point(curve):
    key = subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                          "ec_paramgen_curve:" + curve], capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"], input=key,
                         capture_output=True, check=True).stdout
    size = {"P-256": 65, "P-384": 97}[curve]
    return der[-size:]


def aes_key(value, extra=()):
    return template(attr(CKA["CLASS"], "ulong", CKO_SECRET_KEY), attr(CKA["KEY_TYPE"], "ulong", CKK_AES),
                    attr(CKA["VALUE"], "bytes", value), *extra)


def seeds():
    p256, p384 = ec_point("P-256"), ec_point("P-384")
    shared = bytes.fromhex("3015300b0609608648016503040105a206040400000080")
    iv = bytes(range(16))
    key16 = bytes(range(16, 32))
    create = lambda s, value, *extra: u8(SEL["create"]) + session(s) + raw_handle(0) + aes_key(value, extra) + u8(1)
    kek_tmpl = template(attr(CKA["CLASS"], "ulong", CKO_SECRET_KEY), attr(CKA["KEY_TYPE"], "ulong", CKK_AES),
                        attr(CKA["WRAP"], "bool", 1), attr(CKA["VALUE_LEN"], "ulong", 16))
    cek_tmpl = template(attr(CKA["CLASS"], "ulong", CKO_SECRET_KEY), attr(CKA["KEY_TYPE"], "ulong", CKK_AES),
                        attr(CKA["UNWRAP"], "bool", 1))
    derive = lambda s, point, kdf: (u8(SEL["derive"]) + session(s) +
                                    mech(CKM["ECDH1_DERIVE"], ecdh_params(kdf, shared if kdf else b"", point), 2) +
                                    handle(0) + handle(0) + kek_tmpl + data(b"") + out(0, 0) + u8(1))
    yield "find", find(0, CKO_CERTIFICATE) + find(1, CKO_PRIVATE_KEY)
    yield "find", u8(SEL["find"]) + session(2) + template() + u8(8)
    yield "get_attributes", find(1, CKO_PRIVATE_KEY) + u8(SEL["get_attributes"]) + session(1) + handle(0) + \
        template(attr(CKA["CLASS"], "buffer", 8), attr(0x181, "null", 0), attr(CKA["VALUE"], "buffer", 64))
    yield "set_attributes", create(0, key16) + u8(SEL["set_attributes"]) + session(0) + handle(0) + \
        template(attr(CKA["LABEL"], "bytes", b"fuzz"), attr(CKA["SENSITIVE"], "bool", 0))
    yield "create", create(1, key16, attr(CKA["EXTRACTABLE"], "bool", 1), attr(CKA["SENSITIVE"], "bool", 0))
    yield "create", create(2, b"short")
    yield "copy", create(0, key16) + u8(SEL["copy"]) + session(0) + handle(0) + \
        template(attr(CKA["LABEL"], "bytes", b"copy"), attr(CKA["TOKEN"], "bool", 0)) + u8(1)
    yield "destroy", create(0, key16) + u8(SEL["destroy"]) + session(0) + handle(0) + template()
    yield "derive", find(1, CKO_PRIVATE_KEY) + derive(1, p256, 3)
    yield "derive", find(2, CKO_PRIVATE_KEY) + derive(2, p384, 0)
    # NSS's way: derive in one session, unwrap in another, decrypt in a third
    yield "unwrap", find(1, CKO_PRIVATE_KEY) + derive(1, p256, 1) + u8(SEL["open"]) + session(0) + u8(0) + u8(1) + \
        u8(SEL["unwrap"]) + session(3) + mech(CKM["AES_KEY_WRAP"]) + handle(1) + handle(1) + cek_tmpl + \
        data(bytes(range(24))) + out(0, 0) + u8(1) + \
        op("decrypt", 1, mech(CKM["AES_CBC"], iv, 1), handle(2), [(1, bytes(32), out(1, 64)), (2, b"", out(1, 16))])
    yield "unwrap", find(0, CKO_PRIVATE_KEY) + u8(SEL["unwrap"]) + session(0) + mech(CKM["RSA_PKCS_OAEP"], oaep_params(), 2) + \
        handle(0) + handle(0) + cek_tmpl + data(bytes(256)) + out(0, 0) + u8(1)
    yield "wrap", create(1, key16, attr(CKA["EXTRACTABLE"], "bool", 1)) + create(1, key16) + \
        u8(SEL["wrap"]) + session(1) + mech(CKM["AES_KEY_WRAP"]) + handle(1) + handle(0) + template() + \
        data(b"") + out(1, 24)
    for m, param, kind in ((CKM["AES_CBC_PAD"], iv, 1), (CKM["AES_ECB"], b"", 0), (CKM["AES_KEY_WRAP_PAD"], b"", 0)):
        yield "encrypt", create(0, key16) + op("encrypt", 0, mech(m, param, kind), handle(0),
                                               [(1, b"abcdefghijklmnopq", out(0, 0)), (1, b"abcdefghijklmnopq", out(1, 32)),
                                                (2, b"", out(1, 32))])
        yield "decrypt", create(0, key16) + op("decrypt", 0, mech(m, param, kind), handle(0),
                                               [(0, bytes(32), out(0, 0)), (0, bytes(32), out(1, 48))])
    yield "encrypt", find(0, CKO_PUBLIC_KEY) + op("encrypt", 0, mech(CKM["RSA_PKCS"]), handle(0),
                                                  [(0, b"content key", out(1, 256))])
    yield "decrypt", find(0, CKO_PRIVATE_KEY) + op("decrypt", 0, mech(CKM["RSA_PKCS"]), handle(0),
                                                   [(1, bytes(128), out(1, 0)), (2, b"", out(1, 256))])
    yield "sign", find(0, CKO_PRIVATE_KEY) + op("sign", 0, mech(CKM["SHA256_RSA_PKCS_PSS"], pss_params(), 2), handle(0),
                                                [(1, b"mail", out(0, 0)), (2, b"", out(1, 256))])
    yield "sign", find(2, CKO_PRIVATE_KEY) + op("sign", 2, mech(CKM["ECDSA_SHA256"]), handle(0),
                                                [(0, b"mail", out(0, 0)), (0, b"mail", out(1, 96))])
    yield "verify", find(1, CKO_PUBLIC_KEY) + op("verify", 1, mech(CKM["ECDSA"]), handle(0),
                                                 [(0, bytes(32), out(1, 64))])
    yield "digest", create(0, key16) + op("digest", 0, mech(CKM["SHA256"]), handle(0),
                                          [(1, b"abc", out(0, 0)), (3, b"", out(0, 0), handle(0)),
                                           (0, b"x", out(1, 32)), (2, b"", out(1, 32))])
    yield "initialize", u8(SEL["initialize"]) + session(0) + data(b"emails=carol@* kind=all")
    yield "initialize", u8(SEL["initialize"]) + session(0) + data(b"org='x y' configdir='sql:/x'")
    yield "open", u8(SEL["open"]) + session(0) + u8(1) + u8(2) + u8(SEL["close"]) + session(0) + u8(3)
    yield "close", u8(SEL["close"]) + session(0) + u8(0) + u8(SEL["close"]) + session(0) + u8(1)
    yield "mechanism_info", u8(SEL["mechanism_info"]) + session(0) + u8(1) + u32(CKM["AES_KEY_WRAP"]) + u8(1)
    yield "random", u8(SEL["random"]) + session(0) + out(1, 64)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    counts = {}
    for name, seed in seeds():
        directory = os.path.join(sys.argv[1], name)
        os.makedirs(directory, exist_ok=True)
        counts[name] = counts.get(name, 0) + 1
        with open(os.path.join(directory, "seed-%d" % counts[name]), "wb") as f:
            f.write(seed)


if __name__ == "__main__":
    main()
