/* Finding and naming token objects the same way on both modules. */
#include "p11diff.h"

#include <p11-kit/p11-kit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static bool label_matches(const CK_TOKEN_INFO *info, const char *label)
{
    size_t len = p11_kit_space_strlen(info->label, sizeof(info->label));
    while (len && info->label[len - 1] == '\0') /* labels may also be NUL-padded */
        len--;
    return strlen(label) == len && memcmp(info->label, label, len) == 0;
}

bool p11d_find_slot(CK_FUNCTION_LIST *f, const char *label, CK_SLOT_ID *slot)
{
    CK_SLOT_ID slots[512];
    CK_ULONG n = sizeof(slots) / sizeof(slots[0]);
    if (f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
        return false;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO info;
        if (f->C_GetTokenInfo(slots[i], &info) == CKR_OK && label_matches(&info, label)) {
            *slot = slots[i];
            return true;
        }
    }
    return false;
}

CK_RV p11d_find(p11d_ctx *ctx, CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                CK_OBJECT_HANDLE **out, CK_ULONG *count)
{
    CK_OBJECT_HANDLE *found = NULL;
    CK_ULONG total = 0, got = 0;
    *out = NULL;
    *count = 0;
    CK_RV rv = ctx->f->C_FindObjectsInit(session, tmpl, n);
    if (rv != CKR_OK)
        return rv;
    do {
        CK_OBJECT_HANDLE *grown = realloc(found, (total + 3) * sizeof(*found));
        if (!grown) {
            rv = CKR_HOST_MEMORY;
            break;
        }
        found = grown;
        rv = ctx->f->C_FindObjects(session, found + total, 3, &got);
        if (rv == CKR_OK)
            total += got;
    } while (rv == CKR_OK && got == 3);
    CK_RV rv_final = ctx->f->C_FindObjectsFinal(session);
    if (rv == CKR_OK)
        rv = rv_final;
    if (rv != CKR_OK) {
        free(found);
        return rv;
    }
    *out = found;
    *count = total;
    return CKR_OK;
}

