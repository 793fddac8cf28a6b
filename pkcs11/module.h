/* Internal to mailtoken-pkcs11.so: module state, slots, sessions, objects. */
#ifndef MT_PKCS11_MODULE_H
#define MT_PKCS11_MODULE_H

#include "pkcs11_v3.h"

#include "mailtoken/store.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MT_MANUFACTURER "mailtoken"
#define MT_MODEL "mailtoken token"
#define MT_LIBRARY_DESCRIPTION "mailtoken S/MIME tokens"

/* Object handles: slot index (bits 12..30) and a number the token gives each
 * object for good (bits 0..11), so a handle keeps naming the same object when
 * the objects are rebuilt; session objects (secret keys) have bit 31 set and
 * a number of their own. */
#define MT_OBJECTS_PER_TOKEN 4095u
#define MT_SESSION_OBJECT_BIT 0x80000000UL

/* ------------------------------------------------------------ attributes */

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

/* ------------------------------------------------------------------ keys */

/* A key the module owns (key.c), shared by an object and the operations
 * using it; each holder has a reference, the last one frees the EVP_PKEY. */
typedef struct mt_key {
    atomic_uint refs;
    EVP_PKEY *pkey;
} mt_key;

mt_key *mt_key_new(EVP_PKEY *pkey); /* takes the EVP_PKEY, freed on failure */
mt_key *mt_key_ref(mt_key *key);
void mt_key_unref(mt_key *key);

/* crypto.c: the module's OpenSSL library context, immune to the host's defaults */
#define MT_N_DIGESTS 5
#define MT_N_AES_MODES 4 /* ECB, CBC (CBC_PAD too), KW, KWP */
CK_RV mt_crypto_init(void);
void mt_crypto_free(void);
/* Digest fetched from the module's context by name ("SHA256"), NULL if unknown. */
const EVP_MD *mt_md(const char *name);
/* Provider-native key from a DER SubjectPublicKeyInfo or PKCS#8 PrivateKeyInfo. */
mt_key *mt_key_from_der(const uint8_t *der, size_t len, bool private_key);
EVP_PKEY_CTX *mt_pkey_ctx(EVP_PKEY *pkey);

/* --------------------------------------------------------------- objects */

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
size_t mt_index_lookup(const mt_index *index, uint64_t key, uint32_t *positions, size_t max);

/* ---------------------------------------------------------------- slots */

/* The state of a slot's token, made when the token is first used (C_GetTokenInfo,
 * C_OpenSession...): a store of 100,000 accounts lists as many slots, and
 * start-up only fills their small entries. */
