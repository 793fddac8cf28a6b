/* Signing, single- and multi-part, as NSS, libp11 and pkcs11-provider sign;
 * every signature is checked with the certificate's public key in OpenSSL. */
#include "keyops.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { IN_MESSAGE, IN_HASH, IN_DIGESTINFO } sign_input;

typedef struct sign_case {
    const char *name;
    CK_KEY_TYPE key_type;
    CK_MECHANISM_TYPE mech;
    sign_input input;
    bool pss_params;
    bool multipart;
    char padding; /* for p11d_verify_sha256 */
} sign_case;

static const sign_case sign_cases[] = {
    { "rsa_pkcs.digestinfo", CKK_RSA, CKM_RSA_PKCS, IN_DIGESTINFO, false, false, 'p' },
    { "sha256_rsa_pkcs", CKK_RSA, CKM_SHA256_RSA_PKCS, IN_MESSAGE, false, false, 'p' },
    { "sha256_rsa_pkcs.multipart", CKK_RSA, CKM_SHA256_RSA_PKCS, IN_MESSAGE, false, true, 'p' },
    { "rsa_pkcs_pss.hash", CKK_RSA, CKM_RSA_PKCS_PSS, IN_HASH, true, false, 's' },
    { "sha256_rsa_pkcs_pss.multipart", CKK_RSA, CKM_SHA256_RSA_PKCS_PSS, IN_MESSAGE, true, true,
      's' },
    { "ecdsa.hash", CKK_EC, CKM_ECDSA, IN_HASH, false, false, 'e' },
    { "ecdsa_sha256", CKK_EC, CKM_ECDSA_SHA256, IN_MESSAGE, false, false, 'e' },
    { "ecdsa_sha256.multipart", CKK_EC, CKM_ECDSA_SHA256, IN_MESSAGE, false, true, 'e' },
};

static CK_RSA_PKCS_PSS_PARAMS pss_sha256 = { CKM_SHA256, CKG_MGF1_SHA256, 32 };

/* What the module is given: the message, its hash, or a DigestInfo. */
static size_t sign_input_bytes(sign_input input, unsigned char *out)
{
    static const unsigned char sha256_prefix[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                   0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                   0x01, 0x05, 0x00, 0x04, 0x20 };
    const unsigned char *msg = (const unsigned char *)P11D_MSG;
    size_t msg_len = strlen(P11D_MSG);
    if (input == IN_MESSAGE) {
        memcpy(out, msg, msg_len);
        return msg_len;
    }
    size_t off = input == IN_DIGESTINFO ? sizeof(sha256_prefix) : 0;
    memcpy(out, sha256_prefix, off);
    SHA256(msg, msg_len, out + off);
    return off + 32;
}

/* Size query, buffer too small, then the signature; the operation ends. */
static CK_RV finish_single(p11d_ctx *ctx, const p11d_key *key, unsigned char *in, size_t in_len,
                           unsigned char *sig, CK_ULONG *sig_len)
{
    CK_SESSION_HANDLE s = key->session;
    CK_ULONG size = 0;
    CK_RV rv = ctx->f->C_Sign(s, in, in_len, NULL, &size);
    p11d_note(ctx->log, "size_query", "%s", p11d_rv_name(rv, (char[32]){ 0 }));
    if (rv != CKR_OK || size == 0 || size > *sig_len)
        return rv == CKR_OK ? CKR_GENERAL_ERROR : rv;
    CK_ULONG small = size - 1;
    rv = ctx->f->C_Sign(s, in, in_len, sig, &small);
    p11d_note(ctx->log, "buffer_too_small", "%s", p11d_rv_name(rv, (char[32]){ 0 }));
    *sig_len = size;
    if (rv == CKR_OK) /* the module signed into a short buffer: the operation is over */
        return CKR_GENERAL_ERROR;
    return ctx->f->C_Sign(s, in, in_len, sig, sig_len);
}

