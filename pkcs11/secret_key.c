/* Secret keys (CKO_SECRET_KEY: CKK_GENERIC_SECRET, CKK_AES) as session
 * objects, shaped by the caller's template under the specification's rules:
 * attributes the token alone sets are refused, CKA_TOKEN true meets the
 * write-protected token.  Defaults: sensitive and not extractable (the value
 * never leaves the module unless asked for), usable for every operation but
 * derivation, private while the user is logged in. */
#include "secret_key.h"

#include "attr.h"
#include "crypto.h"
#include "object.h"
#include "session.h"

#include <string.h>

#define MAX_VALUE_LEN 1024

static const CK_ATTRIBUTE_TYPE usages[7] = {CKA_ENCRYPT, CKA_DECRYPT, CKA_WRAP, CKA_UNWRAP,
                                            CKA_SIGN,    CKA_VERIFY,  CKA_DERIVE};
static const bool usage_default[7] = {true, true, true, true, true, true, false};

/* Set by the token alone. */
static const CK_ATTRIBUTE_TYPE token_set[] = {CKA_LOCAL, CKA_ALWAYS_SENSITIVE,
                                              CKA_NEVER_EXTRACTABLE, CKA_KEY_GEN_MECHANISM,
                                              CKA_UNIQUE_ID};

static bool in_list(const CK_ATTRIBUTE_TYPE *list, size_t n, CK_ATTRIBUTE_TYPE type)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == type)
            return true;
    return false;
}

static CK_RV read_bool(const CK_ATTRIBUTE *a, bool *out)
{
    if (!a->pValue || a->ulValueLen != sizeof(CK_BBOOL))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    *out = *(const CK_BBOOL *)a->pValue != CK_FALSE;
    return CKR_OK;
}

static CK_RV read_ulong(const CK_ATTRIBUTE *a, CK_ULONG *out)
{
    if (!a->pValue || a->ulValueLen != sizeof(CK_ULONG))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    memcpy(out, a->pValue, sizeof(*out));
    return CKR_OK;
}

/* Byte-string attributes: any length, a date empty or a CK_DATE, a
 * mechanism list whole CK_MECHANISM_TYPEs. */
static CK_RV read_bytes(const CK_ATTRIBUTE *a, const CK_ATTRIBUTE **out)
{
    if (a->ulValueLen && !a->pValue)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if ((a->type == CKA_START_DATE || a->type == CKA_END_DATE) && a->ulValueLen &&
        a->ulValueLen != sizeof(CK_DATE))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (a->type == CKA_ALLOWED_MECHANISMS && a->ulValueLen % sizeof(CK_MECHANISM_TYPE))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (a->ulValueLen > 65536)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    *out = a;
    return CKR_OK;
}

static bool *flag_of(mt_secret_tmpl *t, CK_ATTRIBUTE_TYPE type)
{
    switch (type) {
    case CKA_PRIVATE: return &t->is_private;
    case CKA_SENSITIVE: return &t->sensitive;
    case CKA_EXTRACTABLE: return &t->extractable;
    case CKA_MODIFIABLE: return &t->modifiable;
    case CKA_COPYABLE: return &t->copyable;
    case CKA_DESTROYABLE: return &t->destroyable;
    case CKA_WRAP_WITH_TRUSTED: return &t->wrap_with_trusted;
    default: break;
    }
    for (size_t i = 0; i < 7; i++)
        if (usages[i] == type)
            return &t->usage[i];
    return NULL;
}

static const CK_ATTRIBUTE **bytes_of(mt_secret_tmpl *t, CK_ATTRIBUTE_TYPE type)
{
    switch (type) {
    case CKA_LABEL: return &t->label;
    case CKA_ID: return &t->id;
    case CKA_START_DATE: return &t->start;
    case CKA_END_DATE: return &t->end;
    case CKA_ALLOWED_MECHANISMS: return &t->allowed;
    default: return NULL;
    }
}

