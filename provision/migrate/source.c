/* Reading the source token: certificates and the private keys beside them. */
#include "migrate.h"

#include <p11-kit/p11-kit.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy_padded(char *out, size_t out_size, const unsigned char *field, size_t size)
{
    size_t len = p11_kit_space_strlen(field, size);
    while (len && field[len - 1] == '\0')
        len--;
    if (len >= out_size)
        len = out_size - 1;
    memcpy(out, field, len);
    out[len] = '\0';
}

/* As many whole bytes as fit (an id longer than the buffer is cut). */
static void to_hex(const unsigned char *data, size_t len, char *out, size_t out_size)
{
    if (len > (out_size - 1) / 2)
        len = (out_size - 1) / 2;
    sodium_bin2hex(out, out_size, data, len);
}

static mt_status warn(mt_mig_source *src, const char *fmt, ...)
{
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = vasprintf(&text, fmt, ap);
    va_end(ap);
    char **grown = len >= 0 ? realloc(src->warnings, (src->n_warnings + 1) * sizeof(char *)) : NULL;
    if (!grown) {
        free(len >= 0 ? text : NULL);
        return MT_ERR_NOMEM;
    }
    src->warnings = grown;
    src->warnings[src->n_warnings++] = text;
    return MT_OK;
}

/* One attribute in a fresh buffer (NUL-terminated); CKR code on failure. */
static CK_RV get_attr(mt_mig_source *src, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
                      unsigned char **value, CK_ULONG *len)
{
    CK_ATTRIBUTE attr = {type, NULL, 0};
    *value = NULL;
    *len = 0;
    CK_RV rv = src->f->C_GetAttributeValue(src->session, obj, &attr, 1);
    if (rv != CKR_OK)
        return rv;
    if (attr.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return CKR_ATTRIBUTE_SENSITIVE;
    if (!(attr.pValue = calloc(1, attr.ulValueLen + 1)))
        return CKR_HOST_MEMORY;
    rv = src->f->C_GetAttributeValue(src->session, obj, &attr, 1);
    if (rv != CKR_OK) {
        free(attr.pValue);
        return rv;
    }
    *value = attr.pValue;
    *len = attr.ulValueLen;
    return CKR_OK;
}

static CK_RV find_all(mt_mig_source *src, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                      CK_OBJECT_HANDLE **out, CK_ULONG *count)
{
    CK_OBJECT_HANDLE *found = NULL;
    CK_ULONG total = 0, got = 0;
    CK_RV rv = src->f->C_FindObjectsInit(src->session, tmpl, n);
    while (rv == CKR_OK) {
        CK_OBJECT_HANDLE *grown = realloc(found, (total + 64) * sizeof(*found));
        if (!grown) {
            rv = CKR_HOST_MEMORY;
            break;
        }
        found = grown;
        rv = src->f->C_FindObjects(src->session, found + total, 64, &got);
        if (rv != CKR_OK || got == 0)
            break;
        total += got;
    }
    src->f->C_FindObjectsFinal(src->session);
    if (rv != CKR_OK) {
        free(found);
        return rv;
    }
    *out = found;
    *count = total;
    return CKR_OK;
}

static mt_status ck_fail(mt_status status, CK_RV rv, const char *what)
{
    return mt_cli_set_error(status, "%s failed (%s)", what, p11_kit_strerror(rv));
}

static mt_status select_token(mt_mig_source *src, const char *module_path, const char *label)
{
    CK_SLOT_ID slots[1024];
    CK_ULONG n = sizeof(slots) / sizeof(slots[0]);
    CK_RV rv = src->f->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv != CKR_OK)
        return ck_fail(MT_ERR_IO, rv, "C_GetSlotList");
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO info;
        char found[33];
        if (src->f->C_GetTokenInfo(slots[i], &info) != CKR_OK)
            continue;
        copy_padded(found, sizeof(found), info.label, sizeof(info.label));
        if (strcmp(found, label) != 0)
            continue;
        strcpy(src->token_label, found);
        copy_padded(src->token_serial, sizeof(src->token_serial), info.serialNumber,
                    sizeof(info.serialNumber));
        copy_padded(src->token_manufacturer, sizeof(src->token_manufacturer),
                    info.manufacturerID, sizeof(info.manufacturerID));
        rv = src->f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL, NULL, &src->session);
        return rv == CKR_OK ? MT_OK : ck_fail(MT_ERR_IO, rv, "C_OpenSession");
    }
    return mt_cli_set_error(MT_ERR_NOT_FOUND, "--token: no token labelled \"%s\" in %s", label,
                            module_path);
}

static mt_status login(mt_mig_source *src, const mt_secret *pin)
{
    CK_RV rv = src->f->C_Login(src->session, CKU_USER, pin->data, pin->len);
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
        src->logged_in = rv == CKR_OK;
        return MT_OK;
    }
    if (rv == CKR_PIN_INCORRECT)
        return mt_cli_set_error(MT_ERR_PIN_INCORRECT, "token \"%s\": wrong PIN",
                                src->token_label);
    if (rv == CKR_PIN_LOCKED)
        return mt_cli_set_error(MT_ERR_PIN_LOCKED, "token \"%s\": PIN locked", src->token_label);
    return ck_fail(MT_ERR_PIN_INCORRECT, rv, "C_Login");
}

static mt_mig_item *find_item(mt_mig_source *src, const uint8_t sha256[32])
{
    for (size_t i = 0; i < src->n_items; i++)
        if (memcmp(src->items[i].cert->sha256, sha256, 32) == 0)
            return &src->items[i];
    return NULL;
}

