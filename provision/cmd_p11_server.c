/* mailtoken p11-server: the privilege-separated mode (docs/deployment.md).
 * The store belongs to a service account that users cannot read; for each
 * desktop user a p11-kit server, running as that account, serves the user's
 * own token over a socket only that user may use. */
#include "cli.h"
#include "uri.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CONF_DIR "/etc/mailtoken/p11-server"
#define SOCKET_DIR "/run/mailtoken-p11"

enum { OPT_CONF_DIR = 1, OPT_MODULE, OPT_WAIT };

/* ----------------------------------------------------------------- setup */

static const char setup_help[] =
    "Usage: mailtoken p11-server setup USER EMAIL [--conf-dir DIR] [--module PATH]\n"
    "\n"
    "Prepares the p11-kit server that gives the desktop user USER (and nobody\n"
    "else) the token of EMAIL, for mailtoken-p11-server@USER.service.  Run as root\n"
    "once the store belongs to the service account.  It checks that the store is\n"
    "owned by an account other than root and USER and readable by its owner only\n"
    "(directory included), that EMAIL has an account, and writes DIR/USER.conf\n"
    "(the unit's environment: the token's URI, the account filter, the store).\n"
    "  --conf-dir DIR   default " CONF_DIR "\n"
    "  --module PATH    the PKCS#11 module the server loads (default: p11-kit's\n"
    "                   module directory's mailtoken-pkcs11.so)\n"
    "  --json           {\"user\", \"email\", \"uri\", \"config\", \"socket\",\n"
    "                   \"serviceUser\", \"store\"}\n";

/* Users must not be able to read the store or swap its files. */
static mt_status check_store_private(const char *path, uid_t user, char *owner, size_t owner_len)
{
    struct stat sb, dir_sb;
    char copy[PATH_MAX];
    snprintf(copy, sizeof(copy), "%s", path);
    const char *dir = dirname(copy);
    if (stat(path, &sb) != 0 || stat(dir, &dir_sb) != 0)
        return mt_cli_set_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    struct passwd *pw = getpwuid(sb.st_uid);
    snprintf(owner, owner_len, "%s", pw ? pw->pw_name : "?");
    if (sb.st_uid == 0 || sb.st_uid == user)
        return mt_cli_set_error(MT_ERR_INVALID,
                                "%s belongs to %s: give it to the service account (chown -R "
                                "mailtoken: %s), which the server runs as",
                                path, owner, dir);
    if (sb.st_mode & 0077)
        return mt_cli_set_error(MT_ERR_INVALID, "%s: mode %03o lets others read it; chmod 600 it",
                                path, (unsigned)(sb.st_mode & 0777));
    if ((dir_sb.st_mode & 0022) || (dir_sb.st_uid != sb.st_uid && dir_sb.st_uid != 0))
        return mt_cli_set_error(MT_ERR_INVALID,
                                "%s: only %s (or root) may change what is in the store's directory",
                                dir, owner);
    return MT_OK;
}

/* A systemd EnvironmentFile value, double-quoted. */
static void put_value(FILE *f, const char *name, const char *value)
{
    fprintf(f, "%s=\"", name);
    for (const char *c = value; *c; c++)
        fprintf(f, strchr("\"\\", *c) ? "\\%c" : "%c", *c);
    fprintf(f, "\"\n");
}

/* DIR/USER.conf, replaced whole (written beside it, then renamed). */
static mt_status write_unit_env(const char *path, const char *user, const char *uri,
                                const char *filter, const char *store, const char *module)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    FILE *f = fopen(tmp, "we");
    if (!f)
        return mt_cli_set_error(MT_ERR_IO, "%s: %s", tmp, strerror(errno));
    fprintf(f, "# The p11-kit server of %s (mailtoken-p11-server@%s.service), written by\n"
               "# `mailtoken p11-server setup`.\n", user, user);
    put_value(f, "MAILTOKEN_TOKEN", uri);
    put_value(f, "MAILTOKEN_ACCOUNTS", filter);
    put_value(f, "MAILTOKEN_STORE", store);
    put_value(f, "MAILTOKEN_MODULE", module);
    bool ok = fflush(f) == 0 && fchmod(fileno(f), 0644) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        mt_status st = mt_cli_set_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return st;
    }
    return MT_OK;
}