static CK_RV finish_multi(p11d_ctx *ctx, const p11d_key *key, unsigned char *in, size_t in_len,
                          unsigned char *sig, CK_ULONG *sig_len)
{
    CK_SESSION_HANDLE s = key->session;
    CK_RV rv = ctx->f->C_SignUpdate(s, in, in_len / 2);
    if (rv == CKR_OK)
        rv = ctx->f->C_SignUpdate(s, in + in_len / 2, in_len - in_len / 2);
    p11d_note(ctx->log, "update", "%s", p11d_rv_name(rv, (char[32]){ 0 }));
    if (rv != CKR_OK)
        return rv;
    CK_ULONG size = 0;
    rv = ctx->f->C_SignFinal(s, NULL, &size);
    p11d_note(ctx->log, "size_query", "%s", p11d_rv_name(rv, (char[32]){ 0 }));
    if (rv != CKR_OK || size == 0 || size > *sig_len)
        return rv == CKR_OK ? CKR_GENERAL_ERROR : rv;
    CK_ULONG small = size - 1;
    rv = ctx->f->C_SignFinal(s, sig, &small);
    p11d_note(ctx->log, "buffer_too_small", "%s", p11d_rv_name(rv, (char[32]){ 0 }));
    *sig_len = size;
    if (rv == CKR_OK)
        return CKR_GENERAL_ERROR;
    return ctx->f->C_SignFinal(s, sig, sig_len);
}

/* The module checks its own signature with its public key object. */
static void module_verify(p11d_ctx *ctx, const p11d_key *key, const sign_case *c,
                          CK_MECHANISM *mech, unsigned char *in, size_t in_len,
                          unsigned char *sig, CK_ULONG sig_len)
{
    if (!key->pub) {
        p11d_note(ctx->log, "module_verify", "no-public-key-object");
        return;
    }
    CK_RV rv = ctx->f->C_VerifyInit(key->session, mech, key->pub->handle);
    if (rv == CKR_OK && c->multipart) {
        rv = ctx->f->C_VerifyUpdate(key->session, in, in_len);
        if (rv == CKR_OK)
            rv = ctx->f->C_VerifyFinal(key->session, sig, sig_len);
    } else if (rv == CKR_OK) {
        rv = ctx->f->C_Verify(key->session, in, in_len, sig, sig_len);
    }
    p11d_note_rv(ctx->log, "module_verify", rv);
}

static void run_sign_case(p11d_ctx *ctx, const p11d_key *key, const sign_case *c)
{
    char scope[sizeof(ctx->log->scope)];
    memcpy(scope, ctx->log->scope, sizeof(scope));
    p11d_scope_set(ctx->log, "%s/sign.%s", scope, c->name);

    unsigned char in[256], sig[1024];
    size_t in_len = sign_input_bytes(c->input, in);
    CK_ULONG sig_len = sizeof(sig);
    CK_MECHANISM mech = { c->mech, c->pss_params ? &pss_sha256 : NULL,
                          c->pss_params ? sizeof(pss_sha256) : 0 };
    CK_RV rv = ctx->f->C_SignInit(key->session, &mech, key->priv->handle);
    p11d_note_rv(ctx->log, "init", rv);
    if (rv == CKR_OK) {
        rv = c->multipart ? finish_multi(ctx, key, in, in_len, sig, &sig_len)
                          : finish_single(ctx, key, in, in_len, sig, &sig_len);
        p11d_note_rv(ctx->log, "sign", rv);
        if (rv == CKR_OK) {
            bool ok = p11d_verify_sha256(key->cert_key, c->padding,
                                         (const unsigned char *)P11D_MSG, strlen(P11D_MSG), sig,
                                         sig_len);
            p11d_note(ctx->log, "openssl_verify", "%s", ok ? "verified" : "BAD SIGNATURE");
            p11d_note_rv(ctx->log, "after_final",
                         ctx->f->C_Sign(key->session, in, in_len, sig, &sig_len));
            module_verify(ctx, key, c, &mech, in, in_len, sig, sig_len);
        }
    }
    memcpy(ctx->log->scope, scope, sizeof(scope));
}

