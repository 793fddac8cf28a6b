/* Sealing primitives: sealed private keys, sealed secrets, PIN wrapping. */
#include "seal.h"
#include "secret_io.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_BINDING_SPKI_SHA256 1
#define KEY_HEADER_LEN (2 + 32) /* version, binding type, SHA-256(SPKI) */
#define WRAP_KEY_LEN crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define WRAP_NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define WRAP_OVERHEAD (1 + WRAP_NONCE_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define STORE_KEY_LEN 32

_Static_assert(MT_SEAL_PK_LEN == crypto_box_PUBLICKEYBYTES, "X25519 public key size");
_Static_assert(MT_SEAL_SK_LEN == crypto_box_SECRETKEYBYTES, "X25519 secret key size");
_Static_assert(MT_SEAL_SALT_LEN == crypto_pwhash_SALTBYTES, "Argon2id salt size");

static void blob_clear(mt_blob *blob)
{
    blob->data = NULL;
    blob->len = 0;
}

mt_status mt_seal_keypair(uint8_t pk[MT_SEAL_PK_LEN], mt_secret **sk)
{
    if (!pk || !sk)
        return mt_fail(MT_ERR_INVALID, "seal keypair: argument is NULL");
    mt_status st = mt_secret_new(MT_SEAL_SK_LEN, sk);
    if (st != MT_OK)
        return st;
    if (crypto_box_keypair(pk, (*sk)->data) != 0) {
        mt_secret_free(*sk);
        *sk = NULL;
        return mt_fail(MT_ERR_CRYPTO, "X25519 key generation failed");
    }
    return MT_OK;
}

mt_status mt_seal_kdf_params_new(uint64_t opslimit, size_t memlimit, mt_kdf_params *out)
{
    mt_status st = mt_library_init();
    if (st != MT_OK)
        return st;
    if (!out)
        return mt_fail(MT_ERR_INVALID, "kdf params: out is NULL");
    if (opslimit < crypto_pwhash_OPSLIMIT_MIN || opslimit > crypto_pwhash_OPSLIMIT_MAX)
        return mt_fail(MT_ERR_INVALID, "kdf_opslimit %llu outside Argon2id's range %llu..%llu",
                       (unsigned long long)opslimit,
                       (unsigned long long)crypto_pwhash_OPSLIMIT_MIN,
                       (unsigned long long)crypto_pwhash_OPSLIMIT_MAX);
    if (memlimit < crypto_pwhash_MEMLIMIT_MIN || memlimit > crypto_pwhash_MEMLIMIT_MAX)
        return mt_fail(MT_ERR_INVALID, "kdf_memlimit %zu outside Argon2id's range %zu..%zu",
                       memlimit, (size_t)crypto_pwhash_MEMLIMIT_MIN,
                       (size_t)crypto_pwhash_MEMLIMIT_MAX);
    randombytes_buf(out->salt, sizeof(out->salt));
    out->opslimit = opslimit;
    out->memlimit = memlimit;
    return MT_OK;
}

/* crypto_box_seal of a secret plaintext into a fresh heap blob. */
static mt_status box_seal(const uint8_t pk[MT_SEAL_PK_LEN], const uint8_t *plain, size_t len,
                          mt_blob *sealed)
{
    if (len > SIZE_MAX - crypto_box_SEALBYTES)
        return mt_fail(MT_ERR_TOO_LARGE, "seal: input too large");
    uint8_t *out = malloc(len + crypto_box_SEALBYTES);
    if (!out)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    if (crypto_box_seal(out, plain, len, pk) != 0) {
        free(out);
        return mt_fail(MT_ERR_CRYPTO, "seal: crypto_box_seal failed");
    }
    sealed->data = out;
    sealed->len = len + crypto_box_SEALBYTES;
    return MT_OK;
}

