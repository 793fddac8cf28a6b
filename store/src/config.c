/* The config file (`key = value` lines) and the store path it leads to. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

void mt_config_free(mt_config *config)
{
    if (!config)
        return;
    free(config->source_path);
    free(config->store_path);
    free(config->store_key_file);
    free(config->recovery_key_file);
    free(config->ca_bundle);
    free(config->api_listen);
    free(config->api_tls_cert);
    free(config->api_tls_key);
    free(config->api_plain_listen);
    free(config->known_keys_file);
    free(config->store_primary);
    free(config->debug);
    mt_filter_clear(&config->filter);
    free(config);
}

mt_status mt_config_defaults(mt_config **out)
{
    mt_status st = mt_library_init();
    if (st != MT_OK)
        return st;
    if (!out)
        return mt_fail(MT_ERR_INVALID, "config: out is NULL");
    mt_config *config = calloc(1, sizeof(*config));
    if (!config)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    config->pin_min_length = 8;
    config->pin_max_failures = 10;
    config->so_pin_max_failures = 10;
    config->so_pin_max_delay = 30;
    config->api_max_connections = 64;
    config->api_timeout = 30;
    config->api_max_body = 6u * 1024u * 1024u;
    config->api_auth_failures = 10;
    config->so_pin_min_length = 12;
    /* about 0.6 s once per login, and 5 s for the rare SO PIN (docs/performance.md) */
    config->kdf_opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
    config->kdf_memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
    config->so_kdf_opslimit = crypto_pwhash_OPSLIMIT_SENSITIVE;
    config->so_kdf_memlimit = crypto_pwhash_MEMLIMIT_SENSITIVE;
    *out = config;
    return MT_OK;
}

static mt_status parse_uint(const char *where, const char *key, const char *value, uint64_t max,
                            uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (!isdigit((unsigned char)value[0]))
        return mt_fail(MT_ERR_INVALID, "%s: %s must be a number, not \"%s\"", where, key, value);
    unsigned long long v = strtoull(value, &end, 10);
    if (errno || *end || v > max)
        return mt_fail(MT_ERR_INVALID, "%s: %s must be a number up to %llu, not \"%s\"", where, key,
                       (unsigned long long)max, value);
    *out = v;
    return MT_OK;
}

static mt_status parse_bool(const char *where, const char *key, const char *value, bool *out)
{
    if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "1"))
        *out = true;
    else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "0"))
        *out = false;
    else
        return mt_fail(MT_ERR_INVALID, "%s: %s must be true or false, not \"%s\"", where, key, value);
    return MT_OK;
}

static mt_status set_string(char **field, const char *value)
{
    free(*field);
    *field = strdup(value);
    return *field ? MT_OK : mt_fail(MT_ERR_NOMEM, "out of memory");
}

/* The `api_*` keys of `mailtoken serve`; MT_ERR_NOT_FOUND when key is another. */
static mt_status apply_api_key(mt_config *config, const char *where, const char *key,
                               const char *value)
{
    const struct {
        const char *key;
        char **field;
    } strings[] = {{"api_listen", &config->api_listen},
                   {"api_tls_cert", &config->api_tls_cert},
                   {"api_tls_key", &config->api_tls_key},
                   {"api_plain_listen", &config->api_plain_listen},
                   {"debug", &config->debug}};
    const struct {
        const char *key;
        uint64_t min, max;
        unsigned *u; /* one of the two */
        size_t *z;
    } numbers[] = {{"api_max_connections", 1, 100000, &config->api_max_connections, NULL},
                   {"api_timeout", 1, 3600, &config->api_timeout, NULL},
                   {"api_max_body", 1024, 1u << 30, NULL, &config->api_max_body},
                   {"api_auth_failures", 1, 100000, &config->api_auth_failures, NULL}};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        if (!strcmp(key, strings[i].key))
            return set_string(strings[i].field, value);
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        if (strcmp(key, numbers[i].key) != 0)
            continue;
        uint64_t n = 0;
        mt_status st = parse_uint(where, key, value, numbers[i].max, &n);
        if (st == MT_OK && n < numbers[i].min)
            st = mt_fail(MT_ERR_INVALID, "%s: %s must be at least %llu", where, key,
                         (unsigned long long)numbers[i].min);
        if (st == MT_OK && numbers[i].u)
            *numbers[i].u = (unsigned)n;
        else if (st == MT_OK)
            *numbers[i].z = (size_t)n;
        return st;
    }
    return MT_ERR_NOT_FOUND;
}

