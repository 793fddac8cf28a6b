/* mailtoken cert import FILE... | --dir FOLDER */
#include "import.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char import_help[] =
    "Usage: mailtoken cert import [OPTIONS] FILE...\n"
    "       mailtoken cert import [OPTIONS] --dir FOLDER\n"
    "\n"
    "Imports certificates: P12/PFX (BER or DER: NSS and Thunderbird backups too),\n"
    "PEM bundles (with PRIVATE KEY, RSA/EC PRIVATE KEY and ENCRYPTED PRIVATE KEY\n"
    "blocks, paired with their certificates), PKCS#7 bundles (.p7b/.p7c) and DER\n"
    "certificates, detected by content.  Each file is imported in its own\n"
    "transaction: a bad file is reported and never stops or spoils the others.\n"
    "A certificate already in the store is reported as present, never duplicated\n"
    "(it gains the key or the longer chain a new file brings).  CA certificates\n"
    "and certificates without an email are stored with a warning; entries of an\n"
    "algorithm this build cannot use (DSA, GOST, ML-KEM...) are named as skipped.\n"
    "\n"
    "  --dir FOLDER          import every .p12 .pfx .pkcs12 .p7b .p7c .pem .crt .cer\n"
    "                        .der .key file under FOLDER (recursive; NAME.key goes with\n"
    "                        NAME.crt/.pem/.cer); every other file is named as skipped;\n"
    "                        progress on a terminal, then a summary\n"
    "  --all-files           with --dir: try every file by its content, whatever its\n"
    "                        name (files that are no certificate file are skipped)\n"
    "  --password-file F     P12 (or encrypted PEM key) password: first line of F (one\n"
    "                        password for all files)\n"
    "  --password-env VAR    P12 password: the environment variable VAR\n"
    "  --password-fd N       P12 password: first line read from descriptor N\n"
    "  --passwords CSV       per-file passwords: lines `file,password` (file relative\n"
    "                        to FOLDER, or a base name); others use the one password\n"
    "  --friendly-name NAME  name for the imported certificates (default: the P12's)\n"
    "  --description TEXT    description for the imported certificates\n"
    "  --jobs N              threads reading and parsing files (default: one per CPU,\n"
    "                        at most 8); the store is written by one, file by file\n"
    "  --account auto        create the account of each email the certificate names,\n"
    "                        or add it to the account's history and make it the\n"
    "                        primary when it is newer than the current one\n"
    "  --json                one JSON document: {\"files\": [...], \"summary\": {...}}\n"
    "\n"
    "Without a password option a P12 is tried without a password and with the\n"
    "empty one, then (on a terminal) the password is asked and reused for the\n"
    "files that follow; a wrong one is asked again (three tries per file).\n"
    "$MAILTOKEN_P12_PASSWORD is used when set.  --quiet leaves the summary only.\n"
    "Exit: 0 all imported or present; 7 some files failed or some entries were\n"
    "skipped; when all failed, the code of their failure (6 wrong password, 5 bad\n"
    "file, 1 unreadable...), 5 when the reasons differ.\n";

enum { OPT_DIR = 1, OPT_ALL_FILES, OPT_PASSWORDS, OPT_NAME, OPT_DESCRIPTION, OPT_ACCOUNT,
       OPT_JOBS, OPT_PASSWORD = 100 };

typedef struct import_run {
    mt_import_opts opts;
    const char *folder;
    const char *passwords_path;
    bool all_files;
    mt_file_list files;
    mt_secret_source password_src;
    unsigned jobs;    /* threads parsing files */
    mt_import_tally tally;
    int first_failure_code;
    bool mixed_failures; /* files failed with different exit codes */
} import_run;

