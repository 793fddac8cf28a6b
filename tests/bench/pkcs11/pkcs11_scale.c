/* Start-up and lookup at scale: C_Initialize + C_GetSlotList time, resident
 * memory, and C_FindObjects by CKA_ID (median) on a store of many accounts.
 *   pkcs11_scale --module PATH [--lookups N] [--store LOCATION]... [--rounds N]
 * Each measure runs in a fresh child process (its RSS and first touches are
 * the module's alone), the stores in turn, `--rounds` times; without --store
 * the store is $MAILTOKEN_STORE.  With two stores (a SQLite file and a
 * PostgreSQL URI holding the same accounts) the second's results are given
 * as ratios to the first's.  Prints one Markdown table per round and fails
 * if a lookup finds nothing or the stores list different numbers of slots. */
#include "pkcs11_v3.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_STORES 4

typedef struct scale_result {
    unsigned long slots;
    double init_ms;
    long rss_before, rss_init, hwm_init, rss_open; /* KiB */
    size_t tokens_opened;
    double lookup_median_us, lookup_p99_us;
} scale_result;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* A line of /proc/self/status in KiB ("VmRSS", "VmHWM"). */
static long status_kib(const char *field)
{
    char line[256], format[32];
    long kib = -1;
    snprintf(format, sizeof(format), "%s: %%ld kB", field);
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, format, &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The certificate's CKA_ID of the token in `slot`, its session left open. */
static int open_token(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_SESSION_HANDLE *session, uint8_t id[20])
{
    CK_OBJECT_CLASS klass = CKO_CERTIFICATE;
    CK_ATTRIBUTE t = {CKA_CLASS, &klass, sizeof(klass)};
    CK_OBJECT_HANDLE cert;
    CK_ULONG found = 0;
    CK_ATTRIBUTE attr = {CKA_ID, id, 20};
    if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, session) != CKR_OK ||
        f->C_FindObjectsInit(*session, &t, 1) != CKR_OK || f->C_FindObjects(*session, &cert, 1, &found) != CKR_OK ||
        f->C_FindObjectsFinal(*session) != CKR_OK || found != 1 ||
        f->C_GetAttributeValue(*session, cert, &attr, 1) != CKR_OK)
        return -1;
    return 0;
}

/* The measures, in this process; 0 or -1 (said on stderr). */
static int measure(const char *module, int lookups, scale_result *r)
{
    void *h = dlopen(module, RTLD_NOW);
    CK_C_GetFunctionList get = h ? (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList") : NULL;
    CK_FUNCTION_LIST_PTR f = NULL;
    if (!get || get(&f) != CKR_OK) {
        fprintf(stderr, "pkcs11_scale: cannot load %s\n", module);
        return -1;
    }
    r->rss_before = status_kib("VmRSS");
    double t0 = now_us();
    CK_ULONG n = 0;
    if (f->C_Initialize(NULL) != CKR_OK || f->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK || n == 0) {
        fprintf(stderr, "pkcs11_scale: no slots\n");
        return -1;
    }
    CK_SLOT_ID *slots = calloc(n, sizeof(*slots));
    if (!slots || f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
        return -1;
    r->init_ms = (now_us() - t0) / 1000;
    r->rss_init = status_kib("VmRSS");
    r->hwm_init = status_kib("VmHWM");
    r->slots = n;

    /* lookups by CKA_ID spread over up to 100 tokens, each opened once */
    size_t tokens = n < 100 ? n : 100;
    CK_SESSION_HANDLE *sessions = calloc(tokens, sizeof(*sessions));
    uint8_t (*ids)[20] = calloc(tokens, sizeof(*ids));
    double *times = calloc((size_t)lookups, sizeof(*times));
    for (size_t i = 0; i < tokens; i++)
        if (open_token(f, slots[i * (n / tokens)], &sessions[i], ids[i]) != 0) {
            fprintf(stderr, "pkcs11_scale: token %zu has no certificate\n", i);
            return -1;
        }
    r->tokens_opened = tokens;
    r->rss_open = status_kib("VmRSS");
    for (int i = 0; i < lookups; i++) {
        size_t k = (size_t)i % tokens;
        CK_OBJECT_CLASS klass = CKO_CERTIFICATE;
        CK_ATTRIBUTE t[] = {{CKA_CLASS, &klass, sizeof(klass)}, {CKA_ID, ids[k], 20}};
        CK_OBJECT_HANDLE cert;
        CK_ULONG found = 0;
        double start = now_us();
        if (f->C_FindObjectsInit(sessions[k], t, 2) != CKR_OK ||
            f->C_FindObjects(sessions[k], &cert, 1, &found) != CKR_OK ||
            f->C_FindObjectsFinal(sessions[k]) != CKR_OK || found != 1) {
            fprintf(stderr, "pkcs11_scale: lookup %d found %lu certificates\n", i, (unsigned long)found);
            return -1;
        }
        times[i] = now_us() - start;
    }
    qsort(times, (size_t)lookups, sizeof(*times), cmp_double);
    r->lookup_median_us = times[lookups / 2];
    r->lookup_p99_us = times[(size_t)lookups * 99 / 100];
    f->C_Finalize(NULL);
    return 0;
}

/* The measures in a fresh child process with the store at `location`. */
static int measure_in_child(const char *module, const char *location, int lookups, scale_result *r)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fds[0]);
        setenv("MAILTOKEN_STORE", location, 1);
        scale_result mine = {0};
        int ok = measure(module, lookups, &mine) == 0 && write(fds[1], &mine, sizeof(mine)) == sizeof(mine);
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], r, sizeof(*r));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return got == sizeof(*r) && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static const char *backend_of(const char *location)
{
    return !strncmp(location, "postgresql://", 13) || !strncmp(location, "postgres://", 11) ? "PostgreSQL"
                                                                                              : "SQLite";
}