static CK_RV read_one(mt_secret_tmpl *t, const CK_ATTRIBUTE *a, bool *private_given)
{
    CK_ULONG ulong = 0;
    bool b = false, *flag = flag_of(t, a->type);
    const CK_ATTRIBUTE **bytes = bytes_of(t, a->type);
    CK_RV rv = CKR_OK;
    if (flag) {
        rv = read_bool(a, flag);
        *private_given |= a->type == CKA_PRIVATE;
    } else if (bytes) {
        rv = read_bytes(a, bytes);
    } else if (in_list(token_set, sizeof(token_set) / sizeof(*token_set), a->type)) {
        rv = CKR_ATTRIBUTE_READ_ONLY;
    } else {
        switch (a->type) {
        case CKA_CLASS:
            rv = read_ulong(a, &ulong);
            if (rv == CKR_OK && ulong != CKO_SECRET_KEY)
                rv = CKR_TEMPLATE_INCONSISTENT;
            break;
        case CKA_KEY_TYPE:
            rv = read_ulong(a, &t->key_type);
            if (rv == CKR_OK && t->key_type != CKK_GENERIC_SECRET && t->key_type != CKK_AES)
                rv = CKR_ATTRIBUTE_VALUE_INVALID;
            t->has_key_type = true;
            break;
        case CKA_VALUE_LEN: /* the value says it when the key is created */
            rv = t->origin == MT_KEY_CREATED ? CKR_TEMPLATE_INCONSISTENT
                                             : read_ulong(a, &t->value_len);
            if (rv == CKR_OK && (t->value_len == 0 || t->value_len > MAX_VALUE_LEN))
                rv = CKR_ATTRIBUTE_VALUE_INVALID;
            t->has_len = true;
            break;
        case CKA_VALUE: /* made by the mechanism when derived or unwrapped */
            rv = t->origin == MT_KEY_CREATED ? read_bytes(a, &t->value) : CKR_TEMPLATE_INCONSISTENT;
            break;
        case CKA_TOKEN:
            rv = read_bool(a, &b);
            if (rv == CKR_OK && b)
                rv = CKR_TOKEN_WRITE_PROTECTED;
            break;
        case CKA_TRUSTED: /* the security officer's to set */
            rv = read_bool(a, &b);
            if (rv == CKR_OK && b)
                rv = CKR_ATTRIBUTE_READ_ONLY;
            break;
        default:
            rv = CKR_ATTRIBUTE_TYPE_INVALID;
        }
    }
    return rv;
}

