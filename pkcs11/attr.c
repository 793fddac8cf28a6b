/* Attribute lists of objects and C_GetAttributeValue semantics. */
#include "attr.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

CK_RV mt_attr_add(mt_attr_list *list, CK_ATTRIBUTE_TYPE type, const void *value, size_t len)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        mt_attr *items = realloc(list->items, cap * sizeof(*items));
        if (!items)
            return CKR_HOST_MEMORY;
        list->items = items;
        list->cap = cap;
    }
    mt_attr *attr = &list->items[list->n];
    memset(attr, 0, sizeof(*attr));
    attr->type = type;
    if (len > 0) {
        attr->value = malloc(len);
        if (!attr->value)
            return CKR_HOST_MEMORY;
        memcpy(attr->value, value, len);
    }
    attr->len = len;
    list->n++;
    return CKR_OK;
}

CK_RV mt_attr_add_bool(mt_attr_list *list, CK_ATTRIBUTE_TYPE type, bool value)
{
    CK_BBOOL b = value ? CK_TRUE : CK_FALSE;
    return mt_attr_add(list, type, &b, sizeof(b));
}

CK_RV mt_attr_add_ulong(mt_attr_list *list, CK_ATTRIBUTE_TYPE type, CK_ULONG value)
{
    return mt_attr_add(list, type, &value, sizeof(value));
}

CK_RV mt_attr_add_sensitive(mt_attr_list *list, CK_ATTRIBUTE_TYPE type)
{
    CK_RV rv = mt_attr_add(list, type, NULL, 0);
    if (rv == CKR_OK)
        list->items[list->n - 1].sensitive = true;
    return rv;
}

static int attr_cmp(const void *a, const void *b)
{
    CK_ATTRIBUTE_TYPE x = ((const mt_attr *)a)->type, y = ((const mt_attr *)b)->type;
    return x < y ? -1 : x > y;
}

void mt_attr_sort(mt_attr_list *list)
{
    if (list->n > 1)
        qsort(list->items, list->n, sizeof(*list->items), attr_cmp);
}

const mt_attr *mt_attr_find(const mt_attr_list *list, CK_ATTRIBUTE_TYPE type)
{
    size_t lo = 0, hi = list->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (list->items[mid].type == type)
            return &list->items[mid];
        if (list->items[mid].type < type)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool mt_attr_bool(const mt_attr_list *list, CK_ATTRIBUTE_TYPE type)
{
    const mt_attr *attr = mt_attr_find(list, type);
    return attr && attr->len == sizeof(CK_BBOOL) && attr->value[0] == CK_TRUE;
}

void mt_attr_clear(mt_attr_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        OPENSSL_clear_free(list->items[i].value, list->items[i].len); /* session keys' values */
    free(list->items);
    memset(list, 0, sizeof(*list));
}

/* Every attribute of the template is handled; the worst error wins in the
 * order the specification gives (sensitive, invalid type, buffer too small). */
CK_RV mt_attr_get(const mt_attr_list *list, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count)
{
    CK_RV rv = CKR_OK;
    if (!tmpl && count > 0)
        return CKR_ARGUMENTS_BAD;
    for (CK_ULONG i = 0; i < count; i++) {
        const mt_attr *attr = mt_attr_find(list, tmpl[i].type);
        CK_RV this_rv = CKR_OK;
        if (!attr) {
            this_rv = CKR_ATTRIBUTE_TYPE_INVALID;
        } else if (attr->sensitive) {
            this_rv = CKR_ATTRIBUTE_SENSITIVE;
        } else if (!tmpl[i].pValue) {
            tmpl[i].ulValueLen = attr->len;
        } else if (tmpl[i].ulValueLen < attr->len) {
            this_rv = CKR_BUFFER_TOO_SMALL;
        } else {
            if (attr->len)
                memcpy(tmpl[i].pValue, attr->value, attr->len);
            tmpl[i].ulValueLen = attr->len;
        }
        if (this_rv != CKR_OK) {
            tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
            if (rv == CKR_OK)
                rv = this_rv;
        }
    }
    return rv;
}

bool mt_attr_match(const mt_attr_list *list, const CK_ATTRIBUTE *tmpl, CK_ULONG count)
{
    for (CK_ULONG i = 0; i < count; i++) {
        const mt_attr *attr = mt_attr_find(list, tmpl[i].type);
        if (!attr || attr->sensitive || attr->len != tmpl[i].ulValueLen)
            return false;
        if (attr->len && (!tmpl[i].pValue || memcmp(attr->value, tmpl[i].pValue, attr->len) != 0))
            return false;
    }
    return true;
}

static const CK_ATTRIBUTE *tmpl_find(const CK_ATTRIBUTE *tmpl, CK_ULONG count,
                                     CK_ATTRIBUTE_TYPE type)
{
    for (CK_ULONG i = 0; tmpl && i < count; i++)
        if (tmpl[i].type == type)
            return &tmpl[i];
    return NULL;
}

CK_RV mt_tmpl_bool(const CK_ATTRIBUTE *tmpl, CK_ULONG count, CK_ATTRIBUTE_TYPE type, bool *value,
                   bool *found)
{
    const CK_ATTRIBUTE *attr = tmpl_find(tmpl, count, type);
    *found = attr != NULL;
    if (!attr)
        return CKR_OK;
    if (!attr->pValue || attr->ulValueLen != sizeof(CK_BBOOL))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    *value = *(const CK_BBOOL *)attr->pValue != CK_FALSE;
    return CKR_OK;
}

CK_RV mt_tmpl_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG count, CK_ATTRIBUTE_TYPE type,
                    CK_ULONG *value, bool *found)
{
    const CK_ATTRIBUTE *attr = tmpl_find(tmpl, count, type);
    *found = attr != NULL;
    if (!attr)
        return CKR_OK;
    if (!attr->pValue || attr->ulValueLen != sizeof(CK_ULONG))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    memcpy(value, attr->pValue, sizeof(*value));
    return CKR_OK;
}

CK_RV mt_attr_set(mt_attr_list *list, CK_ATTRIBUTE_TYPE type, const void *value, size_t len)
{
    mt_attr *attr = (mt_attr *)mt_attr_find(list, type);
    uint8_t *copy = NULL;
    if (!attr)
        return CKR_ATTRIBUTE_TYPE_INVALID;
    if (len > 0 && !(copy = malloc(len)))
        return CKR_HOST_MEMORY;
    if (len > 0)
        memcpy(copy, value, len);
    OPENSSL_clear_free(attr->value, attr->len);
    attr->value = copy;
    attr->len = len;
    attr->sensitive = false;
    return CKR_OK;
}

void mt_attr_make_sensitive(mt_attr_list *list, CK_ATTRIBUTE_TYPE type)
{
    mt_attr *attr = (mt_attr *)mt_attr_find(list, type);
    if (!attr)
        return;
    OPENSSL_clear_free(attr->value, attr->len);
    attr->value = NULL;
    attr->len = 0;
    attr->sensitive = true;
}

CK_RV mt_attr_copy(const mt_attr_list *from, mt_attr_list *to)
{
    CK_RV rv = CKR_OK;
    memset(to, 0, sizeof(*to));
    for (size_t i = 0; rv == CKR_OK && i < from->n; i++) {
        const mt_attr *a = &from->items[i];
        rv = a->sensitive ? mt_attr_add_sensitive(to, a->type)
                          : mt_attr_add(to, a->type, a->value, a->len);
    }
    if (rv != CKR_OK)
        mt_attr_clear(to);
    return rv;
}
