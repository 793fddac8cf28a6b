/* Organisations: a recovery key pair each, its secret wrapped under the SO PIN. */
#include "auth.h"
#include "keys.h"
#include "pin_attempt.h"
#include "secret_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#define ORG_COLS "id, name, created_at, updated_at, so_failed_logins, so_max_failures"

static void org_ad(const char *name, char *ad, size_t len)
{
    snprintf(ad, len, "org:%s", name);
}

static void org_read(mt_stmt *stmt, mt_org *org)
{
    org->id = mt_col_int64(stmt, 0);
    org->name = mt_col_text(stmt, 1);
    org->created_at = mt_col_int64(stmt, 2);
    org->updated_at = mt_col_int64(stmt, 3);
    org->so_failed_logins = (unsigned)mt_col_int(stmt, 4);
    org->so_max_failures = (unsigned)mt_col_int(stmt, 5);
}

/* A new organisation's recovery key: tagged (store key) and recorded. */
static mt_status adopt_new_org(mt_store *store, int64_t id, const char *name, const uint8_t pk[MT_SEAL_PK_LEN])
{
    mt_key_row row = {.is_org = true, .org_id = id, .name = name};
    memcpy(row.pk, pk, MT_SEAL_PK_LEN);
    return mt_auth_adopt(store, &row);
}

mt_status mt_store_org_create(mt_store *store, const char *name, const mt_secret *so_pin,
                              int64_t *org_id)
{
    uint8_t pk[MT_SEAL_PK_LEN];
    mt_secret *sk = NULL;
    mt_pin_row row = {0};
    mt_stmt *stmt = NULL;
    char ad[300], detail[400], escaped[300];
    int64_t id = 0;
    if (!store || !so_pin)
        return mt_fail(MT_ERR_INVALID, "store and SO PIN are required");
    mt_status st = mt_check_text("name", name, 200, true);
    if (st == MT_OK)
        st = mt_so_pin_policy_check(&store->config, so_pin);
    if (st == MT_OK)
        st = mt_tx_begin(store);
    if (st != MT_OK)
        return st == MT_ERR_PIN_POLICY ? mt_fail_prefix(st, "SO PIN: ") : st;
    org_ad(name, ad, sizeof(ad));
    if ((st = mt_seal_keypair(pk, &sk)) != MT_OK ||
        (st = mt_pin_row_wrap(store, MT_PIN_SO, so_pin, sk, ad, &row)) != MT_OK)
        goto out;
    st = mt_db_stmt(store,
                    "INSERT INTO organizations (name, recovery_pk, so_wrapped, so_salt, so_ops, so_mem,"
                    " so_store_key, created_at, updated_at, so_max_failures)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    &stmt);
    if (st != MT_OK)
        goto out;
    int64_t now = mt_now();
    mt_bind_text(stmt, 1, name);
    mt_bind_blob(stmt, 2, pk, sizeof(pk));
    mt_bind_blob(stmt, 3, row.wrapped.data, row.wrapped.len);
    mt_bind_blob(stmt, 4, row.kdf.salt, MT_SEAL_SALT_LEN);
    mt_bind_int64(stmt, 5, (int64_t)row.kdf.opslimit);
    mt_bind_int64(stmt, 6, (int64_t)row.kdf.memlimit);
    mt_bind_int(stmt, 7, row.store_key);
    mt_bind_int64(stmt, 8, now);
    mt_bind_int64(stmt, 9, now);
    mt_bind_int(stmt, 10, (int)store->config.so_pin_max_failures);
    if ((st = mt_db_step_done(store, stmt, "creating the organisation")) != MT_OK) {
        if (st == MT_ERR_CONFLICT)
            st = mt_fail(MT_ERR_CONFLICT, "organisation \"%s\" already exists", name);
        goto out;
    }
    id = mt_db_last_id(store);
    if ((st = adopt_new_org(store, id, name, pk)) != MT_OK)
        goto out;
    mt_json_escape(name, escaped, sizeof(escaped));
    snprintf(detail, sizeof(detail), "{\"name\":\"%s\"}", escaped);
    st = mt_event_add(store, id, "org.create", name, detail);
out:
    mt_db_done(stmt);
    mt_pin_row_clear(&row);
    mt_secret_free(sk);
    st = mt_tx_end(store, st);
    if (st == MT_OK && org_id)
        *org_id = id;
    return st;
}

mt_status mt_org_exists(mt_store *store, int64_t org_id)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    mt_status st = mt_db_stmt(store, "SELECT 1 FROM organizations WHERE id = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, org_id);
    if ((st = mt_db_step_row(store, stmt, "finding the organisation", &found)) == MT_OK && !found)
        st = mt_fail(MT_ERR_NOT_FOUND, "organisation %lld not found", (long long)org_id);
    mt_db_done(stmt);
    return st;
}

static mt_status org_count(mt_store *store, size_t *count)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    mt_status st = mt_db_stmt(store, "SELECT count(*) FROM organizations", &stmt);
    if (st == MT_OK)
        st = mt_db_step_row(store, stmt, "counting organisations", &found);
    *count = found ? (size_t)mt_col_int64(stmt, 0) : 0;
    mt_db_done(stmt);
    return st;
}

