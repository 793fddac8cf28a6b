/*
 * Drives a PKCS#11 module from several threads the way a mail client with
 * many accounts does: each thread signs, verifies, encrypts and decrypts with
 * the RSA key of one of the given tokens, while another process may add
 * accounts to the store.  Thread 0 also re-scans the slot list, so accounts
 * added meanwhile must appear without a restart.
 *
 * usage: mt-client-stress MODULE PINS THREADS MIN_OPS READY_FILE STOP_FILE
 *                         [PROGRESS_FILE [AFTER_PINS]]
 *   PINS           lines "TOKEN-LABEL PIN": the tokens to use (logged in once)
 *   MIN_OPS        operations per thread at least
 *   READY_FILE     created once every token is logged in ("-": none)
 *   STOP_FILE      the threads run until it exists ("-": MIN_OPS only)
 *   PROGRESS_FILE  rewritten while the threads run with the operations done
 *                  so far, so that a test sees them progress during its work
 *                  (with AFTER_PINS, a second line: the watcher's last count)
 *   AFTER_PINS     a watcher thread also calls C_GetSlotList over and over
 *                  (the count may never go down); once the threads stopped,
 *                  each token of this file ("TOKEN-LABEL PIN", read then:
 *                  accounts added meanwhile) is logged in to and signs, and
 *                  "TOKEN-LABEL !PIN" must be refused as CKR_PIN_INCORRECT
 * $MT_STRESS_PAUSE_MS: each thread pauses that long after each operation (a
 * steady client that leaves the processors to the other process of a test).
 * Prints "ops=N slots-before=A slots-after=B" (then, with AFTER_PINS,
 * "watcher-calls=N watcher-counts=D after-logins=L after-refused=R"); exit 0
 * only if every call succeeded.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#define MAX_TOKENS 64
#define MAX_THREADS 64
#define RUN_LIMIT_SECONDS 300

typedef struct token {
    char label[33];
    char pin[128];
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE login_session;
} token;

typedef struct worker {
    pthread_t thread;
    int index;
    const token *tok;
    unsigned long ops;
    char error[256];
} worker;

static CK_FUNCTION_LIST_PTR p11;
static const char *stop_file;
static atomic_ulong ops_done; /* every thread's operations, for PROGRESS_FILE */
static unsigned long min_ops;
static useconds_t pause_us;
static time_t started;

static bool failed(worker *w, const char *what, CK_RV rv)
{
    if (rv == CKR_OK)
        return false;
    snprintf(w->error, sizeof w->error, "thread %d, token %s: %s: CKR 0x%lx", w->index,
             w->tok->label, what, (unsigned long)rv);
    return true;
}

static void pad_label(const char *label, CK_UTF8CHAR out[32])
{
    size_t len = strlen(label);
    memset(out, ' ', 32);
    memcpy(out, label, len < 32 ? len : 32);
}

static CK_RV count_slots(CK_ULONG *n)
{
    return p11->C_GetSlotList(CK_TRUE, NULL, n);
}

/* The present slots, as a client asks for them: the count, then the list
 * (*slots malloc'd, NULL when there are none). */
static CK_RV list_slots(CK_SLOT_ID **slots, CK_ULONG *n)
{
    CK_RV rv;
    *slots = NULL;
    do { /* another thread's scan may find more slots between the two calls */
        free(*slots);
        *slots = NULL;
        if ((rv = count_slots(n)) != CKR_OK || *n == 0)
            return rv;
        if (!(*slots = malloc(*n * sizeof(**slots))))
            return CKR_HOST_MEMORY;
        rv = p11->C_GetSlotList(CK_TRUE, *slots, n);
    } while (rv == CKR_BUFFER_TOO_SMALL);
    if (rv != CKR_OK) {
        free(*slots);
        *slots = NULL;
    }
    return rv;
}

static CK_RV find_token_slot(token *tok)
{
    CK_SLOT_ID *slots = NULL;
    CK_ULONG n = 0;
    CK_UTF8CHAR want[32];
    CK_RV rv = list_slots(&slots, &n);
    if (rv != CKR_OK)
        return rv;
    pad_label(tok->label, want);
    rv = CKR_TOKEN_NOT_PRESENT;
    for (CK_ULONG i = 0; i < n && rv != CKR_OK; i++) {
        CK_TOKEN_INFO info;
        if (p11->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
            memcmp(info.label, want, sizeof want) == 0) {
            tok->slot = slots[i];
            rv = CKR_OK;
        }
    }
    free(slots);
    return rv;
}

