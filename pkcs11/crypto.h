/* Keys the module owns (key.c) and the module's own OpenSSL library
 * context (crypto.c), immune to the host's defaults; the AES ciphers, the
 * X9.63 KDF (kdf.c) and ECDSA signature forms (ecdsa.c) it fetches from it. */
#ifndef MT_PKCS11_CRYPTO_H
#define MT_PKCS11_CRYPTO_H

#include "pkcs11_v3.h"

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A key the module owns (key.c), shared by an object and the operations
 * using it; each holder has a reference, the last one frees the EVP_PKEY. */
typedef struct mt_key {
    atomic_uint refs;
    EVP_PKEY *pkey;
} mt_key;

mt_key *mt_key_new(EVP_PKEY *pkey); /* takes the EVP_PKEY, freed on failure */
mt_key *mt_key_ref(mt_key *key);
void mt_key_unref(mt_key *key);

/* crypto.c: the module's OpenSSL library context, immune to the host's defaults */
#define MT_N_DIGESTS 5
#define MT_N_AES_MODES 4 /* ECB, CBC (CBC_PAD too), KW, KWP */
CK_RV mt_crypto_init(void);
void mt_crypto_free(void);
/* Digest fetched from the module's context by name ("SHA256"), NULL if unknown. */
const EVP_MD *mt_md(const char *name);
/* Provider-native key from a DER SubjectPublicKeyInfo or PKCS#8 PrivateKeyInfo. */
mt_key *mt_key_from_der(const uint8_t *der, size_t len, bool private_key);
EVP_PKEY_CTX *mt_pkey_ctx(EVP_PKEY *pkey);

/* AES modes of the mechanism table (aes.c); 0 for the other mechanisms. */
typedef enum mt_aes_mode {
    MT_AES_NONE = 0,
    MT_AES_ECB,
    MT_AES_CBC,
    MT_AES_CBC_PAD,
    MT_AES_KW,               /* RFC 3394 */
    MT_AES_KWP,              /* RFC 5649 */
} mt_aes_mode;
const EVP_CIPHER *mt_aes_cipher(mt_aes_mode mode, size_t key_len);
/* An AES key length in bytes: 16, 24 or 32. */
bool mt_aes_key_len_ok(size_t len);

/* kdf.c: the X9.63 KDFs of ECDH1 derivation (RFC 5753, RFC 8418) */
bool mt_kdf_known(CK_ULONG kdf);
CK_RV mt_kdf_x963(CK_ULONG kdf, const uint8_t *z, size_t z_len, const uint8_t *shared,
                  size_t shared_len, uint8_t *out, size_t out_len);

/* ecdsa.c: PKCS#11 signatures are r||s, OpenSSL's are DER */
CK_RV mt_ecdsa_der_to_raw(const uint8_t *der, size_t der_len, size_t field_len, uint8_t *raw);
CK_RV mt_ecdsa_raw_to_der(const uint8_t *raw, size_t raw_len, uint8_t **der, size_t *der_len);

#endif
