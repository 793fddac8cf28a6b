/* `org verify` and `org rewrap`: what the SO PIN can vouch for (store.h,
 * mt_store_org_verify).  The recovery secret, opened with the SO PIN, is
 * authentic (its wrapping needs the PIN); through it every token secret is
 * checked against its public key, and through each token secret every key
 * sealed to it against its certificate.  What that proves, and what it does
 * not (a writer can seal a secret of their own to the recovery key for a
 * token that holds no key yet), is in docs/store-format.md. */
#include "auth.h"
#include "keys.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

typedef struct verify_ctx {
    mt_store *store;
    int64_t org_id;
    uint8_t recovery_pk[MT_SEAL_PK_LEN];
    mt_secret *recovery_sk;
    bool adopt;
    mt_verify_report *report;
} verify_ctx;

typedef struct token_row {
    int64_t id;
    char *email;
    uint8_t pk[MT_SEAL_PK_LEN];
    mt_blob tag, recovery_sealed;
    bool pin_set;
    mt_pin_row pin;
} token_row;

void mt_verify_report_free(mt_verify_report *report)
{
    if (!report)
        return;
    for (size_t i = 0; i < report->n_findings; i++) {
        free(report->findings[i].what);
        free(report->findings[i].subject);
        free(report->findings[i].message);
    }
    free(report->findings);
    free(report);
}

