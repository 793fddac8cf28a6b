/* An operation's state, whatever its kind: which one is active and how it
 * is being run, its collected input, its output rules, its contexts (a
 * warm one the session keeps between operations), and its end. */
#include "operation.h"

#include "crypto.h"
#include "mech.h"
#include "session.h"
#include "state.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define MT_MAX_COLLECT (1u << 20) /* single-shot mechanisms take small inputs */

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