typedef struct mt_token_state {
    CK_SLOT_ID id;            /* derived from the persistent token id */
    size_t index;             /* position in the module's slot list (stable) */
    int64_t token_id;
    int64_t org_id;
    const char *email;        /* the entry's; label and serial derive from it and
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

/* One per slot, in blocks allocated a scan at a time (stable addresses). */
typedef struct mt_slot {
    CK_SLOT_ID id;
    int64_t org_id;
    const char *email;        /* in a kept string block of mt_g.blocks */
    bool present;
    bool seen;                /* during a scan: the store still lists it */
    mt_token_state *token;    /* NULL until the token is first used */
} mt_slot;

#define MT_NOT_LOGGED_IN ((CK_USER_TYPE)-1)

/* ------------------------------------------------------------ mechanisms */

typedef enum mt_op_kind {
    MT_OP_SIGN = 0,
    MT_OP_VERIFY,
    MT_OP_ENCRYPT,
    MT_OP_DECRYPT,
    MT_OP_DIGEST,
    MT_OP_COUNT
} mt_op_kind;

/* Parameters checked and decoded from a CK_MECHANISM. */
typedef struct mt_mech_params {
    const EVP_MD *md;        /* hash (PSS, OAEP, hashed mechanisms, digest) */
    const EVP_MD *mgf1_md;
    int salt_len;            /* PSS */
    uint8_t *label;          /* OAEP source data (malloc) */
    size_t label_len;
    uint8_t iv[16];          /* AES: CBC's IV, the key wraps' initial value */
    size_t iv_len;
} mt_mech_params;

/* AES modes of the mechanism table (aes.c); 0 for the other mechanisms. */
typedef enum mt_aes_mode {
    MT_AES_NONE = 0,
    MT_AES_ECB,
    MT_AES_CBC,
    MT_AES_CBC_PAD,
    MT_AES_KW,               /* RFC 3394 */
    MT_AES_KWP,              /* RFC 5649 */
} mt_aes_mode;

typedef struct mt_mech mt_mech;
struct mt_mech {
    CK_MECHANISM_TYPE type;
    CK_KEY_TYPE key_type;    /* CKK_RSA, CKK_EC, or MT_NO_KEY */
    CK_FLAGS flags;          /* CKF_SIGN, CKF_DECRYPT... as reported by C_GetMechanismInfo */
    CK_ULONG min_bits, max_bits;
    int padding;             /* RSA padding mode, 0 otherwise */
    const char *digest;      /* hash of a hash-and-sign or digest mechanism, else NULL */
    CK_RV (*check_params)(const mt_mech *mech, const CK_MECHANISM *m, mt_mech_params *out);
    mt_aes_mode aes;         /* AES mechanisms: the mode */
};

#define MT_NO_KEY ((CK_KEY_TYPE)-1)
/* Key sizes of the table: bits for RSA and EC keys, bytes for AES keys (as
 * CK_MECHANISM_INFO gives them). */

const mt_mech *mt_mech_find(CK_MECHANISM_TYPE type);
size_t mt_mech_count(void);
const mt_mech *mt_mech_at(size_t i);
void mt_mech_params_clear(mt_mech_params *params);
/* Finds the mechanism, checks that it does `flag` on this key type and size, decodes params. */
CK_RV mt_mech_resolve(const CK_MECHANISM *m, CK_FLAGS flag, const mt_object *key,
                      const mt_mech **mech, mt_mech_params *params);
/* Configures an EVP_PKEY_CTX (padding, PSS, OAEP) for the mechanism. */
CK_RV mt_mech_setup_pkey_ctx(const mt_mech *mech, const mt_mech_params *params,
                             EVP_PKEY_CTX *ctx, bool with_md);
/* Fills CKA_ALLOWED_MECHANISMS for a key type doing any of `flags`. */
CK_RV mt_mech_allowed(CK_KEY_TYPE key_type, CK_FLAGS flags, mt_attr_list *attrs);

/* ------------------------------------------------------------ sessions */

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

void mt_warm_ctx_drop(mt_warm_ctx *warm);

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

/* ---------------------------------------------------------------- module */

/* The module's state.  Two locks (session.c), outside the state so a forked
 * child can start over while holding them: the module lock guards slots,
 * sessions, logins and objects; the store lock the store handle, taken after
 * the module lock or alone, never before it. */
typedef struct mt_module {
    bool initialised;
    pid_t pid;               /* process that initialised: a forked child starts over */
    mt_config *config;
    mt_account_filter filter;
    mt_store *store;         /* read-only; NULL until the store file exists */
    char *store_path;
    uint64_t generation;
    bool generation_known;
    mt_slot **slots;   /* stable positions: object handles encode them */
    struct mt_block {        /* slot entries and their emails, allocated a scan at a time */
        void *data;
        size_t mapped;       /* mmap'd length, 0: malloc'd */
    } *blocks;
    size_t n_blocks;
    size_t n_slots, cap_slots;
    size_t *by_id;           /* slot positions sorted by slot id */
    CK_SLOT_ID *events;      /* slots changed since the last C_WaitForSlotEvent */
    size_t n_events;
    mt_session **sessions;   /* open addressing by handle */
    size_t cap_sessions, n_sessions;
    CK_SESSION_HANDLE next_session;
    CK_ULONG next_session_object;
    OSSL_LIB_CTX *libctx;    /* crypto.c */
    OSSL_PROVIDER *provider;
    EVP_MD *digests[MT_N_DIGESTS];
    EVP_CIPHER *aes[MT_N_AES_MODES][3]; /* by mode - 1 and key size 16, 24, 32 */
    EVP_KDF *x963;
} mt_module;

extern mt_module mt_g;
extern CK_FUNCTION_LIST mt_function_list;
extern CK_FUNCTION_LIST_3_0 mt_function_list_3_0;

/* trace.c: a line for the administrator's trace ($MAILTOKEN_DEBUG: "stderr" or
 * a file), never for the client's user; nothing when unset. */
void mt_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* general.c */
CK_RV mt_initialize(CK_VOID_PTR init_args);
CK_RV mt_finalize(CK_VOID_PTR reserved);
CK_RV mt_get_info(CK_INFO_PTR info);
CK_RV mt_get_interface_list(CK_INTERFACE_PTR list, CK_ULONG_PTR count);
CK_RV mt_get_interface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version, CK_INTERFACE_PTR_PTR out,
                       CK_FLAGS flags);
