/* Shared by the operation scenarios: each private key with its certificate's
 * public key (parsed by OpenSSL) to check what the module computed. */
#ifndef P11DIFF_KEYOPS_H
#define P11DIFF_KEYOPS_H

#include "p11diff.h"

#include <openssl/evp.h>

typedef struct p11d_key {
    const p11d_object *priv;
    const p11d_object *pub;  /* public key object with the same CKA_ID, or NULL */
    EVP_PKEY *cert_key;      /* public key of the certificate with the same CKA_ID */
    CK_SESSION_HANDLE session;
} p11d_key;

/* Calls fn for each private key that has a certificate, logged in, with the
 * log scope set to "<token>/op[<key name>]". */
bool p11d_for_each_key(p11d_ctx *ctx, void (*fn)(p11d_ctx *ctx, const p11d_key *key));

/* Checks a signature over msg with SHA-256 (padding: 'p' PKCS#1 v1.5,
 * 's' PSS salt 32, 'e' ECDSA given as r||s). */
bool p11d_verify_sha256(EVP_PKEY *key, char padding, const unsigned char *msg, size_t msg_len,
                        const unsigned char *sig, size_t sig_len);

#define P11D_MSG "mailtoken p11diff: the same message for every module"

#endif
