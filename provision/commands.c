/* The command table: one line per command group (`mailtoken --help` order). */
#include "cli.h"

int mt_cmd_init(mt_cli *cli, int argc, char **argv);
int mt_cmd_cert(mt_cli *cli, int argc, char **argv);
int mt_cmd_account(mt_cli *cli, int argc, char **argv);
int mt_cmd_org(mt_cli *cli, int argc, char **argv);
int mt_cmd_p11_server(mt_cli *cli, int argc, char **argv);
int mt_cmd_status(mt_cli *cli, int argc, char **argv);
int mt_cmd_log(mt_cli *cli, int argc, char **argv);
int mt_cmd_uri(mt_cli *cli, int argc, char **argv);
int mt_cmd_migrate(mt_cli *cli, int argc, char **argv);
int mt_cmd_ca(mt_cli *cli, int argc, char **argv);
int mt_cmd_renew(mt_cli *cli, int argc, char **argv);
int mt_cmd_serve(mt_cli *cli, int argc, char **argv);
int mt_cmd_api_key(mt_cli *cli, int argc, char **argv);
int mt_cmd_store(mt_cli *cli, int argc, char **argv);

const mt_command mt_commands[] = {
    {"init", "create the store and an organisation (asks for the SO PIN)", mt_cmd_init},
    {"cert", "import, list, show, update, export and delete certificates", mt_cmd_cert},
    {"account", "create and manage email accounts, their certificates and PINs", mt_cmd_account},
    {"org", "the organisation's SO PIN (state, unlock) and recovery key", mt_cmd_org},
    {"status", "store path, counts, certificates expiring soon, pending renewals", mt_cmd_status},
    {"log", "the audit trail", mt_cmd_log},
    {"uri", "the PKCS#11 URI (RFC 7512) of an account's token and objects", mt_cmd_uri},
    {"p11-server", "privilege-separated mode: a p11-kit server per user (setup, grant)", mt_cmd_p11_server},
    {"migrate", "import certificates and keys from a PKCS#11 token (SoftHSM)", mt_cmd_migrate},
    {"ca", "CA profiles for renewals: add, list, show, remove, test", mt_cmd_ca},
    {"renew", "renew certificates through a CA; status, resume, cancel", mt_cmd_renew},
    {"serve", "the managed-store API over HTTPS (docs/api.md)", mt_cmd_serve},
    {"api-key", "Bearer keys of the API: create, list, revoke", mt_cmd_api_key},
    {"store", "copy a whole store between a SQLite file and PostgreSQL", mt_cmd_store},
};

const size_t mt_n_commands = sizeof(mt_commands) / sizeof(mt_commands[0]);
