/* C_WrapKey: a session secret key that may be extracted, wrapped with a
 * session AES key (the key wraps, ECB, CBC, CBC_PAD).  The token's own
 * private keys never leave it (CKR_KEY_UNEXTRACTABLE). */
#include "calls.h"

#include "attr.h"
#include "call.h"
#include "mech.h"
#include "object.h"
#include "operation.h"
#include "session.h"

#include <string.h>

/* The key errors of an operation, in C_WrapKey's words. */
static CK_RV wrapping_rv(CK_RV rv)
{
    switch (rv) {
    case CKR_KEY_HANDLE_INVALID: return CKR_WRAPPING_KEY_HANDLE_INVALID;
    case CKR_KEY_TYPE_INCONSISTENT: return CKR_WRAPPING_KEY_TYPE_INCONSISTENT;
    case CKR_KEY_SIZE_RANGE: return CKR_WRAPPING_KEY_SIZE_RANGE;
    case CKR_DATA_LEN_RANGE: return CKR_KEY_SIZE_RANGE; /* the wrapped key's */
    default: return rv;
    }
}

/* The key to wrap: there, extractable, a secret key, and wrapped with a
 * trusted key if it asks for one. */
static CK_RV wrappable(mt_session *s, CK_OBJECT_HANDLE h, const mt_object *kek, mt_object **out)
{
    mt_object *key = NULL;
    if (mt_object_get(s, h, &key) != CKR_OK)
        return CKR_KEY_HANDLE_INVALID;
    if (key->klass != CKO_SECRET_KEY && key->klass != CKO_PRIVATE_KEY)
        return CKR_KEY_NOT_WRAPPABLE;
    if (!mt_attr_bool(&key->attrs, CKA_EXTRACTABLE))
        return CKR_KEY_UNEXTRACTABLE;
    if (key->klass != CKO_SECRET_KEY || !key->value)
        return CKR_KEY_NOT_WRAPPABLE;
    if (mt_attr_bool(&key->attrs, CKA_WRAP_WITH_TRUSTED) && !mt_attr_bool(&kek->attrs, CKA_TRUSTED))
        return CKR_KEY_NOT_WRAPPABLE;
    *out = key;
    return CKR_OK;
}

CK_RV mt_wrap_key(mt_call *call, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE wrapping,
                  CK_OBJECT_HANDLE key, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    mt_session *s = call->session;
    const mt_mech *mech = NULL;
    mt_mech_params params;
    mt_object *kek = NULL, *target = NULL;
    uint8_t *wrapped = NULL;
    size_t wrapped_len = 0;
    memset(&params, 0, sizeof(params));
    if (!m || !out_len)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = mt_key_object(s, wrapping, &kek);
    if (rv == CKR_OK && !mt_attr_bool(&kek->attrs, CKA_WRAP))
        rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
    if (rv == CKR_OK)
        rv = mt_mech_resolve(m, CKF_WRAP, kek, &mech, &params);
    rv = wrapping_rv(rv);
    if (rv == CKR_OK)
        rv = wrappable(s, key, kek, &target);
    if (rv == CKR_OK)
        rv = wrapping_rv(mt_aes_run(mech, &params, kek, true, target->value, target->value_len,
                                    &wrapped, &wrapped_len));
    if (rv == CKR_OK && (!out || *out_len < wrapped_len))
        rv = out ? CKR_BUFFER_TOO_SMALL : CKR_OK;
    else if (rv == CKR_OK)
        memcpy(out, wrapped, wrapped_len);
    if (rv == CKR_OK || rv == CKR_BUFFER_TOO_SMALL)
        *out_len = wrapped_len;
    OPENSSL_clear_free(wrapped, wrapped_len);
    mt_mech_params_clear(&params);
    return rv;
}
