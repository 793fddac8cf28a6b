/* Shared command-line plumbing: exit codes, errors, option parsing, opening
 * the store and looking things up by what an administrator types. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int mt_cli_exit_code(mt_status status)
{
    switch (status) {
    case MT_OK:
        return MT_EXIT_OK;
    case MT_ERR_INVALID:
    case MT_ERR_UNSUPPORTED:
    case MT_ERR_TOO_LARGE:
    case MT_ERR_PIN_POLICY:
        return MT_EXIT_INVALID;
    case MT_ERR_NOT_FOUND:
        return MT_EXIT_NOT_FOUND;
    case MT_ERR_CONFLICT:
        return MT_EXIT_CONFLICT;
    case MT_ERR_PASSWORD:
    case MT_ERR_PIN_INCORRECT:
    case MT_ERR_PIN_LOCKED:
    case MT_ERR_PIN_NOT_SET:
        return MT_EXIT_AUTH;
    case MT_ERR_TAMPERED:
        return MT_EXIT_TAMPERED;
    default:
        return MT_EXIT_FAILURE;
    }
}

/* Whether the message already names `what` (then it is not repeated). */
static bool names(const char *message, const char *what)
{
    return what && *what && strstr(message, what) != NULL;
}

static void print_json_error(const char *error, const char *message, int code)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "error", json_string(error));
    json_object_set_new(obj, "message", json_string(message));
    json_object_set_new(obj, "exit", json_integer(code));
    mt_cli_print_json(obj);
}

/* A message set by the command line itself, preferred over mt_errmsg(). */
static _Thread_local char cli_error[1024];

mt_status mt_cli_set_error(mt_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cli_error, sizeof(cli_error), fmt, ap);
    va_end(ap);
    return status;
}

const char *mt_cli_errmsg(void)
{
    return cli_error[0] ? cli_error : mt_errmsg();
}

void mt_cli_clear_error(void)
{
    cli_error[0] = '\0';
}

int mt_cli_fail(mt_cli *cli, mt_status status, const char *what)
{
    int code = mt_cli_exit_code(status);
    char why_copy[1024];
    snprintf(why_copy, sizeof(why_copy), "%s", mt_cli_errmsg());
    cli_error[0] = '\0';
    const char *why = why_copy;
    if (!why || !*why)
        why = mt_status_name(status);
    char message[1400];
    if (what && *what && !names(why, what))
        snprintf(message, sizeof(message), "%s: %s", what, why);
    else
        snprintf(message, sizeof(message), "%s", why);
    fprintf(stderr, "%s: %s\n", cli->prog, message);
    if (cli->json)
        print_json_error(mt_status_name(status), message, code);
    return code;
}

int mt_cli_usage_error(mt_cli *cli, const char *cmd, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    const char *space = *cmd ? " " : "";
    fprintf(stderr, "%s%s%s: %s\nTry '%s%s%s --help'.\n", cli->prog, space, cmd, message,
            cli->prog, space, cmd);
    if (cli->json)
        print_json_error("usage", message, MT_EXIT_USAGE);
    return MT_EXIT_USAGE;
}

