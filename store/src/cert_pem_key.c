/* Private keys in PEM files (PKCS#8, encrypted PKCS#8, and the traditional
 * RSA/EC forms, clear or with legacy PEM encryption), opened with the same
 * password as a P12 and added to the pool to be paired by public key. */
#include "cert_internal.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

static const char *const key_labels[] = {"PRIVATE KEY", "ENCRYPTED PRIVATE KEY",
                                         "RSA PRIVATE KEY", "EC PRIVATE KEY"};

bool mt_pem_is_key_label(const char *label)
{
    for (size_t i = 0; i < sizeof(key_labels) / sizeof(*key_labels); i++)
        if (strcmp(label, key_labels[i]) == 0)
            return true;
    return false;
}

typedef struct pem_key {
    mt_cert_pool *pool;
    const char *what;     /* "the private key in PEM block 2 (EC PRIVATE KEY)" */
    const char *password; /* NULL: none given */
    size_t password_len;
} pem_key;

static mt_status needs_password(const pem_key *k)
{
    return mt_fail(MT_ERR_PASSWORD, "%s: %s is encrypted: a password is needed", k->pool->name,
                   k->what);
}

static mt_status add_key(const pem_key *k, EVP_PKEY *key, const char *origin)
{
    mt_cert_pool *pool = k->pool;
    mt_status st = mt_pool_add_key(pool, key, NULL, NULL);
    if (st == MT_OK && !(pool->keys[pool->n_keys - 1].origin = strdup(origin)))
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
    pool->keys_need_certs = true;
    return st;
}

static mt_status from_p8(const pem_key *k, const PKCS8_PRIV_KEY_INFO *p8, const char *origin)
{
    EVP_PKEY *key = EVP_PKCS82PKEY(p8);
    if (!key) {
        k->pool->keys_need_certs = true;
        return mt_pool_add_unreadable_p8(k->pool, p8, NULL, NULL);
    }
    return add_key(k, key, origin);
}

static mt_status load_pkcs8(const pem_key *k, const unsigned char *der, long len,
                            const char *origin)
{
    const unsigned char *p = der;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, len);
    mt_status st = p8 ? from_p8(k, p8, origin)
                      : mt_fail(MT_ERR_INVALID, "%s: corrupt or truncated: %s does not decode",
                                k->pool->name, k->what);
    PKCS8_PRIV_KEY_INFO_free(p8);
    return st;
}

static mt_status load_encrypted_pkcs8(const pem_key *k, const unsigned char *der, long len,
                                      const char *origin)
{
    mt_status st = MT_OK;
    const unsigned char *p = der;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    X509_SIG *sig = d2i_X509_SIG(NULL, &p, len);
    if (!sig) {
        st = mt_fail(MT_ERR_INVALID, "%s: corrupt or truncated: %s does not decode",
                     k->pool->name, k->what);
        goto out;
    }
    if (!k->password) {
        st = needs_password(k);
        goto out;
    }
    p8 = PKCS8_decrypt_ex(sig, k->password, (int)k->password_len, NULL, NULL);
    if (!p8) {
        st = mt_decrypt_failure(k->pool->name, &k->pool->pem_keys, k->what);
        goto out;
    }
    k->pool->pem_keys.decrypted++;
    st = from_p8(k, p8, origin);
out:
    PKCS8_PRIV_KEY_INFO_free(p8); /* clears the key octets */
    X509_SIG_free(sig);
    return st;
}

static int password_cb(char *buf, int size, int rwflag, void *u)
{
    const pem_key *k = u;
    (void)rwflag;
    if (!k->password || k->password_len > (size_t)size)
        return -1;
    memcpy(buf, k->password, k->password_len);
    return (int)k->password_len;
}

/* "RSA PRIVATE KEY" / "EC PRIVATE KEY", decrypted in place when the PEM
 * headers say Proc-Type: 4,ENCRYPTED. */
static mt_status load_traditional(const pem_key *k, const char *label, const char *header,
                                  unsigned char *der, long len, const char *origin)
{
    EVP_CIPHER_INFO cipher;
    if (!PEM_get_EVP_CIPHER_INFO((char *)header, &cipher)) {
        char reason[160];
        if (mt_openssl_failure_kind(reason, sizeof(reason)) == MT_OPENSSL_UNSUPPORTED)
            return mt_fail(MT_ERR_UNSUPPORTED, "%s: %s is encrypted with a cipher this OpenSSL "
                                               "cannot do (%s)", k->pool->name, k->what, reason);
        return mt_fail(MT_ERR_INVALID, "%s: %s has malformed PEM headers", k->pool->name,
                       k->what);
    }
    if (cipher.cipher) {
        if (!k->password)
            return needs_password(k);
        if (!PEM_do_header(&cipher, der, &len, password_cb, (void *)k))
            return mt_decrypt_failure(k->pool->name, &k->pool->pem_keys, k->what);
        k->pool->pem_keys.decrypted++;
    }
    const unsigned char *p = der;
    int type = strcmp(label, "RSA PRIVATE KEY") == 0 ? EVP_PKEY_RSA : EVP_PKEY_EC;
    EVP_PKEY *key = d2i_PrivateKey_ex(type, NULL, &p, len, NULL, NULL);
    if (!key)
        return mt_fail(MT_ERR_INVALID, "%s: corrupt or truncated: %s %s", k->pool->name, k->what,
                       cipher.cipher ? "decrypts but does not decode" : "does not decode");
    return add_key(k, key, origin);
}

mt_status mt_pem_load_key(mt_cert_pool *pool, const char *label, const char *header,
                          unsigned char *der, long der_len, size_t block, const char *password,
                          size_t password_len)
{
    char origin[96], what[128];
    snprintf(origin, sizeof(origin), "PEM block %zu (%s)", block, label);
    snprintf(what, sizeof(what), "the private key in %s", origin);
    pem_key k = {pool, what, password, password_len};
    mt_status st;
    ERR_clear_error();
    if (password_len > 1024)
        st = mt_fail(MT_ERR_INVALID, "%s: password too long", pool->name);
    else if (strcmp(label, "PRIVATE KEY") == 0)
        st = load_pkcs8(&k, der, der_len, origin);
    else if (strcmp(label, "ENCRYPTED PRIVATE KEY") == 0)
        st = load_encrypted_pkcs8(&k, der, der_len, origin);
    else
        st = load_traditional(&k, label, header, der, der_len, origin);
    ERR_clear_error();
    return st;
}