mt_status mt_store_org_find(mt_store *store, const char *name, mt_org **out)
{
    mt_stmt *stmt = NULL;
    mt_org *org = NULL;
    bool found = false;
    size_t count = 0;
    if (!store || !out)
        return mt_fail(MT_ERR_INVALID, "store and out are required");
    *out = NULL;
    mt_status st = MT_OK;
    if (!name) {
        if ((st = org_count(store, &count)) != MT_OK)
            return st;
        if (count == 0)
            return mt_fail(MT_ERR_NOT_FOUND, "no organisation in %s (create one first)", store->path);
        if (count > 1)
            return mt_fail(MT_ERR_INVALID, "--org is required: the store holds %zu organisations", count);
        st = mt_db_stmt(store, "SELECT " ORG_COLS " FROM organizations", &stmt);
    } else {
        st = mt_db_stmt(store, "SELECT " ORG_COLS " FROM organizations WHERE name = ?", &stmt);
        if (st == MT_OK)
            mt_bind_text(stmt, 1, name);
    }
    if (st == MT_OK)
        st = mt_db_step_row(store, stmt, "finding the organisation", &found);
    if (st == MT_OK && !found)
        st = mt_fail(MT_ERR_NOT_FOUND, "organisation \"%s\" not found", name);
    if (st == MT_OK && !(org = calloc(1, sizeof(*org))))
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
    if (st == MT_OK) {
        org_read(stmt, org);
        *out = org;
    }
    mt_db_done(stmt);
    return st;
}

mt_status mt_store_org_list(mt_store *store, mt_org **out, size_t *n)
{
    mt_stmt *stmt = NULL;
    mt_org *orgs = NULL;
    size_t count = 0;
    int rc;
    if (!store || !out || !n)
        return mt_fail(MT_ERR_INVALID, "store, out and n are required");
    *out = NULL;
    *n = 0;
    mt_status st = mt_db_stmt(store, "SELECT " ORG_COLS " FROM organizations ORDER BY id", &stmt);
    while (st == MT_OK && (rc = mt_step(stmt)) == MT_ROW) {
        mt_org *grown = realloc(orgs, (count + 1) * sizeof(*grown));
        if (!grown) {
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
            break;
        }
        orgs = grown;
        org_read(stmt, &orgs[count++]);
    }
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(store, rc, "listing organisations");
    mt_db_done(stmt);
    if (st != MT_OK) {
        mt_org_list_free(orgs, count);
        return st;
    }
    *out = orgs;
    *n = count;
    return MT_OK;
}

void mt_org_free(mt_org *org)
{
    if (org) {
        free(org->name);
        free(org);
    }
}

void mt_org_list_free(mt_org *orgs, size_t n)
{
    for (size_t i = 0; orgs && i < n; i++)
        free(orgs[i].name);
    free(orgs);
}

/* An organisation's keys as its row holds them. */
typedef struct org_keys_row {
    char *name;
    uint8_t pk[MT_SEAL_PK_LEN];
    uint8_t *tag;
    size_t tag_len;
    mt_pin_row so;
} org_keys_row;

static void org_keys_clear(org_keys_row *o)
{
    free(o->name);
    free(o->tag);
    mt_pin_row_clear(&o->so);
    memset(o, 0, sizeof(*o));
}

static mt_key_row org_key_row(int64_t org_id, const org_keys_row *o)
{
    mt_key_row row = {.is_org = true, .org_id = org_id, .name = o->name, .tag = o->tag,
                      .tag_len = o->tag_len};
    memcpy(row.pk, o->pk, MT_SEAL_PK_LEN);
    return row;
}