CK_RV mt_rv_from_status(mt_status status);
void mt_pad(CK_UTF8CHAR *field, size_t size, const char *text);
/* OpenSSL shut down before us: leave its objects alone. */
extern volatile int mt_openssl_down;

/* filter.c */
CK_RV mt_filter_from_init_string(const char *text, mt_account_filter *out);
bool mt_filter_accepts(const mt_account_filter *filter, const mt_token_brief *token);

/* fork.c */
void mt_fork_register(void);
bool mt_forked(void);
bool mt_fork_seen(void);
void mt_fork_start_over(void);

/* slot.c */
CK_RV mt_slots_rescan(void);
mt_slot *mt_slot_find(CK_SLOT_ID id);
/* Present token of a slot, its state made on first use; or
 * CKR_SLOT_ID_INVALID / CKR_TOKEN_NOT_PRESENT / CKR_HOST_MEMORY. */
CK_RV mt_slot_token(CK_SLOT_ID id, mt_token_state **out);
/* The same answer without making the token's state. */
CK_RV mt_slot_present(CK_SLOT_ID id);
void mt_slots_free(void);
CK_RV mt_get_slot_list(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count);
CK_RV mt_get_slot_info(CK_SLOT_ID id, CK_SLOT_INFO_PTR info);
CK_RV mt_wait_for_slot_event(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved);

/* token.c */
CK_RV mt_get_token_info(CK_SLOT_ID id, CK_TOKEN_INFO_PTR info);
CK_RV mt_get_mechanism_list(CK_SLOT_ID id, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count);
CK_RV mt_get_mechanism_info(CK_SLOT_ID id, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info);

/* session.c: the one wrapper every session entry point goes through */
typedef struct mt_call {
    mt_session *session;
    bool locked;
} mt_call;

enum {
    MT_CALL_UNLOCKED = 1u << 0, /* release the module lock once the session is held */
};
CK_RV mt_call_begin(mt_call *call, CK_SESSION_HANDLE handle, unsigned flags);
CK_RV mt_call_end(mt_call *call, CK_RV rv);
CK_RV mt_check_initialised(void);
void mt_lock(void);
void mt_unlock(void);
void mt_store_lock(void);
void mt_store_unlock(void);
CK_RV mt_open_session(CK_SLOT_ID id, CK_FLAGS flags, CK_SESSION_HANDLE_PTR out);
CK_RV mt_close_session(mt_call *call);
CK_RV mt_close_all_sessions(CK_SLOT_ID id);
CK_RV mt_get_session_info(mt_call *call, CK_SESSION_INFO_PTR info);
CK_RV mt_session_state(const mt_session *session, CK_STATE *state);
void mt_sessions_free(void);
void mt_op_reset(mt_op *op);
/* Ends every session of a slot (token removed). */
void mt_sessions_drop_token(mt_token_state *token);
/* Logout: the private-key warm contexts of the slot's sessions go (a
 * session in a call drops its own when the call ends). */
