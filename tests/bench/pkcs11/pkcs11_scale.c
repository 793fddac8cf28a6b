/* Start-up and lookup at scale: C_Initialize + C_GetSlotList time, resident
 * memory, and C_FindObjects by CKA_ID (median) on a store of many accounts.
 *   pkcs11_scale --module PATH --lookups N
 * The store comes from $MAILTOKEN_STORE; prints one Markdown table row per
 * measure and fails if a lookup finds nothing. */
#include "pkcs11_v3.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static long rss_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
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

int main(int argc, char **argv)
{
    const char *path = NULL;
    int lookups = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--module"))
            path = argv[i + 1];
        else if (!strcmp(argv[i], "--lookups"))
            lookups = atoi(argv[i + 1]);
    }
    void *h = path ? dlopen(path, RTLD_NOW) : NULL;
    CK_C_GetFunctionList get = h ? (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList") : NULL;
    CK_FUNCTION_LIST_PTR f = NULL;
    if (!get || get(&f) != CKR_OK || lookups < 1) {
        fprintf(stderr, "usage: pkcs11_scale --module PATH [--lookups N]\n");
        return 2;
    }
    long rss_before = rss_kib();
    double t0 = now_us();
    CK_ULONG n = 0;
    if (f->C_Initialize(NULL) != CKR_OK || f->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK || n == 0) {
        fprintf(stderr, "pkcs11_scale: no slots\n");
        return 1;
    }
    CK_SLOT_ID *slots = calloc(n, sizeof(*slots));
    if (!slots || f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
        return 1;
    double init_ms = (now_us() - t0) / 1000;
    long rss_init = rss_kib();

    /* lookups by CKA_ID spread over up to 100 tokens, each opened once */
    size_t tokens = n < 100 ? n : 100;
    CK_SESSION_HANDLE *sessions = calloc(tokens, sizeof(*sessions));
    uint8_t (*ids)[20] = calloc(tokens, sizeof(*ids));
    double *times = calloc((size_t)lookups, sizeof(*times));
    for (size_t i = 0; i < tokens; i++) {
        CK_OBJECT_CLASS klass = CKO_CERTIFICATE;
        CK_ATTRIBUTE t = {CKA_CLASS, &klass, sizeof(klass)};
        CK_OBJECT_HANDLE cert;
        CK_ULONG found = 0;
        CK_ATTRIBUTE id = {CKA_ID, ids[i], 20};
        if (f->C_OpenSession(slots[i * (n / tokens)], CKF_SERIAL_SESSION, NULL, NULL, &sessions[i]) != CKR_OK ||
            f->C_FindObjectsInit(sessions[i], &t, 1) != CKR_OK ||
            f->C_FindObjects(sessions[i], &cert, 1, &found) != CKR_OK || found != 1 ||
            f->C_FindObjectsFinal(sessions[i]) != CKR_OK ||
            f->C_GetAttributeValue(sessions[i], cert, &id, 1) != CKR_OK) {
            fprintf(stderr, "pkcs11_scale: token %zu has no certificate\n", i);
            return 1;
        }
    }
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
            return 1;
        }
        times[i] = now_us() - start;
    }
    qsort(times, (size_t)lookups, sizeof(*times), cmp_double);
    printf("| accounts (slots) | %lu |\n", (unsigned long)n);
    printf("| C_Initialize + C_GetSlotList | %.1f ms |\n", init_ms);
    printf("| RSS after start-up (process) | %.1f MiB (module: +%.1f MiB) |\n", rss_init / 1024.0,
           (rss_init - rss_before) / 1024.0);
    printf("| RSS after opening %zu tokens | %.1f MiB |\n", tokens, rss_kib() / 1024.0);
    printf("| C_FindObjects by CKA_ID (Init+Find+Final), median of %d | %.1f µs |\n", lookups,
           times[lookups / 2]);
    printf("| same, 99th percentile | %.1f µs |\n", times[(size_t)lookups * 99 / 100]);
    f->C_Finalize(NULL);
    return 0;
}
