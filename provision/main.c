/* mailtoken: global options, then dispatch to a command group. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

static const char main_help[] =
    "Usage: mailtoken [GLOBAL OPTIONS] COMMAND [ARGS...]\n"
    "\n"
    "Fills and runs the mailtoken S/MIME certificate store.\n"
    "\n"
    "Global options:\n"
    "  --store PATH     the store file (default: $MAILTOKEN_STORE, the config's\n"
    "                   `store`, else $XDG_DATA_HOME/mailtoken/store.db)\n"
    "  --config PATH    the configuration file (default: $MAILTOKEN_CONF,\n"
    "                   ~/.config/mailtoken/mailtoken.conf, /etc/mailtoken/mailtoken.conf)\n"
    "  --org NAME       the organisation (needed when the store holds several)\n"
    "  --json           machine-readable output (schema in mailtoken(1))\n"
    "  --quiet          no progress or notes on stderr\n"
    "  --help, --version\n"
    "\n"
    "Commands:\n";

static void print_help(void)
{
    fputs(main_help, stdout);
    for (size_t i = 0; i < mt_n_commands; i++)
        printf("  %-11s %s\n", mt_commands[i].name, mt_commands[i].summary);
    printf("\nRun 'mailtoken COMMAND --help' for a command's options; exit codes in mailtoken(1).\n");
}

enum { OPT_STORE = 1, OPT_CONFIG, OPT_ORG, OPT_VERSION };

static const struct option global_options[] = {
    {"store", required_argument, NULL, OPT_STORE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"org", required_argument, NULL, OPT_ORG},
    {"version", no_argument, NULL, OPT_VERSION},
    MT_CLI_COMMON_OPTIONS,
    {0},
};

/* PINs, passwords and keys pass through this process: no core file may
 * keep them, and no process of the same user may read its memory.  (Under
 * AddressSanitizer the process stays dumpable: its leak checker attaches
 * to it with ptrace.) */
static void no_core_dumps(void)
{
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
#ifndef __SANITIZE_ADDRESS__
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}

int main(int argc, char **argv)
{
    mt_cli cli = {.prog = "mailtoken"};
    int code = MT_EXIT_OK;
    mt_cli_escape_output();
    no_core_dumps();
    mt_cli_env_take_known();
    cli.is_tty = isatty(STDERR_FILENO) == 1;
    if (mt_library_init() != MT_OK) {
        code = mt_cli_fail(&cli, MT_ERR_INTERNAL, "initialisation");
        goto out;
    }
    /* "+": stop at the command; its own options come after it. */
    opterr = 0;
    int opt, index;
    while ((opt = getopt_long(argc, argv, "+:hq", global_options, &index)) != -1) {
        switch (opt) {
        case OPT_STORE:
            cli.store_path = optarg;
            break;
        case OPT_CONFIG:
            cli.config_path = optarg;
            break;
        case OPT_ORG:
            cli.org_name = optarg;
            break;
        case 'J':
            cli.json = true;
            break;
        case 'q':
            cli.quiet = true;
            break;
        case OPT_VERSION:
            printf("mailtoken %s\n", MT_VERSION_STRING);
            goto out;
        case 'h':
            print_help();
            goto out;
        case ':':
            code = mt_cli_usage_error(&cli, "", "option %s needs a value", argv[optind - 1]);
            goto out;
        default:
            code = mt_cli_usage_error(&cli, "", "unknown option %s", argv[optind - 1]);
            goto out;
        }
    }
    if (optind >= argc) {
        print_help();
        code = MT_EXIT_USAGE;
        goto out;
    }
    const char *name = argv[optind];
    int cmd_argc = argc - optind;
    char **cmd_argv = argv + optind;
    code = -1;
    for (size_t i = 0; i < mt_n_commands; i++) {
        if (strcmp(mt_commands[i].name, name) == 0) {
            optind = 0; /* the command parses its own options from scratch */
            code = mt_commands[i].run(&cli, cmd_argc, cmd_argv);
            break;
        }
    }
    if (code < 0)
        code = mt_cli_usage_error(&cli, "", "unknown command '%s'", name);
    if (code == MT_EXIT_HELP_SHOWN)
        code = MT_EXIT_OK;
out:
    mt_cli_env_clear();
    mt_config_free(cli.config);
    fflush(stdout);
    return code;
}