/* Reads the org's name, recovery public key, its tag and the SO-wrapped secret. */
static mt_status org_keys(mt_store *store, int64_t org_id, org_keys_row *o)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    memset(o, 0, sizeof(*o));
    mt_status st = mt_db_stmt(store,
                              "SELECT name, recovery_pk, so_wrapped, so_salt, so_ops, so_mem, so_store_key,"
                              " recovery_tag FROM organizations WHERE id = ?",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, org_id);
    if ((st = mt_db_step_row(store, stmt, "reading the organisation", &found)) == MT_OK && !found)
        st = mt_fail(MT_ERR_NOT_FOUND, "organisation %lld not found", (long long)org_id);
    if (st == MT_OK && mt_col_bytes(stmt, 1) != MT_SEAL_PK_LEN)
        st = mt_fail(MT_ERR_DB, "%s: organisation %lld has a corrupt recovery key", store->path,
                     (long long)org_id);
    if (st == MT_OK) {
        memcpy(o->pk, mt_col_peek_blob(stmt, 1), MT_SEAL_PK_LEN);
        mt_pin_row_read(stmt, 2, &o->so);
        o->tag = mt_col_blob(stmt, 7, &o->tag_len);
        if (!(o->name = mt_col_text(stmt, 0)))
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
    }
    mt_db_done(stmt);
    if (st != MT_OK)
        org_keys_clear(o);
    return st;
}

mt_status mt_org_trusted_pk(mt_store *store, int64_t org_id, mt_trusted_pk *out)
{
    org_keys_row o;
    mt_status st = org_keys(store, org_id, &o);
    if (st == MT_OK) {
        mt_key_row row = org_key_row(org_id, &o);
        st = mt_auth_key(store, &row, false, out);
    }
    org_keys_clear(&o);
    return st;
}

/* The recovery secret from a key file (gateway mode, SO unlock), checked
 * against the organisation's recovery public key. */
static mt_status recovery_from_file(const char *path, int64_t org_id, const uint8_t pk[MT_SEAL_PK_LEN],
                                    mt_secret **sk)
{
    uint8_t derived[MT_SEAL_PK_LEN];
    if (!path)
        return mt_fail(MT_ERR_PIN_INCORRECT, "a PIN is required (no recovery_key_file configured)");
    mt_status st = mt_seal_read_key_file(path, sk);
    if (st != MT_OK)
        return st;
    if ((*sk)->len != MT_SEAL_SK_LEN || crypto_scalarmult_base(derived, (*sk)->data) != 0 ||
        sodium_memcmp(derived, pk, MT_SEAL_PK_LEN) != 0) {
        mt_secret_free(*sk);
        *sk = NULL;
        return mt_fail(MT_ERR_CRYPTO, "%s: not the recovery key of organisation %lld",
                       path, (long long)org_id);
    }
    return MT_OK;
}

/* The recovery secret the SO PIN opened must be the secret half of the
 * recovery public key: the SO PIN's wrapping vouches for it. */
static mt_status check_recovery_secret(mt_store *store, int64_t org_id, const org_keys_row *o,
                                       const mt_secret *sk)
{
    uint8_t derived[MT_SEAL_PK_LEN];
    if (sk->len == MT_SEAL_SK_LEN && crypto_scalarmult_base(derived, sk->data) == 0 &&
        sodium_memcmp(derived, o->pk, MT_SEAL_PK_LEN) == 0)
        return MT_OK;
    return mt_tampered(store, org_id, o->name, "the recovery key of organisation \"%s\" is not "
                       "the one its SO PIN opens", o->name);
}

/* Opens the recovery secret with the SO PIN: the row's limits checked before
 * the attempt is counted, the attempt counted before Argon2id runs. */
static mt_status open_with_so_pin(mt_store *store, int64_t org_id, const org_keys_row *o,
                                  const mt_secret *so_pin, bool rewrap, mt_secret **sk)
{
    mt_attempt attempt;
    char ad[300], what[320];
    snprintf(what, sizeof(what), "the SO PIN of organisation \"%s\"", o->name);
    mt_status st = mt_pin_row_check(store, &o->so, org_id, o->name, what);
    if (st != MT_OK || (st = mt_attempt_begin(store, MT_ATTEMPT_SO, org_id, &attempt)) != MT_OK)
        return st;
    org_ad(o->name, ad, sizeof(ad));
    st = mt_pin_row_unwrap(store, &o->so, so_pin, ad, sk);
    if (st == MT_ERR_PIN_INCORRECT)
        st = mt_fail(MT_ERR_PIN_INCORRECT, "incorrect SO PIN");
    if (st == MT_OK && (st = check_recovery_secret(store, org_id, o, *sk)) != MT_OK) {
        mt_secret_free(*sk);
        *sk = NULL;
    }
    st = mt_attempt_end(store, &attempt, st);
    if (st == MT_OK && rewrap) {
        mt_pin_rewrap r = {MT_PIN_SO, &o->so, ad,
                           "UPDATE organizations SET so_wrapped = ?1, so_salt = ?2, so_ops = ?3,"
                           " so_mem = ?4, so_store_key = ?5 WHERE id = ?6 AND so_wrapped = ?7",
                           org_id, org_id, o->name, "org.so-rewrap"};
        mt_pin_row_rewrap(store, &r, so_pin, *sk);
    }
    return st;
}

