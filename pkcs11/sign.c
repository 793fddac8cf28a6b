/* C_Sign*: hash-and-sign mechanisms through EVP_DigestSign, the others
 * (RSA PKCS#1 over a DigestInfo, PSS over a hash, raw ECDSA) through EVP_PKEY_sign. */
#include "calls.h"

#include "call.h"
#include "crypto.h"
#include "mech.h"
#include "operation.h"
#include "session.h"

#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

/* Input rules of the single-shot mechanisms. */
CK_RV mt_sign_input_check(const mt_op *op, size_t len)
{
    if (op->mech->digest)
        return CKR_OK;
    if (op->mech->padding == RSA_PKCS1_PADDING && len + 11 > op->out_len)
        return CKR_DATA_LEN_RANGE;
    if (op->mech->padding == RSA_PKCS1_PSS_PADDING && len != (size_t)EVP_MD_get_size(op->params.md))
        return CKR_DATA_LEN_RANGE;
    if (op->mech->key_type == CKK_EC && len == 0)
        return CKR_DATA_LEN_RANGE;
    return CKR_OK;
}

static CK_RV sign_raw(mt_op *op, const uint8_t *data, size_t len, uint8_t *sig, size_t *sig_len)
{
    EVP_PKEY_CTX *ctx = NULL;
    CK_RV rv = mt_sign_input_check(op, len);
    if (rv == CKR_OK)
        rv = mt_op_pkey_ctx(op, EVP_PKEY_sign_init, &ctx);
    if (rv == CKR_OK && EVP_PKEY_sign(ctx, sig, sig_len, data, len) != 1) {
        mt_op_pkey_ctx_failed(op);
        rv = op->mech->padding == RSA_PKCS1_PSS_PADDING ? CKR_MECHANISM_PARAM_INVALID
                                                        : CKR_FUNCTION_FAILED;
    }
    return rv;
}

/* Finishes a signature: EC ones become r||s. */
static CK_RV sign_finish(mt_op *op, CK_RV rv, uint8_t *der, size_t der_len, CK_BYTE_PTR out,
                         CK_ULONG_PTR out_len)
{
    uint8_t raw[2 * 66];
    if (rv == CKR_OK && op->mech->key_type == CKK_EC) {
        rv = op->out_len <= sizeof(raw) ? mt_ecdsa_der_to_raw(der, der_len, op->out_len / 2, raw)
                                         : CKR_DEVICE_ERROR;
        return mt_op_output(op, rv, raw, op->out_len, out, out_len);
    }
    return mt_op_output(op, rv, der, der_len, out, out_len);
}

/* Size query and short buffer, answered without signing. */
static bool sign_length_only(mt_op *op, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len, CK_RV *rv)
{
    if (sig && *sig_len >= op->out_len)
        return false;
    *rv = sig ? CKR_BUFFER_TOO_SMALL : CKR_OK;
    *sig_len = op->out_len;
    return true;
}

/* C_Sign (data given) and C_SignFinal (data hashed or collected before). */
static CK_RV sign_end(mt_op *op, bool one_shot, const uint8_t *data, size_t len, CK_BYTE_PTR sig,
                      CK_ULONG_PTR sig_len)
{
    uint8_t der[16384 / 8 + 16];
    size_t der_len = sizeof(der);
    CK_RV rv = CKR_OK;
    if (sign_length_only(op, sig, sig_len, &rv))
        return rv;
    if (op->mech->digest && one_shot)
        rv = EVP_DigestSign(op->md_ctx, der, &der_len, data, len) == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
    else if (op->mech->digest)
        rv = EVP_DigestSignFinal(op->md_ctx, der, &der_len) == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
    else
        rv = sign_raw(op, data, len, der, &der_len);
    return sign_finish(op, rv, der, der_len, sig, sig_len);
}

CK_RV mt_sign(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
    mt_op *op = NULL;
    CK_RV rv = mt_op_enter(call->session, MT_OP_SIGN, MT_PARTS_SINGLE, &op);
    if (rv != CKR_OK)
        return rv;
    if (!sig_len || (!data && len > 0)) {
        mt_op_reset(op);
        return CKR_ARGUMENTS_BAD;
    }
    return sign_end(op, true, data, len, sig, sig_len);
}

CK_RV mt_sign_update(mt_call *call, CK_BYTE_PTR data, CK_ULONG len)
{
    mt_op *op = NULL;
    CK_RV rv = mt_op_enter(call->session, MT_OP_SIGN, MT_PARTS_MULTI, &op);
    if (rv != CKR_OK)
        return rv;
    if (!data && len > 0)
        rv = CKR_ARGUMENTS_BAD;
    else if (op->mech->digest)
        rv = EVP_DigestSignUpdate(op->md_ctx, data, len) == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
    else
        rv = mt_op_collect(op, data, len);
    if (rv != CKR_OK)
        mt_op_reset(op);
    return rv;
}

CK_RV mt_sign_final(mt_call *call, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
    mt_op *op = NULL;
    CK_RV rv = mt_op_enter(call->session, MT_OP_SIGN, MT_PARTS_MULTI, &op);
    if (rv != CKR_OK)
        return rv;
    if (!sig_len) {
        mt_op_reset(op);
        return CKR_ARGUMENTS_BAD;
    }
    return sign_end(op, false, op->data, op->data_len, sig, sig_len);
}
