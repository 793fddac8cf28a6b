/*
 * Shared by the `mailtoken` command groups (cmd_*.c): global options, exit
 * codes, output (tables or --json), secrets from prompt/file/env/fd.
 */
#ifndef MT_CLI_H
#define MT_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "mailtoken/store.h"

/* Exit codes (documented in mailtoken(1)); mirror the API's 400/404/409. */
enum {
    MT_EXIT_OK = 0,
    MT_EXIT_FAILURE = 1,   /* internal, I/O or database error */
    MT_EXIT_USAGE = 2,     /* bad command line */
    MT_EXIT_NOT_FOUND = 3, /* 404 */
    MT_EXIT_CONFLICT = 4,  /* 409 */
    MT_EXIT_INVALID = 5,   /* 400: bad input file or field */
    MT_EXIT_AUTH = 6,      /* wrong PIN / password, locked, CA authentication */
    MT_EXIT_PARTIAL = 7,   /* some items done, some failed */
    MT_EXIT_PENDING = 8,   /* renewal waiting for the CA: run `renew resume` later */
    MT_EXIT_CA = 9,        /* the CA refused; an operator must act */
    MT_EXIT_TAMPERED = 10, /* the store was tampered with: a key failed its check */
    /* Not an exit status: --help was printed, stop now.  Commands pass it up
     * like any other code (so nothing runs after the help) and main() exits 0. */
    MT_EXIT_HELP_SHOWN = 100
};

/* Global options (before the command: `mailtoken [--store P] [--json] cert list`). */
typedef struct mt_cli {
    const char *prog;        /* "mailtoken" */
    const char *config_path; /* --config */
    const char *store_path;  /* --store */
    const char *org_name;    /* --org */
    bool json;               /* --json */
    bool quiet;              /* --quiet */
    bool is_tty;             /* stderr is a terminal (prompts, progress) */
    mt_config *config;       /* loaded lazily by mt_cli_open_store */
} mt_cli;

typedef int (*mt_cmd_fn)(mt_cli *cli, int argc, char **argv);

typedef struct mt_command {
    const char *name;    /* "cert", "account", "renew", ... */
    const char *summary; /* one line for `mailtoken --help` */
    mt_cmd_fn run;       /* argv[0] is the command name */
} mt_command;

/* The command table (commands.c). */
extern const mt_command mt_commands[];
extern const size_t mt_n_commands;

/* Maps a store status to an exit code. */
int mt_cli_exit_code(mt_status status);
/* Prints "mailtoken: <what>: <mt_errmsg()>" on stderr (or, with --json, an
 * error object {"error": status-name, "message": ..., "exit": code} on
 * stdout) and returns the exit code for status. */
