/* Objects and a token's object set: made, freed. */
#include "object.h"

#include "attr.h"
#include "crypto.h"

#include <stdlib.h>

mt_object *mt_object_new(CK_OBJECT_CLASS klass)
{
    mt_object *object = calloc(1, sizeof(*object));
    if (object)
        object->klass = klass;
    return object;
}

void mt_object_free(mt_object *object)
{
    if (!object)
        return;
    mt_attr_clear(&object->attrs);
    mt_key_unref(object->pub);
    mt_key_unref(object->priv);
    mt_keymem_free(object->value, object->value_len);
    free(object);
}

void mt_objects_free(mt_objects *objects)
{
    if (!objects)
        return;
    for (size_t i = 0; i < objects->n; i++)
        mt_object_free(objects->items[i]);
    free(objects->items);
    free(objects->by_number);
    mt_index_free(&objects->by_class);
    mt_index_free(&objects->by_id);
    mt_index_free(&objects->by_issuer_serial);
    mt_index_free(&objects->by_subject);
    free(objects);
}
