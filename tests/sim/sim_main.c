/*
 * mt-ca-sim: HTTPS CA simulator on 127.0.0.1 for the renewal tests.
 *
 *   mt-ca-sim --kind sectigo|internetx --ca-dir DIR --port-file F --cert-file F
 *             [--login USER:PASS] [--context N] [--pending-polls N]
 *             [--new-order] [--max-rps N] [--order NUM:EMAIL[:SERIAL]]...
 *             [--contact ID]... [--fault NAME,OP,COUNT[,ARG]]...
 *
 * Faults (NAME): http500, rate_limit, slow (ARG ms, after processing),
 * drop (connection closed after processing), malformed, wrong_key,
 * wrong_email, no_smime (issued without emailProtection), no_cert (the
 * answer that carries the certificate has the CA's chain only).  OP is the
 * operation name or "any".  Control endpoint (not
 * counted, never faulted): POST /_control/fault spec=..., POST
 * /_control/set pending_polls=N, GET /_control/stats.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    sim_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sim_buf_add(&b, chunk, n);
    fclose(f);
    return b.data;
}

static int write_file_atomic(const char *path, const char *text)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fputs(text, f);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

typedef struct upload {
    sim_buf body;
} upload;

static void control(sim *s, const char *method, const char *url, const char *body,
                    sim_response *resp)
{
    sim_form form;
    sim_form_parse(body, &form);
    resp->status = 200;
    resp->content_type = "application/json";
    if (strcmp(url, "/_control/fault") == 0 && strcmp(method, "POST") == 0) {
        const char *spec = sim_form_get(&form, "spec");
        bool ok = spec && sim_fault_add(s, spec);
        resp->status = ok ? 200 : 400;
        sim_buf_printf(&resp->body, "{\"ok\":%s}", ok ? "true" : "false");
    } else if (strcmp(url, "/_control/set") == 0 && strcmp(method, "POST") == 0) {
        const char *v = sim_form_get(&form, "pending_polls");
        if (v)
            s->pending_polls = atoi(v);
        sim_buf_printf(&resp->body, "{\"ok\":true}");
    } else if (strcmp(url, "/_control/stats") == 0) {
        sim_buf_printf(&resp->body, "{\"orders\":%lu,\"requests\":%lu,\"revocations\":%lu",
                       s->orders, s->requests, s->revocations);
        if (s->proto->stats)
            s->proto->stats(s, &resp->body);
        sim_buf_add(&resp->body, "}", 1);
    } else {
        resp->status = 404;
        sim_buf_printf(&resp->body, "{\"ok\":false}");
    }
    sim_form_free(&form);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, sim_response *resp)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        resp->body.len, resp->body.data ? resp->body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", resp->content_type ? resp->content_type
                                                                   : "text/plain");
    enum MHD_Result rc = MHD_queue_response(conn, resp->status ? resp->status : 200, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    sim *s = cls;
    if (!*con_cls) {
        *con_cls = calloc(1, sizeof(upload));
        return MHD_YES;
    }
    upload *up = *con_cls;
    if (*upload_data_size) {
        sim_buf_add(&up->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    sim_buf_add(&up->body, "", 0);
    sim_response resp = {0};
    sim_request req = {
        .method = method,
        .url = url,
        .body = up->body.data,
        .body_len = up->body.len,
        .authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
        .context = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Domainrobot-Context"),
        .user_agent = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Agent"),
        .ctid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Domainrobot-Ctid"),
    };
    if (strncmp(url, "/_control/", 10) == 0) {
        pthread_mutex_lock(&s->lock);
        control(s, method, url, req.body, &resp);
        pthread_mutex_unlock(&s->lock);
        enum MHD_Result rc = send_response(conn, &resp);
        sim_buf_free(&resp.body);
        return rc;
    }
    int slow_ms = 0;
    bool drop, malformed;
    pthread_mutex_lock(&s->lock);
    s->requests++;
    const char *op = s->proto->classify(&req);
    if (sim_fault_take(s, "http500", op, NULL)) {
        resp.status = 503;
        resp.content_type = "text/html";
        sim_buf_printf(&resp.body, "<html><body><h1>503 Service Unavailable</h1></body></html>");
    } else if (sim_fault_take(s, "rate_limit", op, NULL)) {
        s->proto->rate_limited(s, &req, &resp);
    } else {
        s->proto->handle(s, &req, &resp);
    }
    malformed = sim_fault_take(s, "malformed", op, NULL);
    drop = sim_fault_take(s, "drop", op, NULL);
    sim_fault_take(s, "slow", op, &slow_ms);
    pthread_mutex_unlock(&s->lock);
    if (malformed && resp.body.len > 0) { /* cut the body in half, as a broken proxy would */
        resp.body.len /= 2;
        resp.body.data[resp.body.len] = '\0';
        sim_buf_add(&resp.body, "<!--", 4);
    }
    if (slow_ms > 0)
        usleep((useconds_t)slow_ms * 1000u);
    enum MHD_Result rc = drop ? MHD_NO : send_response(conn, &resp);
    sim_buf_free(&resp.body);
    return rc;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    upload *up = *con_cls;
    if (up) {
        sim_buf_free(&up->body);
        free(up);
    }
    *con_cls = NULL;
}

