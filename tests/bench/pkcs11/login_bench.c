/* Signing on one token while another token logs in over and over, against
 * signing alone, in one process through mailtoken-pkcs11.so: a login's
 * Argon2id (at the default cost) must stall no other token's signatures.
 *   login_bench --module PATH --testdata DIR [--seconds S] [--kdf default|min]
 * The store is built here through the store API with the chosen KDF limits:
 * alice (RSA-2048) signs, bob logs in (and signs once each time, which opens
 * its key) over and over.  Each signature is what NSS does for
 * one: find the key by CKA_ID, C_SignInit, C_Sign.  Every signature's status
 * and one signature's value are checked, and every login must succeed
 * (exit 1 otherwise); the timings are reported, never asserted.  A third run
 * signs beside the same Argon2id computed outside the module: on a machine
 * shared with other work, the logins' own CPU cost is then told apart from
 * any wait the module would add. */
#include "pkcs11_v3.h"

#include "mailtoken/store.h"

#include <dlfcn.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIGNER "alice@example.org"
#define LOGGER "bob@example.org"
#define PIN "bench-pin-2026"
#define SO_PIN "bench-so-pin-2026"
#define MAX_SAMPLES 2000000

static CK_FUNCTION_LIST_PTR p11;
static double seconds = 3.0;
static atomic_bool stop;
static atomic_int failures;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "login_bench: %s\n", what);
    exit(1);
}

static void check_store(mt_status st, const char *what)
{
    if (st != MT_OK) {
        fprintf(stderr, "login_bench: %s: %s\n", what, mt_errmsg());
        exit(1);
    }
}

static mt_secret *secret_of(const char *text)
{
    mt_secret *secret = NULL;
    check_store(mt_secret_from(text, strlen(text), &secret), "secret");
    return secret;
}

/* The store: both users' P12s, accounts, user PINs under the chosen limits. */
static void build_store(const char *path, const char *testdata, bool default_kdf)
{
    mt_config *config = NULL;
    mt_store *store = NULL;
    int64_t org_id = 0;
    check_store(mt_config_defaults(&config), "config");
    /* the SO PIN is never measured: the cheapest Argon2id (the module's
     * config, written in main, allows it) */
    config->allow_weak_kdf = true;
    config->so_kdf_opslimit = crypto_pwhash_OPSLIMIT_MIN;
    config->so_kdf_memlimit = crypto_pwhash_MEMLIMIT_MIN;
    if (!default_kdf) {
        config->kdf_opslimit = crypto_pwhash_OPSLIMIT_MIN;
        config->kdf_memlimit = crypto_pwhash_MEMLIMIT_MIN;
    }
    /* the record of keys sealed to lives beside the bench's store, not in a home */
    if (asprintf(&config->known_keys_file, "%s.known-keys", path) < 0)
        die("out of memory");
    check_store(mt_store_open(path, config, MT_OPEN_CREATE, &store), path);
    mt_secret *so = secret_of(SO_PIN), *pin = secret_of(PIN);
    check_store(mt_store_org_create(store, "bench", so, &org_id), "organisation");
    const char *names[] = {"alice", "bob"};
    for (size_t i = 0; i < 2; i++) {
        char p12[1024], pass[1024];
        mt_secret *password = NULL;
        mt_parsed *parsed = NULL;
        mt_account *account = NULL;
        int64_t cert = 0;
        snprintf(p12, sizeof(p12), "%s/users/%s.p12", testdata, names[i]);
        snprintf(pass, sizeof(pass), "%s/users/%s.pass", testdata, names[i]);
        check_store(mt_secret_from_file(pass, &password), pass);
        check_store(mt_cert_parse_file(p12, password, &parsed), p12);
        check_store(mt_store_cert_import(store, org_id, &parsed->entries[0], NULL, NULL, &cert, NULL), p12);
        const char *email = parsed->entries[0].cert->emails[0];
        check_store(mt_store_account_create(store, org_id, email, cert, &cert, 1), email);
        check_store(mt_store_account_get(store, org_id, email, &account), email);
        check_store(mt_store_token_init_pin(store, account->token_id, so, pin), email);
        mt_account_free(account);
        mt_parsed_free(parsed);
        mt_secret_free(password);
    }
    mt_secret_free(so);
    mt_secret_free(pin);
    mt_store_close(store);
    mt_config_free(config);
}

static CK_SLOT_ID slot_of(const char *label)
{
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;
    if (p11->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
        die("C_GetSlotList");
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO info;
        if (p11->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
            memcmp(info.label, label, strlen(label)) == 0 && info.label[strlen(label)] == ' ')
            return slots[i];
    }
    die("token not found");
    return 0;
}

/* ------------------------------------------------------------- signing */

typedef struct signer {
    CK_SESSION_HANDLE session;
    uint8_t id[20];
    CK_ULONG id_len;
    double *latency; /* seconds, one per signature */
    size_t n;
} signer;