/* Ends whatever sign operation an error path may have left active. */
static void sign_reset(p11d_ctx *ctx, CK_SESSION_HANDLE s)
{
    unsigned char sig[1024];
    CK_ULONG len = sizeof(sig);
    unsigned char in[32] = { 0 };
    ctx->f->C_Sign(s, in, sizeof(in), sig, &len);
}

static void sign_error_paths(p11d_ctx *ctx, const p11d_key *key)
{
    CK_SESSION_HANDLE s = key->session;
    unsigned char in[32] = { 0 }, sig[1024];
    CK_ULONG len = sizeof(sig);
    bool rsa = key->priv->key_type == CKK_RSA;
    CK_MECHANISM native = { rsa ? CKM_RSA_PKCS : CKM_ECDSA, NULL, 0 };
    CK_MECHANISM foreign = { rsa ? CKM_ECDSA : CKM_RSA_PKCS, NULL, 0 };

    p11d_note_rv(ctx->log, "sign.not_initialized", ctx->f->C_Sign(s, in, sizeof(in), sig, &len));
    p11d_note_rv(ctx->log, "sign_update.not_initialized", ctx->f->C_SignUpdate(s, in, sizeof(in)));
    p11d_note_rv(ctx->log, "sign.foreign_mechanism",
                 ctx->f->C_SignInit(s, &foreign, key->priv->handle));
    sign_reset(ctx, s);
    p11d_note_rv(ctx->log, "sign.bogus_key", ctx->f->C_SignInit(s, &native, 0x7ffffff2UL));
    sign_reset(ctx, s);
    if (key->pub) {
        p11d_note_rv(ctx->log, "sign.with_public_key",
                     ctx->f->C_SignInit(s, &native, key->pub->handle));
        sign_reset(ctx, s);
    }
    p11d_note_rv(ctx->log, "sign.null_mechanism", ctx->f->C_SignInit(s, NULL, key->priv->handle));
    sign_reset(ctx, s);
    CK_RV rv = ctx->f->C_SignInit(s, &native, key->priv->handle);
    p11d_note_rv(ctx->log, "sign.init", rv);
    p11d_note_rv(ctx->log, "sign.init_twice", ctx->f->C_SignInit(s, &native, key->priv->handle));
    p11d_note_rv(ctx->log, "sign.null_length", ctx->f->C_Sign(s, in, sizeof(in), sig, NULL));
    sign_reset(ctx, s);
    if (rsa) {
        CK_MECHANISM pss_none = { CKM_RSA_PKCS_PSS, NULL, 0 };
        p11d_note_rv(ctx->log, "sign.pss_without_params",
                     ctx->f->C_SignInit(s, &pss_none, key->priv->handle));
        sign_reset(ctx, s);
        CK_RSA_PKCS_PSS_PARAMS bad = { 0, 0, 32 };
        CK_MECHANISM pss_bad = { CKM_RSA_PKCS_PSS, &bad, sizeof(bad) };
        p11d_note_rv(ctx->log, "sign.pss_zero_hash",
                     ctx->f->C_SignInit(s, &pss_bad, key->priv->handle));
        sign_reset(ctx, s);
    }
}

static void sign_key(p11d_ctx *ctx, const p11d_key *key)
{
    for (size_t i = 0; i < sizeof(sign_cases) / sizeof(sign_cases[0]); i++)
        if (sign_cases[i].key_type == key->priv->key_type)
            run_sign_case(ctx, key, &sign_cases[i]);
    sign_error_paths(ctx, key);
}

bool p11d_scn_sign(p11d_ctx *ctx)
{
    return p11d_for_each_key(ctx, sign_key);
}
