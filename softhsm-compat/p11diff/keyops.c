/* Private keys paired with their certificates, and signature checks in OpenSSL. */
#include "keyops.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

static EVP_PKEY *cert_public_key(p11d_ctx *ctx, CK_SESSION_HANDLE s, const p11d_object *cert)
{
    unsigned char *der = NULL;
    CK_ULONG len = 0;
    EVP_PKEY *key = NULL;
    if (p11d_get_attr(ctx, s, cert->handle, CKA_VALUE, &der, &len) == CKR_OK) {
        const unsigned char *p = der;
        X509 *x = d2i_X509(NULL, &p, (long)len);
        if (x)
            key = X509_get_pubkey(x);
        X509_free(x);
    }
    free(der);
    return key;
}

static const p11d_object *public_for(const p11d_object *objs, size_t n, const p11d_object *priv)
{
    for (size_t i = 0; i < n; i++)
        if (objs[i].cls == CKO_PUBLIC_KEY && objs[i].id_len == priv->id_len &&
            memcmp(objs[i].id, priv->id, priv->id_len) == 0)
            return &objs[i];
    return NULL;
}

bool p11d_for_each_key(p11d_ctx *ctx, void (*fn)(p11d_ctx *ctx, const p11d_key *key))
{
    p11d_object *objs = NULL;
    size_t n = 0;
    CK_SESSION_HANDLE s = 0;
    CK_RV rv = p11d_open_user_session(ctx, &s);
    p11d_note_rv(ctx->log, "operations.login", rv);
    if (rv != CKR_OK)
        return false;
    rv = p11d_list_objects(ctx, s, &objs, &n);
    for (size_t i = 0; rv == CKR_OK && i < n; i++) {
        if (objs[i].cls != CKO_PRIVATE_KEY)
            continue;
        p11d_scope_set(ctx->log, "%s/op[%s]", ctx->label, objs[i].name);
        const p11d_object *cert = p11d_cert_for(objs, n, &objs[i]);
        p11d_key key = { .priv = &objs[i], .pub = public_for(objs, n, &objs[i]), .session = s };
        key.cert_key = cert ? cert_public_key(ctx, s, cert) : NULL;
        p11d_note(ctx->log, "certificate", "%s", key.cert_key ? "found" : "missing");
        if (key.cert_key)
            fn(ctx, &key);
        EVP_PKEY_free(key.cert_key);
    }
    p11d_scope_set(ctx->log, "%s", ctx->label);
    free(objs);
    ctx->f->C_Logout(s);
    ctx->f->C_CloseSession(s);
    return true;
}

/* r||s (as PKCS#11 returns ECDSA signatures) to the DER OpenSSL verifies. */
static unsigned char *ecdsa_der(const unsigned char *sig, size_t sig_len, size_t *der_len)
{
    unsigned char *der = NULL;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)(sig_len / 2), NULL);
    BIGNUM *s = BN_bin2bn(sig + sig_len / 2, (int)(sig_len / 2), NULL);
    if (es && r && s && ECDSA_SIG_set0(es, r, s)) {
        r = s = NULL;
        int len = i2d_ECDSA_SIG(es, &der);
        *der_len = len > 0 ? (size_t)len : 0;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return der;
}

bool p11d_verify_sha256(EVP_PKEY *key, char padding, const unsigned char *msg, size_t msg_len,
                        const unsigned char *sig, size_t sig_len)
{
    bool ok = false;
    unsigned char *der = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (padding == 'e' && (sig_len == 0 || sig_len % 2)) {
        goto out;
    }
    if (padding == 'e') {
        der = ecdsa_der(sig, sig_len, &sig_len);
        sig = der;
    }
    if (!md || !sig || EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, key) != 1)
        goto out;
    if (padding == 's' && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1 ||
                           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1))
        goto out;
    ok = EVP_DigestVerify(md, sig, sig_len, msg, msg_len) == 1;
out:
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    return ok;
}
