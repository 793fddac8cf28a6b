/* Session objects (secret keys an application derives, unwraps or creates)
 * belong to the application on a token, not to one session: NSS derives a
 * key in one session and unwraps with it in another.  Kept per slot, sorted
 * by handle (handles only grow); a session's objects go when it closes,
 * private ones when the user logs out.  Called with the module lock held. */
#include "token.h"

#include "attr.h"
#include "object.h"
#include "session.h"
#include "state.h"

#include <stdlib.h>
#include <string.h>

static size_t position(const mt_token_state *token, CK_OBJECT_HANDLE handle)
{
    size_t lo = 0, hi = token->n_session_objects;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (token->session_objects[mid]->handle < handle)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

CK_RV mt_session_object_add(mt_session *s, mt_object *object, CK_OBJECT_HANDLE *out)
{
    mt_token_state *token = s->token;
    if (s->closed) /* while a derivation ran without the lock */
        return CKR_SESSION_CLOSED;
    if (token->n_session_objects == token->cap_session_objects) {
        size_t cap = token->cap_session_objects ? token->cap_session_objects * 2 : 8;
        mt_object **grown = realloc(token->session_objects, cap * sizeof(*grown));
        if (!grown)
            return CKR_HOST_MEMORY;
        token->session_objects = grown;
        token->cap_session_objects = cap;
    }
    object->handle = MT_SESSION_OBJECT_BIT | (++mt_g.next_session_object & MT_SESSION_OBJECT_NUMBER_MASK);
    object->owner = s->handle;
    mt_attr_sort(&object->attrs);
    /* the counter wraps after 2^31 objects: keep the order anyway */
    size_t pos = position(token, object->handle);
    memmove(&token->session_objects[pos + 1], &token->session_objects[pos],
            (token->n_session_objects - pos) * sizeof(*token->session_objects));
    token->session_objects[pos] = object;
    token->n_session_objects++;
    *out = object->handle;
    return CKR_OK;
}

mt_object *mt_session_object_find(const mt_token_state *token, CK_OBJECT_HANDLE handle)
{
    size_t pos = position(token, handle);
    if (pos < token->n_session_objects && token->session_objects[pos]->handle == handle)
        return token->session_objects[pos];
    return NULL;
}

void mt_session_object_destroy(mt_token_state *token, mt_object *object)
{
    size_t pos = position(token, object->handle);
    if (pos < token->n_session_objects && token->session_objects[pos] == object) {
        memmove(&token->session_objects[pos], &token->session_objects[pos + 1],
                (token->n_session_objects - pos - 1) * sizeof(*token->session_objects));
        token->n_session_objects--;
    }
    mt_object_free(object);
}

void mt_session_objects_drop(mt_token_state *token, CK_SESSION_HANDLE owner)
{
    size_t kept = 0;
    for (size_t i = 0; i < token->n_session_objects; i++) {
        mt_object *object = token->session_objects[i];
        bool goes = owner ? object->owner == owner : object->is_private;
        if (goes)
            mt_object_free(object);
        else
            token->session_objects[kept++] = object;
    }
    token->n_session_objects = kept;
}

void mt_session_objects_free(mt_token_state *token)
{
    for (size_t i = 0; i < token->n_session_objects; i++)
        mt_object_free(token->session_objects[i]);
    free(token->session_objects);
    token->session_objects = NULL;
    token->n_session_objects = token->cap_session_objects = 0;
}
