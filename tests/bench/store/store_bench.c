/*
 * store_bench: the store's performance targets.
 *   store_bench [--gen PATH/mt-gen-bulk] [--p12 N] [--accounts N] [--lookups N] [--keep]
 * 1. import of N generated RSA-2048 P12 files (parse + import + account), per second;
 *    store size per account afterwards;
 * 2. lookup by email (mt_store_account_get) in a store of N accounts filled in
 *    one transaction with PEM certificates made in-process: median and p99.
 * With --server URI (a PostgreSQL server, e.g. from tests/pg/with-postgres.sh)
 * both run again on the server, in a schema each, in the same process (the
 * lookups on a copy of the SQLite store: the same rows, much faster than
 * filling the server statement by statement), and the server's results are
 * given as ratios to SQLite's.
 * Exits non-zero when a result is wrong (not when a target is missed).
 */
#include "mailtoken/store.h"

#include <dirent.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#define CHECK(cond, ...)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "store_bench: " __VA_ARGS__);                                     \
            fprintf(stderr, " (%s)\n", mt_errmsg());                                          \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* NULL: SQLite files in the bench's directory; else the server's URI. */
static const char *server;

/* Runs one command on the server's store at location (its schema). */
static void server_exec(const char *location, const char *sql)
{
    PGconn *pg = PQconnectdb(location);
    PGresult *res = PQexec(pg, sql);
    CHECK(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(pg));
    PQclear(res);
    PQfinish(pg);
}

/* A schema of its own on the server, named after the store's file name. */
static void server_location(const char *name, char *out, size_t len)
{
    char schema[64];
    snprintf(schema, sizeof(schema), "bench_%.*s_%ld", (int)strcspn(name, "."), name, (long)getpid());
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
    server_exec(server, sql);
    snprintf(out, len, "%s%soptions=-csearch_path%%3D%s", server, strchr(server, '?') ? "&" : "?", schema);
}

/* The store `name`: a SQLite file in dir, or a new schema on the server;
 * with an organisation when org_id is not NULL. */
static char location[1024]; /* of the last store opened */

static mt_store *open_store(const char *dir, const char *name, bool on_server, int64_t *org_id)
{
    mt_config *config = NULL;
    mt_store *store = NULL;
    mt_secret *so = NULL;
    if (on_server)
        server_location(name, location, sizeof(location));
    else
        snprintf(location, sizeof(location), "%s/%s", dir, name);
    CHECK(mt_config_defaults(&config) == MT_OK, "config");
    /* the SO PIN is set once and never measured: the cheapest Argon2id */
    config->allow_weak_kdf = true;
    config->so_kdf_opslimit = crypto_pwhash_OPSLIMIT_MIN;
    config->so_kdf_memlimit = crypto_pwhash_MEMLIMIT_MIN;
    /* the record of keys sealed to lives beside the bench's store, not in a home */
    CHECK(asprintf(&config->known_keys_file, "%s/%s.known-keys", dir, name) > 0, "out of memory");
    CHECK(mt_store_open(location, config, MT_OPEN_CREATE, &store) == MT_OK, "open %s", location);
    if (org_id) {
        CHECK(mt_secret_from("bench-so-pin", 12, &so) == MT_OK, "secret");
        CHECK(mt_store_org_create(store, "bench", so, org_id) == MT_OK, "org");
        mt_secret_free(so);
    }
    mt_config_free(config);
    return store;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}

/* ---------------------------------------------------------------- import */

static const char *backend(void)
{
    return server ? "postgresql" : "sqlite";
}