/* so_pin NULL: the configured recovery key file (gateway mode).  rewrap:
 * an SO PIN wrapped under other limits than the configured ones, or without
 * the store key, is wrapped again (not when the caller sets a new one). */
static mt_status recovery_open(mt_store *store, int64_t org_id, const mt_secret *so_pin, bool rewrap,
                               uint8_t pk[MT_SEAL_PK_LEN], mt_secret **sk)
{
    org_keys_row o;
    *sk = NULL;
    mt_status st = org_keys(store, org_id, &o);
    if (st != MT_OK)
        return st;
    mt_key_row row = org_key_row(org_id, &o);
    if ((st = mt_auth_tag_check(store, &row)) == MT_OK) {
        memcpy(pk, o.pk, MT_SEAL_PK_LEN);
        st = so_pin ? open_with_so_pin(store, org_id, &o, so_pin, rewrap, sk)
                    : recovery_from_file(store->recovery_key_file, org_id, o.pk, sk);
    }
    org_keys_clear(&o);
    return st;
}

mt_status mt_org_recovery_open(mt_store *store, int64_t org_id, const mt_secret *so_pin,
                               uint8_t pk[MT_SEAL_PK_LEN], mt_secret **sk)
{
    return recovery_open(store, org_id, so_pin, true, pk, sk);
}

mt_status mt_store_so_check(mt_store *store, int64_t org_id, const mt_secret *so_pin)
{
    uint8_t pk[MT_SEAL_PK_LEN];
    mt_secret *sk = NULL;
    if (!store || !so_pin)
        return mt_fail(MT_ERR_INVALID, "store and SO PIN are required");
    mt_status st = mt_org_recovery_open(store, org_id, so_pin, pk, &sk);
    mt_secret_free(sk);
    return st;
}

/* Wraps the recovery secret under a new SO PIN (policy-checked by the
 * caller), inside the caller's transaction: the limit comes from the config,
 * the counter and its delay start again. */
static mt_status store_so_pin(mt_store *store, int64_t org_id, const char *name, const mt_secret *sk,
                              const mt_secret *new_so_pin)
{
    mt_pin_row row = {0};
    char ad[300];
    org_ad(name, ad, sizeof(ad));
    mt_status st = mt_pin_row_wrap(store, MT_PIN_SO, new_so_pin, sk, ad, &row);
    if (st == MT_OK)
        st = mt_pin_row_update(store,
                               "UPDATE organizations SET so_wrapped = ?, so_salt = ?, so_ops = ?,"
                               " so_mem = ?, so_store_key = ?, so_max_failures = ?, updated_at = ?"
                               " WHERE id = ?",
                               &row, store->config.so_pin_max_failures, org_id, "changing the SO PIN");
    mt_pin_row_clear(&row);
    return st;
}

static mt_status so_counter(mt_store *store, int64_t org_id, unsigned *failed)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    mt_status st = mt_db_stmt(store, "SELECT so_failed_logins FROM organizations WHERE id = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, org_id);
    st = mt_db_step_row(store, stmt, "reading the SO PIN counter", &found);
    *failed = found ? (unsigned)mt_col_int(stmt, 0) : 0;
    mt_db_done(stmt);
    return st;
}

/* The counter and its wait start again (an unlock, a new SO PIN). */
static mt_status so_reset(mt_store *store, int64_t org_id)
{
    mt_stmt *stmt = NULL;
    mt_status st = mt_db_stmt(store,
                              "UPDATE organizations SET so_failed_logins = 0, so_next_attempt_at = ?,"
                              " updated_at = ? WHERE id = ?",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, 0); /* no wait (a time: bound, for a server's timestamptz) */
    mt_bind_int64(stmt, 2, mt_now());
    mt_bind_int64(stmt, 3, org_id);
    st = mt_db_step_done(store, stmt, "unlocking the SO PIN");
    mt_db_done(stmt);
    return st;
}

