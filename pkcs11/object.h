/* Objects: those a token builds from the store (object_build.c), found
 * by handle or attribute (object.c, index.c), and the key cells of secret
 * keys (keymem.c). */
#ifndef MT_PKCS11_OBJECT_H
#define MT_PKCS11_OBJECT_H

#include "attr.h"
#include "crypto.h"

#include "mailtoken/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Object handles.  A token object's handle is (slot position + 1) shifted
 * left by MT_HANDLE_NUMBER_BITS, or'ed with (object number + 1): the number
 * is the token's for good (kind + certificate hash, mt_handles), so a handle
 * keeps naming the same object when the objects are rebuilt, and the slot
 * position below bit 31 tells the token.  Session objects (secret keys)
 * have MT_SESSION_OBJECT_BIT set and a number of their own below it. */
#define MT_HANDLE_NUMBER_BITS 12
#define MT_HANDLE_NUMBER_MASK ((1u << MT_HANDLE_NUMBER_BITS) - 1)
#define MT_OBJECTS_PER_TOKEN MT_HANDLE_NUMBER_MASK /* numbers 1..4095 */
#define MT_SESSION_OBJECT_BIT 0x80000000UL
#define MT_SESSION_OBJECT_NUMBER_MASK (MT_SESSION_OBJECT_BIT - 1)

static inline CK_OBJECT_HANDLE mt_handle_make(size_t slot_index, size_t number)
{
    return ((CK_OBJECT_HANDLE)(slot_index + 1) << MT_HANDLE_NUMBER_BITS) | (number + 1);
}

/* The object number of a token object's handle (0-based). */
static inline size_t mt_handle_number(CK_OBJECT_HANDLE handle)
{
    return (size_t)(handle & MT_HANDLE_NUMBER_MASK) - 1;
}

/* The slot position a token object's handle names, + 1 (0: none). */
static inline size_t mt_handle_slot(CK_OBJECT_HANDLE handle)
{
    return (size_t)(handle >> MT_HANDLE_NUMBER_BITS);
}

typedef struct mt_object {
    CK_OBJECT_HANDLE handle;
    CK_OBJECT_CLASS klass;
    CK_KEY_TYPE key_type;   /* keys only */
    bool is_private;        /* CKA_PRIVATE: visible only after user login */
    int64_t cert_id;        /* store certificate behind a key or certificate, 0 for chain/profile */
    unsigned key_bits;
    mt_attr_list attrs;
    mt_key *pub;            /* public half, for verify, encrypt and the key check */
    mt_key *priv;           /* opened private key, while logged in (module lock) */
    uint8_t *value;         /* secret keys: the key itself (keymem.c) */
    size_t value_len;
    CK_SESSION_HANDLE owner; /* session objects: the session that made it */
} mt_object;

/* Small open-addressing multimap from a 64-bit hash to object positions. */
typedef struct mt_index {
    uint64_t *keys;
    uint32_t *values;
    size_t cap;
} mt_index;

/* Object numbers of a token: kind + certificate SHA-256, never forgotten. */
typedef struct mt_handles {
    uint8_t (*keys)[33];
    size_t n;
} mt_handles;

typedef struct mt_objects {
    mt_object **items;
    size_t n;
    uint32_t *by_number;     /* object number -> position + 1 (0: not there now) */
    size_t n_numbers;
    mt_index by_class, by_id, by_issuer_serial, by_subject;
} mt_objects;

void mt_object_free(mt_object *object);
mt_object *mt_object_new(CK_OBJECT_CLASS klass);
void mt_objects_free(mt_objects *objects);
/* Builds the objects of an account: profile, certificates, keys, chain. */
CK_RV mt_objects_build(mt_store *store, int64_t token_id, size_t slot_index, mt_handles *handles,
                       mt_objects **out);
uint64_t mt_index_hash(CK_ATTRIBUTE_TYPE type, const void *value, size_t len);
uint64_t mt_index_pair(uint64_t issuer, uint64_t serial);
CK_RV mt_objects_index(mt_objects *objects);
void mt_index_free(mt_index *index);
size_t mt_index_lookup(const mt_index *index, uint64_t key, uint32_t *positions, size_t max);

/* Lookups for a session (object.c): what it may see, by handle.  Called
 * with the module lock held. */
typedef struct mt_session mt_session;
typedef struct mt_token_state mt_token_state;
/* Object visible to this session (private ones only after login). */
CK_RV mt_object_get(mt_session *session, CK_OBJECT_HANDLE handle, mt_object **out);
bool mt_object_visible(const mt_session *session, const mt_object *object);
/* The object of a call with a template: CKR_ARGUMENTS_BAD for a missing
 * template, else as mt_object_get. */
CK_RV mt_template_object(mt_session *session, CK_OBJECT_HANDLE handle, const CK_ATTRIBUTE *tmpl,
                         CK_ULONG count, mt_object **out);
/* The handle names a private object this session cannot see before login. */
bool mt_object_hidden(mt_session *session, CK_OBJECT_HANDLE handle);
/* A key object of any class for an operation, or why not: the handle is
 * not a key (invalid), a private one before login, ... */
CK_RV mt_key_object(mt_session *session, CK_OBJECT_HANDLE handle, mt_object **out);
/* The private key of a key object, opened on first use while logged in: a
 * reference for the caller (the session's own copy, session_key.c). */
CK_RV mt_object_private_key(mt_session *session, mt_object *object, mt_key **out);
/* The token's objects, built or rebuilt when the store changed. */
CK_RV mt_token_objects(mt_token_state *token, mt_objects **out);

/* keymem.c: sodium_malloc'd cells for key values (called with the module lock) */
uint8_t *mt_keymem_alloc(size_t len);
void mt_keymem_free(uint8_t *p, size_t len);
void mt_keymem_wipe_all(void);

#endif
