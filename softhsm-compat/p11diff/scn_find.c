/* C_FindObjects with the templates NSS, libp11, pkcs11-provider and p11tool use. */
#include "p11diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static CK_OBJECT_CLASS cls_cert = CKO_CERTIFICATE, cls_pub = CKO_PUBLIC_KEY,
                       cls_priv = CKO_PRIVATE_KEY, cls_secret = CKO_SECRET_KEY;
static CK_CERTIFICATE_TYPE x509 = CKC_X_509;
static CK_BBOOL yes = CK_TRUE;

/* Records how many objects of each class a template finds. */
static void note_find(p11d_ctx *ctx, CK_SESSION_HANDLE s, const char *key, CK_ATTRIBUTE *tmpl,
                      CK_ULONG n)
{
    CK_OBJECT_HANDLE *found = NULL;
    CK_ULONG count = 0;
    CK_RV rv = p11d_find(ctx, s, tmpl, n, &found, &count);
    if (rv != CKR_OK) {
        p11d_note_rv(ctx->log, key, rv);
        return;
    }
    size_t per_class[5] = { 0 };
    for (CK_ULONG i = 0; i < count; i++) {
        CK_OBJECT_CLASS cls = (CK_OBJECT_CLASS)-1;
        p11d_get_ulong(ctx, s, found[i], CKA_CLASS, &cls);
        per_class[cls <= CKO_SECRET_KEY ? cls : 4]++;
    }
    free(found);
    p11d_note(ctx->log, key, "data=%zu cert=%zu pub=%zu priv=%zu other=%zu", per_class[0],
              per_class[1], per_class[2], per_class[3], per_class[4]);
}

/* Templates keyed by what the first certificate of the token carries. */
static void find_by_cert(p11d_ctx *ctx, CK_SESSION_HANDLE s, const char *when)
{
    CK_OBJECT_HANDLE *certs = NULL;
    CK_ULONG n = 0;
    CK_ATTRIBUTE by_class[] = { { CKA_CLASS, &cls_cert, sizeof(cls_cert) } };
    if (p11d_find(ctx, s, by_class, 1, &certs, &n) != CKR_OK || n == 0) {
        free(certs);
        return;
    }
    /* The first certificate in a stable order: the one with the smallest value. */
    unsigned char *id = NULL, *issuer = NULL, *serial = NULL, *label = NULL, *value = NULL;
    unsigned char *best = NULL;
    CK_ULONG id_len = 0, issuer_len = 0, serial_len = 0, label_len = 0, best_len = 0, len = 0;
    CK_OBJECT_HANDLE pick = certs[0];
    for (CK_ULONG i = 0; i < n; i++) {
        if (p11d_get_attr(ctx, s, certs[i], CKA_VALUE, &value, &len) != CKR_OK)
            continue;
        if (!best || len < best_len || (len == best_len && memcmp(value, best, len) < 0)) {
            free(best);
            best = value;
            best_len = len;
            pick = certs[i];
        } else {
            free(value);
        }
    }
    free(best);
    free(certs);
    char key[128];
    p11d_get_attr(ctx, s, pick, CKA_ID, &id, &id_len);
    p11d_get_attr(ctx, s, pick, CKA_ISSUER, &issuer, &issuer_len);
    p11d_get_attr(ctx, s, pick, CKA_SERIAL_NUMBER, &serial, &serial_len);
    p11d_get_attr(ctx, s, pick, CKA_LABEL, &label, &label_len);

    /* NSS: key for a certificate by CKA_ID; decrypt by issuer and serial. */
    CK_ATTRIBUTE priv_by_id[] = { { CKA_CLASS, &cls_priv, sizeof(cls_priv) },
                                  { CKA_ID, id, id_len } };
    snprintf(key, sizeof(key), "find.%s.nss_private_key_by_id", when);
    note_find(ctx, s, key, priv_by_id, 2);
    CK_ATTRIBUTE pub_by_id[] = { { CKA_CLASS, &cls_pub, sizeof(cls_pub) }, { CKA_ID, id, id_len } };
    snprintf(key, sizeof(key), "find.%s.public_key_by_id", when);
    note_find(ctx, s, key, pub_by_id, 2);
    CK_ATTRIBUTE by_issuer_serial[] = { { CKA_CLASS, &cls_cert, sizeof(cls_cert) },
                                        { CKA_ISSUER, issuer, issuer_len },
                                        { CKA_SERIAL_NUMBER, serial, serial_len } };
    snprintf(key, sizeof(key), "find.%s.nss_cert_by_issuer_serial", when);
    note_find(ctx, s, key, by_issuer_serial, 3);
    CK_ATTRIBUTE any_by_id[] = { { CKA_ID, id, id_len } };
    snprintf(key, sizeof(key), "find.%s.any_by_id", when);
    note_find(ctx, s, key, any_by_id, 1);
    /* pkcs11-provider and p11tool select by label (the URI's object=). */
    CK_ATTRIBUTE by_label[] = { { CKA_LABEL, label, label_len } };
    snprintf(key, sizeof(key), "find.%s.any_by_label", when);
    note_find(ctx, s, key, by_label, 1);
    free(id);
    free(issuer);
    free(serial);
    free(label);
}

