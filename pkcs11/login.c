/* Login state is per token for the whole application.  The PIN KDF runs once
 * per login, with no lock held: the login works on a store handle of its own
 * and takes the module lock only to publish what it opened; opened keys live
 * until logout.  A user login also reads the token's sealed keys, in one
 * query: using them never needs the store again (a server may go away). */
#include "calls.h"

#include "call.h"
#include "rv.h"
#include "session.h"
#include "state.h"
#include "token.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static CK_RV pin_secret(CK_UTF8CHAR_PTR pin, CK_ULONG len, mt_secret **out)
{
    *out = NULL;
    if (!pin && len > 0)
        return CKR_ARGUMENTS_BAD;
    if (!pin)
        return CKR_OK; /* gateway mode: the recovery key file stands for the PIN */
    if (len > 4096)
        return CKR_PIN_LEN_RANGE;
    return mt_secret_from(pin, len, out) == MT_OK ? CKR_OK : CKR_HOST_MEMORY;
}

static CK_RV login_state_check(const mt_session *s, CK_USER_TYPE user)
{
    const mt_token_state *token = s->token;
    if (user != CKU_USER && user != CKU_SO && user != CKU_CONTEXT_SPECIFIC)
        return CKR_USER_TYPE_INVALID;
    if (user == CKU_CONTEXT_SPECIFIC) /* no key here needs a second authentication */
        return token->login == CKU_USER ? CKR_OPERATION_NOT_INITIALIZED : CKR_USER_NOT_LOGGED_IN;
    if (token->login == user)
        return CKR_USER_ALREADY_LOGGED_IN;
    if (token->login != MT_NOT_LOGGED_IN)
        return CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
    if (user == CKU_SO && token->sessions > token->rw_sessions)
        return CKR_SESSION_READ_ONLY_EXISTS;
    return CKR_OK;
}

/* A store handle of the caller's own for a PIN check or change, opened and
 * closed with no module lock held: Argon2id then stalls no other call.  The
 * audit trail names the process and its user. */
static mt_status own_store(unsigned flags, mt_store **out)
{
    char actor[64];
    snprintf(actor, sizeof(actor), "pkcs11:pid=%ld,uid=%lu", (long)getpid(), (unsigned long)getuid());
    mt_status st = mt_store_open(mt_g.store_path, mt_g.config, flags, out);
    if (st == MT_OK)
        st = mt_store_set_actor(*out, actor);
    return st;
}

/* Releases the module lock while the store counts the attempt and runs the KDF. */
CK_RV mt_login(mt_call *call, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len)
{
    mt_token_state *token = call->session->token;
    mt_secret *pin_value = NULL, *token_secret = NULL;
    mt_sealed_keys *sealed_keys = NULL;
    mt_store *store = NULL;
    CK_RV rv = login_state_check(call->session, user);
    if (rv != CKR_OK)
        return rv;
    rv = pin_secret(pin, pin_len, &pin_value);
    if (rv != CKR_OK)
        return rv;
    int64_t token_id = token->token_id, org_id = token->org_id;
    mt_call_release(call);
    mt_status st = own_store(MT_OPEN_READONLY, &store);
    if (st == MT_OK && user == CKU_USER)
        st = mt_store_token_login(store, token_id, pin_value, &token_secret);
    else if (st == MT_OK)
        st = mt_store_so_check(store, org_id, pin_value);
    if (st != MT_OK)
        rv = mt_rv_login(st);
    else if (user == CKU_USER && mt_store_sealed_keys(store, token_secret, &sealed_keys) != MT_OK)
        mt_clear_error(); /* the keys are then read from the store when first used */
    mt_store_close(store);
    CK_RV back = mt_call_retake(call);
    if (rv == CKR_OK)
        rv = back;
    if (rv == CKR_OK)
        rv = login_state_check(call->session, user); /* another thread may have logged in */
    if (rv != CKR_OK)
        goto out;
    token->login = user;
    if (user == CKU_USER) {
        token->token_secret = token_secret;
        token->sealed_keys = sealed_keys;
        token_secret = NULL;
        sealed_keys = NULL;
    } else {
        token->so_pin = pin_value;
        pin_value = NULL;
    }
out:
    mt_sealed_keys_free(sealed_keys);
    mt_secret_free(token_secret);
    mt_secret_free(pin_value);
    return rv;
}

/* A session call for a logged-in token (MT_CALL_LOGGED_IN). */
CK_RV mt_logout(mt_call *call)
{
    mt_token_logout(call->session->token);
    return CKR_OK;
}

/* PIN changes write to the store: a short-lived read-write handle, so that
 * the module's own handle stays read-only. */
typedef mt_status (*pin_change_fn)(mt_store *store, int64_t id, const mt_secret *a,
                                   const mt_secret *b);

static CK_RV change_pin(mt_call *call, pin_change_fn fn, int64_t id, mt_secret *a, mt_secret *b)
{
    mt_store *rw = NULL;
    mt_call_release(call);
    mt_status st = own_store(0, &rw);
    if (st == MT_OK)
        st = fn(rw, id, a, b);
    mt_store_close(rw);
    CK_RV back = mt_call_retake(call);
    CK_RV rv = mt_rv_pin_change(st, b, mt_store_location_is_server(mt_g.store_path));
    /* the change is made: a session closed meanwhile does not undo it */
    (void)back;
    return rv;
}

/* A session call: the SO logged in, a read/write session (MT_CALL_SO | MT_CALL_RW). */
CK_RV mt_init_pin(mt_call *call, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len)
{
    mt_token_state *token = call->session->token;
    mt_secret *new_pin = NULL, *so_pin = NULL;
    CK_RV rv = CKR_OK;
    if (!pin)
        return CKR_ARGUMENTS_BAD;
    rv = pin_secret(pin, pin_len, &new_pin);
    if (rv == CKR_OK && mt_secret_from(token->so_pin->data, token->so_pin->len, &so_pin) != MT_OK)
        rv = CKR_HOST_MEMORY;
    if (rv == CKR_OK)
        rv = change_pin(call, mt_store_token_init_pin, token->token_id, so_pin, new_pin);
    mt_secret_free(new_pin);
    mt_secret_free(so_pin);
    return rv;
}

/* A session call: a read/write session (MT_CALL_RW). */
CK_RV mt_set_pin(mt_call *call, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len,
                 CK_UTF8CHAR_PTR new_pin, CK_ULONG new_len)
{
    mt_token_state *token = call->session->token;
    mt_secret *old_value = NULL, *new_value = NULL;
    if (!old_pin || !new_pin)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = pin_secret(old_pin, old_len, &old_value);
    if (rv == CKR_OK)
        rv = pin_secret(new_pin, new_len, &new_value);
    if (rv == CKR_OK && token->login == CKU_SO)
        rv = change_pin(call, mt_store_so_set_pin, token->org_id, old_value, new_value);
    else if (rv == CKR_OK)
        rv = change_pin(call, mt_store_token_set_pin, token->token_id, old_value, new_value);
    mt_secret_free(old_value);
    mt_secret_free(new_value);
    return rv;
}
