/*
 * One module instance keeps signing while its store's PostgreSQL server is
 * stopped (`pg_ctl stop -m immediate`) at random moments and started again.
 * Each round: log in to TOKEN (server up), start a thread that signs with
 * the token's signing keys in a loop, stop the server after a random pause,
 * and while it is down check that the thread keeps signing, that every key
 * of the token opens for the first time since the login (decrypting what its
 * public key encrypted), that slots, token info, object searches and new
 * sessions are served, and that a login to OTHER is CKR_DEVICE_ERROR.  Then
 * the server is started, an account is imported by the CLI, and the same
 * process must see its slot and certificate.
 *
 * usage: mt-kill-sign MODULE TOKEN PIN OTHER OTHER_PIN ROUNDS
 *   with the environment's MT_KILL_CTL, a program run as `MT_KILL_CTL stop`,
 *   `MT_KILL_CTL start` and `MT_KILL_CTL import ROUND` (which imports an
 *   account and prints its email).
 * Prints "rounds=R signatures=N while-down=D first-opens-down=K"; exit 0
 * only if every check passed.
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

#define MAX_KEYS 16
#define WAIT_STEPS 600 /* 100 ms each: a bound for what must happen, not a speed check */

static CK_FUNCTION_LIST_PTR p11;
static atomic_bool stop, down;
static atomic_ulong signatures, signatures_down, errors;
static char first_error[256];

static void die(const char *what, CK_RV rv)
{
    fprintf(stderr, "FAIL: %s: CKR 0x%lx\n", what, (unsigned long)rv);
    exit(1);
}

static void check(const char *what, CK_RV rv)
{
    if (rv != CKR_OK)
        die(what, rv);
}

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs MT_KILL_CTL with args; out: the first line it prints. */
static void control(const char *args, char *out, size_t out_len)
{
    char cmd[256];
    if (!getenv("MT_KILL_CTL"))
        die("MT_KILL_CTL is not set", CKR_ARGUMENTS_BAD);
    snprintf(cmd, sizeof cmd, "\"$MT_KILL_CTL\" %s", args);
    FILE *p = popen(cmd, "r");
    if (!p)
        die("popen", CKR_GENERAL_ERROR);
    size_t n = out ? fread(out, 1, out_len - 1, p) : 0;
    char sink[256];
    while (!out && fread(sink, 1, sizeof sink, p) > 0)
        ;
    if (out) {
        out[n] = '\0';
        out[strcspn(out, "\n")] = '\0';
    }
    if (pclose(p) != 0) {
        fprintf(stderr, "FAIL: MT_KILL_CTL %s failed\n", args);
        exit(1);
    }
}

/* The slot whose token label is `label`, or CK_INVALID_HANDLE. */
static CK_SLOT_ID slot_of(const char *label)
{
    CK_SLOT_ID slots[256];
    CK_ULONG n = 0;
    /* as clients do: the count first (the module looks for changes then) */
    check("C_GetSlotList(NULL)", p11->C_GetSlotList(CK_TRUE, NULL, &n));
    n = 256;
    check("C_GetSlotList", p11->C_GetSlotList(CK_TRUE, slots, &n));
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO info;
        size_t len = strlen(label);
        if (p11->C_GetTokenInfo(slots[i], &info) == CKR_OK && len <= 32 &&
            memcmp(info.label, label, len) == 0 && (len == 32 || info.label[len] == ' '))
            return slots[i];
    }
    return (CK_SLOT_ID)CK_INVALID_HANDLE;
}

static CK_ULONG slot_count(void)
{
    CK_ULONG n = 0;
    check("C_GetSlotList(NULL)", p11->C_GetSlotList(CK_TRUE, NULL, &n));
    return n;
}

static CK_ULONG find(CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out,
                     CK_ULONG max)
{
    CK_ULONG found = 0;
    check("C_FindObjectsInit", p11->C_FindObjectsInit(s, tmpl, n));
    check("C_FindObjects", p11->C_FindObjects(s, out, max, &found));
    check("C_FindObjectsFinal", p11->C_FindObjectsFinal(s));
    return found;
}

typedef struct key {
    CK_OBJECT_HANDLE priv, pub;
    CK_KEY_TYPE type;
    CK_BBOOL sign, decrypt;
} key;

