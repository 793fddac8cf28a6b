/* Per-token object index: hash of (attribute, value) to object positions. */
#include "object.h"

#include "attr.h"

#include <stdlib.h>
#include <string.h>

uint64_t mt_index_hash(CK_ATTRIBUTE_TYPE type, const void *value, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)type;
    const uint8_t *p = value;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static CK_RV index_reserve(mt_index *index, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    index->keys = calloc(cap, sizeof(*index->keys));
    index->values = calloc(cap, sizeof(*index->values));
    index->cap = cap;
    return index->keys && index->values ? CKR_OK : CKR_HOST_MEMORY;
}

static void index_put(mt_index *index, uint64_t key, uint32_t position)
{
    size_t i = key & (index->cap - 1);
    while (index->values[i])
        i = (i + 1) & (index->cap - 1);
    index->keys[i] = key;
    index->values[i] = position + 1;
}

void mt_index_free(mt_index *index)
{
    free(index->keys);
    free(index->values);
    memset(index, 0, sizeof(*index));
}

static bool attr_hash(const mt_object *object, CK_ATTRIBUTE_TYPE type, uint64_t *h)
{
    const mt_attr *attr = mt_attr_find(&object->attrs, type);
    if (!attr || attr->sensitive)
        return false;
    *h = mt_index_hash(type, attr->value, attr->len);
    return true;
}

/* Issuer and serial together identify the certificate NSS decrypts with. */
uint64_t mt_index_pair(uint64_t issuer, uint64_t serial)
{
    return issuer * 0x9E3779B97F4A7C15ULL + serial;
}

CK_RV mt_objects_index(mt_objects *objects)
{
    mt_index *all[] = {&objects->by_class, &objects->by_id, &objects->by_issuer_serial,
                       &objects->by_subject};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (index_reserve(all[i], objects->n) != CKR_OK)
            return CKR_HOST_MEMORY;
    for (size_t i = 0; i < objects->n; i++) {
        const mt_object *object = objects->items[i];
        uint64_t h, s;
        if (attr_hash(object, CKA_CLASS, &h))
            index_put(&objects->by_class, h, (uint32_t)i);
        if (attr_hash(object, CKA_ID, &h))
            index_put(&objects->by_id, h, (uint32_t)i);
        if (attr_hash(object, CKA_SUBJECT, &h))
            index_put(&objects->by_subject, h, (uint32_t)i);
        if (attr_hash(object, CKA_ISSUER, &h) && attr_hash(object, CKA_SERIAL_NUMBER, &s))
            index_put(&objects->by_issuer_serial, mt_index_pair(h, s), (uint32_t)i);
    }
    return CKR_OK;
}

size_t mt_index_lookup(const mt_index *index, uint64_t key, uint32_t *positions, size_t max)
{
    size_t n = 0;
    if (!index->cap)
        return 0;
    for (size_t i = key & (index->cap - 1); index->values[i]; i = (i + 1) & (index->cap - 1))
        if (index->keys[i] == key && n < max)
            positions[n++] = index->values[i] - 1;
    return n;
}