static mt_status add_finding(verify_ctx *c, const char *what, const token_row *t, int64_t cert_id,
                             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static mt_status add_finding(verify_ctx *c, const char *what, const token_row *t, int64_t cert_id,
                             const char *fmt, ...)
{
    mt_verify_report *r = c->report;
    char message[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    mt_verify_finding *grown = realloc(r->findings, (r->n_findings + 1) * sizeof(*grown));
    if (!grown)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    r->findings = grown;
    mt_verify_finding *f = &r->findings[r->n_findings];
    *f = (mt_verify_finding){strdup(what), mt_strdup(t->email), t->id, cert_id, strdup(message)};
    if (!f->what || !f->subject || !f->message) {
        free(f->what), free(f->subject), free(f->message);
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    }
    r->n_findings++;
    return MT_OK;
}

static void token_row_clear(token_row *t)
{
    free(t->email);
    free(t->tag.data);
    free(t->recovery_sealed.data);
    mt_pin_row_clear(&t->pin);
    memset(t, 0, sizeof(*t));
}

static mt_status read_token(mt_store *store, int64_t id, token_row *t)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    memset(t, 0, sizeof(*t));
    mt_status st = mt_db_stmt(store,
                              "SELECT email, public_key, pk_tag, recovery_sealed, pin_wrapped, pin_salt,"
                              " pin_ops, pin_mem, pin_store_key FROM tokens WHERE id = ?",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, id);
    if ((st = mt_db_step_row(store, stmt, "reading a token", &found)) == MT_OK && found) {
        t->id = id;
        t->email = mt_col_text(stmt, 0);
        if (mt_col_bytes(stmt, 1) == MT_SEAL_PK_LEN)
            memcpy(t->pk, mt_col_peek_blob(stmt, 1), MT_SEAL_PK_LEN);
        t->tag.data = mt_col_blob(stmt, 2, &t->tag.len);
        t->recovery_sealed.data = mt_col_blob(stmt, 3, &t->recovery_sealed.len);
        t->pin_set = !mt_col_is_null(stmt, 4);
        mt_pin_row_read(stmt, 4, &t->pin);
        if (!t->email)
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
    }
    mt_db_done(stmt);
    return st;
}

/* Every key sealed to the token, against the public key of its certificate. */
static mt_status check_sealed_keys(verify_ctx *c, const token_row *t, const mt_secret *sk)
{
    mt_stmt *stmt = NULL;
    int rc;
    mt_status st = mt_db_stmt(c->store,
                              "SELECT s.cert_id, s.sealed, c.der FROM sealed_keys s"
                              " JOIN certificates c ON c.id = s.cert_id WHERE s.token_id = ?"
                              " ORDER BY s.cert_id",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, t->id);
    while (st == MT_OK && (rc = mt_step(stmt)) == MT_ROW) {
        int64_t cert_id = mt_col_int64(stmt, 0);
        mt_blob sealed = {(uint8_t *)mt_col_peek_blob(stmt, 1), (size_t)mt_col_bytes(stmt, 1)};
        mt_cert_info *cert = NULL;
        mt_secret *pkcs8 = NULL;
        c->report->keys++;
        mt_status check = mt_cert_info_from_der(mt_col_peek_blob(stmt, 2),
                                                (size_t)mt_col_bytes(stmt, 2), &cert);
        if (check == MT_OK)
            check = mt_key_open_checked(t->pk, sk, cert->spki, cert->spki_len, &sealed, &pkcs8);
        if (check != MT_OK && check != MT_ERR_NOMEM)
            st = add_finding(c, "sealed-key", t, cert_id, "the sealed key of certificate %lld: %s",
                             (long long)cert_id, mt_errmsg());
        else if (check == MT_ERR_NOMEM)
            st = check;
        mt_secret_free(pkcs8);
        mt_cert_info_free(cert);
    }
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(c->store, rc, "reading sealed keys");
    mt_db_done(stmt);
    return st;
}

/* Renewal candidates sealed to the token, against the public key recorded with them. */
static mt_status check_candidates(verify_ctx *c, const token_row *t, const mt_secret *sk)
{
    mt_stmt *stmt = NULL;
    int rc;
    mt_status st = mt_db_stmt(c->store,
                              "SELECT id, candidate_sealed, candidate_spki FROM renewals"
                              " WHERE candidate_token_id = ? AND candidate_sealed IS NOT NULL AND active = 1",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, t->id);
    while (st == MT_OK && (rc = mt_step(stmt)) == MT_ROW) {
        int64_t renewal_id = mt_col_int64(stmt, 0);
        mt_blob sealed = {(uint8_t *)mt_col_peek_blob(stmt, 1), (size_t)mt_col_bytes(stmt, 1)};
        mt_secret *pkcs8 = NULL;
        c->report->keys++;
        mt_status check = mt_key_open_checked(t->pk, sk, mt_col_peek_blob(stmt, 2),
                                              (size_t)mt_col_bytes(stmt, 2), &sealed, &pkcs8);
        if (check != MT_OK)
            st = add_finding(c, "candidate-key", t, renewal_id, "the candidate key of renewal %lld: %s",
                             (long long)renewal_id, mt_errmsg());
        mt_secret_free(pkcs8);
    }
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(c->store, rc, "reading renewal candidates");
    mt_db_done(stmt);
    return st;
}

/* The token secret through the recovery seal, against the public key. */
static mt_status check_secret(verify_ctx *c, const token_row *t, mt_secret **sk)
{
    uint8_t derived[MT_SEAL_PK_LEN];
    if (mt_seal_secret_open(c->recovery_pk, c->recovery_sk, t->recovery_sealed.data,
                            t->recovery_sealed.len, sk) != MT_OK)
        return add_finding(c, "token-secret", t, 0, "its recovery seal does not open with the "
                           "organisation's recovery key");
    if ((*sk)->len == MT_SEAL_SK_LEN && crypto_scalarmult_base(derived, (*sk)->data) == 0 &&
        sodium_memcmp(derived, t->pk, MT_SEAL_PK_LEN) == 0)
        return MT_OK;
    mt_secret_free(*sk);
    *sk = NULL;
    return add_finding(c, "token-secret", t, 0, "its secret (from its recovery seal) does not match "
                       "its public key");
}

static mt_status check_pin(verify_ctx *c, const token_row *t)
{
    char window[160];
    if (!t->pin_set)
        return MT_OK;
    if (c->store->store_key && !t->pin.store_key)
        c->report->unkeyed++;
    if (!t->pin.salt_ok)
        return add_finding(c, "pin-kdf", t, 0, "its PIN has a salt that is not %d bytes", MT_SEAL_SALT_LEN);
    if (mt_kdf_in_window(&c->store->config, t->pin.kdf.opslimit, t->pin.kdf.memlimit))
        return MT_OK;
    mt_kdf_window_describe(&c->store->config, window, sizeof(window));
    return add_finding(c, "pin-kdf", t, 0, "its PIN has Argon2id limits ops %llu, memory %llu "
                       "outside the window (%s)", (unsigned long long)t->pin.kdf.opslimit,
                       (unsigned long long)t->pin.kdf.memlimit, window);
}

static mt_status check_token(verify_ctx *c, int64_t id)
{
    token_row t;
    mt_secret *sk = NULL;
    mt_auth_state state = MT_AUTH_UNKNOWN;
    mt_status st = read_token(c->store, id, &t);
    if (st != MT_OK || !t.email)
        goto out;
    size_t before = c->report->n_findings;
    mt_key_row row = {.org_id = c->org_id, .id = t.id, .name = t.email, .tag = t.tag.data,
                      .tag_len = t.tag.len};
    memcpy(row.pk, t.pk, MT_SEAL_PK_LEN);
    bool untagged = c->store->mac_key && !t.tag.data;
    c->report->tokens++;
    c->report->untagged += untagged;
    if ((st = mt_auth_state_of(c->store, &row, &state)) != MT_OK)
        goto out;
    c->report->unrecorded += state == MT_AUTH_UNKNOWN;
    if (state == MT_AUTH_BAD_TAG)
        st = add_finding(c, "token-key", &t, 0, "its public key does not match its tag");
    else if (state == MT_AUTH_KNOWN_OTHER)
        st = add_finding(c, "token-key", &t, 0, "its public key is not the one recorded in %s",
                         c->store->known_keys_path);
    if (st == MT_OK)
        st = check_pin(c, &t);
    if (st == MT_OK)
        st = check_secret(c, &t, &sk);
    if (st == MT_OK && sk)
        st = check_sealed_keys(c, &t, sk);
    if (st == MT_OK && sk)
        st = check_candidates(c, &t, sk);
    /* rewrap vouches only for a token whose every check passed */
    if (st == MT_OK && c->adopt && c->report->n_findings == before &&
        (untagged || state == MT_AUTH_UNKNOWN)) {
        if ((st = mt_auth_adopt(c->store, &row)) == MT_OK)
            c->report->adopted++;
    }
out:
    mt_secret_free(sk);
    token_row_clear(&t);
    return st;
}

static mt_status token_ids(mt_store *store, int64_t org_id, int64_t **ids, size_t *n)
{
    mt_stmt *stmt = NULL;
    int rc;
    size_t cap = 0;
    mt_status st = mt_db_stmt(store, "SELECT id FROM tokens WHERE org_id = ? ORDER BY id", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, org_id);
    while (st == MT_OK && (rc = mt_step(stmt)) == MT_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *grown = realloc(*ids, cap * sizeof(*grown));
            if (!grown) {
                st = mt_fail(MT_ERR_NOMEM, "out of memory");
                break;
            }
            *ids = grown;
        }
        (*ids)[(*n)++] = mt_col_int64(stmt, 0);
    }
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(store, rc, "listing tokens");
    mt_db_done(stmt);
    return st;
}

