/* Checking a CA profile's options when it is added: a typo or a bad value
 * would otherwise be ignored (the default used) at every renewal. */
#include "renew/options.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "renew/driver.h"
#include "renew/keygen.h"

typedef enum option_kind {
    OPT_NUMBER,
    OPT_TEXT,
    OPT_ORDER, /* text or a number (an order number given in digits) */
    OPT_FILE,
    OPT_KEY_SPEC,
    OPT_HASH
} option_kind;

typedef struct known_option {
    const char *key;      /* a key ending in '.' is a prefix (order.EMAIL) */
    option_kind kind;
    long min, max;        /* OPT_NUMBER */
} known_option;

static const known_option known[] = {
    {"key", OPT_KEY_SPEC, 0, 0},
    {"hash", OPT_HASH, 0, 0},
    {"ca_bundle", OPT_FILE, 0, 0},
    {"trust_anchors", OPT_FILE, 0, 0},
    {"timeout_ms", OPT_NUMBER, 1, 3600000},
    {"connect_timeout_ms", OPT_NUMBER, 1, 3600000},
    {"poll_initial", OPT_NUMBER, 0, 86400},
    {"poll_max", OPT_NUMBER, 0, 86400},
    {"retry_initial", OPT_NUMBER, 0, 86400},
    {"retry_max", OPT_NUMBER, 0, 86400},
    {"rate_limit_initial", OPT_NUMBER, 0, 86400},
    {"max_attempts", OPT_NUMBER, 0, 100000},
    {"max_rps", OPT_NUMBER, 0, 1000},
    {"response_format", OPT_NUMBER, 0, 2},
    {"signature_hash", OPT_TEXT, 0, 0},
    {"order.", OPT_ORDER, 0, 0},
    {"contact_id", OPT_NUMBER, 1, LONG_MAX},
    {"context", OPT_NUMBER, 1, LONG_MAX},
    {"product", OPT_TEXT, 0, 0},
    {"lifetime_months", OPT_NUMBER, 1, 120},
    {"firstname", OPT_TEXT, 0, 0},
    {"lastname", OPT_TEXT, 0, 0},
};

static const known_option *find(const char *key)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        size_t len = strlen(known[i].key);
        bool prefix = known[i].key[len - 1] == '.';
        if (prefix ? strncmp(key, known[i].key, len) == 0 && key[len]
                   : strcmp(key, known[i].key) == 0)
            return &known[i];
    }
    return NULL;
}

static mt_status check_one(const char *key, json_t *value)
{
    const known_option *o = find(key);
    const char *text = json_string_value(value);
    long n;
    if (!o)
        return mt_cli_set_error(MT_ERR_INVALID, "--option %s: unknown option (see the options "
                                                "in `mailtoken ca add --help`)", key);
    switch (o->kind) {
    case OPT_NUMBER:
        if (!json_is_integer(value) || !mt_json_int(value, &n))
            return mt_cli_set_error(MT_ERR_INVALID, "--option %s: '%s' is not a whole number",
                                    key, text ? text : "");
        if (n < o->min || n > o->max)
            return mt_cli_set_error(MT_ERR_INVALID, "--option %s: %ld is not from %ld to %ld",
                                    key, n, o->min, o->max);
        return MT_OK;
    case OPT_KEY_SPEC:
        if (!text || !mt_renew_key_spec_valid(text))
            return mt_cli_set_error(MT_ERR_INVALID, "--option key: '%s' is not rsa2048, rsa3072, "
                                                    "ec-p256 or ec-p384", text ? text : "");
        return MT_OK;
    case OPT_HASH:
        if (!text || (strcmp(text, "sha256") && strcmp(text, "sha384") && strcmp(text, "sha512")))
            return mt_cli_set_error(MT_ERR_INVALID, "--option hash: '%s' is not sha256, sha384 "
                                                    "or sha512", text ? text : "");
        return MT_OK;
    case OPT_FILE:
        if (!text || access(text, R_OK) != 0)
            return mt_cli_set_error(MT_ERR_INVALID, "--option %s: %s: cannot be read", key,
                                    text ? text : "");
        return MT_OK;
    case OPT_ORDER:
    case OPT_TEXT: /* all digits arrive as a number: only an order number may be one */
        if (o->kind == OPT_ORDER && json_is_integer(value))
            return MT_OK;
        if (!text || !*text)
            return mt_cli_set_error(MT_ERR_INVALID, "--option %s: a text value is required", key);
        return MT_OK;
    }
    return MT_OK;
}

mt_status mt_ca_options_check(json_t *options)
{
    const char *key;
    json_t *value;
    json_object_foreach(options, key, value)
    {
        mt_status st = check_one(key, value);
        if (st != MT_OK)
            return st;
    }
    return MT_OK;
}