static int p11_server_setup(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"conf-dir", required_argument, NULL, OPT_CONF_DIR},
        {"module", required_argument, NULL, OPT_MODULE},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    const char *cmd = "p11-server setup", *conf_dir = CONF_DIR, *module = "mailtoken-pkcs11.so";
    mt_store *store = NULL;
    mt_account *account = NULL;
    mt_org *org = NULL;
    char *uri = NULL, *store_path = NULL, label[33], serial[17], owner[64] = "";
    char conf[PATH_MAX], socket_path[PATH_MAX], filter[600];
    int64_t org_id = 0;
    int code = MT_EXIT_OK, opt;
    mt_status st = MT_OK;
    while ((opt = mt_cli_getopt(cli, cmd, setup_help, argc, argv, options, &code)) >= 0) {
        if (opt == OPT_CONF_DIR)
            conf_dir = optarg;
        else
            module = optarg;
    }
    if (opt == MT_OPT_EXIT)
        goto out;
    if (argc - optind != 2) {
        code = mt_cli_usage_error(cli, cmd, "give USER and EMAIL");
        goto out;
    }
    const char *user = argv[optind], *email = argv[optind + 1];
    struct passwd *pw = getpwnam(user);
    if (!pw || pw->pw_uid == 0) {
        code = mt_cli_fail(cli, mt_cli_set_error(MT_ERR_NOT_FOUND, "no such user (root is not one)"), user);
        goto out;
    }
    uid_t uid = pw->pw_uid;
    if ((code = mt_cli_session(cli, MT_OPEN_READONLY, &store, &org_id)) != MT_EXIT_OK)
        goto out;
    if ((store_path = realpath(mt_store_path(store), NULL)))
        st = check_store_private(store_path, uid, owner, sizeof(owner));
    else
        st = mt_cli_set_error(MT_ERR_IO, "%s: %s", mt_store_path(store), strerror(errno));
    if (st == MT_OK && (st = mt_store_account_get(store, org_id, email, &account)) != MT_OK) {
        code = mt_cli_fail(cli, st, email);
        goto out;
    }
    if (st == MT_OK)
        st = mt_uri_build(store, account, NULL, label, serial, &uri);
    if (st == MT_OK)
        st = mt_store_org_find(store, cli->org_name, &org);
    if (st == MT_OK) {
        snprintf(filter, sizeof(filter), "org=%s;emails=%s", org->name, account->email);
        snprintf(conf, sizeof(conf), "%s/%s.conf", conf_dir, user);
        snprintf(socket_path, sizeof(socket_path), SOCKET_DIR "/%s/pkcs11", user);
        st = write_unit_env(conf, user, uri, filter, store_path, module);
    }
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "p11-server setup");
        goto out;
    }
    if (cli->json) {
        json_t *obj = json_object();
        json_object_set_new(obj, "user", json_string(user));
        json_object_set_new(obj, "email", json_string(account->email));
        json_object_set_new(obj, "uri", json_string(uri));
        json_object_set_new(obj, "config", json_string(conf));
        json_object_set_new(obj, "socket", json_string(socket_path));
        json_object_set_new(obj, "serviceUser", json_string(owner));
        json_object_set_new(obj, "store", json_string(store_path));
        mt_cli_print_json(obj);
    } else if (!cli->quiet) {
        printf("wrote %s: %s's token %s, served by %s\n"
               "next:\n"
               "  systemctl enable --now mailtoken-p11-server@%s.service\n"
               "  %s's mail client loads p11-kit-client.so, with\n"
               "    P11_KIT_SERVER_ADDRESS=unix:path=%s\n"
               "  (or the user unit mailtoken-p11-link.service links it where\n"
               "  p11-kit-client.so looks by default: docs/deployment.md)\n",
               conf, user, uri, owner, user, user, socket_path);
    }
out:
    free(uri);
    free(store_path);
    mt_org_free(org);
    mt_account_free(account);
    mt_store_close(store);
    return code;
}

/* ----------------------------------------------------------------- grant */

static const char grant_help[] =
    "Usage: mailtoken p11-server grant USER SOCKET [--wait SECONDS]\n"
    "\n"
    "Waits (up to --wait seconds, default 10) for the p11-kit server's SOCKET and\n"
    "gives it to USER, the only user the server answers.  Debian 12's p11-kit\n"
    "server creates its socket as the service account with no access for anyone\n"
    "else; mailtoken-p11-server@.service runs this as root once the server\n"
    "started.  SOCKET must be a socket (never a link).\n";

