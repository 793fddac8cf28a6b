/* C_GetAttributeValue as clients call it: size query, then value; sensitive
 * values, buffers too small, unknown attributes, several at once. */
#include "p11diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { A_BOOL, A_ULONG, A_BYTES } attr_kind;

typedef struct attr_desc {
    CK_ATTRIBUTE_TYPE type;
    const char *name;
    attr_kind kind;
} attr_desc;

#define B(x) { x, #x, A_BOOL }
#define U(x) { x, #x, A_ULONG }
#define Y(x) { x, #x, A_BYTES }

static const attr_desc common_attrs[] = {
    U(CKA_CLASS), B(CKA_TOKEN), B(CKA_PRIVATE), B(CKA_MODIFIABLE), Y(CKA_LABEL),
    B(CKA_COPYABLE), B(CKA_DESTROYABLE), Y(CKA_UNIQUE_ID),
};
static const attr_desc cert_attrs[] = {
    U(CKA_CERTIFICATE_TYPE), B(CKA_TRUSTED), U(CKA_CERTIFICATE_CATEGORY), Y(CKA_CHECK_VALUE),
    Y(CKA_START_DATE), Y(CKA_END_DATE), Y(CKA_PUBLIC_KEY_INFO), Y(CKA_SUBJECT), Y(CKA_ID),
    Y(CKA_ISSUER), Y(CKA_SERIAL_NUMBER), Y(CKA_VALUE), Y(CKA_URL),
    Y(CKA_HASH_OF_SUBJECT_PUBLIC_KEY), Y(CKA_HASH_OF_ISSUER_PUBLIC_KEY),
    U(CKA_JAVA_MIDP_SECURITY_DOMAIN), U(CKA_NAME_HASH_ALGORITHM),
};
static const attr_desc key_attrs[] = {
    U(CKA_KEY_TYPE), Y(CKA_ID), Y(CKA_START_DATE), Y(CKA_END_DATE), B(CKA_DERIVE), B(CKA_LOCAL),
    U(CKA_KEY_GEN_MECHANISM), Y(CKA_ALLOWED_MECHANISMS), Y(CKA_SUBJECT), Y(CKA_PUBLIC_KEY_INFO),
    Y(CKA_MODULUS), U(CKA_MODULUS_BITS), Y(CKA_PUBLIC_EXPONENT), Y(CKA_EC_PARAMS),
    Y(CKA_EC_POINT),
};
static const attr_desc pub_attrs[] = {
    B(CKA_ENCRYPT), B(CKA_VERIFY), B(CKA_VERIFY_RECOVER), B(CKA_WRAP), B(CKA_TRUSTED),
    Y(CKA_WRAP_TEMPLATE),
};
static const attr_desc priv_attrs[] = {
    B(CKA_SENSITIVE), B(CKA_DECRYPT), B(CKA_SIGN), B(CKA_SIGN_RECOVER), B(CKA_UNWRAP),
    B(CKA_EXTRACTABLE), B(CKA_ALWAYS_SENSITIVE), B(CKA_NEVER_EXTRACTABLE),
    B(CKA_WRAP_WITH_TRUSTED), Y(CKA_UNWRAP_TEMPLATE), B(CKA_ALWAYS_AUTHENTICATE),
    Y(CKA_PRIVATE_EXPONENT), Y(CKA_PRIME_1), Y(CKA_PRIME_2), Y(CKA_EXPONENT_1),
    Y(CKA_EXPONENT_2), Y(CKA_COEFFICIENT), Y(CKA_VALUE),
};
static const attr_desc profile_attrs[] = { U(CKA_PROFILE_ID) };

#undef B
#undef U
#undef Y

#define TABLE(t) t, sizeof(t) / sizeof((t)[0])

/* One attribute, read the way NSS and p11tool read it. */
static void note_attr(p11d_ctx *ctx, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
                      const attr_desc *d)
{
    CK_ATTRIBUTE attr = { d->type, NULL, 0 };
    char rvbuf[32];
    CK_RV rv = ctx->f->C_GetAttributeValue(s, obj, &attr, 1);
    if (rv != CKR_OK || attr.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
        p11d_note(ctx->log, d->name, "%s len=%s", p11d_rv_name(rv, rvbuf),
                  attr.ulValueLen == CK_UNAVAILABLE_INFORMATION ? "unavailable" : "set");
        return;
    }
    CK_ULONG size = attr.ulValueLen;
    attr.pValue = calloc(1, size + 1);
    if (!attr.pValue)
        return;
    rv = ctx->f->C_GetAttributeValue(s, obj, &attr, 1);
    if (rv != CKR_OK || attr.ulValueLen != size) {
        p11d_note(ctx->log, d->name, "value-read:%s len=%lu of %lu", p11d_rv_name(rv, rvbuf),
                  (unsigned long)attr.ulValueLen, (unsigned long)size);
    } else if (d->kind == A_BOOL && size == sizeof(CK_BBOOL)) {
        p11d_note(ctx->log, d->name, "%s", *(CK_BBOOL *)attr.pValue ? "true" : "false");
    } else if (d->kind == A_ULONG && size == sizeof(CK_ULONG)) {
        p11d_note(ctx->log, d->name, "%lu", (unsigned long)*(CK_ULONG *)attr.pValue);
    } else if (d->kind != A_BYTES) {
        p11d_note(ctx->log, d->name, "wrong-size len=%lu", (unsigned long)size);
    } else {
        p11d_note_bytes(ctx->log, d->name, attr.pValue, size);
    }
    free(attr.pValue);
}

