/* C_Verify* with public keys (or the public half of a private key object). */
#include "calls.h"

#include "call.h"
#include "crypto.h"
#include "mech.h"
#include "operation.h"
#include "session.h"

#include <openssl/rsa.h>
#include <stdlib.h>

/* EC signatures arrive as r||s and go to OpenSSL as DER. */
static CK_RV signature_der(const mt_op *op, const uint8_t *sig, size_t sig_len, uint8_t **der,
                           size_t *der_len)
{
    if (sig_len != op->out_len)
        return CKR_SIGNATURE_LEN_RANGE;
    if (op->mech->key_type != CKK_EC) {
        *der = NULL;
        *der_len = sig_len;
        return CKR_OK;
    }
    return mt_ecdsa_raw_to_der(sig, sig_len, der, der_len);
}

static CK_RV verify_result(int ok)
{
    return ok == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
}

static CK_RV verify_raw(mt_op *op, const uint8_t *data, size_t len, const uint8_t *sig,
                        size_t sig_len)
{
    EVP_PKEY_CTX *ctx = NULL;
    CK_RV rv = mt_sign_input_check(op, len);
    if (rv == CKR_OK)
        rv = mt_op_pkey_ctx(op, EVP_PKEY_verify_init, &ctx);
    if (rv == CKR_OK) {
        rv = verify_result(EVP_PKEY_verify(ctx, sig, sig_len, data, len));
        if (rv != CKR_OK)
            mt_op_pkey_ctx_failed(op);
    }
    return rv;
}

static CK_RV verify_end(mt_op *op, const uint8_t *data, size_t len, const uint8_t *sig,
                        size_t sig_len, bool one_shot)
{
    uint8_t *der = NULL;
    size_t der_len = 0;
    CK_RV rv = signature_der(op, sig, sig_len, &der, &der_len);
    const uint8_t *s = der ? der : sig;
    if (rv == CKR_OK && op->mech->digest && one_shot)
        rv = verify_result(EVP_DigestVerify(op->md_ctx, s, der_len, data, len));
    else if (rv == CKR_OK && op->mech->digest)
        rv = verify_result(EVP_DigestVerifyFinal(op->md_ctx, s, der_len));
    else if (rv == CKR_OK)
        rv = verify_raw(op, data, len, s, der_len);
    OPENSSL_free(der);
    mt_op_reset(op);
    return rv;
}

CK_RV mt_verify(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG sig_len)
{
    mt_op *op = NULL;
    CK_RV rv = mt_op_enter(call->session, MT_OP_VERIFY, MT_PARTS_SINGLE, &op);
    if (rv != CKR_OK)
        return rv;
    if ((!data && len > 0) || !sig) {
        mt_op_reset(op);
        return CKR_ARGUMENTS_BAD;
    }
    return verify_end(op, data, len, sig, sig_len, true);
}

CK_RV mt_verify_update(mt_call *call, CK_BYTE_PTR data, CK_ULONG len)
{
    mt_op *op = NULL;
    CK_RV rv = mt_op_enter(call->session, MT_OP_VERIFY, MT_PARTS_MULTI, &op);
    if (rv != CKR_OK)
        return rv;
    if (!data && len > 0)
        rv = CKR_ARGUMENTS_BAD;
    else if (op->mech->digest)
        rv = EVP_DigestVerifyUpdate(op->md_ctx, data, len) == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
    else
        rv = mt_op_collect(op, data, len);
    if (rv != CKR_OK)
        mt_op_reset(op);
    return rv;
}

CK_RV mt_verify_final(mt_call *call, CK_BYTE_PTR sig, CK_ULONG sig_len)
{
    mt_op *op = NULL;
    CK_RV rv = mt_op_enter(call->session, MT_OP_VERIFY, MT_PARTS_MULTI, &op);
    if (rv != CKR_OK)
        return rv;
    if (!sig) {
        mt_op_reset(op);
        return CKR_ARGUMENTS_BAD;
    }
    return verify_end(op, op->data, op->data_len, sig, sig_len, false);
}
