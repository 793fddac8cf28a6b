/* What the write-protected token still lets an application do: create,
 * copy and modify its own session objects (secret keys).  Token objects
 * belong to the store: CKR_TOKEN_WRITE_PROTECTED.  A change is checked in
 * full before any of it is made. */
#include "calls.h"

#include "attr.h"
#include "call.h"
#include "object.h"
#include "secret_key.h"
#include "session.h"
#include "token.h"

#include <string.h>

enum edit_kind { EDIT_SET, EDIT_COPY };

static CK_RV want_bool(const CK_ATTRIBUTE *a, bool *value)
{
    if (!a->pValue || a->ulValueLen != sizeof(CK_BBOOL))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    *value = *(const CK_BBOOL *)a->pValue != CK_FALSE;
    return CKR_OK;
}

static bool is_usage(CK_ATTRIBUTE_TYPE type)
{
    static const CK_ATTRIBUTE_TYPE usages[] = {CKA_ENCRYPT, CKA_DECRYPT, CKA_WRAP, CKA_UNWRAP,
                                               CKA_SIGN,    CKA_VERIFY,  CKA_DERIVE};
    for (size_t i = 0; i < sizeof(usages) / sizeof(*usages); i++)
        if (usages[i] == type)
            return true;
    return false;
}

/* Flags that only ever go one way: sensitive on, extractable off... */
static CK_RV one_way(const mt_object *o, CK_ATTRIBUTE_TYPE type, bool value)
{
    bool now = mt_attr_bool(&o->attrs, type);
    bool allowed_to = type == CKA_SENSITIVE || type == CKA_WRAP_WITH_TRUSTED;
    return value == now || value == allowed_to ? CKR_OK : CKR_ATTRIBUTE_READ_ONLY;
}

/* Checks one attribute of the template against the object (apply false),
 * or makes the change (apply true). */
static CK_RV edit_one(mt_session *s, mt_object *o, const CK_ATTRIBUTE *a, enum edit_kind kind,
                      bool apply)
{
    bool value = false;
    CK_RV rv = CKR_OK;
    switch (a->type) {
    case CKA_LABEL:
    case CKA_ID:
    case CKA_START_DATE:
    case CKA_END_DATE:
        if ((a->ulValueLen && !a->pValue) || a->ulValueLen > 65536 ||
            ((a->type == CKA_START_DATE || a->type == CKA_END_DATE) && a->ulValueLen &&
             a->ulValueLen != sizeof(CK_DATE)))
            return CKR_ATTRIBUTE_VALUE_INVALID;
        return apply ? mt_attr_set(&o->attrs, a->type, a->pValue, a->ulValueLen) : CKR_OK;
    case CKA_SENSITIVE:
    case CKA_EXTRACTABLE:
    case CKA_WRAP_WITH_TRUSTED:
    case CKA_COPYABLE:
        rv = want_bool(a, &value);
        if (rv == CKR_OK)
            rv = one_way(o, a->type, value);
        break;
    case CKA_TOKEN:
        rv = want_bool(a, &value);
        if (rv == CKR_OK && value != mt_attr_bool(&o->attrs, CKA_TOKEN))
            rv = kind == EDIT_COPY ? CKR_TOKEN_WRITE_PROTECTED : CKR_ATTRIBUTE_READ_ONLY;
        break;
    case CKA_PRIVATE:
    case CKA_MODIFIABLE:
    case CKA_DESTROYABLE: /* a copy may have them otherwise */
        rv = want_bool(a, &value);
        if (rv == CKR_OK && kind == EDIT_SET && value != mt_attr_bool(&o->attrs, a->type))
            rv = CKR_ATTRIBUTE_READ_ONLY;
        if (rv == CKR_OK && a->type == CKA_PRIVATE && value && mt_need_user(s) != CKR_OK)
            rv = CKR_USER_NOT_LOGGED_IN;
        break;
    default:
        if (is_usage(a->type))
            rv = want_bool(a, &value);
        else
            rv = mt_attr_find(&o->attrs, a->type) ? CKR_ATTRIBUTE_READ_ONLY
                                                  : CKR_ATTRIBUTE_TYPE_INVALID;
    }
    if (rv != CKR_OK || !apply)
        return rv;
    if (a->type == CKA_PRIVATE)
        o->is_private = value;
    CK_BBOOL b = value ? CK_TRUE : CK_FALSE;
    rv = mt_attr_set(&o->attrs, a->type, &b, sizeof(b));
    /* a key made sensitive or unextractable keeps its value to itself */
    if (rv == CKR_OK && (mt_attr_bool(&o->attrs, CKA_SENSITIVE) ||
                         !mt_attr_bool(&o->attrs, CKA_EXTRACTABLE)))
        mt_attr_make_sensitive(&o->attrs, CKA_VALUE);
    return rv;
}

