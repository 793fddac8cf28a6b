/* The encryption and decryption calls of every mechanism, shared by
 * encrypt.c and decrypt.c.  RSA and the AES key wraps are single-shot: their
 * multi-part calls collect the input and give the output at the end; the
 * other AES modes stream (aes.c). */
#include "operation.h"

#include "mech.h"
#include "session.h"

#include <string.h>

/* The output size of a single-part call when known without the work. */
static size_t known_size(const mt_op *op, size_t in_len)
{
    if (op->mech->aes)
        return mt_aes_once_size(op, in_len);
    return op->kind == MT_OP_ENCRYPT ? op->out_len : 0; /* RSA: the key size */
}

static CK_RV run(mt_op *op, mt_cipher_fn compute, const uint8_t *in, size_t in_len,
                 CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    uint8_t *result = NULL;
    size_t result_len = 0, size = known_size(op, in_len);
    if (size && (!out || *out_len < size)) {
        *out_len = size;
        return out ? CKR_BUFFER_TOO_SMALL : CKR_OK;
    }
    if (op->mech->aes)
        compute = mt_aes_compute;
    CK_RV rv = compute(op, in, in_len, &result, &result_len);
    rv = mt_op_output(op, rv, result, result_len, out, out_len);
    OPENSSL_clear_free(result, result_len);
    return rv;
}

CK_RV mt_cipher_once(mt_session *s, mt_op_kind kind, mt_cipher_fn compute, CK_BYTE_PTR in,
                     CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    mt_op *op = NULL;
    CK_RV rv = mt_op_enter(s, kind, MT_PARTS_SINGLE, &op);
    if (rv != CKR_OK)
        return rv;
    if (!out_len || (!in && in_len > 0)) {
        mt_op_reset(op);
        return CKR_ARGUMENTS_BAD;
    }
    return run(op, compute, in, in_len, out, out_len);
}

/* A size query (no output buffer) takes no input. */
CK_RV mt_cipher_update(mt_session *s, mt_op_kind kind, CK_BYTE_PTR in, CK_ULONG in_len,
                       CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    mt_op *op = NULL;
    CK_RV rv = mt_op_enter(s, kind, MT_PARTS_MULTI, &op);
    if (rv != CKR_OK)
        return rv;
    if (!out_len || (!in && in_len > 0))
        rv = CKR_ARGUMENTS_BAD;
    else if (mt_aes_streams(op))
        rv = mt_aes_update(op, in, in_len, out, out_len);
    else if (!out)
        *out_len = 0; /* single-shot mechanisms give their output at the end */
    else if ((rv = mt_op_collect(op, in, in_len)) == CKR_OK)
        *out_len = 0;
    if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
        mt_op_reset(op);
    return rv;
}

CK_RV mt_cipher_final(mt_session *s, mt_op_kind kind, mt_cipher_fn compute, CK_BYTE_PTR out,
                      CK_ULONG_PTR out_len)
{
    mt_op *op = NULL;
    CK_RV rv = mt_op_enter(s, kind, MT_PARTS_MULTI, &op);
    if (rv != CKR_OK)
        return rv;
    if (!out_len) {
        mt_op_reset(op);
        return CKR_ARGUMENTS_BAD;
    }
    if (mt_aes_streams(op))
        return mt_aes_final(op, out, out_len);
    return run(op, compute, op->data, op->data_len, out, out_len);
}
