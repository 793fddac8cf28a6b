/* The shape shared by commands that take only the SO PIN and operands
 * (`org verify`, `org rewrap`, `account rekey`), and a new SO PIN read
 * under its policy (`init`, `org set-so-pin`, `org unlock-so`). */
#include "cli.h"

enum { OPT_SO_PIN = 100 };

int mt_cli_so_pin_command(mt_cli *cli, const char *cmd, const char *help, int argc, char **argv,
                          int n_operands, unsigned open_flags, mt_store **store, int64_t *org_id,
                          mt_secret **so_pin)
{
    static const struct option options[] = {
        MT_SECRET_OPTIONS("so-pin", OPT_SO_PIN),
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    mt_secret_source so_src = MT_SECRET_SOURCE_INIT("SO PIN", "so-pin", "MAILTOKEN_SO_PIN");
    int code = MT_EXIT_OK, opt;
    *store = NULL;
    *so_pin = NULL;
    while ((opt = mt_cli_getopt(cli, cmd, help, argc, argv, options, &code)) >= 0)
        mt_cli_secret_opt(&so_src, opt, OPT_SO_PIN, optarg);
    if (opt == MT_OPT_EXIT)
        return code;
    if (argc - optind != n_operands)
        return mt_cli_usage_error(cli, cmd, "expected %d argument%s", n_operands, n_operands == 1 ? "" : "s");
    if (!mt_cli_secret_source_ok(cli, cmd, &so_src, &code))
        return code;
    if ((code = mt_cli_session(cli, open_flags, store, org_id)) != MT_EXIT_OK)
        return code;
    mt_status st = mt_cli_read_secret_from(cli, &so_src, false, so_pin);
    if (st != MT_OK) {
        mt_store_close(*store);
        *store = NULL;
        return mt_cli_fail(cli, st, so_src.what);
    }
    return MT_EXIT_OK;
}

static mt_status so_pin_policy(void *config, const mt_secret *pin)
{
    return mt_so_pin_policy_check(config, pin);
}

mt_status mt_cli_read_new_so_pin(mt_cli *cli, const mt_secret_source *src, mt_secret **out)
{
    return mt_cli_read_new_secret(cli, src, true, so_pin_policy, (void *)cli->config, out);
}
