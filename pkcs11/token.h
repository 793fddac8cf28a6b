/* Slots and their tokens (slot.c, token.c): one slot per account the
 * filter lets through; a token's runtime state (login, objects, session
 * objects) is made when it is first used. */
#ifndef MT_PKCS11_TOKEN_H
#define MT_PKCS11_TOKEN_H

#include "object.h"
#include "pkcs11_v3.h"

#include "mailtoken/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The runtime state of a slot's token, made when the token is first used
 * (C_GetTokenInfo, C_OpenSession...): a store of 100,000 accounts lists as
 * many slots, and start-up only fills their small mt_slot records. */
typedef struct mt_token_state {
    CK_SLOT_ID id;            /* derived from the persistent token id */
    size_t index;             /* position in the module's slot list (stable) */
    int64_t token_id;
    int64_t org_id;
    const char *email;        /* the slot's; label and serial derive from it and
                                 the ids when asked (mt_token_label, _serial) */
    /* read when the token is used (C_GetTokenInfo), not at start-up */
    bool pin_set;
    unsigned failed_logins;
    unsigned max_failures;
    unsigned so_failed_logins, so_max_failures; /* the organisation's SO PIN */
    size_t n_private_keys;
    /* login state, application-wide per token */
    CK_USER_TYPE login;       /* CKU_USER, CKU_SO, or MT_NOT_LOGGED_IN */
    mt_secret *token_secret;  /* after user login */
    mt_sealed_keys *sealed_keys; /* after user login: the token's keys as read then, still
                                    sealed, so that using them needs no store */
    mt_secret *so_pin;        /* after SO login, for C_InitPIN */
    /* objects, built on first use */
    mt_objects *objects;
    uint64_t objects_generation;
    mt_handles handles;
    size_t sessions, rw_sessions;
    /* session objects of the application on this token, sorted by handle */
    mt_object **session_objects;
    size_t n_session_objects, cap_session_objects;
} mt_token_state;

/* A slot: one per account the filter lets through, in blocks allocated a
 * scan at a time (stable addresses). */
typedef struct mt_slot {
    CK_SLOT_ID id;
    int64_t org_id;
    const char *email;        /* in a kept string block of mt_g.blocks */
    bool present;
    bool seen;                /* during a scan: the store still lists it */
    mt_token_state *token;    /* NULL until the token is first used */
} mt_slot;

#define MT_NOT_LOGGED_IN ((CK_USER_TYPE)-1)

/* slot.c, called with the module lock held */
CK_RV mt_slots_rescan(void);
mt_slot *mt_slot_find(CK_SLOT_ID id);
/* Present token of a slot, its state made on first use; or
 * CKR_SLOT_ID_INVALID / CKR_TOKEN_NOT_PRESENT / CKR_HOST_MEMORY. */
CK_RV mt_slot_token(CK_SLOT_ID id, mt_token_state **out);
/* The same answer without making the token's state. */
CK_RV mt_slot_present(CK_SLOT_ID id);
void mt_slots_free(void);

/* session_object.c: an application's session objects, per token.  Each
 * session of the token sees them; they go with the session that made them,
 * the private ones at logout. */
CK_RV mt_session_object_add(mt_session *session, mt_object *object, CK_OBJECT_HANDLE *out);
mt_object *mt_session_object_find(const mt_token_state *token, CK_OBJECT_HANDLE handle);
void mt_session_object_destroy(mt_token_state *token, mt_object *object);
/* Those of one session (closed), or with owner 0 the private ones (logout). */
void mt_session_objects_drop(mt_token_state *token, CK_SESSION_HANDLE owner);
void mt_session_objects_free(mt_token_state *token);

#endif
