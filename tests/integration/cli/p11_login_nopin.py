#!/usr/bin/env python3
"""p11_login_nopin.py MODULE LABEL: C_Login(CKU_USER) without a PIN on the
token labelled LABEL, as a gateway does; prints the CK_RV as hex (0x0: in).

Calls the module's exported C_* functions through ctypes: no PKCS#11 client
program logs in with a NULL PIN unless the token asks for a PIN pad."""
import ctypes
import sys

CKF_SERIAL_SESSION = 0x4
CKU_USER = 1


def main():
    module, label = sys.argv[1], sys.argv[2].encode()
    lib = ctypes.CDLL(module)
    ulong = ctypes.c_ulong
    rv = lib.C_Initialize(None)
    if rv:
        sys.exit("C_Initialize: 0x%x" % rv)
    n = ulong(0)
    lib.C_GetSlotList(ctypes.c_ubyte(1), None, ctypes.byref(n))
    slots = (ulong * max(n.value, 1))()
    lib.C_GetSlotList(ctypes.c_ubyte(1), slots, ctypes.byref(n))
    for slot in slots[: n.value]:
        info = ctypes.create_string_buffer(1024)  # CK_TOKEN_INFO begins with label[32]
        if lib.C_GetTokenInfo(ulong(slot), info):
            continue
        if info.raw[:32].rstrip(b" ") != label:
            continue
        session = ulong(0)
        rv = lib.C_OpenSession(ulong(slot), ulong(CKF_SERIAL_SESSION), None, None,
                               ctypes.byref(session))
        if rv:
            sys.exit("C_OpenSession: 0x%x" % rv)
        rv = lib.C_Login(session, ulong(CKU_USER), None, ulong(0))
        print("0x%x" % rv)
        lib.C_Finalize(None)
        return
    sys.exit("no token labelled %s" % label.decode())


main()