static int load_ca(sim *s, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/sub.key", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    s->ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    snprintf(path, sizeof path, "%s/sub.crt", dir);
    f = fopen(path, "r");
    if (!f)
        return -1;
    s->ca_cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    char *sub = read_file(path);
    snprintf(path, sizeof path, "%s/root.crt", dir);
    char *root = read_file(path);
    sim_buf chain = {0};
    sim_buf_printf(&chain, "%s%s", sub ? sub : "", root ? root : "");
    s->ca_chain_pem = chain.data;
    free(sub);
    free(root);
    return s->ca_key && s->ca_cert ? 0 : -1;
}

static int usage(void)
{
    fprintf(stderr, "usage: mt-ca-sim --kind sectigo|internetx --ca-dir DIR --port-file F "
                    "--cert-file F [options]\n");
    return 2;
}

int main(int argc, char **argv)
{
    static sim s = {.lock = PTHREAD_MUTEX_INITIALIZER, .max_rps = 3, .replace_in_place = true};
    const char *ca_dir = NULL, *port_file = NULL, *cert_file = NULL, *login = "apiuser:apipass";
    s.context = "4";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--new-order") == 0) {
            s.replace_in_place = false;
            continue;
        }
        if (!v)
            return usage();
        i++;
        if (strcmp(a, "--kind") == 0)
            s.proto = strcmp(v, "sectigo") == 0     ? &sim_sectigo
                      : strcmp(v, "internetx") == 0 ? &sim_internetx
                                                    : NULL;
        else if (strcmp(a, "--ca-dir") == 0)
            ca_dir = v;
        else if (strcmp(a, "--port-file") == 0)
            port_file = v;
        else if (strcmp(a, "--cert-file") == 0)
            cert_file = v;
        else if (strcmp(a, "--login") == 0)
            login = v;
        else if (strcmp(a, "--context") == 0)
            s.context = (char *)v;
        else if (strcmp(a, "--pending-polls") == 0)
            s.pending_polls = atoi(v);
        else if (strcmp(a, "--max-rps") == 0)
            s.max_rps = atoi(v);
        else if (strcmp(a, "--order") == 0 && s.n_orders_spec < 64)
            s.orders_spec[s.n_orders_spec++] = (char *)v;
        else if (strcmp(a, "--contact") == 0 && s.n_contacts < 16)
            s.contacts[s.n_contacts++] = atoi(v);
        else if (strcmp(a, "--fault") == 0) {
            if (!sim_fault_add(&s, v))
                return usage();
        } else
            return usage();
    }
    if (!s.proto || !ca_dir || !port_file || !cert_file)
        return usage();
    char *colon = strchr(login, ':');
    if (!colon)
        return usage();
    s.login = strndup(login, (size_t)(colon - login));
    s.password = strdup(colon + 1);
    if (load_ca(&s, ca_dir) != 0) {
        fprintf(stderr, "mt-ca-sim: cannot read the test CA in %s\n", ca_dir);
        return 1;
    }
    char *key_pem, *cert_pem;
    sim_tls_make(&key_pem, &cert_pem);
    if (write_file_atomic(cert_file, cert_pem) != 0) {
        fprintf(stderr, "mt-ca-sim: cannot write %s\n", cert_file);
        return 1;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_TLS |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, &s, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_HTTPS_MEM_KEY,
        key_pem, MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        NULL, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "mt-ca-sim: cannot start the HTTPS server\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char port[32];
    snprintf(port, sizeof port, "%u\n", (unsigned)info->port);
    if (write_file_atomic(port_file, port) != 0) {
        fprintf(stderr, "mt-ca-sim: cannot write %s\n", port_file);
        MHD_stop_daemon(d);
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    while (!stop_requested)
        pause();
    MHD_stop_daemon(d);
    OPENSSL_cleanse(key_pem, strlen(key_pem));
    free(key_pem);
    free(cert_pem);
    return 0;
}
