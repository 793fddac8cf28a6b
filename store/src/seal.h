/*
 * Sealing primitives (libsodium), internal to libmailtoken-store.
 *
 * Formats carry a version byte so that parameters can change later:
 *   sealed key    = crypto_box_seal(token_pk, 0x01 || 0x01 || SHA-256(SPKI) || PKCS#8)
 *                   (version 1, binding type 1 = SubjectPublicKeyInfo hash)
 *   PIN-wrapped   = 0x01 || nonce(24) || XChaCha20-Poly1305(key, plaintext, ad)
 *                   key = Argon2id(PIN, salt, ops, mem) [ BLAKE2b-keyed by the store key ]
 *   sealed secret = crypto_box_seal(recovery_pk, secret)
 */
#ifndef MT_STORE_SEAL_H
#define MT_STORE_SEAL_H

#include "internal.h"

#define MT_SEAL_PK_LEN 32
#define MT_SEAL_SK_LEN 32
#define MT_SEAL_SALT_LEN 16
#define MT_SEAL_VERSION 1

typedef struct mt_kdf_params {
    uint8_t salt[MT_SEAL_SALT_LEN];
    uint64_t opslimit;
    size_t memlimit;
} mt_kdf_params;

/* A public key something may be sealed to: made only by auth.c, once the
 * key has passed its checks (a tag, or the importer's record), so that the
 * compiler finds any sealing to a key read straight from a row. */
typedef struct mt_trusted_pk {
    uint8_t pk[MT_SEAL_PK_LEN];
} mt_trusted_pk;

/* X25519 key pair; the secret half in an mt_secret. */
mt_status mt_seal_keypair(uint8_t pk[MT_SEAL_PK_LEN], mt_secret **sk);
/* Fresh random salt with the given limits (validated against libsodium's bounds). */
mt_status mt_seal_kdf_params_new(uint64_t opslimit, size_t memlimit, mt_kdf_params *out);

/* Private keys: bound to the SHA-256 of their SubjectPublicKeyInfo. */
mt_status mt_seal_key(const mt_trusted_pk *token_pk, const uint8_t spki_sha256[32],
                      const mt_secret *pkcs8, mt_blob *sealed);
/* MT_ERR_CRYPTO when it does not open or the header does not match spki_sha256. */
mt_status mt_seal_key_open(const uint8_t token_pk[MT_SEAL_PK_LEN], const mt_secret *token_sk,
                           const uint8_t spki_sha256[32], const uint8_t *sealed, size_t sealed_len,
                           mt_secret **pkcs8);

/* Anonymous sealing of a secret to a public key (token secret -> recovery key). */
mt_status mt_seal_secret(const mt_trusted_pk *pk, const mt_secret *plaintext, mt_blob *sealed);
mt_status mt_seal_secret_open(const uint8_t pk[MT_SEAL_PK_LEN], const mt_secret *sk,
                              const uint8_t *sealed, size_t sealed_len, mt_secret **plaintext);

/* PIN wrapping.  store_key (32 bytes) may be NULL.  ad binds the value to its
 * row (e.g. "token:42"), so wrapped values cannot be swapped between rows.
 * Unwrap returns MT_ERR_PIN_INCORRECT when authentication fails. */
mt_status mt_seal_pin_wrap(const mt_secret *pin, const mt_secret *store_key,
                           const mt_kdf_params *kdf, const mt_secret *plaintext,
                           const uint8_t *ad, size_t ad_len, mt_blob *wrapped);
mt_status mt_seal_pin_unwrap(const mt_secret *pin, const mt_secret *store_key,
                             const mt_kdf_params *kdf, const uint8_t *wrapped, size_t wrapped_len,
                             const uint8_t *ad, size_t ad_len, mt_secret **plaintext);

/* Reads a store key file (exactly 32 bytes, raw or 64 hex digits; must not be
 * readable by group/others). */
mt_status mt_seal_read_key_file(const char *path, mt_secret **key);

#endif