static mt_status apply_key(mt_config *config, const char *where, const char *key, const char *value)
{
    uint64_t n = 0;
    mt_status st;
    if (!strcmp(key, "store"))
        return set_string(&config->store_path, value);
    if (!strcmp(key, "store_key_file"))
        return set_string(&config->store_key_file, value);
    if (!strcmp(key, "store_primary"))
        return set_string(&config->store_primary, value);
    if (!strcmp(key, "recovery_key_file"))
        return set_string(&config->recovery_key_file, value);
    if (!strcmp(key, "ca_bundle"))
        return set_string(&config->ca_bundle, value);
    if ((st = apply_api_key(config, where, key, value)) != MT_ERR_NOT_FOUND)
        return st;
    if (!strcmp(key, "pin_allow_digits_only"))
        return parse_bool(where, key, value, &config->pin_allow_digits_only);
    if (!strcmp(key, "strict"))
        return parse_bool(where, key, value, &config->strict);
    if (!strcmp(key, "allow_weak_kdf"))
        return parse_bool(where, key, value, &config->allow_weak_kdf);
    if (!strcmp(key, "known_keys_file"))
        return set_string(&config->known_keys_file, value);
    if (!strcmp(key, "pin_min_length") || !strcmp(key, "so_pin_min_length")) {
        if ((st = parse_uint(where, key, value, 1000, &n)) != MT_OK)
            return st;
        if (n < 4)
            return mt_fail(MT_ERR_INVALID, "%s: %s must be at least 4", where, key);
        *(key[0] == 's' ? &config->so_pin_min_length : &config->pin_min_length) = (unsigned)n;
        return MT_OK;
    }
    if (!strcmp(key, "pin_max_failures") || !strcmp(key, "so_pin_max_failures")) {
        unsigned *limit = key[0] == 's' ? &config->so_pin_max_failures : &config->pin_max_failures;
        if ((st = parse_uint(where, key, value, 1000, &n)) != MT_OK)
            return st;
        *limit = (unsigned)n;
        return MT_OK;
    }
    if (!strcmp(key, "so_pin_max_delay")) {
        if ((st = parse_uint(where, key, value, 3600, &n)) != MT_OK)
            return st;
        config->so_pin_max_delay = (unsigned)n;
        return MT_OK;
    }
    if (!strcmp(key, "pin_counter")) {
        if (strcmp(value, "required") && strcmp(value, "best-effort"))
            return mt_fail(MT_ERR_INVALID, "%s: pin_counter must be required or best-effort, not \"%s\"",
                           where, value);
        config->pin_counter_best_effort = !strcmp(value, "best-effort");
        return MT_OK;
    }
    if (!strcmp(key, "kdf_opslimit") || !strcmp(key, "so_kdf_opslimit")) {
        /* the window is checked once the whole file is read (allow_weak_kdf may follow) */
        if ((st = parse_uint(where, key, value, crypto_pwhash_OPSLIMIT_MAX, &n)) != MT_OK)
            return st;
        if (n < crypto_pwhash_OPSLIMIT_MIN)
            return mt_fail(MT_ERR_INVALID, "%s: %s must be at least %u", where, key,
                           (unsigned)crypto_pwhash_OPSLIMIT_MIN);
        *(key[0] == 's' ? &config->so_kdf_opslimit : &config->kdf_opslimit) = n;
        return MT_OK;
    }
    if (!strcmp(key, "kdf_memlimit") || !strcmp(key, "so_kdf_memlimit")) {
        if ((st = parse_uint(where, key, value, SIZE_MAX, &n)) != MT_OK)
            return st;
        if (n < crypto_pwhash_MEMLIMIT_MIN)
            return mt_fail(MT_ERR_INVALID, "%s: %s must be at least %u", where, key,
                           (unsigned)crypto_pwhash_MEMLIMIT_MIN);
        *(key[0] == 's' ? &config->so_kdf_memlimit : &config->kdf_memlimit) = (size_t)n;
        return MT_OK;
    }
    if (!strcmp(key, "accounts")) {
        mt_account_filter filter;
        if ((st = mt_filter_parse(value, &filter)) != MT_OK)
            {
            char prefix[4300];
            snprintf(prefix, sizeof(prefix), "%s: ", where);
            return mt_fail_prefix(st, prefix);
        }
        mt_filter_clear(&config->filter);
        config->filter = filter;
        return MT_OK;
    }
    return mt_fail(MT_ERR_INVALID, "%s: unknown key \"%s\"", where, key);
}