/* False when the command is done (help shown or a usage error: *code). */
static bool parse_options(mt_cli *cli, int argc, char **argv, import_run *run, int *code)
{
    static const struct option options[] = {
        {"dir", required_argument, NULL, OPT_DIR},
        {"all-files", no_argument, NULL, OPT_ALL_FILES},
        {"passwords", required_argument, NULL, OPT_PASSWORDS},
        {"friendly-name", required_argument, NULL, OPT_NAME},
        {"description", required_argument, NULL, OPT_DESCRIPTION},
        {"account", required_argument, NULL, OPT_ACCOUNT},
        {"jobs", required_argument, NULL, OPT_JOBS},
        MT_SECRET_OPTIONS("password", OPT_PASSWORD),
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    int opt;
    *code = MT_EXIT_OK;
    while ((opt = mt_cli_getopt(cli, "cert import", import_help, argc, argv, options, code)) >=
           0) {
        switch (opt) {
        case OPT_DIR:
            if (run->folder) {
                *code = mt_cli_usage_error(cli, "cert import", "--dir may be given once");
                return false;
            }
            run->folder = optarg;
            break;
        case OPT_ALL_FILES:
            run->all_files = true;
            break;
        case OPT_PASSWORDS:
            run->passwords_path = optarg;
            break;
        case OPT_NAME:
        case OPT_DESCRIPTION:
            if (!mt_cli_name_ok(cli, opt == OPT_NAME ? "--friendly-name" : "--description",
                                optarg, code))
                return false;
            *(opt == OPT_NAME ? &run->opts.friendly_name : &run->opts.description) = optarg;
            break;
        case OPT_ACCOUNT:
            if (strcmp(optarg, "auto") != 0) {
                *code = mt_cli_usage_error(cli, "cert import",
                                           "--account: '%s': the only value is 'auto'", optarg);
                return false;
            }
            run->opts.account_auto = true;
            break;
        case OPT_JOBS: {
            long long jobs = 0;
            if (!mt_cli_parse_int(cli, "cert import", "--jobs", optarg, 1, 64, &jobs, code))
                return false;
            run->jobs = (unsigned)jobs;
            break;
        }
        default:
            mt_cli_secret_opt(&run->password_src, opt, OPT_PASSWORD, optarg);
            break;
        }
    }
    if (opt == MT_OPT_EXIT)
        return false;
    if (!run->folder == (optind >= argc)) { /* one or the other */
        *code = mt_cli_usage_error(cli, "cert import", "give FILE... or --dir FOLDER, not both");
        return false;
    }
    if (run->all_files && !run->folder) {
        *code = mt_cli_usage_error(cli, "cert import", "--all-files goes with --dir");
        return false;
    }
    return mt_cli_secret_source_ok(cli, "cert import", &run->password_src, code);
}

/* Files from the operands and the folder; the folder without trailing '/'. */
static int collect_files(mt_cli *cli, int argc, char **argv, import_run *run)
{
    mt_status st = MT_OK;
    for (int i = optind; i < argc && st == MT_OK; i++)
        st = mt_file_list_add(&run->files, argv[i]);
    if (st == MT_OK && run->folder) {
        char *folder = (char *)run->folder;
        size_t n = strlen(folder);
        while (n > 1 && folder[n - 1] == '/')
            folder[--n] = '\0';
        st = mt_walk_folder(folder, run->all_files, &run->files);
    }
    return st == MT_OK ? MT_EXIT_OK : mt_cli_fail(cli, st, "--dir");
}

static int load_passwords(mt_cli *cli, import_run *run, mt_password_map **map)
{
    mt_status st = MT_OK;
    if (run->passwords_path) {
        st = mt_password_map_load(run->passwords_path, map);
        if (st != MT_OK)
            return mt_cli_fail(cli, st, "--passwords");
        run->opts.map = *map;
    }
    if (mt_cli_secret_given(&run->password_src)) {
        st = mt_cli_read_secret_from(cli, &run->password_src, false, &run->opts.password);
        if (st != MT_OK)
            return mt_cli_fail(cli, st, "P12 password");
    }
    return MT_EXIT_OK;
}

/* One prepared file: store it, report it, count it. */
typedef struct store_ctx {
    mt_cli *cli;
    mt_store *store;
    int64_t org_id;
    import_run *run;
    json_t *files;
    double started;
} store_ctx;

static void store_one(void *arg, size_t index, mt_prepared *prepared)
{
    store_ctx *c = arg;
    import_run *run = c->run;
    json_t *result = NULL;
    mt_status st = MT_OK;
    mt_file_outcome outcome = mt_import_store(c->store, c->org_id, &run->opts, prepared,
                                              &result, &st);
    mt_import_count(&run->tally, outcome, result);
    if (outcome == MT_FILE_FAILED) {
        int code = mt_cli_exit_code(st);
        run->mixed_failures |= run->first_failure_code && code != run->first_failure_code;
        if (!run->first_failure_code)
            run->first_failure_code = code;
        if (c->cli->is_tty && !c->cli->json && !c->cli->quiet && run->folder)
            fputs("\r\033[K", mt_cli_terminal_err()); /* over the progress line */
        fprintf(stderr, "%s: %s\n", c->cli->prog, prepared->message);
    }
    mt_import_report_file(c->cli, run->folder != NULL, result);
    json_array_append_new(c->files, result);
    if (run->folder)
        mt_cli_progress(c->cli, index + 1, run->files.n, c->started, prepared->path);
}

static int run_import(mt_cli *cli, mt_store *store, int64_t org_id, import_run *run)
{
    store_ctx ctx = {cli, store, org_id, run, json_array(), mt_cli_monotonic()};
    mt_status st = mt_import_pipeline(cli, &run->opts, &run->files, run->jobs, store_one, &ctx);
    if (st != MT_OK) {
        json_decref(ctx.files);
        return mt_cli_fail(cli, st, "cert import");
    }
    if (run->folder || run->files.n > 1)
        mt_import_print_summary(cli, &run->files, &run->tally, ctx.files);
    if (cli->json) {
        json_t *doc = json_object();
        json_object_set_new(doc, "files", ctx.files);
        json_object_set_new(doc, "summary", mt_import_summary_json(&run->files, &run->tally));
        mt_cli_print_json(doc);
    } else {
        json_decref(ctx.files);
    }
    if (run->tally.counts[MT_FILE_FAILED] == 0 && run->tally.partial == 0)
        return MT_EXIT_OK;
    if (run->tally.counts[MT_FILE_FAILED] < run->files.n)
        return MT_EXIT_PARTIAL;
    /* Every file failed: the code they share, or 5 when their reasons differ. */
    return run->mixed_failures ? MT_EXIT_INVALID : run->first_failure_code;
}

int mt_cmd_cert_import(mt_cli *cli, int argc, char **argv)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    import_run run = {
        .jobs = cpus > 1 ? (unsigned)(cpus < 8 ? cpus : 8) : 1,
        .password_src = MT_SECRET_SOURCE_INIT("P12 password", "password",
                                              "MAILTOKEN_P12_PASSWORD"),
    };
    mt_password_map *map = NULL;
    mt_store *store = NULL;
    int64_t org_id = 0;
    int code = MT_EXIT_OK;
    if (!parse_options(cli, argc, argv, &run, &code))
        goto out;
    code = collect_files(cli, argc, argv, &run);
    if (code != MT_EXIT_OK)
        goto out;
    code = load_passwords(cli, &run, &map);
    if (code != MT_EXIT_OK)
        goto out;
    run.opts.folder = run.folder;
    run.opts.all_files = run.all_files;
    run.opts.password_src = &run.password_src;
    run.opts.may_prompt = cli->is_tty && !run.opts.password;
    code = mt_cli_session(cli, 0, &store, &org_id);
    if (code != MT_EXIT_OK)
        goto out;
    code = run_import(cli, store, org_id, &run);
out:
    mt_store_close(store);
    mt_password_map_free(map);
    mt_secret_free(run.opts.password);
    mt_file_list_clear(&run.files);
    return code;
}
