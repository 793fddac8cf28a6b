/* Session objects (secret keys an application derives, unwraps or creates)
 * belong to the application on a token, not to one session: NSS derives a
 * key in one session and unwraps with it in another.  Kept per slot, sorted
 * by handle (handles only grow); a session's objects go when it closes,
 * private ones when the user logs out.  Called with the module lock held. */
#include "module.h"

#include <stdlib.h>
#include <string.h>

static size_t position(const mt_slot *slot, CK_OBJECT_HANDLE handle)
{
    size_t lo = 0, hi = slot->n_session_objects;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (slot->session_objects[mid]->handle < handle)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

CK_RV mt_session_object_add(mt_session *s, mt_object *object, CK_OBJECT_HANDLE *out)
{
    mt_slot *slot = s->slot;
    if (s->closed) /* while a derivation ran without the lock */
        return CKR_SESSION_CLOSED;
    if (slot->n_session_objects == slot->cap_session_objects) {
        size_t cap = slot->cap_session_objects ? slot->cap_session_objects * 2 : 8;
        mt_object **grown = realloc(slot->session_objects, cap * sizeof(*grown));
        if (!grown)
            return CKR_HOST_MEMORY;
        slot->session_objects = grown;
        slot->cap_session_objects = cap;
    }
    object->handle = MT_SESSION_OBJECT_BIT | (++mt_g.next_session_object & 0x7fffffffUL);
    object->owner = s->handle;
    mt_attr_sort(&object->attrs);
    /* the counter wraps after 2^31 objects: keep the order anyway */
    size_t pos = position(slot, object->handle);
    memmove(&slot->session_objects[pos + 1], &slot->session_objects[pos],
            (slot->n_session_objects - pos) * sizeof(*slot->session_objects));
    slot->session_objects[pos] = object;
    slot->n_session_objects++;
    *out = object->handle;
    return CKR_OK;
}

mt_object *mt_session_object_find(const mt_slot *slot, CK_OBJECT_HANDLE handle)
{
    size_t pos = position(slot, handle);
    if (pos < slot->n_session_objects && slot->session_objects[pos]->handle == handle)
        return slot->session_objects[pos];
    return NULL;
}

void mt_session_object_destroy(mt_slot *slot, mt_object *object)
{
    size_t pos = position(slot, object->handle);
    if (pos < slot->n_session_objects && slot->session_objects[pos] == object) {
        memmove(&slot->session_objects[pos], &slot->session_objects[pos + 1],
                (slot->n_session_objects - pos - 1) * sizeof(*slot->session_objects));
        slot->n_session_objects--;
    }
    mt_object_free(object);
}

void mt_session_objects_drop(mt_slot *slot, CK_SESSION_HANDLE owner)
{
    size_t kept = 0;
    for (size_t i = 0; i < slot->n_session_objects; i++) {
        mt_object *object = slot->session_objects[i];
        bool goes = owner ? object->owner == owner : object->is_private;
        if (goes)
            mt_object_free(object);
        else
            slot->session_objects[kept++] = object;
    }
    slot->n_session_objects = kept;
}

void mt_session_objects_free(mt_slot *slot)
{
    for (size_t i = 0; i < slot->n_session_objects; i++)
        mt_object_free(slot->session_objects[i]);
    free(slot->session_objects);
    slot->session_objects = NULL;
    slot->n_session_objects = slot->cap_session_objects = 0;
}