/* The token's first object of this class allowed to `usage` (CKA_SIGN...). */
static CK_RV find_key(CK_SESSION_HANDLE session, CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE usage,
                      const CK_BYTE *id, CK_ULONG id_len, CK_OBJECT_HANDLE *key)
{
    CK_BBOOL yes = CK_TRUE;
    CK_KEY_TYPE rsa = CKK_RSA;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls},
                           {CKA_KEY_TYPE, &rsa, sizeof rsa},
                           {usage, &yes, sizeof yes},
                           {CKA_ID, (void *)id, id_len}};
    CK_ULONG found = 0;
    CK_RV rv = p11->C_FindObjectsInit(session, tmpl, id ? 4 : 3);
    if (rv != CKR_OK)
        return rv;
    rv = p11->C_FindObjects(session, key, 1, &found);
    CK_RV final_rv = p11->C_FindObjectsFinal(session);
    if (rv == CKR_OK && found == 0)
        rv = CKR_KEY_HANDLE_INVALID;
    return rv != CKR_OK ? rv : final_rv;
}

typedef struct key_pair {
    CK_OBJECT_HANDLE priv;
    CK_OBJECT_HANDLE pub;
} key_pair;

static bool find_key_pair(worker *w, CK_SESSION_HANDLE session, key_pair *keys)
{
    CK_BYTE id[64];
    CK_ATTRIBUTE id_attr = {CKA_ID, id, sizeof id};
    return !failed(w, "find private key",
                   find_key(session, CKO_PRIVATE_KEY, CKA_SIGN, NULL, 0, &keys->priv)) &&
           !failed(w, "C_GetAttributeValue(CKA_ID)",
                   p11->C_GetAttributeValue(session, keys->priv, &id_attr, 1)) &&
           !failed(w, "find public key",
                   find_key(session, CKO_PUBLIC_KEY, CKA_VERIFY, id, id_attr.ulValueLen,
                            &keys->pub));
}

static bool sign_and_verify(worker *w, CK_SESSION_HANDLE session, const key_pair *keys,
                            const CK_BYTE *data, CK_ULONG len)
{
    CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_BYTE sig[1024];
    CK_ULONG sig_len = sizeof sig;
    return !failed(w, "C_SignInit", p11->C_SignInit(session, &mech, keys->priv)) &&
           !failed(w, "C_Sign", p11->C_Sign(session, (CK_BYTE_PTR)data, len, sig, &sig_len)) &&
           !failed(w, "C_VerifyInit", p11->C_VerifyInit(session, &mech, keys->pub)) &&
           !failed(w, "C_Verify", p11->C_Verify(session, (CK_BYTE_PTR)data, len, sig, sig_len));
}

static bool encrypt_and_decrypt(worker *w, CK_SESSION_HANDLE session, const key_pair *keys,
                                const CK_BYTE *data, CK_ULONG len)
{
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM mech = {CKM_RSA_PKCS_OAEP, &oaep, sizeof oaep};
    CK_BYTE enc[1024], dec[1024];
    CK_ULONG enc_len = sizeof enc, dec_len = sizeof dec;
    if (failed(w, "C_EncryptInit", p11->C_EncryptInit(session, &mech, keys->pub)) ||
        failed(w, "C_Encrypt", p11->C_Encrypt(session, (CK_BYTE_PTR)data, len, enc, &enc_len)) ||
        failed(w, "C_DecryptInit", p11->C_DecryptInit(session, &mech, keys->priv)) ||
        failed(w, "C_Decrypt", p11->C_Decrypt(session, enc, enc_len, dec, &dec_len)))
        return false;
    if (dec_len != len || memcmp(dec, data, len) != 0) {
        snprintf(w->error, sizeof w->error, "thread %d, token %s: decrypted data differs",
                 w->index, w->tok->label);
        return false;
    }
    return true;
}

static bool keep_running(worker *w)
{
    if (time(NULL) - started > RUN_LIMIT_SECONDS) {
        snprintf(w->error, sizeof w->error, "thread %d: still running after %d s", w->index,
                 RUN_LIMIT_SECONDS);
        return false;
    }
    return w->ops < min_ops || (stop_file && access(stop_file, F_OK) != 0);
}

static void *work(void *arg)
{
    worker *w = arg;
    CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
    key_pair keys;
    CK_BYTE data[32];
    if (failed(w, "C_OpenSession",
               p11->C_OpenSession(w->tok->slot, CKF_SERIAL_SESSION, NULL, NULL, &session)) ||
        !find_key_pair(w, session, &keys))
        goto out;
    while (w->error[0] == '\0' && keep_running(w)) {
        snprintf((char *)data, sizeof data, "thread %d op %lu", w->index, w->ops);
        if (!sign_and_verify(w, session, &keys, data, sizeof data) ||
            !encrypt_and_decrypt(w, session, &keys, data, sizeof data))
            break;
        CK_ULONG n_slots;
        if (w->index == 0 && w->ops % 8 == 0 &&
            failed(w, "C_GetSlotList (re-scan)", count_slots(&n_slots)))
            break;
        w->ops++;
        atomic_fetch_add(&ops_done, 1);
        if (pause_us)
            usleep(pause_us);
    }
out:
    if (session != CK_INVALID_HANDLE)
        p11->C_CloseSession(session);
    return NULL;
}

