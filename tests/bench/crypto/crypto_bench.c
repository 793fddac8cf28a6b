/* crypto_bench: certificate parsing and sealing against raw OpenSSL / libsodium
 * in the same process.
 *   crypto_bench --p12-dir DIR --count N [--password P] [--domain D]
 * DIR holds userNNNNN.p12 files from mt-gen-bulk.  Every parse is checked
 * (one entry, its key, its email); exit 1 on any wrong result. */
#include "mailtoken/store.h"
#include "seal.h"

/* The primitives seal to key pairs made right here: trusted by construction. */
#define TRUSTED(pk) ((const mt_trusted_pk *)(pk))

#include <getopt.h>
#include <openssl/pkcs12.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct input {
    uint8_t *data;
    size_t len;
    char name[64];
    char email[128];
} input;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static bool read_file(const char *path, input *in)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    in->data = size > 0 ? malloc((size_t)size) : NULL;
    in->len = in->data ? fread(in->data, 1, (size_t)size, f) : 0;
    fclose(f);
    return in->len == (size_t)size && size > 0;
}

static void report(const char *what, size_t n, double ours, double base, const char *base_name)
{
    printf("%-28s %6zu ops  %8.3f ms/op  %8.0f ops/s", what, n, ours * 1e3 / (double)n,
           (double)n / ours);
    if (base > 0)
        printf("  (%s %.3f ms/op, ratio %.2f)", base_name, base * 1e3 / (double)n, ours / base);
    printf("\n");
}

static double bench_openssl_parse(const input *inputs, size_t n, const char *password)
{
    double start = now();
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = inputs[i].data;
        PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)inputs[i].len);
        EVP_PKEY *key = NULL;
        X509 *cert = NULL;
        STACK_OF(X509) *ca = NULL;
        if (!p12 || !PKCS12_parse(p12, password, &key, &cert, &ca) || !key || !cert) {
            fprintf(stderr, "crypto_bench: OpenSSL cannot parse %s\n", inputs[i].name);
            exit(1);
        }
        EVP_PKEY_free(key);
        X509_free(cert);
        sk_X509_pop_free(ca, X509_free);
        PKCS12_free(p12);
    }
    return now() - start;
}

/* Parses every input; keeps the PKCS#8 keys for the sealing benchmark. */
static double bench_parse(const input *inputs, size_t n, const char *password, mt_secret **keys)
{
    double start = now();
    for (size_t i = 0; i < n; i++) {
        mt_parsed *parsed = NULL;
        if (mt_cert_parse(inputs[i].data, inputs[i].len, inputs[i].name, password,
                          strlen(password), &parsed) != MT_OK) {
            fprintf(stderr, "crypto_bench: %s\n", mt_errmsg());
            exit(1);
        }
        const mt_parsed_entry *entry = &parsed->entries[0];
        if (parsed->n_entries != 1 || !entry->pkcs8 || entry->cert->n_emails != 1 ||
            strcmp(entry->cert->emails[0], inputs[i].email) != 0 || entry->n_chain < 1) {
            fprintf(stderr, "crypto_bench: %s: wrong parse result\n", inputs[i].name);
            exit(1);
        }
        mt_secret_from(entry->pkcs8->data, entry->pkcs8->len, &keys[i]);
        mt_parsed_free(parsed);
    }
    return now() - start;
}

static double bench_seal(mt_secret **keys, size_t n, bool raw)
{
    uint8_t pk[MT_SEAL_PK_LEN], hash[32] = {0};
    mt_secret *sk = NULL;
    mt_seal_keypair(pk, &sk);
    double start = now();
    for (size_t i = 0; i < n; i++) {
        mt_blob sealed = {0};
        if (raw) {
            sealed.data = malloc(keys[i]->len + crypto_box_SEALBYTES);
            crypto_box_seal(sealed.data, keys[i]->data, keys[i]->len, pk);
        } else if (mt_seal_key(TRUSTED(pk), hash, keys[i], &sealed) != MT_OK) {
            fprintf(stderr, "crypto_bench: %s\n", mt_errmsg());
            exit(1);
        }
        free(sealed.data);
    }
    mt_secret_free(sk);
    return now() - start;
}

/* One PIN unwrap at the default Argon2id limits (what a login costs). */
static double bench_pin_unwrap(size_t n)
{
    mt_secret *pin = NULL, *value = NULL, *out = NULL;
    mt_kdf_params kdf;
    mt_blob wrapped = {0};
    mt_secret_from("correct horse battery", 21, &pin);
    mt_secret_new(32, &value);
    mt_seal_kdf_params_new(crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE, &kdf);
    mt_seal_pin_wrap(pin, NULL, &kdf, value, (const uint8_t *)"t", 1, &wrapped);
    double start = now();
    for (size_t i = 0; i < n; i++) {
        if (mt_seal_pin_unwrap(pin, NULL, &kdf, wrapped.data, wrapped.len, (const uint8_t *)"t",
                               1, &out) != MT_OK) {
            fprintf(stderr, "crypto_bench: %s\n", mt_errmsg());
            exit(1);
        }
        mt_secret_free(out);
    }
    double elapsed = now() - start;
    free(wrapped.data);
    mt_secret_free(pin);
    mt_secret_free(value);
    return elapsed;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {{"p12-dir", required_argument, NULL, 'd'},
                                             {"count", required_argument, NULL, 'n'},
                                             {"password", required_argument, NULL, 'p'},
                                             {"domain", required_argument, NULL, 'D'},
                                             {NULL, 0, NULL, 0}};
    const char *dir = NULL, *password = "mailtoken", *domain = "example.org";
    long count = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt == 'd')
            dir = optarg;
        else if (opt == 'n')
            count = strtol(optarg, NULL, 10);
        else if (opt == 'p')
            password = optarg;
        else if (opt == 'D')
            domain = optarg;
        else
            return 2;
    }
    if (!dir || count <= 0) {
        fprintf(stderr, "usage: crypto_bench --p12-dir DIR --count N [--password P] "
                        "[--domain D]\n");
        return 2;
    }
    if (mt_library_init() != MT_OK)
        return 1;
    size_t n = (size_t)count;
    input *inputs = calloc(n, sizeof(*inputs));
    mt_secret **keys = calloc(n, sizeof(*keys));
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(inputs[i].name, sizeof(inputs[i].name), "user%05zu.p12", i + 1);
        snprintf(inputs[i].email, sizeof(inputs[i].email), "user%05zu@%s", i + 1, domain);
        snprintf(path, sizeof(path), "%s/%s", dir, inputs[i].name);
        if (!read_file(path, &inputs[i])) {
            fprintf(stderr, "crypto_bench: cannot read %s\n", path);
            return 1;
        }
    }
    double base = bench_openssl_parse(inputs, n, password);
    double ours = bench_parse(inputs, n, password, keys);
    report("parse P12 (RSA-2048+chain)", n, ours, base, "OpenSSL PKCS12_parse");
    base = bench_seal(keys, n, true);
    ours = bench_seal(keys, n, false);
    report("seal PKCS#8 key", n, ours, base, "crypto_box_seal");
    size_t logins = n < 5 ? n : 5;
    report("PIN unwrap (Argon2id MODERATE, 256MiB)", logins, bench_pin_unwrap(logins), 0, NULL);
    for (size_t i = 0; i < n; i++) {
        free(inputs[i].data);
        mt_secret_free(keys[i]);
    }
    free(inputs);
    free(keys);
    return 0;
}
