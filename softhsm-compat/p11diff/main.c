/*
 * p11diff: differential runner between two PKCS#11 modules.
 *
 *   p11diff --reference MODULE --reference-pin-file F
 *           --candidate MODULE --candidate-pin-file F
 *           --token LABEL [--token LABEL...] --expected EXPECTED-DIFFERENCES.md
 *           [--reference-env NAME=VALUE...] [--candidate-env NAME=VALUE...]
 *           [--dump FILE]
 *
 * Exit status: 0 when every difference is listed, 1 when one is not, 2 when
 * the run could not be set up.
 */
#include "p11diff.h"

#include <getopt.h>
#include <openssl/crypto.h>
#include <p11-kit/p11-kit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 16
#define MAX_ENV 16

typedef struct side {
    const char *name;
    const char *module;
    const char *pin_file;
    char pin[256];
    size_t pin_len;
    char *env[MAX_ENV]; /* NAME=VALUE set before the module is initialised */
    size_t n_env;
    p11d_log log;
} side;

static bool read_pin(side *sd)
{
    FILE *fp = fopen(sd->pin_file, "r");
    if (!fp) {
        fprintf(stderr, "p11diff: %s: cannot read the %s PIN file\n", sd->pin_file, sd->name);
        return false;
    }
    bool ok = fgets(sd->pin, sizeof(sd->pin), fp) != NULL;
    fclose(fp);
    sd->pin_len = ok ? strcspn(sd->pin, "\r\n") : 0;
    sd->pin[sd->pin_len] = '\0';
    if (!ok || sd->pin_len == 0)
        fprintf(stderr, "p11diff: %s: the %s PIN file is empty\n", sd->pin_file, sd->name);
    return ok && sd->pin_len > 0;
}

/* Runs every scenario on one module.  A scenario that cannot run leaves the
 * rest of its token untried (and says so in the log). */
static bool add_env(side *sd, char *assignment)
{
    if (sd->n_env == MAX_ENV || !strchr(assignment, '=')) {
        fprintf(stderr, "p11diff: --%s-env: NAME=VALUE, at most %d\n", sd->name, MAX_ENV);
        return false;
    }
    sd->env[sd->n_env++] = assignment;
    return true;
}

static bool run_side(side *sd, const char **tokens, size_t n_tokens)
{
    /* Both modules may read the same variable (a config path): set it per side. */
    for (size_t i = 0; i < sd->n_env; i++)
        putenv(sd->env[i]);
    CK_FUNCTION_LIST *f = p11_kit_module_load(sd->module, P11_KIT_MODULE_UNMANAGED);
    if (!f) {
        fprintf(stderr, "p11diff: %s: cannot load the %s module: %s\n", sd->module, sd->name,
                p11_kit_message() ? p11_kit_message() : "unknown error");
        return false;
    }
    p11d_ctx ctx = { .f = f, .log = &sd->log, .pin = sd->pin, .pin_len = sd->pin_len };
    bool initialized = false;
    for (size_t i = 0; i < p11d_n_scenarios; i++) {
        const p11d_scenario *scn = &p11d_scenarios[i];
        if (scn->per_token && !initialized)
            continue;
        for (size_t t = 0; t < (scn->per_token ? n_tokens : 1); t++) {
            ctx.label = scn->per_token ? tokens[t] : "module";
            p11d_scope_set(&sd->log, "%s", ctx.label);
            ctx.have_slot = false;
            if (scn->per_token && strcmp(scn->name, "slot") != 0) {
                /* Later scenarios start from the slot the slot scenario found. */
                ctx.have_slot = p11d_find_slot(f, ctx.label, &ctx.slot);
                if (!ctx.have_slot)
                    continue;
            }
            bool ran = scn->run(&ctx);
            p11d_note(&sd->log, scn->name, "%s", ran ? "ran" : "could not run");
        }
        if (strcmp(scn->name, "general") == 0)
            initialized = true;
    }
    p11_kit_module_release(f);
    return true;
}

static void dump(const char *path, const side *ref, const side *cand)
{
    FILE *fp = fopen(path, "w");
    if (!fp) {
        fprintf(stderr, "p11diff: %s: cannot write the dump\n", path);
        return;
    }
    const side *sides[] = { ref, cand };
    for (size_t s = 0; s < 2; s++)
        for (size_t i = 0; i < sides[s]->log.n; i++)
            fprintf(fp, "%s\t%s\t%s\n", sides[s]->name, sides[s]->log.items[i].key,
                    sides[s]->log.items[i].value);
    fclose(fp);
}

static void usage(FILE *fp)
{
    fputs("usage: p11diff --reference MODULE --reference-pin-file FILE\n"
          "               --candidate MODULE --candidate-pin-file FILE\n"
          "               --token LABEL [--token LABEL...] --expected FILE\n"
          "               [--reference-env NAME=VALUE...] [--candidate-env NAME=VALUE...]\n"
          "               [--dump FILE]\n",
          fp);
}

int main(int argc, char **argv)
{
    side ref = { .name = "reference" }, cand = { .name = "candidate" };
    const char *tokens[MAX_TOKENS], *expected_path = NULL, *dump_path = NULL;
    size_t n_tokens = 0;
    int status = 2;
    static const struct option options[] = {
        { "reference", required_argument, NULL, 'r' },
        { "reference-pin-file", required_argument, NULL, 'R' },
        { "candidate", required_argument, NULL, 'c' },
        { "candidate-pin-file", required_argument, NULL, 'C' },
        { "reference-env", required_argument, NULL, 'E' },
        { "candidate-env", required_argument, NULL, 'F' },
        { "token", required_argument, NULL, 't' },
        { "expected", required_argument, NULL, 'e' },
        { "dump", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'r': ref.module = optarg; break;
        case 'R': ref.pin_file = optarg; break;
        case 'c': cand.module = optarg; break;
        case 'C': cand.pin_file = optarg; break;
        case 'E':
            if (!add_env(&ref, optarg))
                return 2;
            break;
        case 'F':
            if (!add_env(&cand, optarg))
                return 2;
            break;
        case 'e': expected_path = optarg; break;
        case 'd': dump_path = optarg; break;
        case 't':
            if (n_tokens == MAX_TOKENS) {
                fprintf(stderr, "p11diff: --token: at most %d tokens\n", MAX_TOKENS);
                return 2;
            }
            tokens[n_tokens++] = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!ref.module || !ref.pin_file || !cand.module || !cand.pin_file || !n_tokens ||
        !expected_path || optind != argc) {
        usage(stderr);
        return 2;
    }
    p11d_expected expected = { 0 };
    if (!p11d_expected_load(expected_path, &expected) || !read_pin(&ref) || !read_pin(&cand))
        goto out;
    if (!run_side(&ref, tokens, n_tokens) || !run_side(&cand, tokens, n_tokens))
        goto out;
    p11d_log_sort(&ref.log);
    p11d_log_sort(&cand.log);
    if (dump_path)
        dump(dump_path, &ref, &cand);
    size_t unexpected = p11d_compare(&ref.log, &cand.log, &expected);
    status = unexpected ? 1 : 0;
out:
    OPENSSL_cleanse(ref.pin, sizeof(ref.pin));
    OPENSSL_cleanse(cand.pin, sizeof(cand.pin));
    p11d_log_free(&ref.log);
    p11d_log_free(&cand.log);
    p11d_expected_free(&expected);
    return status;
}