static void row(const char *what, const char *unit, const double *values, int n)
{
    printf("| %s |", what);
    for (int i = 0; i < n; i++)
        printf(" %.1f %s |", values[i], unit);
    if (n == 2)
        printf(" x%.2f |", values[0] > 0 ? values[1] / values[0] : 0);
    printf("\n");
}

static void print_round(int round, char *const *stores, const scale_result *r, int n, int lookups)
{
    double v[MAX_STORES];
    printf("\nround %d, %lu accounts (slots)\n\n| measure |", round, r[0].slots);
    for (int i = 0; i < n; i++)
        printf(" %s |", backend_of(stores[i]));
    if (n == 2)
        printf(" %s/%s |", backend_of(stores[1]), backend_of(stores[0]));
    printf("\n|---|");
    for (int i = 0; i < n + (n == 2); i++)
        printf("---|");
    printf("\n");
#define ROW(what, unit, expr)                                                                          \
    do {                                                                                               \
        for (int i = 0; i < n; i++)                                                                    \
            v[i] = (expr);                                                                             \
        row(what, unit, v, n);                                                                         \
    } while (0)
    ROW("C_Initialize + C_GetSlotList", "ms", r[i].init_ms);
    ROW("RSS after start-up (process)", "MiB", r[i].rss_init / 1024.0);
    ROW("of which module and store", "MiB", (r[i].rss_init - r[i].rss_before) / 1024.0);
    ROW("peak RSS during start-up (VmHWM)", "MiB", r[i].hwm_init / 1024.0);
    ROW("RSS after opening 100 tokens", "MiB", r[i].rss_open / 1024.0);
    char what[96];
    snprintf(what, sizeof(what), "C_FindObjects by CKA_ID (Init+Find+Final), median of %d", lookups);
    ROW(what, "µs", r[i].lookup_median_us);
    ROW("same, 99th percentile", "µs", r[i].lookup_p99_us);
#undef ROW
}

int main(int argc, char **argv)
{
    const char *module = NULL;
    char *stores[MAX_STORES];
    int lookups = 1000, rounds = 1, n_stores = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--module"))
            module = argv[i + 1];
        else if (!strcmp(argv[i], "--lookups"))
            lookups = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds"))
            rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--store") && n_stores < MAX_STORES)
            stores[n_stores++] = argv[i + 1];
    }
    if (n_stores == 0 && getenv("MAILTOKEN_STORE"))
        stores[n_stores++] = getenv("MAILTOKEN_STORE");
    if (!module || lookups < 1 || rounds < 1 || n_stores == 0) {
        fprintf(stderr, "usage: pkcs11_scale --module PATH [--lookups N] [--rounds N] [--store LOCATION]...\n"
                        "       (the store: $MAILTOKEN_STORE when no --store is given)\n");
        return 2;
    }
    for (int round = 1; round <= rounds; round++) {
        scale_result results[MAX_STORES] = {{0}};
        for (int i = 0; i < n_stores; i++) {
            if (measure_in_child(module, stores[i], lookups, &results[i]) != 0) {
                fprintf(stderr, "pkcs11_scale: measuring %s failed\n", backend_of(stores[i]));
                return 1;
            }
            if (results[i].slots != results[0].slots) {
                fprintf(stderr, "pkcs11_scale: %s lists %lu slots, %s %lu\n", backend_of(stores[i]),
                        results[i].slots, backend_of(stores[0]), results[0].slots);
                return 1;
            }
        }
        print_round(round, stores, results, n_stores, lookups);
    }
    return 0;
}