/* SO PIN changes and unlocks: the recovery secret opened with the old SO PIN
 * (counted, before the transaction, so that a wrong PIN's count stays) or
 * with the recovery key file (unlock), then in one transaction the new SO PIN
 * (optional when unlocking) or the counter reset, and the event. */
static mt_status so_update(mt_store *store, int64_t org_id, const mt_secret *so_pin,
                           const char *key_file, const mt_secret *new_so_pin)
{
    uint8_t pk[MT_SEAL_PK_LEN];
    mt_secret *sk = NULL;
    org_keys_row o = {0};
    char detail[96] = "{}";
    unsigned failed = 0;
    mt_status st = new_so_pin ? mt_so_pin_policy_check(&store->config, new_so_pin) : MT_OK;
    if (st != MT_OK)
        return mt_fail_prefix(st, "new SO PIN: ");
    if ((st = mt_db_writable(store)) != MT_OK || (st = org_keys(store, org_id, &o)) != MT_OK)
        goto out;
    mt_key_row row = org_key_row(org_id, &o);
    if (!key_file)
        st = recovery_open(store, org_id, so_pin, !new_so_pin, pk, &sk);
    else if ((st = mt_auth_tag_check(store, &row)) == MT_OK &&
             (st = recovery_from_file(key_file, org_id, o.pk, &sk)) == MT_ERR_CRYPTO)
        st = mt_fail_prefix(MT_ERR_PIN_INCORRECT, ""); /* the file stands for the SO PIN here */
    if (st != MT_OK || (st = mt_tx_begin(store)) != MT_OK)
        goto out;
    if (key_file && (st = so_counter(store, org_id, &failed)) == MT_OK)
        snprintf(detail, sizeof(detail), "{\"failedLogins\":%u,\"soPinChanged\":%s}", failed,
                 new_so_pin ? "true" : "false");
    if (st == MT_OK)
        st = new_so_pin ? store_so_pin(store, org_id, o.name, sk, new_so_pin) : MT_OK;
    if (st == MT_OK) /* the counter and its wait start again with a new SO PIN too */
        st = so_reset(store, org_id);
    if (st == MT_OK)
        st = mt_event_add(store, org_id, key_file ? "org.so-unlock" : "org.so-set-pin", o.name, detail);
    st = mt_tx_end(store, st);
    if (st == MT_OK && new_so_pin)
        mt_db_checkpoint(store);
out:
    org_keys_clear(&o);
    mt_secret_free(sk);
    return st;
}

mt_status mt_store_so_set_pin(mt_store *store, int64_t org_id, const mt_secret *old_so_pin,
                              const mt_secret *new_so_pin)
{
    if (!store || !old_so_pin || !new_so_pin)
        return mt_fail(MT_ERR_INVALID, "store, old and new SO PIN are required");
    return so_update(store, org_id, old_so_pin, NULL, new_so_pin);
}

mt_status mt_store_org_unlock_so(mt_store *store, int64_t org_id, const char *recovery_key_file,
                                 const mt_secret *new_so_pin)
{
    if (!store || !recovery_key_file || !*recovery_key_file)
        return mt_fail(MT_ERR_INVALID, "store and recovery key file are required");
    return so_update(store, org_id, NULL, recovery_key_file, new_so_pin);
}

mt_status mt_store_org_export_recovery_key(mt_store *store, int64_t org_id,
                                           const mt_secret *so_pin, const char *path)
{
    uint8_t pk[MT_SEAL_PK_LEN];
    mt_secret *sk = NULL;
    char detail[4200], escaped[4100];
    if (!store || !so_pin || !path || !*path)
        return mt_fail(MT_ERR_INVALID, "store, SO PIN and path are required");
    /* checked (and counted) before the transaction, so that a wrong PIN's count stays */
    mt_status st = mt_db_writable(store);
    if (st == MT_OK && (st = mt_org_recovery_open(store, org_id, so_pin, pk, &sk)) == MT_OK &&
        (st = mt_tx_begin(store)) == MT_OK) {
        mt_json_escape(path, escaped, sizeof(escaped));
        snprintf(detail, sizeof(detail), "{\"file\":\"%s\"}", escaped);
        if ((st = mt_event_add(store, org_id, "org.export-recovery-key", "", detail)) == MT_OK)
            st = mt_secret_write_hex_file(path, sk);
        st = mt_tx_end(store, st);
    }
    mt_secret_free(sk);
    return st;
}