static size_t token_keys(CK_SESSION_HANDLE s, key *keys)
{
    CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY, pub = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE tmpl = {CKA_CLASS, &priv, sizeof priv};
    CK_OBJECT_HANDLE handles[MAX_KEYS];
    size_t n = find(s, &tmpl, 1, handles, MAX_KEYS);
    for (size_t i = 0; i < n; i++) {
        CK_BYTE id[64];
        CK_ATTRIBUTE attrs[] = {{CKA_KEY_TYPE, &keys[i].type, sizeof keys[i].type},
                                {CKA_SIGN, &keys[i].sign, sizeof keys[i].sign},
                                {CKA_DECRYPT, &keys[i].decrypt, sizeof keys[i].decrypt},
                                {CKA_ID, id, sizeof id}};
        keys[i].priv = handles[i];
        check("C_GetAttributeValue", p11->C_GetAttributeValue(s, handles[i], attrs, 4));
        CK_ATTRIBUTE pub_tmpl[] = {{CKA_CLASS, &pub, sizeof pub}, {CKA_ID, id, attrs[3].ulValueLen}};
        if (find(s, pub_tmpl, 2, &keys[i].pub, 1) != 1)
            die("no public key beside a private key", CKR_GENERAL_ERROR);
    }
    return n;
}

static CK_RV sign_once(CK_SESSION_HANDLE s, const key *k)
{
    CK_MECHANISM mech = {k->type == CKK_RSA ? CKM_SHA256_RSA_PKCS : CKM_ECDSA_SHA256, NULL, 0};
    CK_BYTE data[] = "a message signed while the server may be away", sig[1024];
    CK_ULONG len = sizeof sig;
    CK_RV rv = p11->C_SignInit(s, &mech, k->priv);
    if (rv == CKR_OK)
        rv = p11->C_Sign(s, data, sizeof data - 1, sig, &len);
    if (rv == CKR_OK && (rv = p11->C_VerifyInit(s, &mech, k->pub)) == CKR_OK)
        rv = p11->C_Verify(s, data, sizeof data - 1, sig, len);
    return rv;
}

/* Encrypted to the public key, decrypted by the private one: the private
 * key opens (for the first time since the login, if not used before). */
static void decrypt_once(CK_SESSION_HANDLE s, const key *k)
{
    CK_MECHANISM mech = {CKM_RSA_PKCS, NULL, 0};
    CK_BYTE data[] = "for the old key too", enc[1024], dec[1024];
    CK_ULONG enc_len = sizeof enc, dec_len = sizeof dec;
    check("C_EncryptInit", p11->C_EncryptInit(s, &mech, k->pub));
    check("C_Encrypt", p11->C_Encrypt(s, data, sizeof data - 1, enc, &enc_len));
    check("C_DecryptInit while the server is down", p11->C_DecryptInit(s, &mech, k->priv));
    check("C_Decrypt while the server is down", p11->C_Decrypt(s, enc, enc_len, dec, &dec_len));
    if (dec_len != sizeof data - 1 || memcmp(dec, data, dec_len) != 0)
        die("the decryption is not the message", CKR_GENERAL_ERROR);
}

typedef struct signer {
    CK_SESSION_HANDLE session;
    const key *keys;
    size_t n;
} signer;

static void *sign_loop(void *arg)
{
    const signer *sg = arg;
    while (!atomic_load(&stop)) {
        for (size_t i = 0; i < sg->n; i++) {
            if (!sg->keys[i].sign)
                continue;
            bool was_down = atomic_load(&down);
            CK_RV rv = sign_once(sg->session, &sg->keys[i]);
            if (rv != CKR_OK && atomic_fetch_add(&errors, 1) == 0)
                snprintf(first_error, sizeof first_error, "signing (server %s): CKR 0x%lx",
                         was_down ? "down" : "up", (unsigned long)rv);
            if (rv == CKR_OK && was_down && atomic_load(&down))
                atomic_fetch_add(&signatures_down, 1);
            if (rv == CKR_OK)
                atomic_fetch_add(&signatures, 1);
        }
    }
    return NULL;
}

/* While the server is down: what a signing client does is served. */
static void while_down(CK_SLOT_ID slot, CK_SESSION_HANDLE s, const key *keys, size_t n,
                       CK_SESSION_HANDLE other, const char *other_pin, CK_ULONG slots_before,
                       unsigned long *first_opens)
{
    unsigned long before = atomic_load(&signatures_down);
    for (size_t i = 0; i < n; i++)
        if (keys[i].decrypt && keys[i].type == CKK_RSA) {
            decrypt_once(s, &keys[i]);
            ++*first_opens;
        }
    if (slot_count() != slots_before)
        die("the slot list changed while the server was down", CKR_GENERAL_ERROR);
    CK_TOKEN_INFO info;
    check("C_GetTokenInfo while the server is down", p11->C_GetTokenInfo(slot, &info));
    key again[MAX_KEYS];
    if (token_keys(s, again) != n)
        die("the token's keys changed while the server was down", CKR_GENERAL_ERROR);
    CK_SESSION_HANDLE extra;
    check("C_OpenSession while the server is down",
          p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &extra));
    check("C_CloseSession", p11->C_CloseSession(extra));
    CK_RV rv = p11->C_Login(other, CKU_USER, (CK_UTF8CHAR_PTR)other_pin, strlen(other_pin));
    if (rv != CKR_DEVICE_ERROR)
        die("a login while the server is down is not CKR_DEVICE_ERROR", rv);
    for (int i = 0; i < WAIT_STEPS && atomic_load(&signatures_down) < before + 20; i++)
        nap(100);
    if (atomic_load(&signatures_down) < before + 20)
        die("the signing thread made no progress while the server was down", CKR_GENERAL_ERROR);
    nap(rand() % 300);
}

