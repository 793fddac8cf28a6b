/* Sessions (session.c) and what a session holds: its running operations,
 * warm contexts, search and its copies of opened keys (session_key.c). */
#ifndef MT_PKCS11_SESSION_H
#define MT_PKCS11_SESSION_H

#include "crypto.h"
#include "mech.h"
#include "token.h"
#include "pkcs11_v3.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The EVP_PKEY_CTX of a session's last single-shot operation of one kind,
 * kept for the next one with the same key, mechanism and parameters: setting
 * a context up costs a tenth of an ECDSA signature.  Dropped at logout. */
typedef struct mt_warm_ctx {
    EVP_PKEY_CTX *ctx;
    mt_key *key;             /* a reference, so the address stays this key's */
    const mt_mech *mech;     /* NULL: not reusable (an OAEP label) */
    const EVP_MD *md, *mgf1_md;
    int salt_len;
} mt_warm_ctx;

/* How an active operation is being run: decided by its first call after
 * *Init (a size query included); the other way is CKR_OPERATION_ACTIVE. */
typedef enum mt_op_parts {
    MT_PARTS_UNDECIDED = 0,
    MT_PARTS_SINGLE,         /* C_Sign, C_Encrypt... */
    MT_PARTS_MULTI,          /* C_SignUpdate, C_SignFinal, C_DigestKey... */
} mt_op_parts;

typedef struct mt_op {
    bool active;
    mt_op_kind kind;
    mt_op_parts parts;
    mt_warm_ctx *warm;       /* the session's context for this kind */
    const mt_mech *mech;
    mt_mech_params params;
    mt_key *key;             /* the operation's own reference, taken at *Init */
    EVP_MD_CTX *md_ctx;      /* hashed mechanisms and digests */
    uint8_t *data;           /* single-shot mechanisms collect multi-part input here */
    size_t data_len, data_cap;
    size_t out_len;          /* output size for length queries */
    EVP_CIPHER_CTX *cipher;  /* AES: keyed at *Init (aes.c) */
    uint8_t held[16];        /* AES streams: input not yet a block, or held back */
    size_t held_len;
    uint8_t tail[16];        /* AES CBC_PAD: the last block's output, once made */
    size_t tail_len;
    bool tail_ready;
} mt_op;

typedef struct mt_find_state {
    bool active;
    CK_OBJECT_HANDLE *handles;
    size_t n, pos;
} mt_find_state;

/* An opened private key and the session's own copy of it (session_key.c). */
typedef struct mt_session_key_pair {
    mt_key *opened, *copy;
} mt_session_key_pair;

typedef struct mt_session {
    CK_SESSION_HANDLE handle;
    mt_token_state *token;
    CK_FLAGS flags;
    unsigned refs;           /* calls in progress hold a reference */
    bool closed;
    mt_op ops[MT_OP_COUNT];
    mt_warm_ctx warm[MT_OP_COUNT];
    mt_find_state find;
    mt_session_key_pair *keys; /* copies of opened RSA keys (module lock) */
    size_t n_keys;
} mt_session;

/* session_key.c: the key a session uses for an opened private key (a
 * reference for the caller): its own copy for RSA, else the key itself. */
CK_RV mt_session_key(mt_session *session, mt_key *opened, mt_key **out);
void mt_session_keys_drop(mt_session *session);

/* session.c, called with the module lock held */
/* CKR_OK when the user is logged in on the session's token, else
 * CKR_USER_NOT_LOGGED_IN: the one test of that login state (call rules,
 * visibility, keys found to need it once looked up). */
static inline CK_RV mt_need_user(const mt_session *session)
{
    return session->token->login == CKU_USER ? CKR_OK : CKR_USER_NOT_LOGGED_IN;
}
mt_session *mt_session_find(CK_SESSION_HANDLE handle);
CK_RV mt_session_state(const mt_session *session, CK_STATE *state);
/* Takes the session out of the table; freed when no call uses it. */
void mt_session_close(mt_session *session);
/* A call is done with the session: freed if closed meanwhile, its
 * private-key state dropped if the token was logged out meanwhile. */
void mt_session_release(mt_session *session);
void mt_sessions_free(void);
/* Ends every session of a token (token removed, C_CloseAllSessions). */
void mt_sessions_drop_token(mt_token_state *token);
/* Logout: the private-key warm contexts and key copies of the token's
 * sessions go (a session in a call drops its own when the call ends). */
void mt_sessions_drop_warm(mt_token_state *token);
/* The token's login goes (its secrets, opened keys, private
 * session objects, the sessions' private-key contexts). */
void mt_token_logout(mt_token_state *token);

/* operation.c: an operation ends, its key reference and contexts freed */
void mt_op_reset(mt_op *op);
void mt_warm_ctx_drop(mt_warm_ctx *warm);

#endif
