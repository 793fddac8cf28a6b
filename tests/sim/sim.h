/*
 * Local CA simulators (Sectigo legacy reseller API, InterNetX-style JSON
 * API) for the renewal tests: one HTTPS server on 127.0.0.1, a protocol
 * handler per CA, real certificates issued from a test CA, faults injected
 * from the command line or the /_control endpoint.
 */
#ifndef MT_SIM_H
#define MT_SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

typedef struct sim_buf {
    char *data;
    size_t len, cap;
} sim_buf;

void sim_buf_add(sim_buf *b, const char *data, size_t len);
void sim_buf_printf(sim_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_buf_free(sim_buf *b);

typedef struct sim_request {
    const char *method;
    const char *url;        /* path only */
    const char *body;       /* NUL-terminated */
    size_t body_len;
    const char *authorization, *context, *user_agent, *ctid;
} sim_request;

typedef struct sim_response {
    unsigned status;
    const char *content_type;
    sim_buf body;
} sim_response;

/* A fault: applies to the next `count` requests of operation `op` ("any"
 * matches every operation). */
typedef struct sim_fault {
    char name[32];
    char op[32];
    int count;
    int arg;
} sim_fault;

#define SIM_MAX_FAULTS 32

typedef struct sim sim;

typedef struct sim_protocol {
    const char *kind;
    /* Operation name of a request ("submit", "collect", "poll", ...). */
    const char *(*classify)(const sim_request *req);
    void (*handle)(sim *s, const sim_request *req, sim_response *resp);
    void (*rate_limited)(sim *s, const sim_request *req, sim_response *resp);
    void (*stats)(sim *s, sim_buf *out); /* extra JSON members, each ",\"k\":v" */
    void *state;
} sim_protocol;

struct sim {
    pthread_mutex_t lock;
    const sim_protocol *proto;
    EVP_PKEY *ca_key;
    X509 *ca_cert;
    char *ca_chain_pem;      /* issuing CA (+ root) as PEM */
    char *login, *password, *context;
    int pending_polls;       /* polls before an order is issued */
    bool replace_in_place;   /* Sectigo: AutoReplaceSMIME keeps the order number */
    int max_rps;             /* InterNetX: requests per second (0: no limit) */
    unsigned long orders;    /* orders accepted */
    unsigned long requests;
    unsigned long revocations;
    sim_fault faults[SIM_MAX_FAULTS];
    size_t n_faults;
    char *orders_spec[64];   /* --order values */
    size_t n_orders_spec;
    int contacts[16];
    size_t n_contacts;
};

/* Consumes one use of fault `name` for operation op; returns true (and the
 * fault's arg) when it applies. Caller holds the lock. */
bool sim_fault_take(sim *s, const char *name, const char *op, int *arg);
bool sim_fault_add(sim *s, const char *spec); /* "name,op,count[,arg]" */

/* Issues a certificate for the CSR (PEM or bare base64) naming `email`.
 * Faults wrong_key / wrong_email change the key or the email.  Returns a
 * negative code: -13 unsupported key, -4 unreadable CSR. */
int sim_issue(sim *s, const char *csr_text, const char *email, const char *op, char **cert_pem,
              char **serial_hex);
/* A certificate for email with a throw-away key (an order's previous cert). */
int sim_issue_placeholder(sim *s, const char *email, char **cert_pem, char **serial_hex);
/* Self-signed server certificate for 127.0.0.1 / localhost. */
int sim_tls_make(char **key_pem, char **cert_pem);

/* Forms: "a=b&c=d" (percent and + decoded); lookup is case-insensitive. */
typedef struct sim_form {
    char **keys, **values;
    size_t n;
} sim_form;
void sim_form_parse(const char *body, sim_form *form);
const char *sim_form_get(const sim_form *form, const char *key);
void sim_form_free(sim_form *form);
char *sim_json_escape(const char *s);
void sim_iso_time(long t, char out[40]);

extern const sim_protocol sim_sectigo;
extern const sim_protocol sim_internetx;

#endif
