/* Sessions: kept sorted by handle (handles only grow), counted while a call
 * uses them (call.c), so a concurrent C_CloseSession never frees one in
 * use; they end with their token. */
#include "session.h"

#include "call.h"
#include "calls.h"
#include "crypto.h"
#include "mech.h"
#include "object.h"
#include "state.h"
#include "token.h"

#include <stdlib.h>
#include <string.h>

static void find_reset(mt_find_state *find)
{
    free(find->handles);
    memset(find, 0, sizeof(*find));
}

/* The contexts holding a private key. */
static void session_drop_private_warm(mt_session *s)
{
    mt_warm_ctx_drop(&s->warm[MT_OP_SIGN]);
    mt_warm_ctx_drop(&s->warm[MT_OP_DECRYPT]);
    mt_session_keys_drop(s);
}

static void session_destroy(mt_session *s)
{
    for (size_t i = 0; i < MT_OP_COUNT; i++)
        mt_op_reset(&s->ops[i]);
    for (size_t i = 0; i < MT_OP_COUNT; i++)
        mt_warm_ctx_drop(&s->warm[i]);
    mt_session_keys_drop(s);
    find_reset(&s->find);
    free(s);
}

static size_t session_position(CK_SESSION_HANDLE handle)
{
    size_t lo = 0, hi = mt_g.n_sessions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (mt_g.sessions[mid]->handle < handle)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

mt_session *mt_session_find(CK_SESSION_HANDLE handle)
{
    size_t pos = session_position(handle);
    if (pos < mt_g.n_sessions && mt_g.sessions[pos]->handle == handle)
        return mt_g.sessions[pos];
    return NULL;
}

void mt_session_close(mt_session *s)
{
    size_t pos = session_position(s->handle);
    if (pos < mt_g.n_sessions && mt_g.sessions[pos] == s) {
        memmove(&mt_g.sessions[pos], &mt_g.sessions[pos + 1],
                (mt_g.n_sessions - pos - 1) * sizeof(*mt_g.sessions));
        mt_g.n_sessions--;
    }
    s->closed = true;
    mt_session_objects_drop(s->token, s->handle);
    s->token->sessions--;
    if (s->flags & CKF_RW_SESSION)
        s->token->rw_sessions--;
    /* closing the last session of a token logs it out */
    if (s->token->sessions == 0)
        mt_token_logout(s->token);
    if (s->refs == 0)
        session_destroy(s);
}

void mt_session_release(mt_session *s)
{
    s->refs--;
    if (s->closed && s->refs == 0)
        session_destroy(s);
    else if (mt_need_user(s) != CKR_OK && s->refs == 0)
        session_drop_private_warm(s); /* logged out during the call */
}

CK_RV mt_close_session(mt_call *call)
{
    if (!call->session->closed)
        mt_session_close(call->session);
    return CKR_OK;
}

void mt_sessions_drop_token(mt_token_state *token)
{
    for (size_t i = mt_g.n_sessions; i-- > 0;)
        if (mt_g.sessions[i]->token == token)
            mt_session_close(mt_g.sessions[i]);
}

void mt_token_logout(mt_token_state *token)
{
    mt_secret_free(token->token_secret);
    mt_secret_free(token->so_pin);
    mt_sealed_keys_free(token->sealed_keys);
    token->sealed_keys = NULL;
    token->token_secret = NULL;
    token->so_pin = NULL;
    token->login = MT_NOT_LOGGED_IN;
    mt_sessions_drop_warm(token);
    mt_session_objects_drop(token, 0);
    if (!token->objects)
        return;
    /* running operations keep their own references */
    for (size_t i = 0; i < token->objects->n; i++) {
        mt_object *object = token->objects->items[i];
        mt_key_unref(object->priv);
        object->priv = NULL;
    }
}

void mt_sessions_drop_warm(mt_token_state *token)
{
    for (size_t i = 0; i < mt_g.n_sessions; i++)
        if (mt_g.sessions[i]->token == token && mt_g.sessions[i]->refs == 0)
            session_drop_private_warm(mt_g.sessions[i]);
}

CK_RV mt_session_state(const mt_session *s, CK_STATE *state)
{
    bool rw = s->flags & CKF_RW_SESSION;
    if (s->token->login == CKU_SO)
        *state = CKS_RW_SO_FUNCTIONS;
    else if (s->token->login == CKU_USER)
        *state = rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
    else
        *state = rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
    return CKR_OK;
}

/* C_SessionCancel: the operations of the flags end, a search too. */
CK_RV mt_session_cancel(mt_call *call, CK_FLAGS flags)
{
    static const CK_FLAGS op_flags[MT_OP_COUNT] = {CKF_SIGN, CKF_VERIFY, CKF_ENCRYPT, CKF_DECRYPT,
                                                   CKF_DIGEST};
    for (size_t i = 0; i < MT_OP_COUNT; i++)
        if (flags & op_flags[i])
            mt_op_reset(&call->session->ops[i]);
    if ((flags & CKF_FIND_OBJECTS) && call->session->find.active)
        mt_find_final(call);
    return CKR_OK;
}

CK_RV mt_get_session_info(mt_call *call, CK_SESSION_INFO_PTR info)
{
    if (!info)
        return CKR_ARGUMENTS_BAD;
    memset(info, 0, sizeof(*info));
    info->slotID = call->session->token->id;
    info->flags = call->session->flags;
    return mt_session_state(call->session, &info->state);
}

/* C_Finalize: every session goes, whatever call might still hold one. */
void mt_sessions_free(void)
{
    for (size_t i = 0; i < mt_g.n_sessions; i++)
        session_destroy(mt_g.sessions[i]);
    free(mt_g.sessions);
    mt_g.sessions = NULL;
    mt_g.n_sessions = mt_g.cap_sessions = 0;
}
