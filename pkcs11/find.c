/* C_FindObjects*: candidates from the token's index, then a full match. */
#include "calls.h"

#include "attr.h"
#include "call.h"
#include "object.h"
#include "session.h"

#include <stdlib.h>
#include <string.h>

static const CK_ATTRIBUTE *tmpl_get(const CK_ATTRIBUTE *tmpl, CK_ULONG count,
                                    CK_ATTRIBUTE_TYPE type)
{
    for (CK_ULONG i = 0; i < count; i++)
        if (tmpl[i].type == type && (tmpl[i].pValue || tmpl[i].ulValueLen == 0))
            return &tmpl[i];
    return NULL;
}

static uint64_t tmpl_hash(const CK_ATTRIBUTE *attr)
{
    return mt_index_hash(attr->type, attr->pValue, attr->ulValueLen);
}

static int position_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The most selective index the template allows; NULL index: every object. */
static size_t candidates(const mt_objects *objects, const CK_ATTRIBUTE *tmpl, CK_ULONG count,
                         uint32_t *positions)
{
    const CK_ATTRIBUTE *id = tmpl_get(tmpl, count, CKA_ID);
    const CK_ATTRIBUTE *issuer = tmpl_get(tmpl, count, CKA_ISSUER);
    const CK_ATTRIBUTE *serial = tmpl_get(tmpl, count, CKA_SERIAL_NUMBER);
    const CK_ATTRIBUTE *subject = tmpl_get(tmpl, count, CKA_SUBJECT);
    const CK_ATTRIBUTE *klass = tmpl_get(tmpl, count, CKA_CLASS);
    size_t n;
    if (id)
        n = mt_index_lookup(&objects->by_id, tmpl_hash(id), positions, objects->n);
    else if (issuer && serial)
        n = mt_index_lookup(&objects->by_issuer_serial,
                            mt_index_pair(tmpl_hash(issuer), tmpl_hash(serial)), positions,
                            objects->n);
    else if (subject)
        n = mt_index_lookup(&objects->by_subject, tmpl_hash(subject), positions, objects->n);
    else if (klass)
        n = mt_index_lookup(&objects->by_class, tmpl_hash(klass), positions, objects->n);
    else {
        for (n = 0; n < objects->n; n++)
            positions[n] = (uint32_t)n;
        return n;
    }
    qsort(positions, n, sizeof(*positions), position_cmp); /* stable order */
    return n;
}

CK_RV mt_find_init(mt_call *call, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count)
{
    mt_session *s = call->session;
    mt_objects *objects = NULL;
    uint32_t *positions = NULL;
    CK_RV rv;
    if (!tmpl && count > 0)
        return CKR_ARGUMENTS_BAD;
    if (s->find.active)
        return CKR_OPERATION_ACTIVE;
    rv = mt_token_objects(s->token, &objects);
    if (rv != CKR_OK)
        return rv;
    positions = malloc((objects->n + 1) * sizeof(*positions));
    s->find.handles = malloc((objects->n + s->token->n_session_objects + 1) *
                             sizeof(*s->find.handles));
    if (!positions || !s->find.handles) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    size_t n = candidates(objects, tmpl, count, positions);
    s->find.n = s->find.pos = 0;
    for (size_t i = 0; i < n; i++) {
        const mt_object *object = objects->items[positions[i]];
        if (mt_object_visible(s, object) && mt_attr_match(&object->attrs, tmpl, count))
            s->find.handles[s->find.n++] = object->handle;
    }
    for (size_t i = 0; i < s->token->n_session_objects; i++) {
        const mt_object *object = s->token->session_objects[i];
        if (mt_object_visible(s, object) && mt_attr_match(&object->attrs, tmpl, count))
            s->find.handles[s->find.n++] = object->handle;
    }
    s->find.active = true;
out:
    if (rv != CKR_OK) {
        free(s->find.handles);
        s->find.handles = NULL;
    }
    free(positions);
    return rv;
}

CK_RV mt_find_next(mt_call *call, CK_OBJECT_HANDLE_PTR out, CK_ULONG max, CK_ULONG_PTR count)
{
    mt_find_state *find = &call->session->find;
    if (!count || (!out && max > 0))
        return CKR_ARGUMENTS_BAD;
    if (!find->active)
        return CKR_OPERATION_NOT_INITIALIZED;
    CK_ULONG n = 0;
    while (n < max && find->pos < find->n)
        out[n++] = find->handles[find->pos++];
    *count = n;
    return CKR_OK;
}

CK_RV mt_find_final(mt_call *call)
{
    mt_find_state *find = &call->session->find;
    if (!find->active)
        return CKR_OPERATION_NOT_INITIALIZED;
    free(find->handles);
    memset(find, 0, sizeof(*find));
    return CKR_OK;
}
