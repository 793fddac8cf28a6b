/* Shared by the `mailtoken account` subcommands. */
#ifndef MT_ACCOUNT_CMD_H
#define MT_ACCOUNT_CMD_H

#include "cli.h"

int mt_cmd_account_set_pin(mt_cli *cli, int argc, char **argv);
int mt_cmd_account_reset_pin(mt_cli *cli, int argc, char **argv);
int mt_cmd_account_rekey(mt_cli *cli, int argc, char **argv);
/* org verify and org rewrap (cmd_org_verify.c) */
int mt_cmd_org_verify(mt_cli *cli, int argc, char **argv);
int mt_cmd_org_rewrap(mt_cli *cli, int argc, char **argv);

/* Parses the subcommand's options (only the common ones) and checks that
 * exactly n_operands operands follow; returns MT_OPT_END when it may run,
 * else with *code set. */
int mt_account_operands(mt_cli *cli, const char *cmd, const char *help, int argc, char **argv,
                        int n_operands, int *code);

/* Prints the account (JSON or a line) after a change: `done` when it differs
 * from `before` (NULL: a new account), else `unchanged`. */
int mt_account_print_after(mt_cli *cli, mt_store *store, int64_t org_id, const char *email,
                           const mt_account *before, const char *done, const char *unchanged);

#endif