static mt_status hand_over(const char *path, uid_t uid)
{
    struct stat sb;
    int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    mt_status st = MT_OK;
    if (fd < 0)
        return mt_cli_set_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    /* checked and changed through one descriptor: nothing can swap the file between */
    if (fstat(fd, &sb) != 0 || !S_ISSOCK(sb.st_mode))
        st = mt_cli_set_error(MT_ERR_INVALID, "%s: not a socket", path);
    else if (fchownat(fd, "", uid, (gid_t)-1, AT_EMPTY_PATH) != 0)
        st = mt_cli_set_error(MT_ERR_IO, "%s: cannot give it to uid %lu: %s", path,
                              (unsigned long)uid, strerror(errno));
    close(fd);
    return st;
}

static int p11_server_grant(mt_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"wait", required_argument, NULL, OPT_WAIT},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    const char *cmd = "p11-server grant";
    long long wait = 10;
    int code = MT_EXIT_OK, opt;
    while ((opt = mt_cli_getopt(cli, cmd, grant_help, argc, argv, options, &code)) >= 0)
        if (!mt_cli_parse_int(cli, cmd, "--wait", optarg, 0, 600, &wait, &code))
            return code;
    if (opt == MT_OPT_EXIT)
        return code;
    if (argc - optind != 2)
        return mt_cli_usage_error(cli, cmd, "give USER and SOCKET");
    const char *user = argv[optind], *path = argv[optind + 1];
    struct passwd *pw = getpwnam(user);
    if (!pw || pw->pw_uid == 0)
        return mt_cli_fail(cli, mt_cli_set_error(MT_ERR_NOT_FOUND, "no such user (root is not one)"), user);
    uid_t uid = pw->pw_uid;
    struct stat sb;
    struct timespec tick = {0, 50 * 1000 * 1000};
    for (long long i = 0; i < wait * 20 && lstat(path, &sb) != 0; i++)
        nanosleep(&tick, NULL);
    mt_status st = hand_over(path, uid);
    if (st != MT_OK)
        return mt_cli_fail(cli, st, user);
    if (cli->json) {
        json_t *obj = json_object();
        json_object_set_new(obj, "user", json_string(user));
        json_object_set_new(obj, "socket", json_string(path));
        mt_cli_print_json(obj);
    } else if (!cli->quiet) {
        printf("%s: now %s's\n", path, user);
    }
    return MT_EXIT_OK;
}

static const char p11_server_help[] =
    "Usage: mailtoken p11-server SUBCOMMAND [OPTIONS]\n"
    "\n"
    "The privilege-separated mode (docs/deployment.md): keys never enter the mail\n"
    "client's process, and the PIN lockout is real because users cannot read the\n"
    "store to guess offline.\n"
    "  1. the store belongs to a service account (mailtoken), mode 0600, in a\n"
    "     directory only it can change; run the tool as that account\n"
    "     (sudo -u mailtoken mailtoken ...);\n"
    "  2. per desktop user: `mailtoken p11-server setup USER EMAIL` (root), then\n"
    "     `systemctl enable --now mailtoken-p11-server@USER.service`: p11-kit's\n"
    "     server runs as the service account and answers USER only;\n"
    "  3. the user's mail client loads p11-kit-client.so (Thunderbird: Security\n"
    "     Devices, or the SecurityDevices policy) and finds the socket through\n"
    "     P11_KIT_SERVER_ADDRESS or mailtoken-p11-link.service (a user unit,\n"
    "     docs/systemd/user/; /usr/lib/systemd/user/ once packaged).\n";

static const mt_subcommand p11_server_subcommands[] = {
    {"setup", "check the store's permissions, write a user's server config", p11_server_setup},
    {"grant", "give a started server's socket to its user (the unit runs it)", p11_server_grant},
};

int mt_cmd_p11_server(mt_cli *cli, int argc, char **argv)
{
    return mt_cli_dispatch(cli, "p11-server", p11_server_help, p11_server_subcommands,
                           sizeof(p11_server_subcommands) / sizeof(p11_server_subcommands[0]),
                           argc, argv);
}
