/* PKCS#12 / PFX: integrity check, then a walk over every safe bag, so that a
 * file with several keys yields every key (PKCS12_parse keeps only one). */
#include "cert_internal.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <stdlib.h>
#include <string.h>

/* Integrity-check iterations beyond this are a denial of service, not a file. */
#define MAX_MAC_ITERATIONS 10000000L
#define MAX_BAG_DEPTH 4

typedef struct p12_password {
    const char *text; /* NULL: no password, distinct from "" as in OpenSSL */
    int len;
} p12_password;

/* One pass over the bags with one password. */
typedef struct p12_pass {
    const p12_password *pw;
    mt_decrypt_state state;
} p12_pass;

mt_openssl_failure mt_openssl_failure_kind(char *reason, size_t size)
{
    mt_openssl_failure kind = MT_OPENSSL_CORRUPT;
    unsigned long e;
    reason[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        int lib = ERR_GET_LIB(e), r = ERR_GET_REASON(e);
        const char *text = ERR_reason_error_string(e);
        if (text && !reason[0])
            snprintf(reason, size, "%s", text);
        if ((lib == ERR_LIB_EVP &&
             (r == EVP_R_UNKNOWN_PBE_ALGORITHM || r == EVP_R_UNSUPPORTED_CIPHER ||
              r == EVP_R_UNSUPPORTED_ALGORITHM || r == EVP_R_UNSUPPORTED_KEYLENGTH ||
              r == EVP_R_UNSUPPORTED_PRF || r == EVP_R_UNSUPPORTED_KEY_DERIVATION_FUNCTION ||
              r == EVP_R_UNSUPPORTED_PRIVATE_KEY_ALGORITHM || r == EVP_R_CIPHER_NOT_GCM_MODE)) ||
            (lib == ERR_LIB_PKCS12 && r == PKCS12_R_UNKNOWN_DIGEST_ALGORITHM) ||
            r == ERR_R_UNSUPPORTED || r == ERR_R_FETCH_FAILED) {
            kind = MT_OPENSSL_UNSUPPORTED;
            if (text)
                snprintf(reason, size, "%s", text);
        } else if (kind == MT_OPENSSL_CORRUPT &&
                   ((lib == ERR_LIB_PKCS12 && r == PKCS12_R_PKCS12_CIPHERFINAL_ERROR) ||
                    (lib == ERR_LIB_PEM && r == PEM_R_BAD_DECRYPT) ||
                    (lib == ERR_LIB_EVP &&
                     (r == EVP_R_BAD_DECRYPT || r == EVP_R_WRONG_FINAL_BLOCK_LENGTH)))) {
            kind = MT_OPENSSL_DECRYPT; /* bad padding: what a wrong password gives */
        }
    }
    return kind;
}

/* Strict UTF-16BE to UTF-8 (OpenSSL's own conversion falls back to Latin-1
 * on a lone surrogate).  Trailing NULs, which OpenSSL writes, are dropped. */