static CK_RV sign_once(signer *s, uint8_t *sig, CK_ULONG *sig_len)
{
    static const uint8_t data[] = "a message as long as a short S/MIME signed-attributes digest input";
    CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &klass, sizeof(klass)}, {CKA_ID, s->id, s->id_len}};
    CK_ULONG n_tmpl = s->id_len ? 2 : 1; /* no id: the token's only key */
    CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    CK_ULONG found = 0;
    CK_RV rv = p11->C_FindObjectsInit(s->session, tmpl, n_tmpl);
    if (rv == CKR_OK)
        rv = p11->C_FindObjects(s->session, &key, 1, &found);
    if (rv == CKR_OK)
        rv = p11->C_FindObjectsFinal(s->session);
    if (rv == CKR_OK && found != 1)
        rv = CKR_KEY_HANDLE_INVALID;
    if (rv == CKR_OK)
        rv = p11->C_SignInit(s->session, &mech, key);
    if (rv == CKR_OK)
        rv = p11->C_Sign(s->session, (CK_BYTE_PTR)data, sizeof(data) - 1, sig, sig_len);
    return rv;
}

static void *sign_loop(void *arg)
{
    signer *s = arg;
    uint8_t sig[512];
    double end = now() + seconds;
    while (now() < end && s->n < MAX_SAMPLES) {
        CK_ULONG len = sizeof(sig);
        double t0 = now();
        if (sign_once(s, sig, &len) != CKR_OK)
            atomic_fetch_add(&failures, 1);
        s->latency[s->n++] = now() - t0;
    }
    atomic_store(&stop, true);
    return NULL;
}

/* -------------------------------------------------------------- logins */

/* The other token: a session, C_Login, one signature (its key is opened
 * then, as a mail client's first signature after the PIN prompt), logout. */
typedef struct logger {
    CK_SLOT_ID slot;
    size_t logins;
    double busy; /* seconds spent in C_Login */
} logger;

static void *login_loop(void *arg)
{
    logger *l = arg;
    signer once = {0};
    uint8_t sig[512];
    while (!atomic_load(&stop)) {
        CK_ULONG len = sizeof(sig);
        double t0 = now();
        CK_RV rv = p11->C_OpenSession(l->slot, CKF_SERIAL_SESSION, NULL, NULL, &once.session);
        if (rv == CKR_OK)
            rv = p11->C_Login(once.session, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN));
        l->busy += now() - t0;
        if (rv == CKR_OK)
            rv = sign_once(&once, sig, &len);
        if (rv == CKR_OK)
            rv = p11->C_Logout(once.session);
        if (rv != CKR_OK)
            atomic_fetch_add(&failures, 1);
        p11->C_CloseSession(once.session);
        l->logins++;
    }
    return NULL;
}

/* The same Argon2id, computed in this process outside the module: what the
 * logins cost the machine without anything of the module around them. */
static bool default_kdf = true;

