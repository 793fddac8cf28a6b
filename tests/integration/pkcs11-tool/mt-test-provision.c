/* Builds a test store through the store API, for the module's tests:
 *   mt-test-provision --store PATH --so-pin PIN --pin PIN [--pin-for EMAIL=PIN]...
 *                     [--org NAME] [--max-failures N] [--password P] FILE...
 * --pin - sets no PIN (large stores for benchmarks); --password is the P12
 * password of files without a NAME.pass beside them.  A directory stands for
 * every *.p12 in it, imported in name order, 1000 per transaction.
 * Each FILE (P12 with NAME.pass beside it when there is one, or PEM) is
 * imported; every email it names gets an account whose primary is the last
 * file naming it (earlier ones stay in the history), and accounts with a key
 * get their user PIN.  Fast Argon2id limits keep the tests quick. */
#include "mailtoken/store.h"

#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PIN_FOR 64

typedef struct options {
    const char *store, *so_pin, *pin, *org;
    unsigned max_failures; /* 0: the default */
    const char *password;  /* for P12 files without NAME.pass */
    const char *pin_for[MAX_PIN_FOR];
    size_t n_pin_for;
    char **files;
    size_t n_files;
} options;

static int fail(const char *what, mt_status st)
{
    fprintf(stderr, "mt-test-provision: %s: %s (%s)\n", what, mt_errmsg(), mt_status_name(st));
    return 1;
}

static mt_secret *secret_of(const char *text)
{
    mt_secret *secret = NULL;
    if (mt_secret_from(text, strlen(text), &secret) != MT_OK)
        abort(); /* out of memory in a test tool */
    return secret;
}

static const char *pin_for(const options *o, const char *email)
{
    size_t len = strlen(email);
    for (size_t i = 0; i < o->n_pin_for; i++)
        if (strncmp(o->pin_for[i], email, len) == 0 && o->pin_for[i][len] == '=')
            return o->pin_for[i] + len + 1;
    return o->pin;
}

static mt_status parse_file(const char *path, const char *default_password, mt_parsed **parsed)
{
    char pass_path[4096];
    mt_secret *password = NULL;
    mt_status st;
    size_t len = strlen(path);
    if (len > 4 && strcmp(path + len - 4, ".p12") == 0 && len < sizeof(pass_path)) {
        snprintf(pass_path, sizeof(pass_path), "%.*s.pass", (int)(len - 4), path);
        if (access(pass_path, F_OK) == 0 && (st = mt_secret_from_file(pass_path, &password)) != MT_OK)
            return st;
        if (!password && default_password)
            password = secret_of(default_password);
    }
    st = mt_cert_parse_file(path, password, parsed);
    mt_secret_free(password);
    return st;
}

/* The account of `email` gets this certificate as its primary. */
static mt_status attach(mt_store *store, int64_t org_id, const char *email, int64_t cert_id)
{
    mt_account *account = NULL;
    mt_status st = mt_store_account_get(store, org_id, email, &account);
    mt_account_free(account);
    if (st == MT_ERR_NOT_FOUND)
        return mt_store_account_create(store, org_id, email, cert_id, &cert_id, 1);
    if (st == MT_OK)
        st = mt_store_account_add_to_history(store, org_id, email, cert_id);
    if (st == MT_OK)
        st = mt_store_account_set_primary(store, org_id, email, cert_id);
    return st;
}

static int import_file(mt_store *store, int64_t org_id, const char *path, const char *password)
{
    mt_parsed *parsed = NULL;
    mt_status st = parse_file(path, password, &parsed);
    int rc = 0;
    if (st != MT_OK)
        return fail(path, st);
    for (size_t i = 0; i < parsed->n_entries && rc == 0; i++) {
        const mt_parsed_entry *entry = &parsed->entries[i];
        int64_t cert_id = 0;
        bool created = false;
        st = mt_store_cert_import(store, org_id, entry, NULL, NULL, &cert_id, &created);
        if (st != MT_OK) {
            rc = fail(path, st);
            break;
        }
        for (size_t e = 0; e < entry->cert->n_emails && rc == 0; e++)
            if ((st = attach(store, org_id, entry->cert->emails[e], cert_id)) != MT_OK)
                rc = fail(entry->cert->emails[e], st);
    }
    mt_parsed_free(parsed);
    return rc;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int p12_name(const struct dirent *entry)
{
    size_t len = strlen(entry->d_name);
    return len > 4 && strcmp(entry->d_name + len - 4, ".p12") == 0;
}

static int import_dir(mt_store *store, int64_t org_id, const char *dir, const char *password)
{
    struct dirent **entries = NULL;
    int n = scandir(dir, &entries, p12_name, alphasort), rc = 0;
    if (n < 0) {
        perror(dir);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, entries[i]->d_name);
        if (rc == 0 && i % 1000 == 0 && mt_store_begin(store) != MT_OK)
            rc = fail("begin", MT_ERR_DB);
        if (rc == 0)
            rc = import_file(store, org_id, path, password);
        if (rc == 0 && (i % 1000 == 999 || i == n - 1) && mt_store_commit(store) != MT_OK)
            rc = fail("commit", MT_ERR_DB);
        free(entries[i]);
    }
    free(entries);
    return rc;
}

