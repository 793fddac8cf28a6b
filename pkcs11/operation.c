/* How a crypto operation starts: *Init (key, mechanism, permission), and
 * the key of a one-call operation (derive, unwrap); op.c keeps its state. */
#include "operation.h"

#include "attr.h"
#include "call.h"
#include "calls.h"
#include "crypto.h"
#include "mech.h"
#include "object.h"
#include "session.h"
#include "state.h"

#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

static const CK_ATTRIBUTE_TYPE usage_attr[MT_OP_COUNT] = {
    [MT_OP_SIGN] = CKA_SIGN, [MT_OP_VERIFY] = CKA_VERIFY, [MT_OP_ENCRYPT] = CKA_ENCRYPT,
    [MT_OP_DECRYPT] = CKA_DECRYPT,
};

static bool needs_private(mt_op_kind kind)
{
    return kind == MT_OP_SIGN || kind == MT_OP_DECRYPT;
}

static CK_RV key_check(mt_op_kind kind, const mt_object *object)
{
    if (object->klass == CKO_SECRET_KEY)
        return mt_attr_bool(&object->attrs, usage_attr[kind]) ? CKR_OK
                                                              : CKR_KEY_FUNCTION_NOT_PERMITTED;
    if (needs_private(kind) && object->klass != CKO_PRIVATE_KEY)
        return CKR_KEY_TYPE_INCONSISTENT;
    /* verify and encrypt also accept the private key object (it carries the public half) */
    if (object->klass == CKO_PUBLIC_KEY || needs_private(kind))
        if (!mt_attr_bool(&object->attrs, usage_attr[kind]))
            return CKR_KEY_FUNCTION_NOT_PERMITTED;
    return CKR_OK;
}

static size_t output_size(const mt_mech *mech, const mt_object *key, const EVP_PKEY *pkey)
{
    if (mech->key_type == CKK_EC)
        return 2 * (((size_t)key->key_bits + 7) / 8);
    return (size_t)EVP_PKEY_get_size(pkey);
}

/* Hash-and-sign mechanisms hash as the data comes, through EVP_DigestSign/Verify. */
static CK_RV start_digest_sign(mt_op *op, mt_op_kind kind)
{
    EVP_PKEY_CTX *pctx = NULL;
    const char *md = EVP_MD_get0_name(op->params.md);
    op->md_ctx = EVP_MD_CTX_new();
    if (!op->md_ctx)
        return CKR_HOST_MEMORY;
    int ok = kind == MT_OP_SIGN ? EVP_DigestSignInit_ex(op->md_ctx, &pctx, md, mt_g.libctx, NULL,
                                                        op->key->pkey, NULL)
                                : EVP_DigestVerifyInit_ex(op->md_ctx, &pctx, md, mt_g.libctx,
                                                          NULL, op->key->pkey, NULL);
    if (ok != 1)
        return CKR_DEVICE_ERROR;
    return mt_mech_setup_pkey_ctx(op->mech, &op->params, pctx, false);
}

CK_RV mt_op_init(mt_call *call, mt_op_kind kind, CK_FLAGS flag, CK_MECHANISM_PTR m,
                 CK_OBJECT_HANDLE key)
{
    mt_session *s = call->session;
    mt_op *op = &s->ops[kind];
    mt_object *object = NULL;
    if (!m)
        return CKR_ARGUMENTS_BAD;
    if (op->active)
        return CKR_OPERATION_ACTIVE;
    CK_RV rv = mt_key_object(s, key, &object);
    if (rv != CKR_OK)
        return rv;
    op->warm = &s->warm[kind];
    op->kind = kind;
    rv = key_check(kind, object);
    if (rv == CKR_OK)
        rv = mt_mech_resolve(m, flag, object, &op->mech, &op->params);
    if (rv != CKR_OK)
        goto out;
    /* the operation owns its key (a reference, or AES's keyed context): it
     * runs without the module lock */
    if (op->mech->aes) {
        rv = mt_aes_op_init(op, object);
        goto out;
    }
    if (needs_private(kind))
        rv = mt_object_private_key(s, object, &op->key);
    else
        op->key = mt_key_ref(object->pub);
    if (rv != CKR_OK)
        goto out;
    op->out_len = output_size(op->mech, object, op->key->pkey);
    if (op->mech->digest && (kind == MT_OP_SIGN || kind == MT_OP_VERIFY))
        rv = start_digest_sign(op, kind);
out:
    if (rv == CKR_OK)
        op->active = true;
    else
        mt_op_reset(op);
    return rv;
}

/* A private key for a one-call operation (derive, unwrap): visible, allowed
 * to do `usage`, suiting the mechanism; the key comes up-referenced. */
CK_RV mt_key_use(mt_session *s, CK_MECHANISM_PTR m, CK_FLAGS flag, CK_ATTRIBUTE_TYPE usage,
                 CK_OBJECT_HANDLE key, const mt_mech **mech, mt_mech_params *params,
                 mt_key **opened)
{
    mt_object *object = NULL;
    memset(params, 0, sizeof(*params));
    if (!m)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = mt_key_object(s, key, &object);
    if (rv != CKR_OK)
        return rv;
    if (object->klass != CKO_PRIVATE_KEY)
        return CKR_KEY_TYPE_INCONSISTENT;
    if (!mt_attr_bool(&object->attrs, usage))
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    rv = mt_mech_resolve(m, flag, object, mech, params);
    if (rv == CKR_OK)
        rv = mt_object_private_key(s, object, opened);
    if (rv != CKR_OK)
        mt_mech_params_clear(params);
    return rv;
}
