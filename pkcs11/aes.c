/* AES with session secret keys.  ECB, CBC and CBC_PAD stream: each update
 * gives the whole blocks its input completes and holds the rest back (with
 * CBC_PAD decryption, the last whole block too: its padding is only known at
 * the end), so output sizes are exact before any work is done and a size
 * query changes nothing.  The key wraps (RFC 3394, RFC 5649) are
 * single-shot: their multi-part calls collect the input (cipher.c). */
#include "operation.h"

#include "crypto.h"
#include "mech.h"
#include "object.h"
#include "session.h"

#include <limits.h>
#include <string.h>

#define BLOCK 16u

bool mt_aes_streams(const mt_op *op)
{
    mt_aes_mode mode = op->mech->aes;
    return mode == MT_AES_ECB || mode == MT_AES_CBC || mode == MT_AES_CBC_PAD;
}

static bool encrypting(const mt_op *op)
{
    return op->kind == MT_OP_ENCRYPT;
}

static CK_RV keyed_ctx(const mt_op *op, const mt_object *key)
{
    const EVP_CIPHER *cipher = mt_aes_cipher(op->mech->aes, key->value_len);
    const uint8_t *iv = op->params.iv_len ? op->params.iv : NULL;
    if (!cipher || !key->value)
        return CKR_KEY_SIZE_RANGE;
    if (EVP_CipherInit_ex2(op->cipher, cipher, key->value, iv, encrypting(op), NULL) != 1)
        return CKR_DEVICE_ERROR;
    /* CBC_PAD's padding is the module's own, so that its sizes are exact */
    if (mt_aes_streams(op) && EVP_CIPHER_CTX_set_padding(op->cipher, 0) != 1)
        return CKR_DEVICE_ERROR;
    return CKR_OK;
}

CK_RV mt_aes_op_init(mt_op *op, const mt_object *key)
{
    if (!(op->cipher = EVP_CIPHER_CTX_new()))
        return CKR_HOST_MEMORY;
    return keyed_ctx(op, key);
}

/* Input a single-part call accepts. */
static CK_RV length_check(const mt_op *op, size_t len)
{
    bool enc = encrypting(op);
    CK_RV bad = enc ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
    switch (op->mech->aes) {
    case MT_AES_ECB:
    case MT_AES_CBC: return len % BLOCK ? bad : CKR_OK;
    case MT_AES_CBC_PAD: return enc || (len && len % BLOCK == 0) ? CKR_OK : bad;
    case MT_AES_KW: return len % 8 || len < (enc ? 16u : 24u) ? bad : CKR_OK;
    case MT_AES_KWP: return (enc ? len == 0 : len % 8 || len < 16) ? bad : CKR_OK;
    default: return CKR_MECHANISM_INVALID;
    }
}

size_t mt_aes_once_size(const mt_op *op, size_t in_len)
{
    bool enc = encrypting(op);
    if (length_check(op, in_len) != CKR_OK || in_len > SIZE_MAX / 2)
        return 0; /* the work will say what is wrong */
    switch (op->mech->aes) {
    case MT_AES_ECB:
    case MT_AES_CBC: return in_len;
    case MT_AES_CBC_PAD: return enc ? in_len - in_len % BLOCK + BLOCK : 0;
    case MT_AES_KW: return enc ? in_len + 8 : in_len - 8;
    case MT_AES_KWP: return enc ? (in_len + 7) / 8 * 8 + 8 : 0;
    default: return 0;
    }
}

/* Whole blocks through the context (no padding: output = input). */
static bool blocks(mt_op *op, const uint8_t *in, size_t len, uint8_t *out)
{
    int n = 0;
    if (len == 0)
        return true;
    return len <= INT_MAX && EVP_CipherUpdate(op->cipher, out, &n, in, (int)len) == 1 &&
           (size_t)n == len;
}

static void pad_block(const uint8_t *data, size_t len, uint8_t block[BLOCK])
{
    uint8_t pad = (uint8_t)(BLOCK - len);
    memcpy(block, data, len);
    memset(block + len, pad, pad);
}

/* PKCS#7 padding of a decrypted last block: how many bytes are data. */
static CK_RV unpad(const uint8_t block[BLOCK], size_t *len)
{
    uint8_t pad = block[BLOCK - 1], bad = pad == 0 || pad > BLOCK;
    for (size_t i = 0; i < BLOCK; i++)
        bad |= (i >= BLOCK - pad) & (block[i] != pad);
    *len = BLOCK - pad;
    return bad ? CKR_ENCRYPTED_DATA_INVALID : CKR_OK;
}

static CK_RV streams_once(mt_op *op, const uint8_t *in, size_t in_len, uint8_t *out,
                          size_t *out_len)
{
    bool pad = op->mech->aes == MT_AES_CBC_PAD, enc = encrypting(op);
    size_t whole = pad && enc ? in_len - in_len % BLOCK : in_len;
    if (!blocks(op, in, whole, out))
        return CKR_FUNCTION_FAILED;
    *out_len = whole;
    if (pad && enc) {
        uint8_t last[BLOCK];
        pad_block(in + whole, in_len - whole, last);
        if (!blocks(op, last, BLOCK, out + whole))
            return CKR_FUNCTION_FAILED;
        *out_len += BLOCK;
    } else if (pad) {
        size_t kept = 0;
        CK_RV rv = unpad(out + in_len - BLOCK, &kept);
        *out_len = in_len - BLOCK + kept;
        return rv;
    }
    return CKR_OK;
}