static CK_RV edit(mt_session *s, mt_object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG count,
                  enum edit_kind kind)
{
    CK_RV rv = CKR_OK;
    for (CK_ULONG i = 0; rv == CKR_OK && i < count; i++)
        rv = edit_one(s, o, &tmpl[i], kind, false);
    for (CK_ULONG i = 0; rv == CKR_OK && i < count; i++)
        rv = edit_one(s, o, &tmpl[i], kind, true);
    return rv;
}

CK_RV mt_set_attribute_value(mt_call *call, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
                             CK_ULONG count)
{
    mt_object *object = NULL;
    CK_RV rv = mt_template_object(call->session, h, tmpl, count, &object);
    if (rv != CKR_OK)
        return rv;
    if (!(h & MT_SESSION_OBJECT_BIT))
        return CKR_TOKEN_WRITE_PROTECTED;
    if (!mt_attr_bool(&object->attrs, CKA_MODIFIABLE))
        return CKR_ACTION_PROHIBITED;
    return edit(call->session, object, tmpl, count, EDIT_SET);
}

CK_RV mt_copy_object(mt_call *call, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
                     CK_OBJECT_HANDLE_PTR out)
{
    mt_object *object = NULL, *copy = NULL;
    if (!out || (!tmpl && count > 0))
        return CKR_ARGUMENTS_BAD;
    if (mt_object_get(call->session, h, &object) != CKR_OK)
        return CKR_OBJECT_HANDLE_INVALID;
    if (!mt_attr_bool(&object->attrs, CKA_COPYABLE) || !object->value)
        return CKR_ACTION_PROHIBITED;
    CK_RV rv = CKR_HOST_MEMORY;
    if (!(copy = mt_object_new(object->klass)))
        goto out;
    copy->key_type = object->key_type;
    copy->is_private = object->is_private;
    copy->key_bits = object->key_bits;
    if (!(copy->value = mt_keymem_alloc(object->value_len)))
        goto out;
    memcpy(copy->value, object->value, object->value_len);
    copy->value_len = object->value_len;
    rv = mt_attr_copy(&object->attrs, &copy->attrs);
    if (rv == CKR_OK)
        rv = edit(call->session, copy, tmpl, count, EDIT_COPY);
    if (rv == CKR_OK)
        rv = mt_session_object_add(call->session, copy, out);
out:
    if (rv != CKR_OK)
        mt_object_free(copy);
    return rv;
}

/* The class and CKA_TOKEN decide first: a token object cannot be made here,
 * and a session object only if it is a secret key. */
static CK_RV creatable(const CK_ATTRIBUTE *tmpl, CK_ULONG count)
{
    CK_ULONG klass = 0;
    bool token = false, has_class = false, found = false;
    CK_RV rv = mt_tmpl_bool(tmpl, count, CKA_TOKEN, &token, &found);
    if (rv == CKR_OK)
        rv = mt_tmpl_ulong(tmpl, count, CKA_CLASS, &klass, &has_class);
    if (rv != CKR_OK)
        return rv;
    if (token)
        return CKR_TOKEN_WRITE_PROTECTED;
    if (!has_class)
        return CKR_TEMPLATE_INCOMPLETE;
    return klass == CKO_SECRET_KEY ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
}

CK_RV mt_create_object(mt_call *call, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
                       CK_OBJECT_HANDLE_PTR out)
{
    mt_secret_tmpl t;
    mt_object *object = NULL;
    if (!out || (!tmpl && count > 0))
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = creatable(tmpl, count);
    if (rv == CKR_OK)
        rv = mt_secret_tmpl_read(call->session, tmpl, count, MT_KEY_CREATED, &t);
    if (rv == CKR_OK)
        rv = mt_secret_key_new(&t, NULL, t.value->pValue, t.value->ulValueLen, &object);
    if (rv == CKR_OK)
        rv = mt_session_object_add(call->session, object, out);
    if (rv != CKR_OK)
        mt_object_free(object);
    return rv;
}