/* Opens a crypto_box_seal into secure memory. */
static mt_status box_open(const uint8_t pk[MT_SEAL_PK_LEN], const mt_secret *sk,
                          const uint8_t *sealed, size_t sealed_len, mt_secret **plain)
{
    mt_status st = MT_OK;
    mt_secret *out = NULL;

    if (!sk || sk->len != MT_SEAL_SK_LEN) {
        st = mt_fail(MT_ERR_INVALID, "open: the secret key must be %d bytes", MT_SEAL_SK_LEN);
        goto out;
    }
    if (!sealed || sealed_len < crypto_box_SEALBYTES) {
        st = mt_fail(MT_ERR_CRYPTO, "open: sealed value too short (%zu bytes)", sealed_len);
        goto out;
    }
    st = mt_secret_new(sealed_len - crypto_box_SEALBYTES, &out);
    if (st != MT_OK)
        goto out;
    if (crypto_box_seal_open(out->data, sealed, sealed_len, pk, sk->data) != 0) {
        st = mt_fail(MT_ERR_CRYPTO, "open: sealed value does not open with this key (corrupt or "
                                    "sealed to another token)");
        goto out;
    }
    *plain = out;
    out = NULL;
out:
    mt_secret_free(out);
    return st;
}

mt_status mt_seal_key(const mt_trusted_pk *token_pk, const uint8_t spki_sha256[32],
                      const mt_secret *pkcs8, mt_blob *sealed)
{
    mt_status st = MT_OK;
    mt_secret *plain = NULL;

    if (!token_pk || !spki_sha256 || !pkcs8 || !sealed)
        return mt_fail(MT_ERR_INVALID, "seal key: argument is NULL");
    blob_clear(sealed);
    if (pkcs8->len == 0 || pkcs8->len > MT_MAX_INPUT_SIZE) {
        st = mt_fail(MT_ERR_INVALID, "seal key: PKCS#8 key of %zu bytes", pkcs8->len);
        goto out;
    }
    st = mt_secret_new(KEY_HEADER_LEN + pkcs8->len, &plain);
    if (st != MT_OK)
        goto out;
    plain->data[0] = MT_SEAL_VERSION;
    plain->data[1] = KEY_BINDING_SPKI_SHA256;
    memcpy(plain->data + 2, spki_sha256, 32);
    memcpy(plain->data + KEY_HEADER_LEN, pkcs8->data, pkcs8->len);
    st = box_seal(token_pk->pk, plain->data, plain->len, sealed);
out:
    mt_secret_free(plain);
    return st;
}

mt_status mt_seal_key_open(const uint8_t token_pk[MT_SEAL_PK_LEN], const mt_secret *token_sk,
                           const uint8_t spki_sha256[32], const uint8_t *sealed, size_t sealed_len,
                           mt_secret **pkcs8)
{
    mt_status st = MT_OK;
    mt_secret *plain = NULL;

    if (!token_pk || !spki_sha256 || !pkcs8)
        return mt_fail(MT_ERR_INVALID, "open key: argument is NULL");
    *pkcs8 = NULL;
    if (sealed_len <= crypto_box_SEALBYTES + KEY_HEADER_LEN) {
        st = mt_fail(MT_ERR_CRYPTO, "open key: sealed key too short (%zu bytes)", sealed_len);
        goto out;
    }
    st = box_open(token_pk, token_sk, sealed, sealed_len, &plain);
    if (st != MT_OK)
        goto out;
    if (plain->data[0] != MT_SEAL_VERSION || plain->data[1] != KEY_BINDING_SPKI_SHA256) {
        st = mt_fail(MT_ERR_CRYPTO, "open key: unknown sealed key format %u.%u", plain->data[0],
                     plain->data[1]);
        goto out;
    }
    if (sodium_memcmp(plain->data + 2, spki_sha256, 32) != 0) {
        st = mt_fail(MT_ERR_CRYPTO,
                     "open key: sealed key belongs to another public key than its certificate");
        goto out;
    }
    st = mt_secret_from(plain->data + KEY_HEADER_LEN, plain->len - KEY_HEADER_LEN, pkcs8);
out:
    mt_secret_free(plain);
    return st;
}

mt_status mt_seal_secret(const mt_trusted_pk *pk, const mt_secret *plaintext, mt_blob *sealed)
{
    mt_status st = mt_library_init();
    if (st != MT_OK)
        return st;
    if (!pk || !plaintext || !sealed)
        return mt_fail(MT_ERR_INVALID, "seal secret: argument is NULL");
    blob_clear(sealed);
    return box_seal(pk->pk, plaintext->data, plaintext->len, sealed);
}

mt_status mt_seal_secret_open(const uint8_t pk[MT_SEAL_PK_LEN], const mt_secret *sk,
                              const uint8_t *sealed, size_t sealed_len, mt_secret **plaintext)
{
    if (!pk || !plaintext)
        return mt_fail(MT_ERR_INVALID, "open secret: argument is NULL");
    *plaintext = NULL;
    return box_open(pk, sk, sealed, sealed_len, plaintext);
}

