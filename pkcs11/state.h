/* The module's global state, its two locks and the initialised check
 * (state.c); fork safety (fork.c). */
#ifndef MT_PKCS11_STATE_H
#define MT_PKCS11_STATE_H

#include "crypto.h"
#include "pkcs11_v3.h"

#include "mailtoken/store.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MT_MANUFACTURER "mailtoken"
#define MT_MODEL "mailtoken token"
#define MT_LIBRARY_DESCRIPTION "mailtoken S/MIME tokens"

typedef struct mt_slot mt_slot;
typedef struct mt_session mt_session;

/* The module's state.  Two locks, outside the state so a forked child can
 * start over while holding them: the module lock guards slots, sessions,
 * logins and objects; the store lock the store handle, taken after the
 * module lock or alone, never before it (docs/architecture.md, "Locks and
 * what they guard"). */
typedef struct mt_module {
    bool initialised;
    pid_t pid;               /* process that initialised: a forked child starts over */
    mt_config *config;
    mt_account_filter filter;
    mt_store *store;         /* read-only; NULL until the store file exists */
    char *store_path;
    uint64_t generation;
    bool generation_known;
    mt_slot **slots;         /* stable positions: object handles encode them */
    struct mt_block {        /* slots and their emails, allocated a scan at a time */
        void *data;
        size_t mapped;       /* mmap'd length, 0: malloc'd */
    } *blocks;
    size_t n_blocks;
    size_t n_slots, cap_slots;
    size_t *by_id;           /* slot positions sorted by slot id */
    CK_SLOT_ID *events;      /* slots changed since the last C_WaitForSlotEvent */
    size_t n_events;
    mt_session **sessions;   /* sorted by handle (handles only grow) */
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

void mt_lock(void);
void mt_unlock(void);
void mt_store_lock(void);
void mt_store_unlock(void);
/* CKR_CRYPTOKI_NOT_INITIALIZED unless initialised in this process (module lock held). */
CK_RV mt_initialised_locked(void);
/* The same, taking the lock for the check only. */
CK_RV mt_check_initialised(void);
/* OpenSSL shut down before us: leave its objects alone. */
extern volatile int mt_openssl_down;
void mt_openssl_watch(void);

/* Fork: the handlers (fork.c) and what they leave (state.c). */
void mt_fork_register(void);
void mt_fork_mark_child(void);
bool mt_forked(void);
bool mt_fork_seen(void);
void mt_fork_start_over(void);

#endif