static CK_RV wrap_once(mt_op *op, const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
    int n = 0;
    if (in_len > INT_MAX || EVP_CipherUpdate(op->cipher, out, &n, in, (int)in_len) != 1 || n <= 0)
        return encrypting(op) ? CKR_FUNCTION_FAILED : CKR_ENCRYPTED_DATA_INVALID;
    *out_len = (size_t)n;
    return CKR_OK;
}

/* A single-part call: the context starts again from the IV, so that a call
 * repeated after CKR_BUFFER_TOO_SMALL gives the same result. */
CK_RV mt_aes_compute(mt_op *op, const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
    const uint8_t *iv = op->params.iv_len ? op->params.iv : NULL;
    CK_RV rv = length_check(op, in_len);
    *out = NULL;
    *out_len = 0;
    if (rv != CKR_OK)
        return rv;
    if (in_len > SIZE_MAX - 2 * BLOCK)
        return encrypting(op) ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
    size_t cap = in_len + 2 * BLOCK;
    if (!(*out = OPENSSL_malloc(cap)))
        return CKR_HOST_MEMORY;
    if (EVP_CipherInit_ex2(op->cipher, NULL, NULL, iv, -1, NULL) != 1)
        rv = CKR_DEVICE_ERROR;
    else if (mt_aes_streams(op))
        rv = streams_once(op, in, in_len, *out, out_len);
    else
        rv = wrap_once(op, in, in_len, *out, out_len);
    if (rv != CKR_OK) {
        OPENSSL_clear_free(*out, cap);
        *out = NULL;
        *out_len = 0;
    }
    return rv;
}

CK_RV mt_aes_update(mt_op *op, const uint8_t *in, size_t in_len, CK_BYTE_PTR out,
                    CK_ULONG_PTR out_len)
{
    bool hold_last = !encrypting(op) && op->mech->aes == MT_AES_CBC_PAD;
    if (in_len > SIZE_MAX - BLOCK)
        return CKR_ARGUMENTS_BAD;
    size_t total = op->held_len + in_len, keep = total % BLOCK;
    if (hold_last && keep == 0 && total > 0)
        keep = BLOCK;
    size_t n = total - keep, done = 0, used = 0;
    if (!out || *out_len < n) {
        *out_len = n;
        return out ? CKR_BUFFER_TOO_SMALL : CKR_OK;
    }
    if (n > 0 && op->held_len) {
        used = BLOCK - op->held_len;
        memcpy(op->held + op->held_len, in, used);
        if (!blocks(op, op->held, BLOCK, out))
            return CKR_FUNCTION_FAILED;
        op->held_len = 0;
        done = BLOCK;
    }
    if (!blocks(op, in + used, n - done, out + done))
        return CKR_FUNCTION_FAILED;
    used += n - done;
    if (in_len > used)
        memcpy(op->held + op->held_len, in + used, in_len - used);
    op->held_len += in_len - used;
    *out_len = n;
    return CKR_OK;
}

/* The last block's output, made once and kept until it is delivered. */
static CK_RV make_tail(mt_op *op)
{
    bool enc = encrypting(op), pad = op->mech->aes == MT_AES_CBC_PAD;
    uint8_t block[BLOCK];
    CK_RV rv = CKR_OK;
    if (pad && enc) {
        pad_block(op->held, op->held_len, block);
        rv = blocks(op, block, BLOCK, op->tail) ? CKR_OK : CKR_FUNCTION_FAILED;
        op->tail_len = BLOCK;
    } else if (pad) {
        if (op->held_len != BLOCK)
            return CKR_ENCRYPTED_DATA_LEN_RANGE;
        rv = blocks(op, op->held, BLOCK, block) ? unpad(block, &op->tail_len) : CKR_FUNCTION_FAILED;
        if (rv == CKR_OK)
            memcpy(op->tail, block, op->tail_len);
    } else if (op->held_len) {
        rv = enc ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
    }
    OPENSSL_cleanse(block, sizeof(block));
    op->tail_ready = rv == CKR_OK;
    return rv;
}

CK_RV mt_aes_final(mt_op *op, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    CK_RV rv = op->tail_ready ? CKR_OK : make_tail(op);
    return mt_op_output(op, rv, op->tail, op->tail_len, out, out_len);
}

/* Wrapping pads a value to whole blocks with zero bytes where the mode has
 * no padding of its own (ECB, CBC); unwrapping leaves them to the template. */
CK_RV mt_aes_run(const mt_mech *mech, const mt_mech_params *params, const mt_object *key,
                 bool encrypt, const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
    mt_op op = {.mech = mech, .params = *params, .kind = encrypt ? MT_OP_ENCRYPT : MT_OP_DECRYPT};
    uint8_t *padded = NULL;
    size_t padded_len = in_len;
    CK_RV rv = mt_aes_op_init(&op, key);
    op.params.label = NULL; /* the caller's, not this operation's */
    if (rv == CKR_OK && encrypt && (mech->aes == MT_AES_ECB || mech->aes == MT_AES_CBC) &&
        in_len % BLOCK) {
        padded_len = in_len + BLOCK - in_len % BLOCK;
        if ((padded = OPENSSL_zalloc(padded_len)))
            memcpy(padded, in, in_len);
        else
            rv = CKR_HOST_MEMORY;
    }
    if (rv == CKR_OK)
        rv = mt_aes_compute(&op, padded ? padded : in, padded_len, out, out_len);
    OPENSSL_clear_free(padded, padded_len);
    mt_op_reset(&op);
    return rv;
}