/* key = Argon2id(PIN), then BLAKE2b keyed by the store key when there is one,
 * so that the store file alone is not enough to test PIN guesses. */
static mt_status derive_wrap_key(const mt_secret *pin, const mt_secret *store_key,
                                 const mt_kdf_params *kdf, mt_secret **key)
{
    mt_status st = MT_OK;
    mt_secret *stretched = NULL;
    mt_secret *mixed = NULL;

    if (store_key && store_key->len != STORE_KEY_LEN) {
        st = mt_fail(MT_ERR_INVALID, "store key must be %d bytes, not %zu", STORE_KEY_LEN,
                     store_key->len);
        goto out;
    }
    if (kdf->opslimit < crypto_pwhash_OPSLIMIT_MIN || kdf->opslimit > crypto_pwhash_OPSLIMIT_MAX ||
        kdf->memlimit < crypto_pwhash_MEMLIMIT_MIN || kdf->memlimit > crypto_pwhash_MEMLIMIT_MAX) {
        st = mt_fail(MT_ERR_INVALID, "Argon2id limits out of range (ops %llu, mem %zu)",
                     (unsigned long long)kdf->opslimit, kdf->memlimit);
        goto out;
    }
    st = mt_secret_new(WRAP_KEY_LEN, &stretched);
    if (st != MT_OK)
        goto out;
    if (crypto_pwhash(stretched->data, WRAP_KEY_LEN, (const char *)pin->data, pin->len, kdf->salt,
                      kdf->opslimit, kdf->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        st = mt_fail(MT_ERR_NOMEM, "Argon2id failed (not enough memory for %zu bytes?)",
                     kdf->memlimit);
        goto out;
    }
    if (store_key) {
        st = mt_secret_new(WRAP_KEY_LEN, &mixed);
        if (st != MT_OK)
            goto out;
        if (crypto_generichash(mixed->data, WRAP_KEY_LEN, stretched->data, WRAP_KEY_LEN,
                               store_key->data, store_key->len) != 0) {
            st = mt_fail(MT_ERR_CRYPTO, "store key mixing failed");
            goto out;
        }
        *key = mixed;
        mixed = NULL;
    } else {
        *key = stretched;
        stretched = NULL;
    }
out:
    mt_secret_free(stretched);
    mt_secret_free(mixed);
    return st;
}

mt_status mt_seal_pin_wrap(const mt_secret *pin, const mt_secret *store_key,
                           const mt_kdf_params *kdf, const mt_secret *plaintext,
                           const uint8_t *ad, size_t ad_len, mt_blob *wrapped)
{
    mt_status st = mt_library_init();
    mt_secret *key = NULL;
    uint8_t *out = NULL;

    if (st != MT_OK)
        return st;
    if (!pin || !kdf || !plaintext || !wrapped || (!ad && ad_len > 0))
        return mt_fail(MT_ERR_INVALID, "PIN wrap: argument is NULL");
    blob_clear(wrapped);
    if (plaintext->len > MT_MAX_INPUT_SIZE) {
        st = mt_fail(MT_ERR_TOO_LARGE, "PIN wrap: value too large");
        goto out;
    }
    st = derive_wrap_key(pin, store_key, kdf, &key);
    if (st != MT_OK)
        goto out;
    out = malloc(WRAP_OVERHEAD + plaintext->len);
    if (!out) {
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
        goto out;
    }
    out[0] = MT_SEAL_VERSION;
    randombytes_buf(out + 1, WRAP_NONCE_LEN);
    unsigned long long clen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + WRAP_NONCE_LEN, &clen,
                                                   plaintext->data, plaintext->len, ad, ad_len,
                                                   NULL, out + 1, key->data) != 0) {
        st = mt_fail(MT_ERR_CRYPTO, "PIN wrap: encryption failed");
        goto out;
    }
    wrapped->data = out;
    wrapped->len = 1 + WRAP_NONCE_LEN + (size_t)clen;
    out = NULL;
out:
    free(out);
    mt_secret_free(key);
    return st;
}