CK_RV mt_secret_tmpl_read(const mt_session *s, const CK_ATTRIBUTE *tmpl, CK_ULONG count,
                          mt_key_origin origin, mt_secret_tmpl *t)
{
    bool private_given = false, logged_in = mt_need_user(s) == CKR_OK;
    memset(t, 0, sizeof(*t));
    t->origin = origin;
    t->key_type = CKK_GENERIC_SECRET;
    t->is_private = logged_in;
    t->sensitive = true;
    t->modifiable = t->copyable = t->destroyable = true;
    memcpy(t->usage, usage_default, sizeof(t->usage));
    for (CK_ULONG i = 0; i < count; i++) {
        CK_RV rv = read_one(t, &tmpl[i], &private_given);
        if (rv != CKR_OK)
            return rv;
    }
    if (private_given && t->is_private && !logged_in)
        return CKR_USER_NOT_LOGGED_IN;
    if (!t->has_key_type && origin != MT_KEY_DERIVED)
        return CKR_TEMPLATE_INCOMPLETE;
    if (t->has_len && t->key_type == CKK_AES && !mt_aes_key_len_ok(t->value_len))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (origin == MT_KEY_CREATED) {
        if (!t->value)
            return CKR_TEMPLATE_INCOMPLETE;
        size_t len = t->value->ulValueLen;
        if (len == 0 || len > MAX_VALUE_LEN ||
            (t->key_type == CKK_AES && !mt_aes_key_len_ok(len)))
            return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    return CKR_OK;
}

CK_RV mt_secret_tmpl_length(const mt_secret_tmpl *t, size_t available, size_t *len)
{
    if (t->has_len) {
        if (t->value_len > available)
            return CKR_TEMPLATE_INCONSISTENT;
        *len = t->value_len;
        return CKR_OK;
    }
    if (available == 0 || available > MAX_VALUE_LEN)
        return CKR_TEMPLATE_INCOMPLETE;
    if (t->key_type == CKK_AES && !mt_aes_key_len_ok(available))
        return CKR_TEMPLATE_INCOMPLETE;
    *len = available;
    return CKR_OK;
}

static CK_RV add_bytes(mt_attr_list *a, CK_ATTRIBUTE_TYPE type, const CK_ATTRIBUTE *given)
{
    return given ? mt_attr_add(a, type, given->pValue, given->ulValueLen)
                 : mt_attr_add(a, type, NULL, 0);
}

static CK_RV add_attributes(const mt_secret_tmpl *t, const mt_object *base, mt_object *object)
{
    mt_attr_list *a = &object->attrs;
    /* a derived key is always sensitive (never extractable) only if its base was */
    bool derived = t->origin == MT_KEY_DERIVED;
    bool always_sensitive = derived && base && mt_attr_bool(&base->attrs, CKA_ALWAYS_SENSITIVE) &&
                            t->sensitive;
    bool never_extractable = derived && base &&
                             mt_attr_bool(&base->attrs, CKA_NEVER_EXTRACTABLE) && !t->extractable;
    CK_RV rv = mt_attr_add_ulong(a, CKA_CLASS, CKO_SECRET_KEY);
    if (rv == CKR_OK) rv = mt_attr_add_ulong(a, CKA_KEY_TYPE, t->key_type);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_TOKEN, false);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_PRIVATE, t->is_private);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_MODIFIABLE, t->modifiable);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_COPYABLE, t->copyable);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_DESTROYABLE, t->destroyable);
    if (rv == CKR_OK) rv = add_bytes(a, CKA_LABEL, t->label);
    if (rv == CKR_OK) rv = add_bytes(a, CKA_ID, t->id);
    if (rv == CKR_OK) rv = add_bytes(a, CKA_START_DATE, t->start);
    if (rv == CKR_OK) rv = add_bytes(a, CKA_END_DATE, t->end);
    if (rv == CKR_OK) rv = add_bytes(a, CKA_ALLOWED_MECHANISMS, t->allowed);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_LOCAL, false);
    if (rv == CKR_OK) rv = mt_attr_add_ulong(a, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_SENSITIVE, t->sensitive);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_ALWAYS_SENSITIVE, always_sensitive);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_EXTRACTABLE, t->extractable);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_NEVER_EXTRACTABLE, never_extractable);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_WRAP_WITH_TRUSTED, t->wrap_with_trusted);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_TRUSTED, false);
    if (rv == CKR_OK) rv = mt_attr_add_ulong(a, CKA_VALUE_LEN, object->value_len);
    if (rv == CKR_OK && (t->sensitive || !t->extractable))
        rv = mt_attr_add_sensitive(a, CKA_VALUE);
    else if (rv == CKR_OK)
        rv = mt_attr_add(a, CKA_VALUE, object->value, object->value_len);
    for (size_t i = 0; rv == CKR_OK && i < 7; i++)
        rv = mt_attr_add_bool(a, usages[i], t->usage[i]);
    return rv;
}

CK_RV mt_secret_key_new(const mt_secret_tmpl *t, const mt_object *base, const uint8_t *value,
                        size_t len, mt_object **out)
{
    mt_object *object = mt_object_new(CKO_SECRET_KEY);
    CK_RV rv = CKR_HOST_MEMORY;
    if (!object)
        return rv;
    object->key_type = t->key_type;
    object->is_private = t->is_private;
    object->key_bits = (unsigned)(len * 8);
    if (!(object->value = mt_keymem_alloc(len)))
        goto out;
    memcpy(object->value, value, len);
    object->value_len = len;
    rv = add_attributes(t, base, object);
out:
    if (rv != CKR_OK)
        mt_object_free(object);
    else
        *out = object;
    return rv;
}
