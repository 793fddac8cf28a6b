/* The rules of a call, in one place (call.c): initialised? which slot or
 * session? which login state? the lock.  p11.c wraps every C_* function in
 * them; leaf code starts from a checked call and drops the lock only
 * through mt_call_release / mt_call_retake. */
#ifndef MT_PKCS11_CALL_H
#define MT_PKCS11_CALL_H

#include "session.h"
#include "pkcs11_v3.h"

#include <stdbool.h>

typedef struct mt_call {
    mt_session *session;     /* session calls: held (a reference) until the end */
    bool locked;             /* whether this call holds the module lock now */
} mt_call;

enum {
    MT_CALL_UNLOCKED = 1u << 0,  /* crypto steps: release the lock once the session is held */
    MT_CALL_SO = 1u << 1,        /* the SO is logged in, else CKR_USER_NOT_LOGGED_IN */
    MT_CALL_LOGGED_IN = 1u << 2, /* user or SO, else CKR_USER_NOT_LOGGED_IN */
    MT_CALL_RW = 1u << 3,        /* a read/write session, else CKR_SESSION_READ_ONLY */
};

/* A session call: the rules of `flags`, checked in the order above. */
CK_RV mt_call_begin(mt_call *call, CK_SESSION_HANDLE handle, unsigned flags);
/* A slot-level call: initialised, then `args_ok` (else CKR_ARGUMENTS_BAD);
 * runs under the module lock. */
CK_RV mt_call_begin_slot(mt_call *call, bool args_ok);
CK_RV mt_call_end(mt_call *call, CK_RV rv);
/* For slow work under a session call (the PIN KDF, a store write, key
 * agreement): the lock goes, the session stays held ... */
void mt_call_release(mt_call *call);
/* ... and comes back: CKR_SESSION_HANDLE_INVALID when the session was
 * closed meanwhile (the caller then publishes nothing). */
CK_RV mt_call_retake(mt_call *call);

#endif