static void *argon2_loop(void *arg)
{
    logger *l = arg;
    uint8_t key[32], salt[crypto_pwhash_SALTBYTES] = {0};
    unsigned long long ops = default_kdf ? crypto_pwhash_OPSLIMIT_MODERATE : crypto_pwhash_OPSLIMIT_MIN;
    size_t mem = default_kdf ? crypto_pwhash_MEMLIMIT_MODERATE : crypto_pwhash_MEMLIMIT_MIN;
    while (!atomic_load(&stop)) {
        double t0 = now();
        if (crypto_pwhash(key, sizeof(key), PIN, strlen(PIN), salt, ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
            atomic_fetch_add(&failures, 1);
        l->busy += now() - t0;
        l->logins++;
    }
    return NULL;
}

/* ------------------------------------------------------------- results */

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct result {
    double rate, p50, p99, max;
} result;

static result run(signer *s, logger *l, void *(*beside)(void *))
{
    pthread_t sign_thread, login_thread;
    s->n = 0;
    atomic_store(&stop, false);
    double t0 = now();
    if (l && pthread_create(&login_thread, NULL, beside, l) != 0)
        die("pthread_create");
    if (pthread_create(&sign_thread, NULL, sign_loop, s) != 0)
        die("pthread_create");
    pthread_join(sign_thread, NULL);
    double elapsed = now() - t0;
    if (l)
        pthread_join(login_thread, NULL);
    qsort(s->latency, s->n, sizeof(double), by_value);
    result r = {(double)s->n / elapsed, s->latency[s->n / 2] * 1e3,
                s->latency[(size_t)((double)s->n * 0.99)] * 1e3, s->latency[s->n - 1] * 1e3};
    return r;
}

static void check_signature(signer *s, const char *testdata)
{
    char path[1024];
    uint8_t sig[512];
    CK_ULONG len = sizeof(sig);
    static const uint8_t data[] = "a message as long as a short S/MIME signed-attributes digest input";
    snprintf(path, sizeof(path), "%s/users/alice.crt", testdata);
    FILE *f = fopen(path, "r");
    X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    EVP_PKEY *pub = cert ? X509_get_pubkey(cert) : NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!pub || sign_once(s, sig, &len) != CKR_OK ||
        EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) != 1 ||
        EVP_DigestVerify(md, sig, len, data, sizeof(data) - 1) != 1)
        die("the module's signature does not verify with alice's certificate");
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pub);
    X509_free(cert);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    const char *module = NULL, *testdata = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--module"))
            module = argv[i + 1];
        else if (!strcmp(argv[i], "--testdata"))
            testdata = argv[i + 1];
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--kdf"))
            default_kdf = strcmp(argv[i + 1], "min") != 0;
    }
    if (!module || !testdata || seconds <= 0) {
        fprintf(stderr, "usage: login_bench --module PATH --testdata DIR [--seconds S] [--kdf default|min]\n");
        return 2;
    }
    char dir[] = "/tmp/mt-login-bench-XXXXXX", store[64], conf[64];
    if (!mkdtemp(dir))
        die("mkdtemp");
    snprintf(store, sizeof(store), "%s/store.db", dir);
    snprintf(conf, sizeof(conf), "%s/mailtoken.conf", dir);
    FILE *f = fopen(conf, "w");
    if (!f)
        die("cannot write the config");
    fputs("allow_weak_kdf = true\nso_kdf_opslimit = 1\nso_kdf_memlimit = 8192\n", f);
    if (!default_kdf)
        fputs("kdf_opslimit = 1\nkdf_memlimit = 8192\n", f);
    fclose(f);
    setenv("MAILTOKEN_STORE", store, 1);
    setenv("MAILTOKEN_CONF", conf, 1);
    unsetenv("MAILTOKEN_ACCOUNTS");
    build_store(store, testdata, default_kdf);

    void *handle = dlopen(module, RTLD_NOW | RTLD_LOCAL);
    CK_C_GetFunctionList get = handle ? (CK_C_GetFunctionList)dlsym(handle, "C_GetFunctionList") : NULL;
    if (!get || get(&p11) != CKR_OK || p11->C_Initialize(NULL) != CKR_OK)
        die("cannot load and initialise the module");
    signer s = {0};
    logger l = {.slot = slot_of(LOGGER)};
    CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE by_class = {CKA_CLASS, &klass, sizeof(klass)};
    CK_ATTRIBUTE id = {CKA_ID, s.id, sizeof(s.id)};
    CK_OBJECT_HANDLE key;
    CK_ULONG found = 0;
    if (p11->C_OpenSession(slot_of(SIGNER), CKF_SERIAL_SESSION, NULL, NULL, &s.session) != CKR_OK ||
        p11->C_Login(s.session, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN)) != CKR_OK ||
        p11->C_FindObjectsInit(s.session, &by_class, 1) != CKR_OK ||
        p11->C_FindObjects(s.session, &key, 1, &found) != CKR_OK || found != 1 ||
        p11->C_FindObjectsFinal(s.session) != CKR_OK ||
        p11->C_GetAttributeValue(s.session, key, &id, 1) != CKR_OK)
        die("cannot log in to the signing token");
    s.id_len = id.ulValueLen;
    if (!(s.latency = malloc(MAX_SAMPLES * sizeof(double))))
        die("out of memory");
    check_signature(&s, testdata);

    logger raw = {0};
    result alone = run(&s, NULL, NULL);
    result beside = run(&s, &l, login_loop);
    result work = run(&s, &raw, argon2_loop);
    printf("Argon2id limits: %s; %.1f s per run; RSA-2048 SHA256-RSA-PKCS (find key, SignInit, Sign)\n",
           default_kdf ? "the default (MODERATE, 256 MiB)" : "the minimum", seconds);
    printf("| run | signatures/s | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|\n");
    printf("| signing alone | %.0f | %.2f | %.2f | %.2f |\n", alone.rate, alone.p50, alone.p99, alone.max);
    printf("| while %s logs in and signs once (%zu logins, %.0f ms each) | %.0f | %.2f | %.2f | %.2f |\n",
           LOGGER, l.logins, l.logins ? l.busy / (double)l.logins * 1e3 : 0.0, beside.rate, beside.p50,
           beside.p99, beside.max);
    printf("| beside the same Argon2id outside the module (%zu, %.0f ms each) | %.0f | %.2f | %.2f | %.2f |\n",
           raw.logins, raw.logins ? raw.busy / (double)raw.logins * 1e3 : 0.0, work.rate, work.p50,
           work.p99, work.max);
    printf("throughput while logging in: %.2f of signing alone (target >= 0.9), %.2f of signing beside "
           "the bare Argon2id; p99 %.2f ms (target < 5)\n",
           beside.rate / alone.rate, beside.rate / work.rate, beside.p99);
    p11->C_Finalize(NULL);
    free(s.latency);
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    if (atomic_load(&failures) || l.logins == 0) {
        fprintf(stderr, "login_bench: %d signatures or logins failed, %zu logins\n",
                atomic_load(&failures), l.logins);
        return 1;
    }
    return 0;
}
