/* The rules of a call.  A session call: initialised (and not a forked
 * child's inherited state), the session valid, the login state and session
 * kind it needs, the module lock held or, for crypto steps, released once
 * the session is held.  A slot call: initialised, its arguments there, the
 * lock held.  Sessions are counted while a call uses them, so a concurrent
 * C_CloseSession never frees one in use. */
#include "call.h"

#include "session.h"
#include "state.h"
#include "token.h"

#include <string.h>

static CK_RV session_rules(const mt_session *s, unsigned flags)
{
    CK_USER_TYPE login = s->token->login;
    if ((flags & MT_CALL_SO) && login != CKU_SO)
        return CKR_USER_NOT_LOGGED_IN;
    if ((flags & MT_CALL_LOGGED_IN) && login == MT_NOT_LOGGED_IN)
        return CKR_USER_NOT_LOGGED_IN;
    if ((flags & MT_CALL_RW) && !(s->flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_ONLY;
    return CKR_OK;
}

CK_RV mt_call_begin(mt_call *call, CK_SESSION_HANDLE handle, unsigned flags)
{
    memset(call, 0, sizeof(*call));
    mt_lock();
    /* per call, the fork check without a system call (fork.c) */
    CK_RV rv = mt_g.initialised && !mt_fork_seen() ? CKR_OK : CKR_CRYPTOKI_NOT_INITIALIZED;
    mt_session *s = rv == CKR_OK ? mt_session_find(handle) : NULL;
    if (rv == CKR_OK && !s)
        rv = CKR_SESSION_HANDLE_INVALID;
    if (rv == CKR_OK)
        rv = session_rules(s, flags);
    if (rv != CKR_OK) {
        mt_unlock();
        return rv;
    }
    s->refs++;
    call->session = s;
    call->locked = true;
    if (flags & MT_CALL_UNLOCKED)
        mt_call_release(call);
    return CKR_OK;
}

CK_RV mt_call_begin_slot(mt_call *call, bool args_ok)
{
    memset(call, 0, sizeof(*call));
    mt_lock();
    CK_RV rv = mt_initialised_locked();
    if (rv == CKR_OK && !args_ok)
        rv = CKR_ARGUMENTS_BAD;
    if (rv != CKR_OK) {
        mt_unlock();
        return rv;
    }
    call->locked = true;
    return CKR_OK;
}

void mt_call_release(mt_call *call)
{
    if (!call->locked)
        return;
    call->locked = false;
    mt_unlock();
}

CK_RV mt_call_retake(mt_call *call)
{
    if (!call->locked) {
        mt_lock();
        call->locked = true;
    }
    return call->session && call->session->closed ? CKR_SESSION_HANDLE_INVALID : CKR_OK;
}

CK_RV mt_call_end(mt_call *call, CK_RV rv)
{
    if (!call->session && !call->locked)
        return rv; /* the call never began */
    mt_call_retake(call);
    if (call->session)
        mt_session_release(call->session);
    call->locked = false;
    mt_unlock();
    return rv;
}
