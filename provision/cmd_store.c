/* mailtoken store copy: a whole store into another, between a SQLite file and
 * a PostgreSQL server; mailtoken store grant: the SQL of a server's roles. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

static const char store_help[] =
    "Usage: mailtoken store copy --from LOCATION --to LOCATION\n"
    "       mailtoken store grant (--reader ROLE [--org NAME] | --writer ROLE) [--apply]\n"
    "\n"
    "The store as a whole (see docs/postgresql.md).\n";

static const char copy_help[] =
    "Usage: mailtoken store copy --from LOCATION --to LOCATION\n"
    "\n"
    "Copies every row of the store at --from into the store at --to (created when\n"
    "missing): a SQLite file into a PostgreSQL server (postgresql://...) or back.\n"
    "Sealed keys and wrapped PINs are copied as they are: no PIN is needed.  The\n"
    "destination is a new store or an earlier copy of the same one: a second run\n"
    "copies only what is new.  Before it commits, each table's row count and a\n"
    "digest of its rows are compared on both sides; on a difference (the\n"
    "destination holds another store's rows) nothing is written (exit 4).\n"
    "\n"
    "  --from LOCATION  the store to read (a file or a connection URI)\n"
    "  --to LOCATION    the store to fill\n"
    "  --json           {\"from\", \"to\", \"tables\": [{\"name\", \"rows\", \"copied\", \"digest\"}]}\n";

static const char grant_help[] =
    "Usage: mailtoken store grant (--reader ROLE [--org NAME] | --writer ROLE) [--apply]\n"
    "\n"
    "Prints the SQL that lets an existing PostgreSQL role use the store (on a\n"
    "server only), for the tables' owner to run (psql -f), or runs it with\n"
    "--apply on the store's connection, which must then be the owner's.\n"
    "A writer (the CLI, mailtoken serve, renewals) reads and changes every table;\n"
    "schema upgrades stay the owner's.  A reader (the module) reads what the\n"
    "module needs and writes only the PIN counters and the audit events of\n"
    "logins.  With --org, the reader sees one organisation: row-level security\n"
    "shows it no row of another.  Granting again replaces what the role had;\n"
    "run it again after a schema upgrade.\n"
    "\n"
    "  --reader ROLE    the module's role\n"
    "  --writer ROLE    a role that writes the whole store\n"
    "  --org NAME       the reader's organisation (or the global --org; default:\n"
    "                   every organisation of the store)\n"
    "  --apply          run the SQL instead of printing it\n"
    "  --json           {\"role\", \"kind\", \"organization\", \"applied\", \"sql\"}\n";

enum { OPT_FROM = 1, OPT_TO, OPT_READER, OPT_WRITER, OPT_ORG, OPT_APPLY };

/* Opens LOCATION as the global --store would. */
static mt_status open_at(mt_cli *cli, char *location, unsigned flags, mt_store **out)
{
    const char *saved = cli->store_path;
    cli->store_path = location;
    mt_status st = mt_cli_open_store(cli, flags, out);
    cli->store_path = saved;
    return st;
}

static void print_report(mt_cli *cli, const mt_store *from, const mt_store *to, const mt_copy_report *r)
{
    if (cli->json) {
        json_t *tables = json_array();
        for (size_t i = 0; i < r->n_tables; i++)
            json_array_append_new(tables, json_pack("{s:s, s:I, s:I, s:s}", "name", r->tables[i].name,
                                                    "rows", (json_int_t)r->tables[i].rows, "copied",
                                                    (json_int_t)r->tables[i].copied, "digest",
                                                    r->tables[i].digest));
        mt_cli_print_json(json_pack("{s:s, s:s, s:o}", "from", mt_store_path(from), "to",
                                    mt_store_path(to), "tables", tables));
        return;
    }
    printf("%-22s %8s %8s  %s\n", "TABLE", "ROWS", "COPIED", "DIGEST");
    for (size_t i = 0; i < r->n_tables; i++)
        printf("%-22s %8zu %8zu  %.16s\n", r->tables[i].name, r->tables[i].rows, r->tables[i].copied,
               r->tables[i].digest);
    printf("copied %s to %s: verified\n", mt_store_path(from), mt_store_path(to));
}