static void note_attr_table(p11d_ctx *ctx, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
                            const attr_desc *table, size_t n)
{
    for (size_t i = 0; i < n; i++)
        note_attr(ctx, s, obj, &table[i]);
}

/* Error paths of C_GetAttributeValue on one object. */
static void attr_error_paths(p11d_ctx *ctx, CK_SESSION_HANDLE s, const p11d_object *obj)
{
    unsigned char *label = NULL;
    CK_ULONG label_len = 0;
    if (p11d_get_attr(ctx, s, obj->handle, CKA_LABEL, &label, &label_len) == CKR_OK &&
        label_len > 0) {
        CK_ATTRIBUTE small = { CKA_LABEL, label, label_len - 1 };
        CK_RV rv = ctx->f->C_GetAttributeValue(s, obj->handle, &small, 1);
        p11d_note(ctx->log, "CKA_LABEL.buffer_too_small", "%s len=%s",
                  p11d_rv_name(rv, (char[32]){ 0 }),
                  small.ulValueLen == CK_UNAVAILABLE_INFORMATION ? "unavailable"
                  : small.ulValueLen == label_len                ? "full-length"
                                                                 : "other");
    }
    free(label);

    CK_ATTRIBUTE unknown = { CKA_VENDOR_DEFINED | 0x4d54, NULL, 0 };
    CK_RV rv = ctx->f->C_GetAttributeValue(s, obj->handle, &unknown, 1);
    p11d_note(ctx->log, "CKA_vendor.unknown", "%s len=%s", p11d_rv_name(rv, (char[32]){ 0 }),
              unknown.ulValueLen == CK_UNAVAILABLE_INFORMATION ? "unavailable" : "set");

    /* Several at once, one of them unreadable: the others are still filled. */
    CK_OBJECT_CLASS cls = 0;
    CK_BBOOL token = CK_FALSE;
    CK_ATTRIBUTE several[] = { { CKA_CLASS, &cls, sizeof(cls) },
                               { CKA_VENDOR_DEFINED | 0x4d54, NULL, 0 },
                               { CKA_TOKEN, &token, sizeof(token) } };
    rv = ctx->f->C_GetAttributeValue(s, obj->handle, several, 3);
    p11d_note(ctx->log, "several_with_unknown", "%s class=%s token=%s",
              p11d_rv_name(rv, (char[32]){ 0 }), cls == obj->cls ? "filled" : "missing",
              token ? "true" : "false");
    p11d_note_rv(ctx->log, "C_GetAttributeValue.null_template",
                 ctx->f->C_GetAttributeValue(s, obj->handle, NULL, 1));
}

static void note_object(p11d_ctx *ctx, CK_SESSION_HANDLE s, const p11d_object *obj)
{
    p11d_scope_set(ctx->log, "%s/obj[%s]", ctx->label, obj->name);
    note_attr_table(ctx, s, obj->handle, TABLE(common_attrs));
    switch (obj->cls) {
    case CKO_CERTIFICATE:
        note_attr_table(ctx, s, obj->handle, TABLE(cert_attrs));
        break;
    case CKO_PUBLIC_KEY:
        note_attr_table(ctx, s, obj->handle, TABLE(key_attrs));
        note_attr_table(ctx, s, obj->handle, TABLE(pub_attrs));
        break;
    case CKO_PRIVATE_KEY:
        note_attr_table(ctx, s, obj->handle, TABLE(key_attrs));
        note_attr_table(ctx, s, obj->handle, TABLE(priv_attrs));
        break;
    case CKO_PROFILE:
        note_attr_table(ctx, s, obj->handle, TABLE(profile_attrs));
        break;
    default:
        break;
    }
    attr_error_paths(ctx, s, obj);
}

bool p11d_scn_attributes(p11d_ctx *ctx)
{
    CK_SESSION_HANDLE s = 0;
    p11d_object *objs = NULL;
    size_t n = 0;
    CK_RV rv = p11d_open_user_session(ctx, &s);
    p11d_note_rv(ctx->log, "attributes.login", rv);
    if (rv != CKR_OK)
        return false;
    rv = p11d_list_objects(ctx, s, &objs, &n);
    p11d_note_rv(ctx->log, "attributes.list", rv);
    for (size_t i = 0; i < n; i++)
        note_object(ctx, s, &objs[i]);
    p11d_scope_set(ctx->log, "%s", ctx->label);
    CK_ATTRIBUTE cls = { CKA_CLASS, NULL, 0 };
    p11d_note_rv(ctx->log, "C_GetAttributeValue.bogus_object",
                 ctx->f->C_GetAttributeValue(s, 0x7ffffff2UL, &cls, 1));
    /* A private key is out of sight once logged out. */
    for (size_t i = 0; i < n; i++) {
        if (objs[i].cls != CKO_PRIVATE_KEY)
            continue;
        ctx->f->C_Logout(s);
        CK_ATTRIBUTE id = { CKA_ID, NULL, 0 };
        p11d_note_rv(ctx->log, "C_GetAttributeValue.private_after_logout",
                     ctx->f->C_GetAttributeValue(s, objs[i].handle, &id, 1));
        break;
    }
    free(objs);
    ctx->f->C_Logout(s);
    ctx->f->C_CloseSession(s);
    return true;
}