int mt_cli_fail(mt_cli *cli, mt_status status, const char *what);
/* Usage error: prints "mailtoken <cmd>: <message>" and a hint, returns MT_EXIT_USAGE. */
int mt_cli_usage_error(mt_cli *cli, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Opens the store named by --store / config / defaults; sets the actor
 * ("cli:<user>").  flags as for mt_store_open. */
mt_status mt_cli_open_store(mt_cli *cli, unsigned flags, mt_store **out);
/* Same, reporting a failure (labelled "config" or "store"): returns
 * MT_EXIT_OK or the exit code. */
int mt_cli_open_or_fail(mt_cli *cli, unsigned flags, mt_store **out);
/* The organisation selected by --org (or the only one). */
mt_status mt_cli_org(mt_cli *cli, mt_store *store, int64_t *org_id);

/* Secrets in the environment (cli_env.c): taken out of it (copied to secure
 * memory, wiped in the process's environment block, unset).  take_known:
 * the variables the tool reads by default, at start-up; env_secret: a copy
 * of one (taken when first read); env_has: set or taken. */
void mt_cli_env_take_known(void);
bool mt_cli_env_has(const char *name);
mt_status mt_cli_env_secret(const char *what, const char *name, mt_secret **out);
void mt_cli_env_clear(void);

/* Reads a secret: from file_path, else from the environment variable env_name,
 * else from fd (>= 0), else by prompt without echo on a tty (twice when
 * confirm).  MT_ERR_INVALID naming the option when none is available. */
mt_status mt_cli_read_secret(mt_cli *cli, const char *prompt, const char *file_path,
                             const char *env_name, int fd, bool confirm, mt_secret **out);

/* Output. */
void mt_cli_print_json(json_t *value); /* prints and decrefs; stable key order */
json_t *mt_json_cert(const mt_cert *cert);       /* documented schema in mailtoken(1) */
json_t *mt_json_account(const mt_account *account);
json_t *mt_json_time(int64_t unix_time);         /* "2025-01-15T10:30:00Z" */
json_t *mt_json_event(const mt_event *event);    /* an audit event (`log --json`) */
void mt_cli_format_time(int64_t unix_time, char out[21]);
/* Progress on a tty: "  312/1000  150.2/s  ETA 0:05  name"; nothing otherwise. */
void mt_cli_progress(mt_cli *cli, size_t done, size_t total, double started, const char *item);
double mt_cli_monotonic(void);

/* ---------------------------------------------------------------------------
 * Additions shared by the command groups (argument parsing, look-ups).
 */
#include <getopt.h>

/* Options every subcommand accepts: append to its long options, before the
 * terminating {0}. */
#define MT_CLI_COMMON_OPTIONS                                                          \
    {"help", no_argument, NULL, 'h'}, {"json", no_argument, NULL, 'J'},                \
    {"quiet", no_argument, NULL, 'q'}

enum { MT_OPT_END = -1, MT_OPT_EXIT = -2 };
/* getopt_long over a subcommand's arguments (argv[0] is the subcommand).
 * Handles the common options itself: --help prints `help` on stdout.  Returns
 * the next option's val, MT_OPT_END when done (operands start at optind), or
 * MT_OPT_EXIT with *exit_code set (help printed, or a usage error). */
int mt_cli_getopt(mt_cli *cli, const char *cmd, const char *help, int argc, char **argv,
                  const struct option *options, int *exit_code);

/* A subcommand of a group ("cert import"). */
typedef struct mt_subcommand {
    const char *name;
    const char *summary;
    mt_cmd_fn run;
} mt_subcommand;
/* Runs the subcommand named by argv[1]; `group --help` lists them. */
int mt_cli_dispatch(mt_cli *cli, const char *group, const char *help,
                    const mt_subcommand *subs, size_t n_subs, int argc, char **argv);

/* Parses a decimal number in [min, max] given to option `opt`; on error
 * prints a usage error and returns false with *exit_code set. */
bool mt_cli_parse_int(mt_cli *cli, const char *cmd, const char *opt, const char *text,
                      long long min, long long max, long long *out, int *exit_code);

/* A moment given as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC), or as an age
 * "30m", "12h", "7d" before now (direction < 0) or after now (> 0). */
bool mt_cli_parse_when(const char *text, int direction, int64_t *out);

/* Where a secret may come from: --<option>-file, --<option>-env, --<option>-fd,
 * the environment variable default_env, or a prompt on the terminal. */
typedef struct mt_secret_source {
    const char *what;        /* "SO PIN", "P12 password": prompts and errors */
    const char *option;      /* "so-pin": names the options in errors */
    const char *file;
    const char *env;         /* name of the variable given with --<option>-env */
    const char *default_env; /* e.g. "MAILTOKEN_SO_PIN", used when set */
    int fd;                  /* -1: none */
} mt_secret_source;
#define MT_SECRET_SOURCE_INIT(what, option, default_env) \
    {(what), (option), NULL, NULL, (default_env), -1}
/* A check of a new secret (the PIN policy): on a terminal it runs between
 * the first entry and the confirmation, so a refused PIN is not typed twice. */
typedef mt_status (*mt_cli_secret_check)(void *ctx, const mt_secret *secret);
mt_status mt_cli_read_new_secret(mt_cli *cli, const mt_secret_source *src, bool confirm,
                                 mt_cli_secret_check check, void *ctx, mt_secret **out);
/* One line typed on the terminal after prompt (echoed when echo). */
mt_status mt_cli_ask(const char *what, const char *prompt, bool echo, mt_secret **out);
/* True when the source names a file, variable or descriptor (no prompt needed). */
bool mt_cli_secret_given(const mt_secret_source *src);
mt_status mt_cli_read_secret_from(mt_cli *cli, const mt_secret_source *src, bool confirm,
                                  mt_secret **out);
/* The long options --NAME-file, --NAME-env, --NAME-fd with vals base,
 * base + 1, base + 2; mt_cli_secret_opt stores them into a source. */
#define MT_SECRET_OPTIONS(name, base)                                                  \
    {name "-file", required_argument, NULL, (base)},                                   \
        {name "-env", required_argument, NULL, (base) + 1},                            \
        {name "-fd", required_argument, NULL, (base) + 2}
bool mt_cli_secret_opt(mt_secret_source *src, int opt, int base, const char *arg);
/* After the options: a --NAME-fd that is not a number is a usage error
 * (prints it, sets *code to MT_EXIT_USAGE and returns false). */
bool mt_cli_secret_source_ok(mt_cli *cli, const char *cmd, const mt_secret_source *src,
                             int *code);

/* A command that takes the SO PIN (--so-pin-file/-env/-fd, $MAILTOKEN_SO_PIN)
 * and n_operands operands (at optind): parses, opens the store, selects the
 * organisation and reads the SO PIN; MT_EXIT_OK, or the exit code after the
 * help or the error was printed (nothing left to free then). */
int mt_cli_so_pin_command(mt_cli *cli, const char *cmd, const char *help, int argc, char **argv,
                          int n_operands, unsigned open_flags, mt_store **store, int64_t *org_id,
                          mt_secret **so_pin);

/* A new SO PIN read from src and checked against the SO PIN policy of
 * cli's config (on a terminal, before the confirmation is asked). */
mt_status mt_cli_read_new_so_pin(mt_cli *cli, const mt_secret_source *src, mt_secret **out);

/* The configuration (--config, else the default places), loaded once. */
mt_status mt_cli_config(mt_cli *cli, const mt_config **out);
/* Opens the store and selects the organisation: returns MT_EXIT_OK or the
 * exit code after printing the error. */
int mt_cli_session(mt_cli *cli, unsigned flags, mt_store **store, int64_t *org_id);
/* A certificate by id ("42") or SHA-256 fingerprint (hex, colons allowed),
 * in the organisation; MT_ERR_NOT_FOUND names it. */
mt_status mt_cli_find_cert(mt_store *store, int64_t org_id, const char *ref, mt_cert **out);
/* Same, returning the id only. */
mt_status mt_cli_cert_id(mt_store *store, int64_t org_id, const char *ref, int64_t *id);
/* Ends a transaction of mt_store_begin: commits when st is MT_OK and commit,
 * else rolls back (a trial run: what would happen, nothing done), keeping a
 * failure's message.  Returns st (or the commit's failure). */
mt_status mt_cli_end_tx(mt_store *store, mt_status st, bool commit);
/* Records an error found by the command line itself (not by the store):
 * mt_cli_fail reports it instead of mt_errmsg(), once.  Returns status. */
mt_status mt_cli_set_error(mt_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The pending command-line message, else mt_errmsg(). */
const char *mt_cli_errmsg(void);
/* Forgets the pending command-line message (once reported another way). */
void mt_cli_clear_error(void);
/* Prints a message on stderr unless --quiet or --json. */
void mt_cli_note(mt_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The first email a certificate names, or "-". */
const char *mt_cli_first_email(const mt_cert *cert);

/* "#7 alice@example.org until 2026-01-31 (with its private key), #9 ..." */
void mt_cli_describe_certs(mt_cert *const *certs, size_t n, char *out, size_t size);
/* Consent to destroy n_keys private keys of the certificates described: says
 * what goes and that mail encrypted to them will no longer open, then asks on
 * the terminal ("yes"); without a terminal only yes (--yes) goes ahead (else
 * a usage error, as is "no" at the prompt).  Returns MT_EXIT_OK to go ahead,
 * else the exit code after reporting. */
int mt_cli_consent(mt_cli *cli, const char *cmd, bool yes, size_t n_keys, const char *certs);

/* Output never drives the terminal (cli_escape.c): from here on stdout and
 * stderr write control characters and bytes that are not UTF-8 as \xNN or
 * \u00NN.  Called first thing by main(). */
void mt_cli_escape_output(void);
/* stderr without that filter, for the tool's own terminal control (the
 * progress line); what it prints from elsewhere goes through mt_cli_visible. */
FILE *mt_cli_terminal_err(void);
/* Checks text given on the command line: valid UTF-8 (mt_cli_text_ok), and
 * for names (friendly names, descriptions, organisation and profile names)
 * no control character either.  On failure reports it naming option (exit 5)
 * and returns false with *code set. */
bool mt_cli_text_ok(mt_cli *cli, const char *option, const char *value, int *code);
bool mt_cli_name_ok(mt_cli *cli, const char *option, const char *value, int *code);
/* text with control characters and stray bytes escaped as the filter does,
 * cut to fit size; returns out. */
const char *mt_cli_visible(const char *text, char *out, size_t size);

#endif