#define MT_CONFIG_MAX_LINE 4096

static mt_status parse_file(mt_config *config, FILE *f, const char *path)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned lineno = 0;
    mt_status st = MT_OK;
    errno = 0;
    while (st == MT_OK && (len = getline(&line, &cap, f)) >= 0) {
        char where[4200];
        lineno++;
        snprintf(where, sizeof(where), "%s:%u", path, lineno);
        if (memchr(line, '\0', (size_t)len)) {
            st = mt_fail(MT_ERR_INVALID, "%s: not text (a NUL byte)", where);
            break;
        }
        if (len > MT_CONFIG_MAX_LINE) {
            st = mt_fail(MT_ERR_INVALID, "%s: line too long (over %d bytes)", where, MT_CONFIG_MAX_LINE);
            break;
        }
        char *text = mt_text_trim(line);
        if (!*text || *text == '#')
            continue;
        char *eq = strchr(text, '=');
        if (!eq) {
            st = mt_fail(MT_ERR_INVALID, "%s: expected key = value", where);
            break;
        }
        *eq = '\0';
        st = apply_key(config, where, mt_text_trim(text), mt_text_trim(eq + 1));
    }
    if (st == MT_OK && ferror(f))
        st = mt_fail(MT_ERR_IO, "%s: %s", path, strerror(errno));
    free(line);
    return st;
}

/* fopen, but not of a directory (fopen happily opens one, whose reading then
 * fails quietly as if it were empty).  /dev/null stays "no settings". */
static FILE *open_config(const char *path)
{
    struct stat sb;
    FILE *f = fopen(path, "re");
    if (f && fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(f);
        errno = EISDIR;
        f = NULL;
    }
    return f;
}

static char *home_path(const char *suffix)
{
    const char *home = getenv("HOME");
    char *path = NULL;
    if (home && *home && asprintf(&path, "%s/%s", home, suffix) < 0)
        path = NULL;
    return path;
}

mt_status mt_config_load(const char *explicit_path, mt_config **out)
{
    mt_config *config = NULL;
    char *user_path = NULL;
    FILE *f = NULL;
    mt_status st = mt_config_defaults(&config);
    if (st != MT_OK)
        return st;
    const char *env = getenv("MAILTOKEN_CONF");
    const char *path = explicit_path ? explicit_path : (env && *env) ? env : NULL;
    if (path) {
        if (!(f = open_config(path))) {
            st = mt_fail(MT_ERR_IO, "%s: %s", path, strerror(errno));
            goto out;
        }
    } else {
        user_path = home_path(".config/mailtoken/mailtoken.conf");
        const char *candidates[] = {user_path, "/etc/mailtoken/mailtoken.conf"};
        for (size_t i = 0; i < 2 && !f; i++)
            if (candidates[i] && (f = open_config(candidates[i])))
                path = candidates[i];
    }
    if (f) {
        if (!(config->source_path = strdup(path))) {
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
            goto out;
        }
        st = parse_file(config, f, path);
        if (st == MT_OK)
            st = mt_kdf_config_check(config, path);
    }
out:
    if (f)
        fclose(f);
    free(user_path);
    if (st != MT_OK) {
        mt_config_free(config);
        return mt_fail_prefix(st, "config: "); /* whoever reads the message knows where to look */
    }
    *out = config;
    return MT_OK;
}

mt_status mt_config_store_path(const mt_config *config, char **out)
{
    const char *env = getenv("MAILTOKEN_STORE");
    const char *xdg = getenv("XDG_DATA_HOME");
    char *path = NULL;
    if (!out)
        return mt_fail(MT_ERR_INVALID, "config: out is NULL");
    if (env && *env)
        path = strdup(env);
    else if (config && config->store_path)
        path = strdup(config->store_path);
    else if (xdg && *xdg) {
        if (asprintf(&path, "%s/mailtoken/store.db", xdg) < 0)
            path = NULL;
    } else {
        if (!getenv("HOME") || !*getenv("HOME"))
            return mt_fail(MT_ERR_INVALID, "no store path: set MAILTOKEN_STORE or HOME");
        path = home_path(".local/share/mailtoken/store.db");
    }
    if (!path)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    *out = path;
    return MT_OK;
}
