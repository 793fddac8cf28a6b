/* C_Digest*: SHA-1 and SHA-2 through EVP. */
#include "calls.h"

#include "call.h"
#include "mech.h"
#include "object.h"
#include "operation.h"
#include "session.h"

CK_RV mt_digest_init(mt_call *call, CK_MECHANISM_PTR m)
{
    mt_op *op = &call->session->ops[MT_OP_DIGEST];
    if (!m)
        return CKR_ARGUMENTS_BAD;
    if (op->active)
        return CKR_OPERATION_ACTIVE;
    CK_RV rv = mt_mech_resolve(m, CKF_DIGEST, NULL, &op->mech, &op->params);
    if (rv != CKR_OK)
        return rv;
    op->md_ctx = EVP_MD_CTX_new();
    if (!op->md_ctx || EVP_DigestInit_ex(op->md_ctx, op->params.md, NULL) != 1) {
        mt_op_reset(op);
        return CKR_DEVICE_ERROR;
    }
    op->out_len = (size_t)EVP_MD_get_size(op->params.md);
    op->kind = MT_OP_DIGEST;
    op->active = true;
    return CKR_OK;
}

static CK_RV digest_end(mt_op *op, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    if (!out || *out_len < op->out_len) { /* the operation stays for the real call */
        *out_len = op->out_len;
        return out ? CKR_BUFFER_TOO_SMALL : CKR_OK;
    }
    CK_RV rv = EVP_DigestFinal_ex(op->md_ctx, md, &md_len) == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
    return mt_op_output(op, rv, md, md_len, out, out_len);
}

CK_RV mt_digest(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out,
                CK_ULONG_PTR out_len)
{
    mt_op *op = NULL;
    CK_RV rv = mt_op_enter(call->session, MT_OP_DIGEST, MT_PARTS_SINGLE, &op);
    if (rv != CKR_OK)
        return rv;
    if (!out_len || (!data && len > 0)) {
        mt_op_reset(op);
        return CKR_ARGUMENTS_BAD;
    }
    if (out && *out_len >= op->out_len && EVP_DigestUpdate(op->md_ctx, data, len) != 1) {
        mt_op_reset(op);
        return CKR_FUNCTION_FAILED;
    }
    return digest_end(op, out, out_len);
}

CK_RV mt_digest_update(mt_call *call, CK_BYTE_PTR data, CK_ULONG len)
{
    mt_op *op = NULL;
    CK_RV rv = mt_op_enter(call->session, MT_OP_DIGEST, MT_PARTS_MULTI, &op);
    if (rv != CKR_OK)
        return rv;
    rv = !data && len > 0 ? CKR_ARGUMENTS_BAD
               : EVP_DigestUpdate(op->md_ctx, data, len) == 1 ? CKR_OK
                                                               : CKR_FUNCTION_FAILED;
    if (rv != CKR_OK)
        mt_op_reset(op);
    return rv;
}

/* A secret key's value is digested inside the module (a sensitive one
 * too: the digest does not give the value away); other keys are not. */
CK_RV mt_digest_key(mt_call *call, CK_OBJECT_HANDLE key)
{
    mt_op *op = NULL;
    mt_object *object = NULL;
    CK_RV rv = mt_op_enter(call->session, MT_OP_DIGEST, MT_PARTS_MULTI, &op);
    if (rv != CKR_OK)
        return rv;
    rv = mt_object_get(call->session, key, &object);
    if (rv != CKR_OK)
        rv = CKR_KEY_HANDLE_INVALID;
    else if (object->klass != CKO_SECRET_KEY || !object->value)
        rv = CKR_KEY_INDIGESTIBLE;
    else if (EVP_DigestUpdate(op->md_ctx, object->value, object->value_len) != 1)
        rv = CKR_FUNCTION_FAILED;
    if (rv != CKR_OK)
        mt_op_reset(op);
    return rv;
}

CK_RV mt_digest_final(mt_call *call, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    mt_op *op = NULL;
    CK_RV rv = mt_op_enter(call->session, MT_OP_DIGEST, MT_PARTS_MULTI, &op);
    if (rv != CKR_OK)
        return rv;
    if (!out_len) {
        mt_op_reset(op);
        return CKR_ARGUMENTS_BAD;
    }
    return digest_end(op, out, out_len);
}
