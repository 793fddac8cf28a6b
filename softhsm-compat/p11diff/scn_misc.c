/* Digests, random numbers, and writes (a provisioned token refuses them). */
#include "p11diff.h"

#include <stdlib.h>
#include <string.h>

bool p11d_scn_digest_random(p11d_ctx *ctx)
{
    static const char data[] = "abc";
    CK_SESSION_HANDLE s = 0;
    CK_RV rv = ctx->f->C_OpenSession(ctx->slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
    if (rv != CKR_OK)
        return false;
    CK_MECHANISM sha256 = { CKM_SHA256, NULL, 0 };
    unsigned char md[64];
    CK_ULONG md_len = sizeof(md);
    rv = ctx->f->C_DigestInit(s, &sha256);
    p11d_note_rv(ctx->log, "digest.sha256.init", rv);
    if (rv == CKR_OK) {
        rv = ctx->f->C_Digest(s, (CK_BYTE_PTR)data, 3, md, &md_len);
        p11d_note_rv(ctx->log, "digest.sha256.rv", rv);
        if (rv == CKR_OK)
            p11d_note_bytes(ctx->log, "digest.sha256.value", md, md_len);
    }
    rv = ctx->f->C_DigestInit(s, &sha256);
    if (rv == CKR_OK) {
        ctx->f->C_DigestUpdate(s, (CK_BYTE_PTR)data, 1);
        ctx->f->C_DigestUpdate(s, (CK_BYTE_PTR)data + 1, 2);
        md_len = sizeof(md);
        rv = ctx->f->C_DigestFinal(s, md, &md_len);
        p11d_note_rv(ctx->log, "digest.sha256.multipart.rv", rv);
        if (rv == CKR_OK)
            p11d_note_bytes(ctx->log, "digest.sha256.multipart.value", md, md_len);
    }
    md_len = sizeof(md);
    p11d_note_rv(ctx->log, "digest.not_initialized",
                 ctx->f->C_Digest(s, (CK_BYTE_PTR)data, 3, md, &md_len));

    unsigned char random[32] = { 0 }, zero[32] = { 0 };
    rv = ctx->f->C_GenerateRandom(s, random, sizeof(random));
    p11d_note(ctx->log, "random.32", "%s %s", p11d_rv_name(rv, (char[32]){ 0 }),
              memcmp(random, zero, sizeof(zero)) ? "nonzero" : "all-zero");
    p11d_note_rv(ctx->log, "random.seed", ctx->f->C_SeedRandom(s, random, sizeof(random)));
    CK_BYTE state[16];
    CK_ULONG state_len = sizeof(state);
    p11d_note_rv(ctx->log, "C_GetOperationState.nothing_active",
                 ctx->f->C_GetOperationState(s, state, &state_len));
    ctx->f->C_CloseSession(s);
    return true;
}

/* Token objects are the provisioning tool's job; session objects are any
 * client's.  Nothing here is left behind on the token. */
bool p11d_scn_write(p11d_ctx *ctx)
{
    CK_SESSION_HANDLE s = 0;
    CK_RV rv = p11d_open_user_session(ctx, &s);
    if (rv != CKR_OK)
        return false;
    CK_OBJECT_CLASS data = CKO_DATA;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    char label[] = "p11diff probe";
    CK_ATTRIBUTE token_obj[] = { { CKA_CLASS, &data, sizeof(data) },
                                 { CKA_TOKEN, &yes, sizeof(yes) },
                                 { CKA_LABEL, label, strlen(label) } };
    CK_ATTRIBUTE session_obj[] = { { CKA_CLASS, &data, sizeof(data) },
                                   { CKA_TOKEN, &no, sizeof(no) },
                                   { CKA_LABEL, label, strlen(label) } };
    CK_OBJECT_HANDLE h = 0;
    rv = ctx->f->C_CreateObject(s, token_obj, 3, &h);
    p11d_note_rv(ctx->log, "C_CreateObject.token_object", rv);
    if (rv == CKR_OK)
        p11d_note_rv(ctx->log, "C_DestroyObject.token_object", ctx->f->C_DestroyObject(s, h));
    rv = ctx->f->C_CreateObject(s, session_obj, 3, &h);
    p11d_note_rv(ctx->log, "C_CreateObject.session_object", rv);
    if (rv == CKR_OK)
        p11d_note_rv(ctx->log, "C_DestroyObject.session_object", ctx->f->C_DestroyObject(s, h));

    CK_MECHANISM gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    static const unsigned char p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
                                          0x3d, 0x03, 0x01, 0x07 };
    CK_ATTRIBUTE pub[] = { { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
                           { CKA_TOKEN, &yes, sizeof(yes) } };
    CK_ATTRIBUTE priv[] = { { CKA_TOKEN, &yes, sizeof(yes) } };
    CK_OBJECT_HANDLE hpub = 0, hpriv = 0;
    rv = ctx->f->C_GenerateKeyPair(s, &gen, pub, 2, priv, 1, &hpub, &hpriv);
    p11d_note_rv(ctx->log, "C_GenerateKeyPair.token_ec", rv);
    if (rv == CKR_OK) {
        ctx->f->C_DestroyObject(s, hpub);
        ctx->f->C_DestroyObject(s, hpriv);
    }

    /* Rewriting a certificate's label with its own value changes nothing. */
    CK_OBJECT_CLASS cert = CKO_CERTIFICATE;
    CK_ATTRIBUTE by_class[] = { { CKA_CLASS, &cert, sizeof(cert) } };
    CK_OBJECT_HANDLE *found = NULL;
    CK_ULONG n = 0;
    if (p11d_find(ctx, s, by_class, 1, &found, &n) == CKR_OK && n > 0) {
        unsigned char *value = NULL;
        CK_ULONG len = 0;
        if (p11d_get_attr(ctx, s, found[0], CKA_LABEL, &value, &len) == CKR_OK) {
            CK_ATTRIBUTE same = { CKA_LABEL, value, len };
            p11d_note_rv(ctx->log, "C_SetAttributeValue.cert_label",
                         ctx->f->C_SetAttributeValue(s, found[0], &same, 1));
        }
        free(value);
        p11d_note_rv(ctx->log, "C_DestroyObject.bogus",
                     ctx->f->C_DestroyObject(s, 0x7ffffff2UL));
    }
    free(found);
    ctx->f->C_Logout(s);
    ctx->f->C_CloseSession(s);
    return true;
}