void mt_sessions_drop_warm(mt_token_state *token);

/* login.c */
CK_RV mt_login(mt_call *call, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len);
CK_RV mt_logout(mt_call *call);
CK_RV mt_init_pin(mt_call *call, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len);
CK_RV mt_set_pin(mt_call *call, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len,
                 CK_UTF8CHAR_PTR new_pin, CK_ULONG new_len);
void mt_token_logout(mt_token_state *token);

/* object.c */
CK_RV mt_token_objects(mt_token_state *token, mt_objects **out);
/* Object visible to this session (private ones only after login). */
CK_RV mt_object_get(mt_session *session, CK_OBJECT_HANDLE handle, mt_object **out);
bool mt_object_visible(const mt_session *session, const mt_object *object);
/* The handle names a private object this session cannot see before login. */
bool mt_object_hidden(mt_session *session, CK_OBJECT_HANDLE handle);
CK_RV mt_get_attribute_value(mt_call *call, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
                             CK_ULONG count);
CK_RV mt_get_object_size(mt_call *call, CK_OBJECT_HANDLE h, CK_ULONG_PTR size);
CK_RV mt_destroy_object(mt_call *call, CK_OBJECT_HANDLE h);
/* The opened private key of a key object (a reference for the caller). */
CK_RV mt_object_private_key(mt_session *session, mt_object *object, mt_key **out);

/* A key object of any class for an operation, or why not: the handle is
 * not a key (invalid), a private one before login, ... */
CK_RV mt_key_object(mt_session *session, CK_OBJECT_HANDLE handle, mt_object **out);

/* find.c */
CK_RV mt_find_init(mt_call *call, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count);
CK_RV mt_find_next(mt_call *call, CK_OBJECT_HANDLE_PTR out, CK_ULONG max, CK_ULONG_PTR count);
CK_RV mt_find_final(mt_call *call);

/* crypto operations (sign.c, verify.c, encrypt.c, decrypt.c, digest.c) */
CK_RV mt_op_init(mt_call *call, mt_op_kind kind, CK_FLAGS flag, CK_MECHANISM_PTR m,
                 CK_OBJECT_HANDLE key);
/* The active operation of a kind for a call made `parts` way:
 * CKR_OPERATION_NOT_INITIALIZED, or CKR_OPERATION_ACTIVE when it is being
 * run the other way (it stays as it was). */
CK_RV mt_op_enter(mt_session *session, mt_op_kind kind, mt_op_parts parts, mt_op **out);
/* Output handling shared by every single-part and final call: size query,
 * CKR_BUFFER_TOO_SMALL (operation stays active), else the operation ends. */
