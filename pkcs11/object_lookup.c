/* A token's objects as a session sees them: built on first use, rebuilt
 * when the store changes; found by handle, visible or not before login;
 * attributes; the private key of a key object, opened while logged in. */
#include "object.h"

#include "attr.h"
#include "call.h"
#include "calls.h"
#include "crypto.h"
#include "rv.h"
#include "session.h"
#include "state.h"
#include "token.h"

/* Opened keys survive a rebuild: the same handle is the same key. */
static void keep_opened_keys(const mt_objects *old, mt_objects *fresh)
{
    for (size_t i = 0; old && i < fresh->n; i++) {
        mt_object *object = fresh->items[i];
        size_t number = mt_handle_number(object->handle);
        if (object->klass != CKO_PRIVATE_KEY || number >= old->n_numbers || !old->by_number[number])
            continue;
        mt_object *before = old->items[old->by_number[number] - 1];
        object->priv = before->priv;
        before->priv = NULL;
    }
}

/* Called with the module lock held.  A rebuild frees only the index's own
 * references: running operations hold theirs. */
CK_RV mt_token_objects(mt_token_state *token, mt_objects **out)
{
    uint64_t generation = 0;
    mt_objects *objects = NULL;
    CK_RV rv = CKR_OK;
    mt_store_lock();
    mt_status st = mt_g.store ? mt_store_generation(mt_g.store, &generation) : MT_ERR_NOT_FOUND;
    if (st == MT_OK && (!token->objects || generation != token->objects_generation)) {
        rv = mt_objects_build(mt_g.store, token->token_id, token->index, &token->handles, &objects);
        if (rv == CKR_OK) {
            keep_opened_keys(token->objects, objects);
            mt_objects_free(token->objects);
            token->objects = objects;
            token->objects_generation = generation;
        }
    }
    mt_store_unlock();
    if (st != MT_OK && !token->objects)
        rv = mt_rv_from_status(st);
    if (rv == CKR_OK)
        *out = token->objects;
    return rv;
}

bool mt_object_visible(const mt_session *session, const mt_object *object)
{
    return !object->is_private || mt_need_user(session) == CKR_OK;
}

static mt_object *object_lookup(mt_session *session, CK_OBJECT_HANDLE handle)
{
    mt_token_state *token = session->token;
    mt_object *object = NULL;
    if (handle & MT_SESSION_OBJECT_BIT) {
        object = mt_session_object_find(token, handle);
    } else if (mt_handle_slot(handle) == token->index + 1) {
        mt_objects *objects = token->objects;
        if (!objects && mt_token_objects(token, &objects) != CKR_OK)
            return NULL;
        size_t number = mt_handle_number(handle);
        if (number < objects->n_numbers && objects->by_number[number])
            object = objects->items[objects->by_number[number] - 1];
        if (object && object->handle != handle)
            object = NULL;
    }
    return object;
}

CK_RV mt_object_get(mt_session *session, CK_OBJECT_HANDLE handle, mt_object **out)
{
    mt_object *object = object_lookup(session, handle);
    if (!object || !mt_object_visible(session, object))
        return CKR_OBJECT_HANDLE_INVALID;
    *out = object;
    return CKR_OK;
}

bool mt_object_hidden(mt_session *session, CK_OBJECT_HANDLE handle)
{
    mt_object *object = object_lookup(session, handle);
    return object && !mt_object_visible(session, object);
}

CK_RV mt_key_object(mt_session *session, CK_OBJECT_HANDLE handle, mt_object **out)
{
    mt_object *object = NULL;
    if (mt_object_get(session, handle, &object) != CKR_OK)
        /* a private key before login is there, just not usable yet */
        return mt_object_hidden(session, handle) ? CKR_USER_NOT_LOGGED_IN : CKR_KEY_HANDLE_INVALID;
    if (object->klass != CKO_PRIVATE_KEY && object->klass != CKO_PUBLIC_KEY &&
        object->klass != CKO_SECRET_KEY)
        return CKR_KEY_HANDLE_INVALID;
    *out = object;
    return CKR_OK;
}

CK_RV mt_template_object(mt_session *session, CK_OBJECT_HANDLE handle, const CK_ATTRIBUTE *tmpl,
                         CK_ULONG count, mt_object **out)
{
    if (!tmpl && count > 0)
        return CKR_ARGUMENTS_BAD;
    return mt_object_get(session, handle, out);
}

CK_RV mt_get_attribute_value(mt_call *call, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
                             CK_ULONG count)
{
    mt_object *object = NULL;
    CK_RV rv = mt_template_object(call->session, h, tmpl, count, &object);
    return rv == CKR_OK ? mt_attr_get(&object->attrs, tmpl, count) : rv;
}

CK_RV mt_get_object_size(mt_call *call, CK_OBJECT_HANDLE h, CK_ULONG_PTR size)
{
    mt_object *object = NULL;
    if (!size)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = mt_object_get(call->session, h, &object);
    if (rv == CKR_OK)
        *size = CK_UNAVAILABLE_INFORMATION;
    return rv;
}

/* Token objects belong to the store; only session objects can go, from
 * any session of the token. */
CK_RV mt_destroy_object(mt_call *call, CK_OBJECT_HANDLE h)
{
    mt_session *s = call->session;
    mt_object *object = NULL;
    CK_RV rv = mt_object_get(s, h, &object);
    if (rv != CKR_OK)
        return rv;
    if (!(h & MT_SESSION_OBJECT_BIT))
        return CKR_TOKEN_WRITE_PROTECTED;
    if (!mt_attr_bool(&object->attrs, CKA_DESTROYABLE))
        return CKR_ACTION_PROHIBITED;
    mt_session_object_destroy(s->token, object);
    return CKR_OK;
}

/* Called with the module lock held: the opened key is cached on the object.
 * The token's keys were read at login; only a certificate that came later
 * has its key read from the store. */
static CK_RV open_private_key(mt_token_state *token, mt_object *object)
{
    mt_secret *pkcs8 = NULL;
    mt_key *key = NULL;
    CK_RV rv = CKR_DEVICE_ERROR;
    mt_store_lock();
    mt_status st = mt_sealed_keys_open(mt_g.store, token->sealed_keys, token->token_secret,
                                       object->cert_id, &pkcs8);
    if (st == MT_ERR_NOT_FOUND && mt_g.store)
        st = mt_store_key_open(mt_g.store, token->token_secret, object->cert_id, &pkcs8);
    mt_store_unlock();
    if (st != MT_OK) {
        rv = mt_rv_key_open(st);
        goto out;
    }
    key = mt_key_from_der(pkcs8->data, pkcs8->len, true);
    /* the sealed header binds key and certificate; check the key itself too */
    if (key && EVP_PKEY_eq(key->pkey, object->pub->pkey) == 1) {
        object->priv = key;
        key = NULL;
        rv = CKR_OK;
    }
out:
    mt_key_unref(key);
    mt_secret_free(pkcs8);
    return rv;
}

/* Called with the module lock held. */
CK_RV mt_object_private_key(mt_session *session, mt_object *object, mt_key **out)
{
    mt_token_state *token = session->token;
    if (object->klass != CKO_PRIVATE_KEY || !object->cert_id)
        return CKR_KEY_TYPE_INCONSISTENT;
    if (mt_need_user(session) != CKR_OK || !token->token_secret)
        return CKR_USER_NOT_LOGGED_IN;
    if (!object->priv) {
        CK_RV rv = open_private_key(token, object);
        if (rv != CKR_OK)
            return rv;
    }
    return mt_session_key(session, object->priv, out);
}