static void find_error_paths(p11d_ctx *ctx, CK_SESSION_HANDLE s)
{
    CK_OBJECT_HANDLE h[4];
    CK_ULONG got = 0;
    p11d_note_rv(ctx->log, "C_FindObjects.not_initialized", ctx->f->C_FindObjects(s, h, 4, &got));
    p11d_note_rv(ctx->log, "C_FindObjectsFinal.not_initialized", ctx->f->C_FindObjectsFinal(s));
    p11d_note_rv(ctx->log, "C_FindObjectsInit.rv", ctx->f->C_FindObjectsInit(s, NULL, 0));
    p11d_note_rv(ctx->log, "C_FindObjectsInit.twice", ctx->f->C_FindObjectsInit(s, NULL, 0));
    p11d_note_rv(ctx->log, "C_FindObjects.null_count", ctx->f->C_FindObjects(s, h, 4, NULL));
    p11d_note_rv(ctx->log, "C_FindObjectsFinal.rv", ctx->f->C_FindObjectsFinal(s));
    p11d_note_rv(ctx->log, "C_FindObjectsInit.null_template",
                 ctx->f->C_FindObjectsInit(s, NULL, 1));
    ctx->f->C_FindObjectsFinal(s);
    p11d_note_rv(ctx->log, "C_FindObjectsInit.bogus_session",
                 ctx->f->C_FindObjectsInit(0x7ffffff1UL, NULL, 0));
}

static void find_all(p11d_ctx *ctx, CK_SESSION_HANDLE s, const char *when)
{
    char key[128];
    CK_ATTRIBUTE token_certs[] = { { CKA_TOKEN, &yes, sizeof(yes) },
                                   { CKA_CLASS, &cls_cert, sizeof(cls_cert) } };
    CK_ATTRIBUTE x509_certs[] = { { CKA_CLASS, &cls_cert, sizeof(cls_cert) },
                                  { CKA_CERTIFICATE_TYPE, &x509, sizeof(x509) } };
    CK_ATTRIBUTE priv[] = { { CKA_CLASS, &cls_priv, sizeof(cls_priv) } };
    CK_ATTRIBUTE pub[] = { { CKA_CLASS, &cls_pub, sizeof(cls_pub) } };
    CK_ATTRIBUTE secret[] = { { CKA_CLASS, &cls_secret, sizeof(cls_secret) } };
    CK_ATTRIBUTE signers[] = { { CKA_CLASS, &cls_priv, sizeof(cls_priv) },
                               { CKA_SIGN, &yes, sizeof(yes) } };
    struct {
        const char *name;
        CK_ATTRIBUTE *tmpl;
        CK_ULONG n;
    } cases[] = {
        { "all", NULL, 0 },
        { "nss_token_certs", token_certs, 2 },
        { "x509_certs", x509_certs, 2 },
        { "private_keys", priv, 1 },
        { "public_keys", pub, 1 },
        { "secret_keys", secret, 1 },
        { "libp11_signing_keys", signers, 2 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(key, sizeof(key), "find.%s.%s", when, cases[i].name);
        note_find(ctx, s, key, cases[i].tmpl, cases[i].n);
    }
    find_by_cert(ctx, s, when);
}

bool p11d_scn_find(p11d_ctx *ctx)
{
    CK_SESSION_HANDLE s = 0;
    CK_RV rv = ctx->f->C_OpenSession(ctx->slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
    if (rv != CKR_OK)
        return false;
    find_all(ctx, s, "public");
    find_error_paths(ctx, s);
    rv = ctx->f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)ctx->pin, ctx->pin_len);
    p11d_note_rv(ctx->log, "find.login", rv);
    if (rv == CKR_OK) {
        find_all(ctx, s, "user");
        ctx->f->C_Logout(s);
    }
    ctx->f->C_CloseSession(s);
    return true;
}