/* The organisation's row: recorded (and tagged) by rewrap when it is not yet;
 * its recovery key is already authentic (the SO PIN opened its secret). */
static mt_status adopt_org(verify_ctx *c, char **name)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    mt_key_row row = {.is_org = true, .org_id = c->org_id};
    mt_auth_state state = MT_AUTH_UNKNOWN;
    uint8_t *tag = NULL;
    mt_status st = mt_db_stmt(c->store, "SELECT name, recovery_tag FROM organizations WHERE id = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, c->org_id);
    if ((st = mt_db_step_row(c->store, stmt, "reading the organisation", &found)) == MT_OK && found) {
        *name = mt_col_text(stmt, 0);
        row.tag = tag = mt_col_blob(stmt, 1, &row.tag_len);
    }
    mt_db_done(stmt);
    if (st == MT_OK && !*name)
        st = mt_fail(MT_ERR_NOT_FOUND, "organisation %lld not found", (long long)c->org_id);
    row.name = *name;
    memcpy(row.pk, c->recovery_pk, MT_SEAL_PK_LEN);
    bool untagged = c->store->mac_key && !tag;
    if (st == MT_OK)
        st = mt_auth_state_of(c->store, &row, &state);
    if (st == MT_OK) {
        c->report->untagged += untagged;
        c->report->unrecorded += state == MT_AUTH_UNKNOWN;
    }
    if (st == MT_OK && c->adopt && (untagged || state == MT_AUTH_UNKNOWN || state == MT_AUTH_KNOWN_OTHER)) {
        if ((st = mt_auth_adopt(c->store, &row)) == MT_OK)
            c->report->adopted++;
    }
    free(tag);
    return st;
}

static mt_status verify_all(verify_ctx *c)
{
    int64_t *ids = NULL;
    size_t n = 0;
    char *name = NULL, detail[256];
    mt_status st = adopt_org(c, &name);
    if (st == MT_OK)
        st = token_ids(c->store, c->org_id, &ids, &n);
    for (size_t i = 0; st == MT_OK && i < n; i++)
        st = check_token(c, ids[i]);
    const mt_verify_report *r = c->report;
    snprintf(detail, sizeof(detail), "{\"tokens\":%zu,\"keys\":%zu,\"findings\":%zu,\"untagged\":%zu,"
             "\"unrecorded\":%zu,\"unkeyed\":%zu,\"adopted\":%zu}", r->tokens, r->keys, r->n_findings,
             r->untagged, r->unrecorded, r->unkeyed, r->adopted);
    if (st == MT_OK && c->adopt)
        st = mt_event_add(c->store, c->org_id, "org.rewrap", name, detail);
    else if (st == MT_OK)
        mt_event_outside(c->store, c->org_id, "org.verify", name, detail);
    free(ids);
    free(name);
    return st;
}

mt_status mt_store_org_verify(mt_store *store, int64_t org_id, const mt_secret *so_pin,
                              unsigned flags, mt_verify_report **out)
{
    verify_ctx c = {store, org_id, {0}, NULL, (flags & MT_VERIFY_ADOPT) != 0, NULL};
    if (!store || !so_pin || !out)
        return mt_fail(MT_ERR_INVALID, "store, SO PIN and out are required");
    *out = NULL;
    mt_status st = c.adopt ? mt_db_writable(store) : MT_OK;
    if (st == MT_OK && !(c.report = calloc(1, sizeof(*c.report))))
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
    /* counted, and (when stale) rewrapped, before any transaction */
    if (st == MT_OK)
        st = mt_org_recovery_open(store, org_id, so_pin, c.recovery_pk, &c.recovery_sk);
    if (st == MT_OK && c.adopt && (st = mt_tx_begin(store)) == MT_OK)
        st = mt_tx_end(store, verify_all(&c));
    else if (st == MT_OK)
        st = verify_all(&c);
    mt_secret_free(c.recovery_sk);
    if (st != MT_OK) {
        mt_verify_report_free(c.report);
        return st;
    }
    *out = c.report;
    return MT_OK;
}
