/* mailtoken serve: the managed-store API in the foreground, for systemd
 * (Type=notify, socket activation) or a terminal. */
#include "import.h"
#include "serve.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char serve_help[] =
    "Usage: mailtoken serve [--listen ADDRESS:PORT] [--tls-cert FILE] [--tls-key FILE]\n"
    "                       [--plain-listen unix:PATH|ADDRESS:PORT]\n"
    "\n"
    "Serves the managed-store API (docs/api.md) over HTTPS, in the foreground,\n"
    "until SIGTERM or SIGINT; one line per request on standard error.  Requests\n"
    "carry an API key (`mailtoken api-key create`).  The options override the\n"
    "configuration keys named beside them.\n"
    "\n"
    "  --listen ADDRESS:PORT  HTTPS listener (api_listen); [::]:PORT for IPv6 and IPv4,\n"
    "                         port 0 for any free port (the log names the one chosen)\n"
    "  --tls-cert FILE        PEM certificate and its chain (api_tls_cert)\n"
    "  --tls-key FILE         PEM private key, a 0600 file (api_tls_key)\n"
    "  --plain-listen SPEC    plain HTTP for a reverse proxy on this host (api_plain_listen):\n"
    "                         unix:PATH, or a loopback ADDRESS:PORT only\n"
    "\n"
    "Also from the configuration: api_max_connections (64), api_timeout (30 s),\n"
    "api_max_body (6291456 bytes), api_auth_failures (10 a minute per address).\n"
    "Under systemd, sockets passed by socket activation replace the listeners\n"
    "(FileDescriptorName=plain marks a plain one) and READY=1 is sent once serving.\n";

enum { OPT_LISTEN = 1, OPT_CERT, OPT_KEY, OPT_PLAIN };

#define MAX_LISTENERS 4

typedef struct serve_run {
    mt_api_server srv;
    mt_api_listener listeners[MAX_LISTENERS];
    size_t n_listeners;
    bool activated; /* the sockets are systemd's */
    char *cert_pem;
    mt_secret *key_pem;
    struct MHD_Daemon *daemons[MAX_LISTENERS];
} serve_run;

static mt_status replace(char **field, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return MT_ERR_NOMEM;
    free(*field);
    *field = copy;
    return MT_OK;
}

/* False when the command is done (help, usage error: *code). */
static bool parse_options(mt_cli *cli, int argc, char **argv, const char **given, int *code)
{
    static const struct option options[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"tls-cert", required_argument, NULL, OPT_CERT},
        {"tls-key", required_argument, NULL, OPT_KEY},
        {"plain-listen", required_argument, NULL, OPT_PLAIN},
        MT_CLI_COMMON_OPTIONS,
        {0},
    };
    int opt;
    while ((opt = mt_cli_getopt(cli, "serve", serve_help, argc, argv, options, code)) >= 0)
        given[opt] = optarg;
    if (opt == MT_OPT_EXIT)
        return false;
    if (optind < argc) {
        *code = mt_cli_usage_error(cli, "serve", "unexpected argument '%s'", argv[optind]);
        return false;
    }
    return true;
}

static mt_status read_pem(const char *what, const char *path, char **out)
{
    size_t size = 0, got = 0;
    int fd = -1;
    mt_status st = mt_file_open(path, &fd, &size);
    if (st == MT_OK && size > 1024 * 1024)
        st = mt_cli_set_error(MT_ERR_TOO_LARGE, "%s: %s: larger than 1 MiB", what, path);
    if (st == MT_OK && !(*out = calloc(1, size + 1)))
        st = MT_ERR_NOMEM;
    if (st == MT_OK)
        st = mt_file_read(fd, path, (uint8_t *)*out, size, &got);
    if (fd >= 0)
        close(fd);
    return st;
}

/* The certificate and key of the HTTPS listeners. */
static mt_status load_tls(const mt_config *config, serve_run *run)
{
    struct stat sb;
    if (!config->api_tls_cert || !config->api_tls_key)
        return mt_cli_set_error(MT_ERR_INVALID, "HTTPS needs api_tls_cert and api_tls_key "
                                                "(or --tls-cert and --tls-key)");
    mt_status st = read_pem("api_tls_cert", config->api_tls_cert, &run->cert_pem);
    if (st == MT_OK && (st = mt_secret_from_file(config->api_tls_key, &run->key_pem)) != MT_OK)
        st = mt_cli_set_error(st, "api_tls_key: %s", mt_errmsg());
    if (st == MT_OK && stat(config->api_tls_key, &sb) == 0 && (sb.st_mode & 0077))
        fprintf(stderr, "mailtoken serve: warning: %s is readable by others (mode %03o); run "
                        "chmod 600 on it\n",
                config->api_tls_key, (unsigned)(sb.st_mode & 0777));
    return st;
}

