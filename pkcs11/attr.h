/* Attribute lists of objects and the caller templates read into them (attr.c). */
#ifndef MT_PKCS11_ATTR_H
#define MT_PKCS11_ATTR_H

#include "pkcs11_v3.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mt_attr {
    CK_ATTRIBUTE_TYPE type;
    uint8_t *value; /* NULL with len 0 for an empty value */
    CK_ULONG len;
    bool sensitive; /* never revealed: CKR_ATTRIBUTE_SENSITIVE */
} mt_attr;

typedef struct mt_attr_list {
    mt_attr *items; /* sorted by type once built */
    size_t n, cap;
} mt_attr_list;

CK_RV mt_attr_add(mt_attr_list *list, CK_ATTRIBUTE_TYPE type, const void *value, size_t len);
CK_RV mt_attr_add_bool(mt_attr_list *list, CK_ATTRIBUTE_TYPE type, bool value);
CK_RV mt_attr_add_ulong(mt_attr_list *list, CK_ATTRIBUTE_TYPE type, CK_ULONG value);
CK_RV mt_attr_add_sensitive(mt_attr_list *list, CK_ATTRIBUTE_TYPE type);
void mt_attr_sort(mt_attr_list *list);
const mt_attr *mt_attr_find(const mt_attr_list *list, CK_ATTRIBUTE_TYPE type);
bool mt_attr_bool(const mt_attr_list *list, CK_ATTRIBUTE_TYPE type);
void mt_attr_clear(mt_attr_list *list);
/* C_GetAttributeValue semantics for a whole template. */
CK_RV mt_attr_get(const mt_attr_list *list, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count);
/* True when every attribute of the template equals the object's. */
bool mt_attr_match(const mt_attr_list *list, const CK_ATTRIBUTE *tmpl, CK_ULONG count);
/* Reads a CK_BBOOL / CK_ULONG from a caller template (CKR_ATTRIBUTE_VALUE_INVALID on bad size). */
CK_RV mt_tmpl_bool(const CK_ATTRIBUTE *tmpl, CK_ULONG count, CK_ATTRIBUTE_TYPE type, bool *value,
                   bool *found);
CK_RV mt_tmpl_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG count, CK_ATTRIBUTE_TYPE type,
                    CK_ULONG *value, bool *found);
/* Replaces the value of an attribute the list has (CKR_ATTRIBUTE_TYPE_INVALID if not). */
CK_RV mt_attr_set(mt_attr_list *list, CK_ATTRIBUTE_TYPE type, const void *value, size_t len);
/* A copy of a whole list (sorted as the original). */
CK_RV mt_attr_copy(const mt_attr_list *from, mt_attr_list *to);
/* The value goes; the attribute answers CKR_ATTRIBUTE_SENSITIVE from now on. */
void mt_attr_make_sensitive(mt_attr_list *list, CK_ATTRIBUTE_TYPE type);

#endif