void mt_cli_note(mt_cli *cli, const char *fmt, ...)
{
    if (cli->quiet || cli->json)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ arguments */

int mt_cli_getopt(mt_cli *cli, const char *cmd, const char *help, int argc, char **argv,
                  const struct option *options, int *exit_code)
{
    int index = -1;
    opterr = 0;
    int opt = getopt_long(argc, argv, ":h", options, &index);
    switch (opt) {
    case -1:
        return MT_OPT_END;
    case 'h':
        fputs(help, stdout);
        *exit_code = MT_EXIT_HELP_SHOWN;
        return MT_OPT_EXIT;
    case 'J':
        cli->json = true;
        return mt_cli_getopt(cli, cmd, help, argc, argv, options, exit_code);
    case 'q':
        cli->quiet = true;
        return mt_cli_getopt(cli, cmd, help, argc, argv, options, exit_code);
    case ':':
        *exit_code = mt_cli_usage_error(cli, cmd, "option %s needs a value", argv[optind - 1]);
        return MT_OPT_EXIT;
    case '?':
        *exit_code = mt_cli_usage_error(cli, cmd, "unknown option %s", argv[optind - 1]);
        return MT_OPT_EXIT;
    default:
        return opt;
    }
}

int mt_cli_dispatch(mt_cli *cli, const char *group, const char *help,
                    const mt_subcommand *subs, size_t n_subs, int argc, char **argv)
{
    /* Global flags may also stand between the group and its subcommand
     * (`mailtoken cert --json list`). */
    while (argc > 1 && (strcmp(argv[1], "--json") == 0 || strcmp(argv[1], "--quiet") == 0)) {
        if (strcmp(argv[1], "--json") == 0)
            cli->json = true;
        else
            cli->quiet = true;
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    const char *name = argc > 1 ? argv[1] : NULL;
    if (name && (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 ||
                 strcmp(name, "help") == 0)) {
        fputs(help, stdout);
        printf("\nSubcommands:\n");
        for (size_t i = 0; i < n_subs; i++)
            printf("  %-16s %s\n", subs[i].name, subs[i].summary);
        printf("\nRun '%s %s SUBCOMMAND --help' for its options.\n", cli->prog, group);
        return MT_EXIT_OK;
    }
    if (!name)
        return mt_cli_usage_error(cli, group, "a subcommand is required");
    for (size_t i = 0; i < n_subs; i++) {
        if (strcmp(subs[i].name, name) == 0) {
            optind = 0; /* the subcommand parses its own options from scratch */
            return subs[i].run(cli, argc - 1, argv + 1);
        }
    }
    return mt_cli_usage_error(cli, group, "unknown subcommand '%s'", name);
}

bool mt_cli_parse_int(mt_cli *cli, const char *cmd, const char *opt, const char *text,
                      long long min, long long max, long long *out, int *exit_code)
{
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno || !*text || *end || value < min || value > max) {
        *exit_code = mt_cli_usage_error(cli, cmd, "%s: '%s' is not a number from %lld to %lld",
                                        opt, text, min, max);
        return false;
    }
    *out = value;
    return true;
}

bool mt_cli_parse_when(const char *text, int direction, int64_t *out)
{
    struct tm tm = {0};
    const char *end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end) {
        memset(&tm, 0, sizeof(tm));
        end = strptime(text, "%Y-%m-%d", &tm);
    }
    if (end && !*end) {
        *out = (int64_t)timegm(&tm);
        return true;
    }
    char *unit = NULL;
    long long n = strtoll(text, &unit, 10);
    if (unit == text || n < 0 || strlen(unit) != 1)
        return false;
    long long seconds = *unit == 'm' ? 60 : *unit == 'h' ? 3600 : *unit == 'd' ? 86400 : 0;
    if (!seconds || n > 1000000)
        return false;
    *out = (int64_t)time(NULL) + (direction < 0 ? -1 : 1) * n * seconds;
    return true;
}

/* ------------------------------------------------------------ the store */

static void set_actor(mt_store *store)
{
    const char *user = NULL;
    struct passwd *pw = getpwuid(geteuid());
    if (pw)
        user = pw->pw_name;
    if (!user)
        user = getenv("USER");
    char actor[128];
    snprintf(actor, sizeof(actor), "cli:%s", user ? user : "unknown");
    mt_store_set_actor(store, actor);
}

/* mkdir -p of the directory holding path (0700: the store is private). */
static void make_parent_dirs(const char *path)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
        return;
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0700);
            *p = '/';
        }
    }
    mkdir(dir, 0700);
}

mt_status mt_cli_config(mt_cli *cli, const mt_config **out)
{
    mt_status st = MT_OK;
    if (!cli->config)
        st = mt_config_load(cli->config_path, &cli->config);
    *out = cli->config;
    return st;
}