static char *bmp_to_utf8(const unsigned char *in, size_t len)
{
    while (len >= 2 && in[len - 2] == 0 && in[len - 1] == 0)
        len -= 2;
    if (len % 2 != 0)
        return NULL;
    char *out = malloc(len * 2 + 1); /* 2 bytes of UTF-16 -> at most 3 of UTF-8 */
    size_t n = 0;
    for (size_t i = 0; out && i < len; i += 2) {
        uint32_t cp = (uint32_t)in[i] << 8 | in[i + 1];
        if (cp >= 0xdc00 && cp <= 0xdfff)
            goto bad;
        if (cp >= 0xd800 && cp <= 0xdbff) {
            uint32_t lo = i + 3 < len ? ((uint32_t)in[i + 2] << 8 | in[i + 3]) : 0;
            if (lo < 0xdc00 || lo > 0xdfff)
                goto bad;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            i += 2;
        }
        if (cp == 0)
            goto bad;
        if (cp < 0x80) {
            out[n++] = (char)cp;
        } else if (cp < 0x800) {
            out[n++] = (char)(0xc0 | cp >> 6);
            out[n++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[n++] = (char)(0xe0 | cp >> 12);
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (char)(0x80 | (cp & 0x3f));
        } else {
            out[n++] = (char)(0xf0 | cp >> 18);
            out[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    if (out)
        out[n] = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

/* friendlyName as UTF-8: BMPString per PKCS#9, UTF8String from some tools. */
static mt_status bag_friendly_name(mt_cert_pool *pool, const PKCS12_SAFEBAG *bag, char **out)
{
    const ASN1_TYPE *attr = PKCS12_SAFEBAG_get0_attr(bag, NID_friendlyName);
    char *name = NULL;
    *out = NULL;
    if (!attr)
        return MT_OK;
    if (attr->type == V_ASN1_BMPSTRING) {
        const ASN1_STRING *s = attr->value.bmpstring;
        name = bmp_to_utf8(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
    } else if (attr->type == V_ASN1_UTF8STRING) {
        const ASN1_STRING *s = attr->value.utf8string;
        size_t len = (size_t)ASN1_STRING_length(s);
        if (mt_utf8_valid((const char *)ASN1_STRING_get0_data(s), len))
            name = strndup((const char *)ASN1_STRING_get0_data(s), len);
    }
    if (!name)
        return mt_fail(MT_ERR_INVALID, "%s: friendly name is not valid UTF-8 text", pool->name);
    if (!mt_utf8_valid(name, strlen(name))) {
        free(name);
        return mt_fail(MT_ERR_INVALID, "%s: friendly name is not valid UTF-8 text", pool->name);
    }
    *out = name;
    return MT_OK;
}

static ASN1_OCTET_STRING *bag_local_key_id(const PKCS12_SAFEBAG *bag)
{
    const ASN1_TYPE *attr = PKCS12_SAFEBAG_get0_attr(bag, NID_localKeyID);
    if (!attr || attr->type != V_ASN1_OCTET_STRING)
        return NULL;
    return ASN1_OCTET_STRING_dup(attr->value.octet_string);
}

mt_status mt_decrypt_failure(const char *name, const mt_decrypt_state *state, const char *what)
{
    char reason[160];
    mt_openssl_failure kind = mt_openssl_failure_kind(reason, sizeof(reason));
    if (kind == MT_OPENSSL_UNSUPPORTED)
        return mt_fail(MT_ERR_UNSUPPORTED, "%s: %s uses an algorithm this OpenSSL cannot do (%s)",
                       name, what, reason);
    if (state->mac_verified)
        return mt_fail(MT_ERR_INVALID, "%s: corrupt or truncated: the password is right (the "
                                       "integrity check verifies) but %s does not decrypt",
                       name, what);
    if (kind != MT_OPENSSL_DECRYPT)
        return mt_fail(MT_ERR_INVALID, "%s: corrupt or truncated: %s decrypts but does not "
                                       "decode", name, what);
    if (state->decrypted > 0)
        return mt_fail(MT_ERR_INVALID, "%s: corrupt or truncated: %s does not decrypt with the "
                                       "password that decrypts the rest", name, what);
    return mt_fail(MT_ERR_PASSWORD, "%s: wrong password (%s does not decrypt)", name, what);
}

/* A key whose algorithm this OpenSSL cannot read is named, not fatal. */
static mt_status unreadable_key(mt_cert_pool *pool, const PKCS12_SAFEBAG *bag,
                                const PKCS8_PRIV_KEY_INFO *p8)
{
    char *friendly = NULL;
    mt_status st = bag_friendly_name(pool, bag, &friendly);
    if (st != MT_OK)
        return st;
    return mt_pool_add_unreadable_p8(pool, p8, friendly, bag_local_key_id(bag));
}

static mt_status load_key_bag(mt_cert_pool *pool, const PKCS12_SAFEBAG *bag, p12_pass *pass)
{
    mt_status st = MT_OK;
    PKCS8_PRIV_KEY_INFO *shrouded = NULL;
    const PKCS8_PRIV_KEY_INFO *p8 = NULL;
    EVP_PKEY *key = NULL;
    char *friendly = NULL;

    if (PKCS12_SAFEBAG_get_nid(bag) == NID_pkcs8ShroudedKeyBag) {
        shrouded = PKCS12_decrypt_skey_ex(bag, pass->pw->text, pass->pw->len, NULL, NULL);
        if (!shrouded) {
            st = mt_decrypt_failure(pool->name, &pass->state, "the private key");
            goto out;
        }
        pass->state.decrypted++;
        p8 = shrouded;
    } else {
        p8 = PKCS12_SAFEBAG_get0_p8inf(bag);
    }
    key = p8 ? EVP_PKCS82PKEY(p8) : NULL;
    if (!key) {
        st = p8 ? unreadable_key(pool, bag, p8)
                : mt_fail(MT_ERR_INVALID, "%s: corrupt or truncated: a private key bag is empty",
                          pool->name);
        goto out;
    }
    st = bag_friendly_name(pool, bag, &friendly);
    if (st != MT_OK)
        goto out;
    st = mt_pool_add_key(pool, key, friendly, bag_local_key_id(bag));
    key = NULL;
    friendly = NULL;
out:
    PKCS8_PRIV_KEY_INFO_free(shrouded); /* clears the key octets */
    EVP_PKEY_free(key);
    free(friendly);
    return st;
}

static mt_status load_cert_bag(mt_cert_pool *pool, const PKCS12_SAFEBAG *bag)
{
    char *friendly = NULL;
    if (PKCS12_SAFEBAG_get_bag_nid(bag) != NID_x509Certificate)
        return mt_pool_warn(pool, "certificate bag of a type other than X.509: skipped");
    X509 *cert = PKCS12_SAFEBAG_get1_cert(bag);
    if (!cert)
        return mt_fail(MT_ERR_INVALID, "%s: corrupt certificate in the PKCS#12", pool->name);
    mt_status st = bag_friendly_name(pool, bag, &friendly);
    if (st != MT_OK) {
        X509_free(cert);
        return st;
    }
    return mt_pool_add_cert(pool, cert, friendly, bag_local_key_id(bag));
}

static mt_status load_bags(mt_cert_pool *pool, const STACK_OF(PKCS12_SAFEBAG) *bags,
                           p12_pass *pass, int depth)
{
    mt_status st = MT_OK;
    if (depth > MAX_BAG_DEPTH)
        return mt_fail(MT_ERR_INVALID, "%s: PKCS#12 bags nested too deep", pool->name);
    for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags) && st == MT_OK; i++) {
        const PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, i);
        switch (PKCS12_SAFEBAG_get_nid(bag)) {
        case NID_keyBag:
        case NID_pkcs8ShroudedKeyBag:
            st = load_key_bag(pool, bag, pass);
            break;
        case NID_certBag:
            st = load_cert_bag(pool, bag);
            break;
        case NID_safeContentsBag:
            st = load_bags(pool, PKCS12_SAFEBAG_get0_safes(bag), pass, depth + 1);
            break;
        default:
            st = mt_pool_warn(pool, "PKCS#12 bag of type %s skipped (not a key or certificate)",
                              OBJ_nid2sn(PKCS12_SAFEBAG_get_nid(bag)));
            break;
        }
    }
    return st;
}

/* One pass over the authenticated safe with one password. */
static mt_status load_authsafes(mt_cert_pool *pool, PKCS12 *p12, p12_pass *pass)
{
    mt_status st = MT_OK;
    STACK_OF(PKCS7) *safes = PKCS12_unpack_authsafes(p12);
    if (!safes) {
        st = mt_fail(MT_ERR_INVALID, "%s: corrupt or truncated PKCS#12 contents", pool->name);
        goto out;
    }
    for (int i = 0; i < sk_PKCS7_num(safes) && st == MT_OK; i++) {
        PKCS7 *p7 = sk_PKCS7_value(safes, i);
        STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
        int type = OBJ_obj2nid(p7->type);
        if (type == NID_pkcs7_data) {
            bags = PKCS12_unpack_p7data(p7);
            if (!bags)
                st = mt_fail(MT_ERR_INVALID, "%s: corrupt or truncated PKCS#12 contents",
                             pool->name);
        } else if (type == NID_pkcs7_encrypted) {
            bags = PKCS12_unpack_p7encdata(p7, pass->pw->text, pass->pw->len);
            if (!bags)
                st = mt_decrypt_failure(pool->name, &pass->state, "the certificate section");
            else
                pass->state.decrypted++;
        } else {
            st = mt_fail(MT_ERR_UNSUPPORTED, "%s: PKCS#12 content of type %s (public-key "
                                             "privacy mode) is not supported",
                         pool->name, OBJ_nid2sn(type));
        }
        if (st == MT_OK)
            st = load_bags(pool, bags, pass, 0);
        sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
    }
out:
    sk_PKCS7_pop_free(safes, PKCS7_free);
    ERR_clear_error();
    return st;
}

/* Verifies the MAC with the first candidate password that fits. */
static mt_status verify_mac(mt_cert_pool *pool, PKCS12 *p12, const p12_password *candidates,
                            size_t n, const p12_password **chosen)
{
    const X509_ALGOR *mac_alg = NULL;
    const ASN1_INTEGER *iterations = NULL;
    const ASN1_OBJECT *oid = NULL;
    char reason[160];

    PKCS12_get0_mac(NULL, &mac_alg, NULL, &iterations, p12);
    if (mac_alg)
        X509_ALGOR_get0(&oid, NULL, NULL, mac_alg);
    if (oid && OBJ_obj2nid(oid) == NID_pbmac1)
        return mt_fail(MT_ERR_UNSUPPORTED, "%s: the integrity check uses PBMAC1 (RFC 9579), "
                                           "which this OpenSSL version does not support",
                       pool->name);
    if (iterations && ASN1_INTEGER_get(iterations) > MAX_MAC_ITERATIONS)
        return mt_fail(MT_ERR_INVALID, "%s: integrity check iteration count %ld is beyond %ld",
                       pool->name, ASN1_INTEGER_get(iterations), MAX_MAC_ITERATIONS);
    for (size_t i = 0; i < n; i++) {
        ERR_clear_error();
        if (PKCS12_verify_mac(p12, candidates[i].text, candidates[i].len)) {
            *chosen = &candidates[i];
            return MT_OK;
        }
        /* A mismatch queues no error; failing to compute the MAC does. */
        if (ERR_peek_error() != 0) {
            char oid_text[80] = "unknown";
            if (oid)
                OBJ_obj2txt(oid_text, sizeof(oid_text), oid, 0);
            if (mt_openssl_failure_kind(reason, sizeof(reason)) == MT_OPENSSL_UNSUPPORTED)
                return mt_fail(MT_ERR_UNSUPPORTED, "%s: the integrity check algorithm %s is not "
                                                   "supported (%s)", pool->name, oid_text, reason);
            return mt_fail(MT_ERR_INVALID, "%s: the integrity check cannot be computed (%s)",
                           pool->name, reason[0] ? reason : "corrupt MAC data");
        }
    }
    return mt_fail(MT_ERR_PASSWORD, "%s: wrong password", pool->name);
}

mt_status mt_p12_load(mt_cert_pool *pool, const uint8_t *der, size_t len, const char *password,
                      size_t password_len)
{
    mt_status st = MT_OK;
    PKCS12 *p12 = NULL;
    p12_password candidates[2];
    size_t n_candidates = 0;
    const p12_password *chosen = NULL;

    if (password_len > INT_MAX / 4) {
        st = mt_fail(MT_ERR_INVALID, "%s: password too long", pool->name);
        goto out;
    }
    /* No password and the empty password derive different keys; tools mix
     * them up, so both are tried when either is given (as OpenSSL does). */
    if (password && password_len > 0) {
        candidates[n_candidates++] = (p12_password){password, (int)password_len};
    } else {
        p12_password none = {NULL, 0}, empty = {"", 0};
        candidates[n_candidates++] = password ? empty : none;
        candidates[n_candidates++] = password ? none : empty;
    }
    const unsigned char *p = der;
    p12 = d2i_PKCS12(NULL, &p, (long)len);
    if (!p12 || p != der + len) {
        st = mt_fail(MT_ERR_INVALID, "%s: corrupt or truncated PKCS#12 file", pool->name);
        goto out;
    }
    if (PKCS12_mac_present(p12)) {
        st = verify_mac(pool, p12, candidates, n_candidates, &chosen);
        p12_pass pass = {chosen, {.mac_verified = true}};
        if (st == MT_OK)
            st = load_authsafes(pool, p12, &pass);
        goto out;
    }
    /* No integrity check: the password that decrypts is the right one. */
    size_t n_warnings = pool->parsed->n_warnings;
    for (size_t i = 0; i < n_candidates; i++) {
        mt_pool_clear(pool);
        mt_pool_truncate_warnings(pool, n_warnings);
        p12_pass pass = {&candidates[i], {0}};
        st = load_authsafes(pool, p12, &pass);
        if (st != MT_ERR_PASSWORD)
            break;
    }
out:
    PKCS12_free(p12);
    ERR_clear_error();
    return st;
}