/* An account imported after the restart shows up in this process. */
static void new_account_seen(int round, CK_ULONG *slots)
{
    char email[256], args[32];
    snprintf(args, sizeof args, "import %d", round);
    control(args, email, sizeof email);
    CK_SLOT_ID slot = (CK_SLOT_ID)CK_INVALID_HANDLE;
    for (int i = 0; i < WAIT_STEPS && slot == (CK_SLOT_ID)CK_INVALID_HANDLE; i++) {
        if (i > 0)
            nap(100); /* the module's connection may be in its pause before reconnecting */
        slot = slot_of(email);
    }
    if (slot == (CK_SLOT_ID)CK_INVALID_HANDLE) {
        fprintf(stderr, "FAIL: %s imported after the restart has no slot\n", email);
        exit(1);
    }
    CK_SESSION_HANDLE s;
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_ATTRIBUTE tmpl = {CKA_CLASS, &cls, sizeof cls};
    CK_OBJECT_HANDLE cert;
    check("C_OpenSession", p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s));
    if (find(s, &tmpl, 1, &cert, 1) != 1)
        die("the new account's certificate is not listed", CKR_GENERAL_ERROR);
    check("C_CloseSession", p11->C_CloseSession(s));
    if (slot_count() != *slots + 1)
        die("the slot count after the import is not one more", CKR_GENERAL_ERROR);
    *slots += 1;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: mt-kill-sign MODULE TOKEN PIN OTHER OTHER_PIN ROUNDS\n");
        return 2;
    }
    const char *pin = argv[3], *other_pin = argv[5];
    int rounds = atoi(argv[6]);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    void *lib = dlopen(argv[1], RTLD_NOW);
    CK_C_GetFunctionList get = lib ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
    if (!get || get(&p11) != CKR_OK)
        die("loading the module", CKR_GENERAL_ERROR);
    check("C_Initialize", p11->C_Initialize(NULL));
    CK_SLOT_ID slot = slot_of(argv[2]), other_slot = slot_of(argv[4]);
    if (slot == (CK_SLOT_ID)CK_INVALID_HANDLE || other_slot == (CK_SLOT_ID)CK_INVALID_HANDLE)
        die("no slot for the tokens named", CKR_TOKEN_NOT_PRESENT);
    CK_ULONG slots = slot_count();
    CK_SESSION_HANDLE s, thread_session, other;
    check("C_OpenSession", p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s));
    check("C_OpenSession", p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &thread_session));
    check("C_OpenSession", p11->C_OpenSession(other_slot, CKF_SERIAL_SESSION, NULL, NULL, &other));
    unsigned long first_opens = 0;
    for (int round = 1; round <= rounds; round++) {
        key keys[MAX_KEYS];
        check("C_Login", p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)));
        signer sg = {thread_session, keys, token_keys(s, keys)};
        atomic_store(&stop, false);
        pthread_t thread;
        if (pthread_create(&thread, NULL, sign_loop, &sg) != 0)
            die("pthread_create", CKR_GENERAL_ERROR);
        nap(rand() % 200);
        control("stop", NULL, 0);
        atomic_store(&down, true);
        while_down(slot, s, keys, sg.n, other, other_pin, slots, &first_opens);
        atomic_store(&down, false);
        control("start", NULL, 0);
        new_account_seen(round, &slots);
        atomic_store(&stop, true);
        pthread_join(thread, NULL);
        check("C_Login after the restart",
              p11->C_Login(other, CKU_USER, (CK_UTF8CHAR_PTR)other_pin, strlen(other_pin)));
        check("C_Logout", p11->C_Logout(other));
        check("C_Logout", p11->C_Logout(s));
        if (atomic_load(&errors) > 0) {
            fprintf(stderr, "FAIL: %lu signing errors, the first: %s\n", atomic_load(&errors),
                    first_error);
            return 1;
        }
    }
    check("C_Finalize", p11->C_Finalize(NULL));
    printf("rounds=%d signatures=%lu while-down=%lu first-opens-down=%lu\n", rounds,
           atomic_load(&signatures), atomic_load(&signatures_down), first_opens);
    return 0;
}