mt_status mt_cli_open_store(mt_cli *cli, unsigned flags, mt_store **out)
{
    char *path = NULL;
    const mt_config *config = NULL;
    mt_status st = mt_cli_config(cli, &config);
    if (st != MT_OK)
        goto out;
    if (cli->store_path) {
        path = strdup(cli->store_path);
        if (!path) {
            st = MT_ERR_NOMEM;
            goto out;
        }
    } else {
        st = mt_config_store_path(cli->config, &path);
        if (st != MT_OK)
            goto out;
    }
    if ((flags & MT_OPEN_CREATE) && !mt_store_location_is_server(path))
        make_parent_dirs(path);
    st = mt_store_open(path, cli->config, flags, out);
    if (st == MT_ERR_NOT_FOUND) /* the file is missing: say what makes one */
        st = mt_cli_set_error(st, "%s: no store here: create one with `mailtoken init` (or name "
                                  "another with --store or $MAILTOKEN_STORE)", path);
    if (st != MT_OK)
        goto out;
    set_actor(*out);
    for (const char *w = mt_store_warning(*out), *end; w && *w; w = *end ? end + 1 : end) {
        end = strchrnul(w, '\n');
        fprintf(stderr, "%s: warning: %.*s\n", cli->prog, (int)(end - w), w);
    }
out:
    free(path);
    return st;
}

int mt_cli_open_or_fail(mt_cli *cli, unsigned flags, mt_store **out)
{
    mt_status st = mt_cli_open_store(cli, flags, out);
    /* No configuration loaded: it was the config that failed. */
    return st == MT_OK ? MT_EXIT_OK : mt_cli_fail(cli, st, cli->config ? "store" : "config");
}

mt_status mt_cli_org(mt_cli *cli, mt_store *store, int64_t *org_id)
{
    mt_org *org = NULL;
    mt_status st = mt_store_org_find(store, cli->org_name, &org);
    if (st == MT_OK)
        *org_id = org->id;
    mt_org_free(org);
    return st;
}

int mt_cli_session(mt_cli *cli, unsigned flags, mt_store **store, int64_t *org_id)
{
    int code = mt_cli_open_or_fail(cli, flags, store);
    if (code != MT_EXIT_OK)
        return code;
    mt_status st = mt_cli_org(cli, *store, org_id);
    if (st == MT_ERR_NOT_FOUND && !cli->org_name)
        st = mt_cli_set_error(st, "no organisation in %s: create one with `mailtoken init`",
                              mt_store_path(*store));
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "organisation");
        mt_store_close(*store);
        *store = NULL;
        return code;
    }
    return MT_EXIT_OK;
}

mt_status mt_cli_end_tx(mt_store *store, mt_status st, bool commit)
{
    if (st == MT_OK && commit)
        return mt_store_commit(store);
    char message[1024];
    snprintf(message, sizeof(message), "%s", mt_cli_errmsg());
    mt_store_rollback(store); /* clears the message */
    return st == MT_OK ? MT_OK : mt_cli_set_error(st, "%s", message);
}

/* A plain decimal id: all digits, short enough not to be a fingerprint. */
static bool parse_cert_id(const char *ref, int64_t *id)
{
    size_t n = strlen(ref);
    if (n == 0 || n > 18 || strspn(ref, "0123456789") != n)
        return false;
    *id = strtoll(ref, NULL, 10);
    return true;
}

mt_status mt_cli_find_cert(mt_store *store, int64_t org_id, const char *ref, mt_cert **out)
{
    int64_t id = 0;
    uint8_t sha256[32];
    mt_status st;
    if (parse_cert_id(ref, &id)) {
        st = mt_store_cert_get(store, id, out);
        if (st == MT_OK && (*out)->org_id != org_id) {
            mt_cert_free(*out);
            *out = NULL;
            st = MT_ERR_NOT_FOUND;
        }
    } else {
        if (mt_fingerprint_parse(ref, sha256) != MT_OK)
            return mt_cli_set_error(MT_ERR_INVALID,
                                    "certificate '%s': neither an id nor a SHA-256 fingerprint",
                                    ref);
        st = mt_store_cert_get_by_fingerprint(store, org_id, sha256, out);
    }
    if (st == MT_ERR_NOT_FOUND) /* same words whether unknown or in another organisation */
        return mt_cli_set_error(st, "certificate %s not found", ref);
    return st;
}

mt_status mt_cli_cert_id(mt_store *store, int64_t org_id, const char *ref, int64_t *id)
{
    mt_cert *cert = NULL;
    mt_status st = mt_cli_find_cert(store, org_id, ref, &cert);
    if (st == MT_OK)
        *id = cert->id;
    mt_cert_free(cert);
    return st;
}

const char *mt_cli_first_email(const mt_cert *cert)
{
    if (cert && cert->info && cert->info->n_emails > 0)
        return cert->info->emails[0];
    return "-";
}