CK_RV mt_op_output(mt_op *op, CK_RV rv, const uint8_t *result, size_t result_len,
                   CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV mt_op_collect(mt_op *op, const uint8_t *data, size_t len);
CK_RV mt_key_use(mt_session *s, CK_MECHANISM_PTR m, CK_FLAGS flag, CK_ATTRIBUTE_TYPE usage,
                 CK_OBJECT_HANDLE key, const mt_mech **mech, mt_mech_params *params,
                 mt_key **opened);
/* A context set up for the mechanism: a fresh one the caller frees ... */
CK_RV mt_pkey_ctx_for(EVP_PKEY *pkey, int (*init)(EVP_PKEY_CTX *), const mt_mech *mech,
                      const mt_mech_params *params, EVP_PKEY_CTX **out);
/* ... or the operation's warm one, which the session keeps: after a failed
 * operation, mt_op_pkey_ctx_failed drops it. */
CK_RV mt_op_pkey_ctx(mt_op *op, int (*init)(EVP_PKEY_CTX *), EVP_PKEY_CTX **out);
void mt_op_pkey_ctx_failed(mt_op *op);
/* Shared by the four *Update calls of single-shot and hashed mechanisms. */
mt_op *mt_op_active(mt_session *session, mt_op_kind kind);
CK_RV mt_sign(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len);
CK_RV mt_sign_update(mt_call *call, CK_BYTE_PTR data, CK_ULONG len);
CK_RV mt_sign_final(mt_call *call, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len);
CK_RV mt_verify(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG sig_len);
CK_RV mt_verify_update(mt_call *call, CK_BYTE_PTR data, CK_ULONG len);
CK_RV mt_verify_final(mt_call *call, CK_BYTE_PTR sig, CK_ULONG sig_len);
CK_RV mt_encrypt(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV mt_encrypt_update(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out,
                        CK_ULONG_PTR out_len);
CK_RV mt_encrypt_final(mt_call *call, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV mt_decrypt(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV mt_decrypt_update(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out,
                        CK_ULONG_PTR out_len);
CK_RV mt_decrypt_final(mt_call *call, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
/* Single-shot ciphers (cipher.c): compute gives an OPENSSL_malloc result. */
typedef CK_RV (*mt_cipher_fn)(mt_op *op, const uint8_t *in, size_t in_len, uint8_t **out,
                              size_t *out_len);
CK_RV mt_cipher_once(mt_session *s, mt_op_kind kind, mt_cipher_fn compute, CK_BYTE_PTR in,
                     CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV mt_cipher_update(mt_session *s, mt_op_kind kind, CK_BYTE_PTR in, CK_ULONG in_len,
                       CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV mt_cipher_final(mt_session *s, mt_op_kind kind, mt_cipher_fn compute, CK_BYTE_PTR out,
                      CK_ULONG_PTR out_len);
/* Decryption's exact output length is only known once done. */
CK_RV mt_decrypt_compute(mt_op *op, const uint8_t *in, size_t in_len, uint8_t **out,
                         size_t *out_len);
/* Single-shot signature mechanisms' input rules (sign.c, verify.c). */
CK_RV mt_sign_input_check(const mt_op *op, size_t len);
/* RSA decryption with a context set up for it, into an OPENSSL_malloc
 * buffer the caller clears (unwrap shares it). */
CK_RV mt_rsa_decrypt(EVP_PKEY_CTX *ctx, const uint8_t *in, size_t in_len, uint8_t **out,
                     size_t *out_len);
CK_RV mt_digest_init(mt_call *call, CK_MECHANISM_PTR m);
CK_RV mt_digest(mt_call *call, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV mt_digest_update(mt_call *call, CK_BYTE_PTR data, CK_ULONG len);
CK_RV mt_digest_key(mt_call *call, CK_OBJECT_HANDLE key);
CK_RV mt_digest_final(mt_call *call, CK_BYTE_PTR out, CK_ULONG_PTR out_len);

/* derive.c, unwrap.c */
CK_RV mt_derive_key(mt_call *call, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE base,
                    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count, CK_OBJECT_HANDLE_PTR out);
CK_RV mt_unwrap_key(mt_call *call, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key, CK_BYTE_PTR wrapped,
                    CK_ULONG wrapped_len, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
                    CK_OBJECT_HANDLE_PTR out);

/* ---------------------------------------------------------- secret keys */

/* keymem.c: sodium_malloc'd cells for key values (called with the module lock) */
uint8_t *mt_keymem_alloc(size_t len);
void mt_keymem_free(uint8_t *p, size_t len);
void mt_keymem_wipe_all(void);

/* session_object.c: an application's session objects, per token.  Each
 * session of the token sees them; they go with the session that made them,
 * the private ones at logout. */
CK_RV mt_session_object_add(mt_session *session, mt_object *object, CK_OBJECT_HANDLE *out);
mt_object *mt_session_object_find(const mt_token_state *token, CK_OBJECT_HANDLE handle);
void mt_session_object_destroy(mt_token_state *token, mt_object *object);
/* Those of one session (closed), or with owner 0 the private ones (logout). */
void mt_session_objects_drop(mt_token_state *token, CK_SESSION_HANDLE owner);
void mt_session_objects_free(mt_token_state *token);

/* secret_key.c: CKO_SECRET_KEY objects (CKK_GENERIC_SECRET, CKK_AES) from
 * a caller's template, with the defaults and rules of the specification. */
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
bool mt_aes_key_len_ok(size_t len);

/* object_edit.c: what a write-protected token still lets an application do
 * with its session objects. */
CK_RV mt_create_object(mt_call *call, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
                       CK_OBJECT_HANDLE_PTR out);
CK_RV mt_copy_object(mt_call *call, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
                     CK_OBJECT_HANDLE_PTR out);
CK_RV mt_set_attribute_value(mt_call *call, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
                             CK_ULONG count);

/* aes.c: AES with session secret keys.  ECB, CBC and CBC_PAD stream (whole
 * blocks out as input comes); the key wraps are single-shot. */
const EVP_CIPHER *mt_aes_cipher(mt_aes_mode mode, size_t key_len); /* crypto.c */
CK_RV mt_aes_op_init(mt_op *op, const mt_object *key);
bool mt_aes_streams(const mt_op *op);
/* Exact output size of a single-part call, 0 when only the work tells. */
size_t mt_aes_once_size(const mt_op *op, size_t in_len);
CK_RV mt_aes_compute(mt_op *op, const uint8_t *in, size_t in_len, uint8_t **out,
                     size_t *out_len);
CK_RV mt_aes_update(mt_op *op, const uint8_t *in, size_t in_len, CK_BYTE_PTR out,
                    CK_ULONG_PTR out_len);
CK_RV mt_aes_final(mt_op *op, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
/* Wrap and unwrap: one call with a key object, an OPENSSL_malloc'd result
 * the caller clears.  A wrapped value that does not fill whole blocks is
 * padded with zero bytes (ECB, CBC), as the specification says. */
CK_RV mt_aes_run(const mt_mech *mech, const mt_mech_params *params, const mt_object *key,
                 bool encrypt, const uint8_t *in, size_t in_len, uint8_t **out,
                 size_t *out_len);

/* wrap.c */
CK_RV mt_wrap_key(mt_call *call, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE wrapping,
                  CK_OBJECT_HANDLE key, CK_BYTE_PTR out, CK_ULONG_PTR out_len);

/* kdf.c: the X9.63 KDFs of ECDH1 derivation (RFC 5753, RFC 8418) */
bool mt_kdf_known(CK_ULONG kdf);
CK_RV mt_kdf_x963(CK_ULONG kdf, const uint8_t *z, size_t z_len, const uint8_t *shared,
                  size_t shared_len, uint8_t *out, size_t out_len);

/* init_args.c: C_Initialize's arguments and reserved string, read without
 * trusting the pointers (CKR_ARGUMENTS_BAD when they cannot be read) */
CK_RV mt_init_args_copy(const void *args, CK_C_INITIALIZE_ARGS *out);
CK_RV mt_init_reserved_copy(const void *reserved, char **out);

/* pin_rv.c: why a new PIN was refused, in PKCS#11 terms */
CK_RV mt_pin_refused_rv(const mt_secret *pin);

/* random.c */
CK_RV mt_generate_random(mt_call *call, CK_BYTE_PTR out, CK_ULONG len);
CK_RV mt_seed_random(mt_call *call, CK_BYTE_PTR seed, CK_ULONG len);

/* ecdsa.c: PKCS#11 signatures are r||s, OpenSSL's are DER */
CK_RV mt_ecdsa_der_to_raw(const uint8_t *der, size_t der_len, size_t field_len, uint8_t *raw);
CK_RV mt_ecdsa_raw_to_der(const uint8_t *raw, size_t raw_len, uint8_t **der, size_t *der_len);

#endif