static int store_copy(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    char *from_location = NULL, *to_location = NULL;
    mt_store *from = NULL, *to = NULL;
    mt_copy_report report = {0};
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, "store copy", copy_help, argc, argv, options, &code)) >= 0)
        *(opt == OPT_FROM ? &from_location : &to_location) = optarg;
    if (opt == MT_OPT_EXIT)
        goto out;
    if (optind < argc || !from_location || !to_location) {
        code = optind < argc ? mt_cli_usage_error(cli, "store copy", "unexpected argument '%s'", argv[optind])
                             : mt_cli_usage_error(cli, "store copy", "--from and --to are required");
        goto out;
    }
    mt_status st = open_at(cli, from_location, MT_OPEN_READONLY, &from);
    if (st == MT_OK)
        st = open_at(cli, to_location, MT_OPEN_CREATE, &to);
    if (st == MT_OK)
        st = mt_store_copy(from, to, &report);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "store copy");
        goto out;
    }
    print_report(cli, from, to, &report);
out:
    mt_copy_report_clear(&report);
    mt_store_close(from);
    mt_store_close(to);
    return code;
}

typedef struct grant_args {
    const char *role, *org;
    mt_role_kind kind;
    bool apply;
} grant_args;

static int grant_parse(mt_cli *cli, int argc, char **argv, grant_args *g)
{
    static const struct option options[] = {
        {"reader", required_argument, NULL, OPT_READER},
        {"writer", required_argument, NULL, OPT_WRITER},
        {"org", required_argument, NULL, OPT_ORG},
        {"apply", no_argument, NULL, OPT_APPLY},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    int code = MT_EXIT_OK, opt, roles = 0;
    g->org = cli->org_name;
    while ((opt = mt_cli_getopt(cli, "store grant", grant_help, argc, argv, options, &code)) >= 0) {
        if (opt == OPT_READER || opt == OPT_WRITER) {
            g->kind = opt == OPT_READER ? MT_ROLE_READER : MT_ROLE_WRITER;
            g->role = optarg;
            roles++;
        } else if (opt == OPT_ORG) {
            g->org = optarg;
        } else {
            g->apply = true;
        }
    }
    if (opt == MT_OPT_EXIT)
        return code;
    if (optind < argc)
        return mt_cli_usage_error(cli, "store grant", "unexpected argument '%s'", argv[optind]);
    if (roles != 1)
        return mt_cli_usage_error(cli, "store grant", "one of --reader ROLE or --writer ROLE is required");
    if (g->kind == MT_ROLE_WRITER && g->org)
        return mt_cli_usage_error(cli, "store grant", "--org binds a reader: a writer writes the whole store");
    return MT_EXIT_OK;
}

static void print_grant(mt_cli *cli, const grant_args *g, const char *sql)
{
    if (cli->json)
        mt_cli_print_json(json_pack("{s:s, s:s, s:s?, s:b, s:s}", "role", g->role, "kind",
                                    g->kind == MT_ROLE_READER ? "reader" : "writer", "organization",
                                    g->org, "applied", g->apply, "sql", sql));
    else if (!g->apply)
        fputs(sql, stdout);
    else if (!cli->quiet)
        printf("role \"%s\": %s of %s%s%s\n", g->role, g->kind == MT_ROLE_READER ? "reader" : "writer",
               g->org ? "organisation \"" : "the whole store", g->org ? g->org : "", g->org ? "\"" : "");
}

static int store_grant(mt_cli *cli, int argc, char **argv)
{
    grant_args g = {0};
    mt_store *store = NULL;
    mt_org *org = NULL;
    char *sql = NULL;
    int code = grant_parse(cli, argc, argv, &g);
    if (code != MT_EXIT_OK || g.role == NULL ||
        (code = mt_cli_open_or_fail(cli, g.apply ? 0 : MT_OPEN_READONLY, &store)) != MT_EXIT_OK)
        goto out;
    mt_status st = g.org ? mt_store_org_find(store, g.org, &org) : MT_OK;
    if (st == MT_OK)
        st = mt_store_role_sql(store, g.kind, g.role, org ? org->id : 0, &sql);
    if (st == MT_OK && g.apply)
        st = mt_store_role_grant(store, g.kind, g.role, org ? org->id : 0);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "store grant");
        goto out;
    }
    print_grant(cli, &g, sql);
out:
    free(sql);
    mt_org_free(org);
    mt_store_close(store);
    return code;
}

int mt_cmd_store(mt_cli *cli, int argc, char **argv)
{
    static const mt_subcommand subs[] = {
        {"copy", "copy a whole store (SQLite file <-> PostgreSQL), verified", store_copy},
        {"grant", "the SQL of a PostgreSQL role: the module's reader, a writer", store_grant},
    };
    return mt_cli_dispatch(cli, "store", store_help, subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}