typedef struct progress {
    pthread_t thread;
    const char *path;
    atomic_bool done;
} progress;

static atomic_ulong watched_slots; /* the watcher's last count, +1 (0: no watcher) */

/* Rewrites the progress file (atomically: a reader never sees half of it). */
static void write_progress(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "%lu\n", (unsigned long)atomic_load(&ops_done));
    if (atomic_load(&watched_slots))
        fprintf(f, "%lu\n", (unsigned long)atomic_load(&watched_slots) - 1);
    if (fclose(f) == 0)
        rename(tmp, path);
}

static void *report_progress(void *arg)
{
    progress *p = arg;
    while (!atomic_load(&p->done)) {
        write_progress(p->path);
        usleep(20000);
    }
    write_progress(p->path);
    return NULL;
}

/* A client polling for new tokens: the slot list over and over.  Accounts are
 * only added meanwhile, so the count of present slots may never go down. */
typedef struct watcher {
    pthread_t thread;
    atomic_bool done;
    unsigned long calls, counts; /* calls made, distinct counts seen */
    CK_ULONG last;
    char error[256];
} watcher;

static void *watch(void *arg)
{
    watcher *w = arg;
    while (!atomic_load(&w->done) && !w->error[0]) {
        CK_SLOT_ID *slots = NULL;
        CK_ULONG n = 0;
        CK_RV rv = list_slots(&slots, &n);
        free(slots);
        if (rv != CKR_OK)
            snprintf(w->error, sizeof w->error, "watcher: C_GetSlotList: CKR 0x%lx", (unsigned long)rv);
        else if (w->calls > 0 && n < w->last)
            snprintf(w->error, sizeof w->error, "watcher: %lu present slots after %lu",
                     (unsigned long)n, (unsigned long)w->last);
        w->counts += w->calls == 0 || n != w->last;
        w->last = n;
        atomic_store(&watched_slots, (unsigned long)n + 1);
        w->calls++;
        usleep(5000); /* a client polling often, not spinning */
    }
    return NULL;
}

static int read_pins(const char *path, token *tokens, size_t *n)
{
    FILE *f = fopen(path, "r");
    char line[256];
    *n = 0;
    if (!f) {
        perror(path);
        return -1;
    }
    while (*n < MAX_TOKENS && fgets(line, sizeof line, f)) {
        token *t = &tokens[*n];
        if (sscanf(line, "%32s %127s", t->label, t->pin) == 2)
            (*n)++;
    }
    fclose(f);
    return *n > 0 ? 0 : -1;
}

static int login_all(token *tokens, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        CK_RV rv = find_token_slot(&tokens[i]);
        if (rv == CKR_OK)
            rv = p11->C_OpenSession(tokens[i].slot, CKF_SERIAL_SESSION, NULL, NULL,
                                    &tokens[i].login_session);
        if (rv == CKR_OK)
            rv = p11->C_Login(tokens[i].login_session, CKU_USER, (CK_UTF8CHAR_PTR)tokens[i].pin,
                              strlen(tokens[i].pin));
        if (rv != CKR_OK) {
            fprintf(stderr, "token %s: find, open or login: CKR 0x%lx\n", tokens[i].label,
                    (unsigned long)rv);
            return -1;
        }
    }
    return 0;
}

/* Once the threads stopped, the tokens of AFTER_PINS (accounts added while
 * they ran): each logs in and signs, or ("!PIN") refuses the PIN. */
