/* CKO_SECRET_KEY objects (CKK_GENERIC_SECRET, CKK_AES) from a caller's
 * template, with the defaults and rules of the specification (secret_key.c). */
#ifndef MT_PKCS11_SECRET_KEY_H
#define MT_PKCS11_SECRET_KEY_H

#include "object.h"
#include "pkcs11_v3.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mt_session mt_session;

typedef enum mt_key_origin { MT_KEY_DERIVED, MT_KEY_UNWRAPPED, MT_KEY_CREATED } mt_key_origin;
typedef struct mt_secret_tmpl {
    mt_key_origin origin;
    CK_KEY_TYPE key_type;
    bool has_key_type, has_len;
    CK_ULONG value_len;
    bool is_private, sensitive, extractable, modifiable, copyable, destroyable;
    bool wrap_with_trusted;
    bool usage[7];           /* CKA_ENCRYPT, DECRYPT, WRAP, UNWRAP, SIGN, VERIFY, DERIVE */
    const CK_ATTRIBUTE *label, *id, *start, *end, *allowed, *value;
} mt_secret_tmpl;
CK_RV mt_secret_tmpl_read(const mt_session *session, const CK_ATTRIBUTE *tmpl, CK_ULONG count,
                          mt_key_origin origin, mt_secret_tmpl *out);
/* How many bytes of `available` the key takes: its CKA_VALUE_LEN or key
 * type; shorter material is CKR_TEMPLATE_INCONSISTENT (or, with no length
 * given, CKR_TEMPLATE_INCOMPLETE where the type needs one). */
CK_RV mt_secret_tmpl_length(const mt_secret_tmpl *t, size_t available, size_t *len);
/* The object; `base` is the key it was derived from (NULL otherwise). */
CK_RV mt_secret_key_new(const mt_secret_tmpl *t, const mt_object *base, const uint8_t *value,
                        size_t len, mt_object **out);

#endif