/* P12 imported per second. */
static double bench_import(const char *dir, const char *gen, int count)
{
    char cmd[2048], p12_dir[512], db[512];
    int64_t org_id = 0;
    snprintf(p12_dir, sizeof(p12_dir), "%s/p12", dir);
    snprintf(cmd, sizeof(cmd), "'%s' --out '%s' --count %d --password mailtoken >/dev/null", gen, p12_dir, count);
    struct stat made;
    CHECK(stat(p12_dir, &made) == 0 || system(cmd) == 0, "%s failed", cmd); /* once for both backends */
    mt_store *store = open_store(dir, "import.db", server != NULL, &org_id);
    mt_secret *password = NULL;
    CHECK(mt_secret_from("mailtoken", 9, &password) == MT_OK, "secret");

    double start = now_s(), parsing = 0;
    int imported = 0;
    for (int i = 0; i < count; i++) {
        char path[700], email[64];
        mt_parsed *parsed = NULL;
        int64_t cert_id = 0;
        bool created = false;
        snprintf(path, sizeof(path), "%s/user%05d.p12", p12_dir, i + 1);
        double t0 = now_s();
        CHECK(mt_cert_parse_file(path, password, &parsed) == MT_OK, "parse %s", path);
        parsing += now_s() - t0;
        CHECK(parsed->n_entries == 1 && parsed->entries[0].pkcs8, "%s: one key expected", path);
        CHECK(mt_store_cert_import(store, org_id, &parsed->entries[0], NULL, NULL, &cert_id, &created) == MT_OK,
              "import %s", path);
        CHECK(created, "%s imported twice", path);
        snprintf(email, sizeof(email), "%s", parsed->entries[0].cert->emails[0]);
        CHECK(mt_store_account_create(store, org_id, email, cert_id, &cert_id, 1) == MT_OK, "account %s", email);
        mt_parsed_free(parsed);
        imported++;
    }
    double elapsed = now_s() - start;
    mt_store_stats stats;
    CHECK(mt_store_stats_get(store, org_id, &stats) == MT_OK, "stats");
    CHECK(stats.internal_accounts == (size_t)count && stats.certificates_with_key == (size_t)count,
          "expected %d internal accounts, got %zu", count, stats.internal_accounts);
    snprintf(db, sizeof(db), "%s/import.db", dir);
    mt_store_close(store); /* checkpoints the WAL into the file */
    printf("[%s] import: %d P12 (parse + import + account) in %.2f s = %.0f P12/s (target >= 200); "
           "of which P12 parsing %.2f s, store %.2f s\n",
           backend(), imported, elapsed, imported / elapsed, parsing, elapsed - parsing);
    if (!server)
        printf("[sqlite] size: %ld bytes for %d accounts with one RSA-2048 certificate = %.0f "
               "bytes/account (target < 8192)\n", file_size(db), count, (double)file_size(db) / count);
    mt_secret_free(password);
    return imported / elapsed;
}

/* ---------------------------------------------------------------- lookup */

typedef struct cert_maker {
    EVP_PKEY *ca_key;   /* P-256: signing is cheap */
    X509_NAME *ca_name;
    EVP_PKEY *subject_key; /* one RSA-2048 key for every certificate */
} cert_maker;

static void maker_init(cert_maker *m)
{
    m->ca_key = EVP_EC_gen("P-256");
    m->subject_key = EVP_RSA_gen(2048);
    m->ca_name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(m->ca_name, "CN", MBSTRING_ASC, (const unsigned char *)"bench CA", -1, -1, 0);
    CHECK(m->ca_key && m->subject_key, "key generation");
}

static mt_cert_info *make_cert(cert_maker *m, const char *email, long serial)
{
    X509 *cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 86400);
    /* the email in the subject (emailAddress), as older CAs put it: no extension to build */
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC, (const unsigned char *)email, -1, -1, 0);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "emailAddress", MBSTRING_ASC, (const unsigned char *)email,
                               -1, -1, 0);
    X509_set_issuer_name(cert, m->ca_name);
    X509_set_pubkey(cert, m->subject_key);
    CHECK(X509_sign(cert, m->ca_key, EVP_sha256()) > 0, "sign");
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    mt_cert_info *info = NULL;
    CHECK(mt_cert_info_from_der(der, (size_t)len, &info) == MT_OK, "parse generated certificate");
    OPENSSL_free(der);
    X509_free(cert);
    return info;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* N accounts through the store API, one transaction. */
static mt_store *fill(const char *dir, int accounts, int64_t *org_id)
{
    cert_maker maker;
    maker_init(&maker);
    mt_store *store = open_store(dir, "lookup.db", false, org_id);
    double start = now_s();
    CHECK(mt_store_begin(store) == MT_OK, "begin");
    for (int i = 0; i < accounts; i++) {
        char email[64];
        int64_t cert_id = 0;
        snprintf(email, sizeof(email), "user%06d@example.org", i);
        mt_cert_info *info = make_cert(&maker, email, i + 1);
        mt_parsed_entry entry = {.cert = info};
        CHECK(mt_store_cert_import(store, *org_id, &entry, NULL, NULL, &cert_id, NULL) == MT_OK, "import %s", email);
        CHECK(mt_store_account_create(store, *org_id, email, cert_id, &cert_id, 1) == MT_OK, "account %s", email);
        mt_cert_info_free(info);
    }
    CHECK(mt_store_commit(store) == MT_OK, "commit");
    printf("[sqlite] fill: %d accounts in one transaction in %.1f s\n", accounts, now_s() - start);
    EVP_PKEY_free(maker.ca_key);
    EVP_PKEY_free(maker.subject_key);
    X509_NAME_free(maker.ca_name);
    return store;
}

