/* What crypto operations share (operation.c, cipher.c, sign.c, decrypt.c)
 * and AES with session secret keys (aes.c). */
#ifndef MT_PKCS11_OPERATION_H
#define MT_PKCS11_OPERATION_H

#include "mech.h"
#include "object.h"
#include "session.h"
#include "pkcs11_v3.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The active operation of a kind for a call made `parts` way:
 * CKR_OPERATION_NOT_INITIALIZED, or CKR_OPERATION_ACTIVE when it is being
 * run the other way (it stays as it was). */
CK_RV mt_op_enter(mt_session *session, mt_op_kind kind, mt_op_parts parts, mt_op **out);
/* Output handling shared by every single-part and final call: size query,
 * CKR_BUFFER_TOO_SMALL (operation stays active), else the operation ends. */
CK_RV mt_op_output(mt_op *op, CK_RV rv, const uint8_t *result, size_t result_len,
                   CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV mt_op_collect(mt_op *op, const uint8_t *data, size_t len);
/* A private key for a one-call operation (derive, unwrap): visible, allowed
 * to do `usage`, suiting the mechanism; the key comes up-referenced. */
CK_RV mt_key_use(mt_session *s, CK_MECHANISM_PTR m, CK_FLAGS flag, CK_ATTRIBUTE_TYPE usage,
                 CK_OBJECT_HANDLE key, const mt_mech **mech, mt_mech_params *params,
                 mt_key **opened);
/* A context set up for the mechanism: a fresh one the caller frees ... */
CK_RV mt_pkey_ctx_for(EVP_PKEY *pkey, int (*init)(EVP_PKEY_CTX *), const mt_mech *mech,
                      const mt_mech_params *params, EVP_PKEY_CTX **out);
/* ... or the operation's warm one, which the session keeps: after a failed
 * operation, mt_op_pkey_ctx_failed drops it. */
CK_RV mt_op_pkey_ctx(mt_op *op, int (*init)(EVP_PKEY_CTX *), EVP_PKEY_CTX **out);
void mt_op_pkey_ctx_failed(mt_op *op);
/* Shared by the four *Update calls of single-shot and hashed mechanisms. */
mt_op *mt_op_active(mt_session *session, mt_op_kind kind);
/* Single-shot ciphers (cipher.c): compute gives an OPENSSL_malloc result. */
typedef CK_RV (*mt_cipher_fn)(mt_op *op, const uint8_t *in, size_t in_len, uint8_t **out,
                              size_t *out_len);
CK_RV mt_cipher_once(mt_session *s, mt_op_kind kind, mt_cipher_fn compute, CK_BYTE_PTR in,
                     CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV mt_cipher_update(mt_session *s, mt_op_kind kind, CK_BYTE_PTR in, CK_ULONG in_len,
                       CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV mt_cipher_final(mt_session *s, mt_op_kind kind, mt_cipher_fn compute, CK_BYTE_PTR out,
                      CK_ULONG_PTR out_len);
/* Decryption's exact output length is only known once done. */
CK_RV mt_decrypt_compute(mt_op *op, const uint8_t *in, size_t in_len, uint8_t **out,
                         size_t *out_len);
/* Single-shot signature mechanisms' input rules (sign.c, verify.c). */
CK_RV mt_sign_input_check(const mt_op *op, size_t len);
/* RSA decryption with a context set up for it, into an OPENSSL_malloc
 * buffer the caller clears (unwrap shares it). */
CK_RV mt_rsa_decrypt(EVP_PKEY_CTX *ctx, const uint8_t *in, size_t in_len, uint8_t **out,
                     size_t *out_len);

/* aes.c: AES with session secret keys.  ECB, CBC and CBC_PAD stream (whole
 * blocks out as input comes); the key wraps are single-shot. */
CK_RV mt_aes_op_init(mt_op *op, const mt_object *key);
bool mt_aes_streams(const mt_op *op);
/* Exact output size of a single-part call, 0 when only the work tells. */
size_t mt_aes_once_size(const mt_op *op, size_t in_len);
CK_RV mt_aes_compute(mt_op *op, const uint8_t *in, size_t in_len, uint8_t **out,
                     size_t *out_len);
CK_RV mt_aes_update(mt_op *op, const uint8_t *in, size_t in_len, CK_BYTE_PTR out,
                    CK_ULONG_PTR out_len);
CK_RV mt_aes_final(mt_op *op, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
/* Wrap and unwrap: one call with a key object, an OPENSSL_malloc'd result
 * the caller clears.  A wrapped value that does not fill whole blocks is
 * padded with zero bytes (ECB, CBC), as the specification says. */
CK_RV mt_aes_run(const mt_mech *mech, const mt_mech_params *params, const mt_object *key,
                 bool encrypt, const uint8_t *in, size_t in_len, uint8_t **out,
                 size_t *out_len);

#endif