static mt_status open_listeners(const mt_config *config, serve_run *run)
{
    mt_status st = mt_api_listen_activated(run->listeners, MAX_LISTENERS, &run->n_listeners);
    run->activated = run->n_listeners > 0;
    if (st != MT_OK || run->activated)
        return st;
    if (!config->api_listen && !config->api_plain_listen)
        return mt_cli_set_error(MT_ERR_INVALID, "nothing to listen on: set api_listen (HTTPS) "
                                                "or api_plain_listen, or give --listen");
    if (config->api_listen &&
        (st = mt_api_listen(config->api_listen, false, &run->listeners[run->n_listeners])) ==
            MT_OK)
        run->n_listeners++;
    if (st == MT_OK && config->api_plain_listen &&
        (st = mt_api_listen(config->api_plain_listen, true, &run->listeners[run->n_listeners])) ==
            MT_OK)
        run->n_listeners++;
    return st;
}

static mt_status start(mt_cli *cli, serve_run *run)
{
    const mt_config *config = cli->config;
    char *store_path = NULL;
    bool any_tls = false;
    mt_status st = open_listeners(config, run);
    for (size_t i = 0; st == MT_OK && i < run->n_listeners; i++)
        any_tls |= !run->listeners[i].plain;
    if (st == MT_OK && any_tls)
        st = load_tls(config, run);
    if (st == MT_OK)
        st = cli->store_path ? (store_path = strdup(cli->store_path)) ? MT_OK : MT_ERR_NOMEM
                             : mt_config_store_path(config, &store_path);
    if (st == MT_OK && (st = mt_api_pool_new(store_path, config, &run->srv.pool)) != MT_OK)
        st = mt_cli_set_error(st, "store: %s", mt_errmsg());
    if (st == MT_OK)
        st = mt_api_limiter_new(config->api_auth_failures, &run->srv.limiter);
    for (size_t i = 0; st == MT_OK && i < run->n_listeners; i++) {
        mt_api_listener *l = &run->listeners[i];
        st = mt_api_daemon_start(&run->srv, l->fd, !l->plain, run->cert_pem,
                                 run->key_pem ? (const char *)run->key_pem->data : NULL,
                                 &run->daemons[i]);
        if (st == MT_OK) {
            if (l->plain)
                run->srv.plain = run->daemons[i];
            fprintf(stderr, "mailtoken serve: listening on %s\n", l->name);
        }
    }
    free(store_path);
    return st;
}

static void stop(serve_run *run)
{
    for (size_t i = 0; i < run->n_listeners; i++) {
        if (run->daemons[i]) {
            MHD_quiesce_daemon(run->daemons[i]); /* the socket stays ours: closed below */
            MHD_stop_daemon(run->daemons[i]);
        }
        if (run->listeners[i].fd >= 0)
            close(run->listeners[i].fd);
        const char *unix_path = strstr(run->listeners[i].name, "+unix:");
        if (unix_path && !run->activated)
            unlink(unix_path + 6);
    }
    mt_api_pool_free(run->srv.pool);
    mt_api_limiter_free(run->srv.limiter);
    free(run->cert_pem);
    mt_secret_free(run->key_pem);
    pthread_mutex_destroy(&run->srv.write_lock);
}

int mt_cmd_serve(mt_cli *cli, int argc, char **argv)
{
    const char *given[OPT_PLAIN + 1] = {0};
    serve_run run = {0};
    int code = MT_EXIT_OK, sig = 0;
    sigset_t signals;
    mt_status st = MT_OK;
    mt_api_json_wipe_on_free(); /* before any JSON is made */
    pthread_mutex_init(&run.srv.write_lock, NULL);
    for (size_t i = 0; i < MAX_LISTENERS; i++)
        run.listeners[i].fd = -1;
    if (!parse_options(cli, argc, argv, given, &code))
        goto out;
    const mt_config *config = NULL;
    if ((st = mt_cli_config(cli, &config)) != MT_OK) {
        code = mt_cli_fail(cli, st, "configuration");
        goto out;
    }
    char **fields[] = {NULL, &cli->config->api_listen, &cli->config->api_tls_cert,
                       &cli->config->api_tls_key, &cli->config->api_plain_listen};
    for (int i = OPT_LISTEN; i <= OPT_PLAIN && st == MT_OK; i++)
        if (given[i])
            st = replace(fields[i], given[i]);
    run.srv.config = cli->config;
    run.srv.max_body = cli->config->api_max_body;
    /* Signals are taken by this thread alone: block them before any thread starts. */
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    umask(077);
    if (st == MT_OK)
        st = start(cli, &run);
    if (st != MT_OK) {
        code = mt_cli_fail(cli, st, "serve");
        goto out;
    }
    mt_api_sd_notify("READY=1\nSTATUS=serving the managed-store API");
    sigwait(&signals, &sig);
    fprintf(stderr, "mailtoken serve: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    mt_api_sd_notify("STOPPING=1");
out:
    stop(&run);
    return code;
}
