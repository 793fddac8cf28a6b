/* C_OpenSession and C_CloseAllSessions: slot calls (mt_call_begin_slot:
 * initialised, arguments there, the module lock held) that make or end the
 * sessions of a slot's token. */
#include "session.h"

#include "calls.h"
#include "state.h"
#include "token.h"

#include <stdlib.h>

/* A slot call (out is set). */
CK_RV mt_open_session(CK_SLOT_ID id, CK_FLAGS flags, CK_SESSION_HANDLE_PTR out)
{
    mt_token_state *token = NULL;
    mt_session *s = NULL;
    if (!(flags & CKF_SERIAL_SESSION))
        return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    CK_RV rv = mt_slot_token(id, &token);
    if (rv != CKR_OK)
        goto out;
    if (!(flags & CKF_RW_SESSION) && token->login == CKU_SO) {
        rv = CKR_SESSION_READ_WRITE_SO_EXISTS;
        goto out;
    }
    if (mt_g.n_sessions == mt_g.cap_sessions) {
        size_t cap = mt_g.cap_sessions ? mt_g.cap_sessions * 2 : 16;
        mt_session **sessions = realloc(mt_g.sessions, cap * sizeof(*sessions));
        if (!sessions) {
            rv = CKR_HOST_MEMORY;
            goto out;
        }
        mt_g.sessions = sessions;
        mt_g.cap_sessions = cap;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    s->handle = mt_g.next_session++;
    s->token = token;
    s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
    mt_g.sessions[mt_g.n_sessions++] = s; /* handles grow: stays sorted */
    token->sessions++;
    if (flags & CKF_RW_SESSION)
        token->rw_sessions++;
    *out = s->handle;
out:
    return rv;
}

/* A slot call. */
CK_RV mt_close_all_sessions(CK_SLOT_ID id)
{
    mt_slot *slot = mt_slot_find(id);
    if (!slot)
        return CKR_SLOT_ID_INVALID;
    if (slot->token) /* a token never used has no sessions */
        mt_sessions_drop_token(slot->token);
    return CKR_OK;
}
