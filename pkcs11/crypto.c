/* The module's own OpenSSL library context.  Keys are decoded into it and
 * every operation, digest and KDF is fetched from it, so the host
 * application's configuration file and providers never reach the module's
 * cryptography.  One thing OpenSSL 3.0 does not let a library context keep
 * out: an ENGINE the host made the default for RSA or EC (`openssl
 * -engine pkcs11` does) takes over every EVP_PKEY_CTX of that key type.
 * The pkcs11 engine hands keys that are not its own back to OpenSSL's
 * methods, so the results are the same; only what those legacy methods
 * lack (the quick public key check) is missing, and derive.c falls back. */
#include "crypto.h"

#include "state.h"

#include <openssl/decoder.h>
#include <openssl/kdf.h>
#include <openssl/provider.h>
#include <stdio.h>
#include <string.h>

static const char *const digest_names[MT_N_DIGESTS] = {"SHA1", "SHA224", "SHA256", "SHA384",
                                                       "SHA512"};
/* By mode (CBC_PAD is CBC with the module's own padding) and key size. */
static const char *const aes_names[MT_N_AES_MODES] = {"ECB", "CBC", "WRAP", "WRAP-PAD"};

static CK_RV fetch_ciphers(void)
{
    char name[32];
    for (size_t m = 0; m < MT_N_AES_MODES; m++) {
        for (size_t k = 0; k < 3; k++) {
            snprintf(name, sizeof(name), "AES-%zu-%s", 128 + 64 * k, aes_names[m]);
            if (!(mt_g.aes[m][k] = EVP_CIPHER_fetch(mt_g.libctx, name, NULL)))
                return CKR_GENERAL_ERROR;
        }
    }
    mt_g.x963 = EVP_KDF_fetch(mt_g.libctx, "X963KDF", NULL);
    return mt_g.x963 ? CKR_OK : CKR_GENERAL_ERROR;
}

/* Called locked, from C_Initialize. */
CK_RV mt_crypto_init(void)
{
    mt_g.libctx = OSSL_LIB_CTX_new();
    if (!mt_g.libctx)
        return CKR_HOST_MEMORY;
    mt_g.provider = OSSL_PROVIDER_load(mt_g.libctx, "default");
    if (!mt_g.provider)
        return CKR_GENERAL_ERROR;
    for (size_t i = 0; i < MT_N_DIGESTS; i++)
        if (!(mt_g.digests[i] = EVP_MD_fetch(mt_g.libctx, digest_names[i], NULL)))
            return CKR_GENERAL_ERROR;
    return fetch_ciphers();
}

/* Called locked, from C_Finalize (after every key is gone) or a failed
 * C_Initialize.  While OpenSSL shuts down (a client finalizing from its
 * atexit cleanup) nothing of it may be touched: the context is left behind. */
void mt_crypto_free(void)
{
    if (!mt_openssl_down) {
        for (size_t i = 0; i < MT_N_DIGESTS; i++)
            EVP_MD_free(mt_g.digests[i]);
        for (size_t m = 0; m < MT_N_AES_MODES; m++)
            for (size_t k = 0; k < 3; k++)
                EVP_CIPHER_free(mt_g.aes[m][k]);
        EVP_KDF_free(mt_g.x963);
        if (mt_g.provider)
            OSSL_PROVIDER_unload(mt_g.provider);
        if (mt_g.libctx)
            OSSL_LIB_CTX_free(mt_g.libctx);
    }
    memset(mt_g.digests, 0, sizeof(mt_g.digests));
    memset(mt_g.aes, 0, sizeof(mt_g.aes));
    mt_g.x963 = NULL;
    mt_g.provider = NULL;
    mt_g.libctx = NULL;
}

const EVP_CIPHER *mt_aes_cipher(mt_aes_mode mode, size_t key_len)
{
    size_t m = mode == MT_AES_ECB ? 0 : mode == MT_AES_KW ? 2 : mode == MT_AES_KWP ? 3 : 1;
    if (mode == MT_AES_NONE || !mt_aes_key_len_ok(key_len))
        return NULL;
    return mt_g.aes[m][(key_len - 16) / 8];
}

const EVP_MD *mt_md(const char *name)
{
    for (size_t i = 0; name && i < MT_N_DIGESTS; i++)
        if (strcmp(digest_names[i], name) == 0)
            return mt_g.digests[i];
    return NULL;
}

/* A provider-native key from DER (SubjectPublicKeyInfo, or PKCS#8
 * PrivateKeyInfo), never through the legacy methods an ENGINE can replace. */
mt_key *mt_key_from_der(const uint8_t *der, size_t len, bool private_key)
{
    EVP_PKEY *pkey = NULL;
    const char *structure = private_key ? "PrivateKeyInfo" : "SubjectPublicKeyInfo";
    int selection = private_key ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", structure, NULL,
                                                           selection, mt_g.libctx, NULL);
    const unsigned char *p = der;
    size_t left = len;
    if (dctx && OSSL_DECODER_from_data(dctx, &p, &left) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    return pkey ? mt_key_new(pkey) : NULL;
}

EVP_PKEY_CTX *mt_pkey_ctx(EVP_PKEY *pkey)
{
    return EVP_PKEY_CTX_new_from_pkey(mt_g.libctx, pkey, NULL);
}

bool mt_aes_key_len_ok(size_t len)
{
    return len == 16 || len == 24 || len == 32;
}