static int set_pins(mt_store *store, const options *o)
{
    mt_token *tokens = NULL;
    size_t n = 0;
    int rc = 0;
    mt_secret *so = secret_of(o->so_pin);
    mt_status st = mt_store_token_list(store, &tokens, &n);
    if (st != MT_OK)
        rc = fail("token list", st);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!tokens[i].has_account || tokens[i].pin_set)
            continue;
        mt_secret *pin = secret_of(pin_for(o, tokens[i].email));
        if ((st = mt_store_token_init_pin(store, tokens[i].id, so, pin)) != MT_OK)
            rc = fail(tokens[i].email, st);
        mt_secret_free(pin);
    }
    mt_token_list_free(tokens, n);
    mt_secret_free(so);
    return rc;
}

static int parse_options(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof(*o));
    o->org = "test";
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (i + 1 >= argc)
            break;
        if (strcmp(argv[i], "--store") == 0)
            o->store = argv[i + 1];
        else if (strcmp(argv[i], "--so-pin") == 0)
            o->so_pin = argv[i + 1];
        else if (strcmp(argv[i], "--pin") == 0)
            o->pin = argv[i + 1];
        else if (strcmp(argv[i], "--org") == 0)
            o->org = argv[i + 1];
        else if (strcmp(argv[i], "--password") == 0)
            o->password = argv[i + 1];
        else if (strcmp(argv[i], "--max-failures") == 0)
            o->max_failures = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--pin-for") == 0 && o->n_pin_for < MAX_PIN_FOR)
            o->pin_for[o->n_pin_for++] = argv[i + 1];
        else
            break;
    }
    o->files = argv + i;
    o->n_files = (size_t)(argc - i);
    if (!o->store || !o->so_pin || !o->pin) {
        fprintf(stderr, "usage: mt-test-provision --store PATH --so-pin PIN --pin PIN "
                        "[--pin-for EMAIL=PIN]... [--org NAME] [--max-failures N] [--password P] FILE...\n");
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    mt_config *config = NULL;
    mt_store *store = NULL;
    mt_org *org = NULL;
    int64_t org_id = 0;
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc;
    mt_status st = mt_config_defaults(&config);
    if (st != MT_OK)
        return fail("config", st);
    /* the cheapest Argon2id, as tests/data/fast-kdf.conf gives the module */
    config->allow_weak_kdf = true;
    config->kdf_opslimit = config->so_kdf_opslimit = crypto_pwhash_OPSLIMIT_MIN;
    config->kdf_memlimit = config->so_kdf_memlimit = crypto_pwhash_MEMLIMIT_MIN;
    if (o.max_failures)
        config->pin_max_failures = o.max_failures;
    /* the record of keys sealed to lives beside the test's store, not in a home */
    if (asprintf(&config->known_keys_file, "%s.known-keys", o.store) < 0)
        return fail("config", MT_ERR_NOMEM);
    st = mt_store_open(o.store, config, MT_OPEN_CREATE, &store);
    if (st == MT_OK)
        st = mt_store_set_actor(store, "test:provision");
    if (st != MT_OK) {
        rc = fail(o.store, st);
        goto out;
    }
    if (mt_store_org_find(store, o.org, &org) == MT_OK) {
        org_id = org->id;
    } else {
        mt_secret *so = secret_of(o.so_pin);
        st = mt_store_org_create(store, o.org, so, &org_id);
        mt_secret_free(so);
        if (st != MT_OK) {
            rc = fail(o.org, st);
            goto out;
        }
    }
    for (size_t i = 0; i < o.n_files && rc == 0; i++)
        rc = is_dir(o.files[i]) ? import_dir(store, org_id, o.files[i], o.password)
                                : import_file(store, org_id, o.files[i], o.password);
    if (rc == 0 && strcmp(o.pin, "-") != 0)
        rc = set_pins(store, &o);
out:
    mt_org_free(org);
    mt_store_close(store);
    mt_config_free(config);
    return rc;
}