/* The server's store: a copy of the SQLite one (mt_store_copy, as
 * `mailtoken store copy` makes it), the same rows and ids. */
static mt_store *copy_to_server(const char *dir, mt_store *from)
{
    mt_copy_report report;
    mt_store *store = open_store(dir, "lookup.db", true, NULL);
    double start = now_s();
    CHECK(mt_store_copy(from, store, &report) == MT_OK, "copy to the server");
    mt_copy_report_clear(&report);
    double copied = now_s() - start;
    /* what autovacuum does within a minute of a bulk load: statistics, visibility map */
    server_exec(location, "VACUUM ANALYZE");
    printf("[postgresql] fill: copied from the SQLite store in %.1f s, VACUUM ANALYZE %.1f s\n", copied,
           now_s() - start - copied);
    return store;
}

/* Median time of lookups by email among N accounts, seconds. */
static double lookups_by_email(mt_store *store, int64_t org_id, int accounts, int lookups)
{
    double *times = calloc((size_t)lookups, sizeof(double));
    for (int i = 0; i < lookups; i++) {
        char email[64];
        int pick = (int)randombytes_uniform((uint32_t)accounts);
        mt_account *account = NULL;
        snprintf(email, sizeof(email), "user%06d@example.org", pick);
        double t0 = now_s();
        mt_status st = mt_store_account_get(store, org_id, email, &account);
        times[i] = now_s() - t0;
        CHECK(st == MT_OK && !strcmp(account->email, email) && account->n_history == 1, "lookup %s", email);
        mt_account_free(account);
    }
    qsort(times, (size_t)lookups, sizeof(double), compare_double);
    printf("[%s] lookup: %d lookups by email among %d accounts: median %.1f us, p99 %.1f us "
           "(target median < 50 us on SQLite)\n", backend(), lookups, accounts, times[lookups / 2] * 1e6,
           times[(lookups * 99) / 100] * 1e6);
    double median = times[lookups / 2];
    free(times);
    return median;
}

int main(int argc, char **argv)
{
    const char *gen = NULL;
    int p12 = 1000, accounts = 100000, lookups = 10000;
    static const struct option options[] = {
        {"gen", required_argument, NULL, 'g'}, {"p12", required_argument, NULL, 'p'},
        {"accounts", required_argument, NULL, 'a'}, {"lookups", required_argument, NULL, 'l'},
        {"keep", no_argument, NULL, 'k'}, {"server", required_argument, NULL, 's'}, {NULL, 0, NULL, 0}};
    const char *server_uri = NULL;
    bool keep = false;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'g': gen = optarg; break;
        case 'p': p12 = atoi(optarg); break;
        case 'a': accounts = atoi(optarg); break;
        case 'l': lookups = atoi(optarg); break;
        case 'k': keep = true; break;
        case 's': server_uri = optarg; break;
        default:
            fprintf(stderr, "usage: store_bench [--gen mt-gen-bulk] [--p12 N] [--accounts N] [--lookups N] [--keep] [--server URI]\n");
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* each result as it comes, into a log too */
    CHECK(mt_library_init() == MT_OK, "init");
    char default_gen[1024];
    if (!gen && getenv("MT_BUILD_DIR")) {
        snprintf(default_gen, sizeof(default_gen), "%s/tests/tools/mt-gen-bulk", getenv("MT_BUILD_DIR"));
        gen = default_gen;
    }
    CHECK(p12 > 0 && accounts > 0 && lookups > 0, "counts must be positive");
    char dir[] = "/tmp/mt-store-bench-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    double rate = 0, median = 0;
    if (gen)
        rate = bench_import(dir, gen, p12);
    else
        printf("import: skipped (no --gen mt-gen-bulk and no MT_BUILD_DIR)\n");
    int64_t org_id = 0;
    mt_store *lite = fill(dir, accounts, &org_id);
    median = lookups_by_email(lite, org_id, accounts, lookups);
    if (server_uri) { /* the same again on the server, same process, same data */
        server = server_uri;
        double server_rate = gen ? bench_import(dir, gen, p12) : 0;
        mt_store *copy = copy_to_server(dir, lite);
        double server_median = lookups_by_email(copy, org_id, accounts, lookups);
        mt_store_close(copy);
        if (gen)
            printf("postgresql/sqlite: import rate x%.2f\n", server_rate / rate);
        printf("postgresql/sqlite: lookup median x%.2f\n", server_median / median);
    }
    mt_store_close(lite);
    if (keep)
        printf("stores kept in %s\n", dir);
    else
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
