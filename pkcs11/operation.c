/* What every crypto operation shares: *Init (key, mechanism, permission),
 * input collection for single-shot mechanisms, output length rules. */
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

#define MT_MAX_COLLECT (1u << 20) /* single-shot mechanisms take small inputs */

static const CK_ATTRIBUTE_TYPE usage_attr[MT_OP_COUNT] = {
    [MT_OP_SIGN] = CKA_SIGN, [MT_OP_VERIFY] = CKA_VERIFY, [MT_OP_ENCRYPT] = CKA_ENCRYPT,
    [MT_OP_DECRYPT] = CKA_DECRYPT,
};

static bool needs_private(mt_op_kind kind)
{
    return kind == MT_OP_SIGN || kind == MT_OP_DECRYPT;
}

void mt_op_reset(mt_op *op)
{
    mt_key_unref(op->key);
    if (!mt_openssl_down) {
        EVP_MD_CTX_free(op->md_ctx);
        EVP_CIPHER_CTX_free(op->cipher);
    }
    if (op->data)
        OPENSSL_clear_free(op->data, op->data_cap);
    mt_mech_params_clear(&op->params);
    memset(op, 0, sizeof(*op));
}

mt_op *mt_op_active(mt_session *session, mt_op_kind kind)
{
    mt_op *op = &session->ops[kind];
    return op->active ? op : NULL;
}

CK_RV mt_op_enter(mt_session *session, mt_op_kind kind, mt_op_parts parts, mt_op **out)
{
    mt_op *op = mt_op_active(session, kind);
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (op->parts != MT_PARTS_UNDECIDED && op->parts != parts)
        return CKR_OPERATION_ACTIVE;
    op->parts = parts;
    *out = op;
    return CKR_OK;
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

CK_RV mt_op_collect(mt_op *op, const uint8_t *data, size_t len)
{
    if (len > MT_MAX_COLLECT || op->data_len + len > MT_MAX_COLLECT)
        return CKR_DATA_LEN_RANGE;
    if (op->data_len + len > op->data_cap) {
        size_t cap = op->data_len + len + 256;
        uint8_t *grown = OPENSSL_malloc(cap);
        if (!grown)
            return CKR_HOST_MEMORY;
        if (op->data_len)
            memcpy(grown, op->data, op->data_len);
        OPENSSL_clear_free(op->data, op->data_cap);
        op->data = grown;
        op->data_cap = cap;
    }
    if (len)
        memcpy(op->data + op->data_len, data, len);
    op->data_len += len;
    return CKR_OK;
}

/* A size query or a buffer too small keeps the operation; anything else ends it. */
CK_RV mt_op_output(mt_op *op, CK_RV rv, const uint8_t *result, size_t result_len,
                   CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    if (rv == CKR_OK && !out) {
        *out_len = result_len;
        return CKR_OK;
    }
    if (rv == CKR_OK && *out_len < result_len) {
        *out_len = result_len;
        return CKR_BUFFER_TOO_SMALL;
    }
    if (rv == CKR_OK) {
        if (result_len)
            memcpy(out, result, result_len);
        *out_len = result_len;
    }
    mt_op_reset(op);
    return rv;
}

CK_RV mt_pkey_ctx_for(EVP_PKEY *pkey, int (*init)(EVP_PKEY_CTX *), const mt_mech *mech,
                      const mt_mech_params *params, EVP_PKEY_CTX **out)
{
    EVP_PKEY_CTX *ctx = mt_pkey_ctx(pkey);
    CK_RV rv = CKR_DEVICE_ERROR;
    if (!ctx)
        return CKR_HOST_MEMORY;
    if (init(ctx) == 1)
        rv = mt_mech_setup_pkey_ctx(mech, params, ctx, true);
    if (rv != CKR_OK) {
        EVP_PKEY_CTX_free(ctx);
        return rv;
    }
    *out = ctx;
    return CKR_OK;
}

void mt_warm_ctx_drop(mt_warm_ctx *warm)
{
    if (!mt_openssl_down)
        EVP_PKEY_CTX_free(warm->ctx);
    mt_key_unref(warm->key);
    memset(warm, 0, sizeof(*warm));
}

static bool warm_fits(const mt_warm_ctx *warm, const mt_op *op)
{
    return warm->ctx && warm->mech && warm->mech == op->mech && warm->key == op->key &&
           warm->md == op->params.md && warm->mgf1_md == op->params.mgf1_md &&
           warm->salt_len == op->params.salt_len && op->params.label_len == 0;
}

CK_RV mt_op_pkey_ctx(mt_op *op, int (*init)(EVP_PKEY_CTX *), EVP_PKEY_CTX **out)
{
    mt_warm_ctx *warm = op->warm;
    if (warm_fits(warm, op)) {
        *out = warm->ctx;
        return CKR_OK;
    }
    mt_warm_ctx_drop(warm);
    CK_RV rv = mt_pkey_ctx_for(op->key->pkey, init, op->mech, &op->params, &warm->ctx);
    if (rv != CKR_OK)
        return rv;
    warm->key = mt_key_ref(op->key);
    /* a label is set into the context: such a context is not reused */
    warm->mech = op->params.label_len ? NULL : op->mech;
    warm->md = op->params.md;
    warm->mgf1_md = op->params.mgf1_md;
    warm->salt_len = op->params.salt_len;
    *out = warm->ctx;
    return CKR_OK;
}

/* A context an operation failed in is not trusted again. */
void mt_op_pkey_ctx_failed(mt_op *op)
{
    mt_warm_ctx_drop(op->warm);
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