mt_status mt_seal_pin_unwrap(const mt_secret *pin, const mt_secret *store_key,
                             const mt_kdf_params *kdf, const uint8_t *wrapped, size_t wrapped_len,
                             const uint8_t *ad, size_t ad_len, mt_secret **plaintext)
{
    mt_status st = mt_library_init();
    mt_secret *key = NULL;
    mt_secret *plain = NULL;

    if (st != MT_OK)
        return st;
    if (!pin || !kdf || !plaintext || (!ad && ad_len > 0))
        return mt_fail(MT_ERR_INVALID, "PIN unwrap: argument is NULL");
    *plaintext = NULL;
    if (!wrapped || wrapped_len < WRAP_OVERHEAD) {
        st = mt_fail(MT_ERR_CRYPTO, "PIN unwrap: wrapped value too short (%zu bytes)", wrapped_len);
        goto out;
    }
    if (wrapped[0] != MT_SEAL_VERSION) {
        st = mt_fail(MT_ERR_CRYPTO, "PIN unwrap: unknown wrapping format %u", wrapped[0]);
        goto out;
    }
    st = derive_wrap_key(pin, store_key, kdf, &key);
    if (st != MT_OK)
        goto out;
    st = mt_secret_new(wrapped_len - WRAP_OVERHEAD, &plain);
    if (st != MT_OK)
        goto out;
    unsigned long long mlen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            plain->data, &mlen, NULL, wrapped + 1 + WRAP_NONCE_LEN,
            wrapped_len - 1 - WRAP_NONCE_LEN, ad, ad_len, wrapped + 1, key->data) != 0) {
        st = mt_fail(MT_ERR_PIN_INCORRECT, "incorrect PIN");
        goto out;
    }
    *plaintext = plain;
    plain = NULL;
out:
    mt_secret_free(key);
    mt_secret_free(plain);
    return st;
}

/* 64 hex digits (optionally followed by a newline) into 32 bytes, in
 * constant time (libsodium's decoder): the digits are the key. */
static bool hex_key_decode(const mt_secret *text, uint8_t out[STORE_KEY_LEN])
{
    size_t len = text->len, bin_len = 0;
    const char *end = NULL;
    while (len > 0 && (text->data[len - 1] == '\n' || text->data[len - 1] == '\r'))
        len--;
    return len == 2 * STORE_KEY_LEN &&
           sodium_hex2bin(out, STORE_KEY_LEN, (const char *)text->data, len, NULL, &bin_len,
                          &end) == 0 &&
           bin_len == STORE_KEY_LEN && end == (const char *)text->data + len;
}

mt_status mt_seal_read_key_file(const char *path, mt_secret **key)
{
    mt_status st = mt_library_init();
    mt_secret *raw = NULL;
    mt_secret *out_key = NULL;
    int fd = -1;
    if (st != MT_OK)
        return st;
    if (!path || !key)
        return mt_fail(MT_ERR_INVALID, "store key file: argument is NULL");
    *key = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        st = mt_fail(MT_ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if ((st = mt_secret_file_check(fd, path)) != MT_OK)
        goto out;
    st = mt_secret_read_fd(fd, path, 2 * STORE_KEY_LEN + 2, &raw);
    if (st != MT_OK)
        goto out;
    st = mt_secret_new(STORE_KEY_LEN, &out_key);
    if (st != MT_OK)
        goto out;
    if (raw->len == STORE_KEY_LEN) {
        memcpy(out_key->data, raw->data, STORE_KEY_LEN);
    } else if (!hex_key_decode(raw, out_key->data)) {
        st = mt_fail(MT_ERR_INVALID, "%s: a store key is 32 raw bytes or 64 hex digits", path);
        goto out;
    }
    *key = out_key;
    out_key = NULL;
out:
    if (fd >= 0)
        close(fd);
    mt_secret_free(raw);
    mt_secret_free(out_key);
    return st;
}

mt_status mt_store_key_file_create(const char *path)
{
    mt_secret *key = NULL;
    mt_status st = mt_library_init();
    if (st != MT_OK)
        return st;
    if (!path || !*path)
        return mt_fail(MT_ERR_INVALID, "store key file: a path is required");
    if ((st = mt_secret_new(STORE_KEY_LEN, &key)) != MT_OK)
        return st;
    randombytes_buf(key->data, key->len);
    st = mt_secret_write_hex_file(path, key);
    mt_secret_free(key);
    return st;
}