static int after_logins(const char *path, unsigned *logins, unsigned *refused)
{
    static token tokens[MAX_TOKENS];
    size_t n = 0;
    if (read_pins(path, tokens, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        token *t = &tokens[i];
        bool wrong = t->pin[0] == '!';
        const char *pin = t->pin + wrong;
        worker w = {.index = -1, .tok = t};
        CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
        key_pair keys;
        CK_BYTE data[32] = "signed by a token added live";
        if (!failed(&w, "find the token", find_token_slot(t)) &&
            !failed(&w, "C_OpenSession", p11->C_OpenSession(t->slot, CKF_SERIAL_SESSION, NULL, NULL, &session))) {
            CK_RV rv = p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
            if (wrong && rv == CKR_PIN_INCORRECT)
                (*refused)++;
            else if (wrong)
                snprintf(w.error, sizeof w.error, "token %.32s: a wrong PIN gave CKR 0x%lx, not "
                         "CKR_PIN_INCORRECT", t->label, (unsigned long)rv);
            else if (!failed(&w, "C_Login", rv) && find_key_pair(&w, session, &keys) &&
                     sign_and_verify(&w, session, &keys, data, sizeof data))
                (*logins)++;
        }
        if (session != CK_INVALID_HANDLE)
            p11->C_CloseSession(session);
        if (w.error[0]) {
            fprintf(stderr, "after the threads: %s\n", w.error);
            return -1;
        }
    }
    return 0;
}

static int load_module(const char *path, void **handle)
{
    CK_RV (*get_list)(CK_FUNCTION_LIST_PTR_PTR);
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
    *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!*handle) {
        fprintf(stderr, "%s\n", dlerror());
        return -1;
    }
    *(void **)&get_list = dlsym(*handle, "C_GetFunctionList");
    if (!get_list || get_list(&p11) != CKR_OK || p11->C_Initialize(&args) != CKR_OK) {
        fprintf(stderr, "%s: C_GetFunctionList or C_Initialize failed\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static token tokens[MAX_TOKENS];
    static worker workers[MAX_THREADS];
    size_t n_tokens = 0;
    int n_threads = 0, rc = 1;
    unsigned long total_ops = 0;
    CK_ULONG slots_before = 0, slots_after = 0;
    void *handle = NULL;

    if (argc < 7 || argc > 9 || (n_threads = atoi(argv[3])) < 1 || n_threads > MAX_THREADS) {
        fprintf(stderr, "usage: %s MODULE PINS THREADS MIN_OPS READY_FILE STOP_FILE "
                "[PROGRESS_FILE [AFTER_PINS]]\n", argv[0]);
        return 2;
    }
    progress reporter = {.path = argc >= 8 ? argv[7] : NULL};
    const char *after_pins = argc == 9 ? argv[8] : NULL;
    static watcher watching;
    bool watched = false;
    unsigned after_ok = 0, after_refused = 0;
    bool reporting = false;
    min_ops = strtoul(argv[4], NULL, 10);
    pause_us = getenv("MT_STRESS_PAUSE_MS") ? (useconds_t)atoi(getenv("MT_STRESS_PAUSE_MS")) * 1000 : 0;
    stop_file = strcmp(argv[6], "-") != 0 ? argv[6] : NULL;
    started = time(NULL);
    if (read_pins(argv[2], tokens, &n_tokens) != 0 || load_module(argv[1], &handle) != 0 ||
        count_slots(&slots_before) != CKR_OK || login_all(tokens, n_tokens) != 0)
        goto out;
    if (strcmp(argv[5], "-") != 0) {
        FILE *ready = fopen(argv[5], "w");
        if (!ready) {
            perror(argv[5]);
            goto out;
        }
        fclose(ready);
    }
    rc = 0;
    for (int i = 0; i < n_threads; i++) {
        workers[i].index = i;
        workers[i].tok = &tokens[(size_t)i % n_tokens];
        if (pthread_create(&workers[i].thread, NULL, work, &workers[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            n_threads = i;
            rc = 1;
            break;
        }
    }
    reporting = reporter.path &&
                pthread_create(&reporter.thread, NULL, report_progress, &reporter) == 0;
    watched = after_pins && pthread_create(&watching.thread, NULL, watch, &watching) == 0;
    if ((reporter.path && !reporting) || (after_pins && !watched)) {
        fprintf(stderr, "cannot start the progress or the watcher thread\n");
        rc = 1;
    }
    for (int i = 0; i < n_threads; i++) {
        pthread_join(workers[i].thread, NULL);
        total_ops += workers[i].ops;
        if (workers[i].error[0]) {
            fprintf(stderr, "%s\n", workers[i].error);
            rc = 1;
        }
    }
    if (reporting) {
        atomic_store(&reporter.done, true);
        pthread_join(reporter.thread, NULL);
    }
    if (watched) {
        atomic_store(&watching.done, true);
        pthread_join(watching.thread, NULL);
        if (watching.error[0]) {
            fprintf(stderr, "%s\n", watching.error);
            rc = 1;
        }
    }
    if (count_slots(&slots_after) != CKR_OK)
        rc = 1;
    printf("ops=%lu slots-before=%lu slots-after=%lu\n", total_ops, (unsigned long)slots_before,
           (unsigned long)slots_after);
    if (after_pins && after_logins(after_pins, &after_ok, &after_refused) != 0)
        rc = 1;
    if (after_pins)
        printf("watcher-calls=%lu watcher-counts=%lu after-logins=%u after-refused=%u\n", watching.calls,
               watching.counts, after_ok, after_refused);
out:
    if (p11)
        p11->C_Finalize(NULL);
    if (handle)
        dlclose(handle);
    return rc;
}