CK_RV p11d_get_attr(p11d_ctx *ctx, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE obj,
                    CK_ATTRIBUTE_TYPE type, unsigned char **value, CK_ULONG *len)
{
    CK_ATTRIBUTE attr = { type, NULL, 0 };
    *value = NULL;
    *len = 0;
    CK_RV rv = ctx->f->C_GetAttributeValue(session, obj, &attr, 1);
    if (rv != CKR_OK)
        return rv;
    if (attr.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return CKR_GENERAL_ERROR; /* CKR_OK with no value breaks the specification */
    attr.pValue = calloc(1, attr.ulValueLen + 1);
    if (!attr.pValue)
        return CKR_HOST_MEMORY;
    rv = ctx->f->C_GetAttributeValue(session, obj, &attr, 1);
    if (rv != CKR_OK) {
        free(attr.pValue);
        return rv;
    }
    *value = attr.pValue;
    *len = attr.ulValueLen;
    return CKR_OK;
}

CK_RV p11d_get_ulong(p11d_ctx *ctx, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE obj,
                     CK_ATTRIBUTE_TYPE type, CK_ULONG *value)
{
    CK_ATTRIBUTE attr = { type, value, sizeof(*value) };
    return ctx->f->C_GetAttributeValue(session, obj, &attr, 1);
}

CK_RV p11d_open_user_session(p11d_ctx *ctx, CK_SESSION_HANDLE *session)
{
    CK_RV rv = ctx->f->C_OpenSession(ctx->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                                     session);
    if (rv != CKR_OK)
        return rv;
    rv = ctx->f->C_Login(*session, CKU_USER, (CK_UTF8CHAR_PTR)ctx->pin, ctx->pin_len);
    if (rv == CKR_USER_ALREADY_LOGGED_IN)
        rv = CKR_OK;
    if (rv != CKR_OK)
        ctx->f->C_CloseSession(*session);
    return rv;
}

static const char *class_prefix(CK_OBJECT_CLASS cls)
{
    switch (cls) {
    case CKO_CERTIFICATE: return "cert";
    case CKO_PUBLIC_KEY: return "pub";
    case CKO_PRIVATE_KEY: return "priv";
    case CKO_SECRET_KEY: return "secret";
    case CKO_DATA: return "data";
    case CKO_PROFILE: return "profile";
    default: return "other";
    }
}

static void describe(p11d_ctx *ctx, CK_SESSION_HANDLE session, p11d_object *obj)
{
    unsigned char *label = NULL, *id = NULL;
    CK_ULONG label_len = 0, id_len = 0;
    obj->cls = (CK_OBJECT_CLASS)-1;
    obj->key_type = (CK_KEY_TYPE)-1;
    p11d_get_ulong(ctx, session, obj->handle, CKA_CLASS, &obj->cls);
    if (obj->cls == CKO_PUBLIC_KEY || obj->cls == CKO_PRIVATE_KEY || obj->cls == CKO_SECRET_KEY)
        p11d_get_ulong(ctx, session, obj->handle, CKA_KEY_TYPE, &obj->key_type);
    if (p11d_get_attr(ctx, session, obj->handle, CKA_LABEL, &label, &label_len) != CKR_OK)
        label_len = 0;
    if (p11d_get_attr(ctx, session, obj->handle, CKA_ID, &id, &id_len) == CKR_OK &&
        id_len <= sizeof(obj->id)) {
        memcpy(obj->id, id, id_len);
        obj->id_len = id_len;
    }
    /* A key's name says its type, so that an accepted difference can name
     * the key types it is about ("priv/rsa:alice@example.org"). */
    const char *type = obj->key_type == CKK_RSA ? "/rsa" : obj->key_type == CKK_EC ? "/ec"
                       : obj->key_type == (CK_KEY_TYPE)-1 ? "" : "/other";
    snprintf(obj->name, sizeof(obj->name), "%s%s:%.*s", class_prefix(obj->cls), type,
             (int)label_len, label ? (const char *)label : "");
    free(label);
    free(id);
}

static int by_name(const void *a, const void *b)
{
    const p11d_object *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    c = memcmp(x->id, y->id, x->id_len < y->id_len ? x->id_len : y->id_len);
    return c ? c : (x->id_len > y->id_len) - (x->id_len < y->id_len);
}

/* Objects sharing a name (same class and label) are told apart by CKA_ID. */
static void disambiguate(p11d_object *objs, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (strcmp(objs[i].name, objs[i + 1].name) != 0)
            continue;
        for (size_t k = i; k < n && strcmp(objs[k].name, objs[i].name) == 0; k++) {
            size_t used = strlen(objs[k].name);
            for (CK_ULONG b = 0; b < objs[k].id_len && b < 4; b++)
                used += (size_t)snprintf(objs[k].name + used, sizeof(objs[k].name) - used,
                                         b ? "%02x" : "#%02x", objs[k].id[b]);
        }
    }
}

CK_RV p11d_list_objects(p11d_ctx *ctx, CK_SESSION_HANDLE session, p11d_object **out, size_t *n)
{
    CK_OBJECT_HANDLE *handles = NULL;
    CK_ULONG count = 0;
    *out = NULL;
    *n = 0;
    CK_RV rv = p11d_find(ctx, session, NULL, 0, &handles, &count);
    if (rv != CKR_OK)
        return rv;
    p11d_object *objs = calloc(count ? count : 1, sizeof(*objs));
    if (!objs) {
        free(handles);
        return CKR_HOST_MEMORY;
    }
    for (CK_ULONG i = 0; i < count; i++) {
        objs[i].handle = handles[i];
        describe(ctx, session, &objs[i]);
    }
    free(handles);
    qsort(objs, count, sizeof(*objs), by_name);
    disambiguate(objs, count);
    *out = objs;
    *n = count;
    return CKR_OK;
}

const p11d_object *p11d_cert_for(const p11d_object *objs, size_t n, const p11d_object *key)
{
    for (size_t i = 0; i < n; i++)
        if (objs[i].cls == CKO_CERTIFICATE && objs[i].id_len == key->id_len &&
            memcmp(objs[i].id, key->id, key->id_len) == 0)
            return &objs[i];
    return NULL;
}