/* One certificate object: parsed, labelled, de-duplicated by fingerprint. */
static mt_status read_cert(mt_mig_source *src, CK_OBJECT_HANDLE obj)
{
    unsigned char *der = NULL, *label = NULL, *id = NULL;
    CK_ULONG der_len = 0, label_len = 0, id_len = 0;
    mt_cert_info *info = NULL;
    mt_status st = MT_OK;
    get_attr(src, obj, CKA_LABEL, &label, &label_len);
    get_attr(src, obj, CKA_ID, &id, &id_len);
    char id_hex[129];
    to_hex(id, id_len, id_hex, sizeof(id_hex));
    CK_RV rv = get_attr(src, obj, CKA_VALUE, &der, &der_len);
    if (rv != CKR_OK) {
        st = warn(src, "certificate \"%s\" (id %s): cannot read CKA_VALUE (%s): skipped",
                  label ? (char *)label : "", id_hex, p11_kit_strerror(rv));
        goto out;
    }
    if (mt_cert_info_from_der(der, der_len, &info) != MT_OK) {
        st = warn(src, "certificate \"%s\" (id %s): %s: skipped", label ? (char *)label : "",
                  id_hex, mt_errmsg());
        goto out;
    }
    if (find_item(src, info->sha256))
        goto out;
    mt_mig_item *grown = realloc(src->items, (src->n_items + 1) * sizeof(*grown));
    if (!grown) {
        st = MT_ERR_NOMEM;
        goto out;
    }
    src->items = grown;
    mt_mig_item *item = &src->items[src->n_items++];
    memset(item, 0, sizeof(*item));
    item->cert = info;
    info = NULL;
    item->cert_label = label ? strdup((char *)label) : NULL;
    memcpy(item->id_hex, id_hex, sizeof(id_hex));
out:
    mt_cert_info_free(info);
    free(der);
    free(label);
    free(id);
    return st;
}

/* Pairs a private key object with every certificate of the same CKA_ID. */
static mt_status read_key(mt_mig_source *src, CK_OBJECT_HANDLE obj)
{
    unsigned char *label = NULL, *id = NULL;
    CK_ULONG label_len = 0, id_len = 0;
    mt_status st = MT_OK;
    get_attr(src, obj, CKA_LABEL, &label, &label_len);
    get_attr(src, obj, CKA_ID, &id, &id_len);
    char id_hex[129];
    to_hex(id, id_len, id_hex, sizeof(id_hex));
    bool paired = false;
    for (size_t i = 0; id_len > 0 && i < src->n_items && st == MT_OK; i++) {
        mt_mig_item *item = &src->items[i];
        if (strcmp(item->id_hex, id_hex) != 0 || item->key_handle)
            continue;
        item->key_handle = obj;
        free(item->key_label);
        if (label && !(item->key_label = strdup((char *)label)))
            st = MT_ERR_NOMEM;
        paired = true;
    }
    if (!paired && st == MT_OK)
        st = warn(src, "private key \"%s\" (id %s) has no certificate with its CKA_ID: skipped",
                  label ? (char *)label : "", id_hex[0] ? id_hex : "empty");
    free(label);
    free(id);
    return st;
}

static mt_status read_objects(mt_mig_source *src, CK_OBJECT_CLASS cls,
                              mt_status (*read)(mt_mig_source *, CK_OBJECT_HANDLE))
{
    CK_CERTIFICATE_TYPE x509 = CKC_X_509;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_CERTIFICATE_TYPE, &x509, sizeof(x509)}};
    CK_OBJECT_HANDLE *objs = NULL;
    CK_ULONG n = 0;
    CK_RV rv = find_all(src, tmpl, cls == CKO_CERTIFICATE ? 2 : 1, &objs, &n);
    if (rv != CKR_OK)
        return ck_fail(MT_ERR_IO, rv, "C_FindObjects");
    mt_status st = MT_OK;
    for (CK_ULONG i = 0; i < n && st == MT_OK; i++)
        st = read(src, objs[i]);
    free(objs);
    return st;
}

mt_status mt_mig_source_open(const char *module_path, const char *token_label,
                             const mt_secret *pin, mt_mig_source *src)
{
    memset(src, 0, sizeof(*src));
    src->f = p11_kit_module_load(module_path, P11_KIT_MODULE_UNMANAGED);
    if (!src->f)
        return mt_cli_set_error(MT_ERR_INVALID, "--from-module: %s: cannot load it: %s",
                                module_path, p11_kit_message() ? p11_kit_message() : "unknown");
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
    CK_RV rv = src->f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
        return ck_fail(MT_ERR_IO, rv, "C_Initialize");
    src->initialized = rv == CKR_OK;
    mt_status st = select_token(src, module_path, token_label);
    if (st == MT_OK && pin)
        st = login(src, pin);
    if (st == MT_OK)
        st = read_objects(src, CKO_CERTIFICATE, read_cert);
    if (st == MT_OK && pin)
        st = read_objects(src, CKO_PRIVATE_KEY, read_key);
    return st;
}

void mt_mig_source_close(mt_mig_source *src)
{
    for (size_t i = 0; i < src->n_items; i++) {
        mt_mig_item *item = &src->items[i];
        mt_cert_info_free(item->cert);
        free(item->cert_label);
        free(item->key_label);
        free(item->key_reason);
        mt_secret_free(item->pkcs8);
        free(item->email);
        free(item->error);
    }
    free(src->items);
    for (size_t i = 0; i < src->n_warnings; i++)
        free(src->warnings[i]);
    free(src->warnings);
    if (src->f) {
        if (src->logged_in)
            src->f->C_Logout(src->session);
        if (src->session)
            src->f->C_CloseSession(src->session);
        if (src->initialized)
            src->f->C_Finalize(NULL);
        p11_kit_module_release(src->f);
    }
    memset(src, 0, sizeof(*src));
}
