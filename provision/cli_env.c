/* Secrets handed over in the environment (MAILTOKEN_PIN, MAILTOKEN_SO_PIN,
 * MAILTOKEN_P12_PASSWORD, a --*-env VAR...) are taken out of it: copied into
 * secure memory, their bytes in the process's environment block wiped (that
 * block is what /proc/PID/environ shows for the life of the process), and
 * unset, so that neither a child nor a look at the process finds them. */
#include "cli.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* Every variable the tool reads a secret from by default. */
static const char *const known[] = {
    "MAILTOKEN_PIN", "MAILTOKEN_NEW_PIN", "MAILTOKEN_SO_PIN", "MAILTOKEN_NEW_SO_PIN",
    "MAILTOKEN_P12_PASSWORD", "MAILTOKEN_SOURCE_PIN",
};

#define MT_ENV_TAKEN_MAX 32

static struct taken {
    char *name;
    mt_secret *value;
} taken[MT_ENV_TAKEN_MAX];
static size_t n_taken;

static struct taken *find(const char *name)
{
    for (size_t i = 0; i < n_taken; i++)
        if (!strcmp(taken[i].name, name))
            return &taken[i];
    return NULL;
}

/* Moves one variable into the stash (nothing when unset). */
static mt_status take(const char *name)
{
    const char *value = getenv(name);
    size_t len = strlen(name);
    if (!value || find(name))
        return MT_OK;
    if (n_taken == MT_ENV_TAKEN_MAX)
        return mt_cli_set_error(MT_ERR_TOO_LARGE, "%s: too many secrets in the environment", name);
    struct taken *t = &taken[n_taken];
    if (!(t->name = strdup(name)))
        return MT_ERR_NOMEM;
    mt_status st = mt_secret_from(value, strlen(value), &t->value);
    if (st != MT_OK) {
        free(t->name);
        return st;
    }
    n_taken++;
    for (char **e = environ; e && *e; e++)
        if (!strncmp(*e, name, len) && (*e)[len] == '=')
            sodium_memzero(*e + len + 1, strlen(*e + len + 1));
    unsetenv(name);
    return MT_OK;
}

void mt_cli_env_take_known(void)
{
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        (void)take(known[i]); /* a failure leaves the variable where it was: read as before */
}

bool mt_cli_env_has(const char *name)
{
    return find(name) || getenv(name);
}

mt_status mt_cli_env_secret(const char *what, const char *name, mt_secret **out)
{
    mt_status st = take(name);
    struct taken *t = st == MT_OK ? find(name) : NULL;
    if (st != MT_OK)
        return st;
    if (!t)
        return mt_cli_set_error(MT_ERR_INVALID, "%s: environment variable %s is not set", what, name);
    return mt_secret_from(t->value->data, t->value->len, out);
}

void mt_cli_env_clear(void)
{
    for (size_t i = 0; i < n_taken; i++) {
        free(taken[i].name);
        mt_secret_free(taken[i].value);
    }
    n_taken = 0;
}
