/* PIN-wrapped values as rows store them (token secrets, recovery secrets). */
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mt_pin_row_clear(mt_pin_row *row)
{
    free(row->wrapped.data);
    memset(row, 0, sizeof(*row));
}

static void configured_limits(const mt_store *store, mt_pin_kind kind, uint64_t *ops, size_t *mem)
{
    *ops = kind == MT_PIN_SO ? store->config.so_kdf_opslimit : store->config.kdf_opslimit;
    *mem = kind == MT_PIN_SO ? store->config.so_kdf_memlimit : store->config.kdf_memlimit;
}

mt_status mt_pin_row_wrap(mt_store *store, mt_pin_kind kind, const mt_secret *pin,
                          const mt_secret *plaintext, const char *ad, mt_pin_row *out)
{
    uint64_t ops = 0;
    size_t mem = 0;
    memset(out, 0, sizeof(*out));
    configured_limits(store, kind, &ops, &mem);
    mt_status st = mt_seal_kdf_params_new(ops, mem, &out->kdf);
    if (st != MT_OK)
        return st;
    out->salt_ok = true;
    out->store_key = store->store_key != NULL; /* never a new unkeyed wrap once a key is configured */
    return mt_seal_pin_wrap(pin, store->store_key, &out->kdf, plaintext, (const uint8_t *)ad,
                            strlen(ad), &out->wrapped);
}

mt_status mt_pin_row_check(mt_store *store, const mt_pin_row *row, int64_t org_id,
                           const char *subject, const char *what)
{
    char window[160];
    if (!row->salt_ok)
        return mt_tampered(store, org_id, subject, "%s has a salt that is not %d bytes (a corrupt "
                           "row; no PIN was checked)", what, MT_SEAL_SALT_LEN);
    if (mt_kdf_in_window(&store->config, row->kdf.opslimit, row->kdf.memlimit))
        return MT_OK;
    mt_kdf_window_describe(&store->config, window, sizeof(window));
    return mt_tampered(store, org_id, subject, "%s has Argon2id limits ops %llu, memory %llu "
                       "outside the window (%s): a corrupt row; no PIN was checked", what,
                       (unsigned long long)row->kdf.opslimit, (unsigned long long)row->kdf.memlimit,
                       window);
}

mt_status mt_pin_row_unwrap(mt_store *store, const mt_pin_row *row, const mt_secret *pin,
                            const char *ad, mt_secret **plaintext)
{
    if (row->store_key && !store->store_key)
        return mt_fail(MT_ERR_CRYPTO, "%s: this PIN was set with a store key file; "
                       "configure store_key_file to use it", store->path);
    return mt_seal_pin_unwrap(pin, row->store_key ? store->store_key : NULL, &row->kdf,
                              row->wrapped.data, row->wrapped.len, (const uint8_t *)ad, strlen(ad),
                              plaintext);
}

void mt_pin_row_read(mt_stmt *stmt, int col, mt_pin_row *out)
{
    memset(out, 0, sizeof(*out));
    out->wrapped.data = mt_col_blob(stmt, col, &out->wrapped.len);
    const void *salt = mt_col_peek_blob(stmt, col + 1);
    out->salt_ok = salt && mt_col_bytes(stmt, col + 1) == MT_SEAL_SALT_LEN;
    if (out->salt_ok)
        memcpy(out->kdf.salt, salt, MT_SEAL_SALT_LEN);
    /* negative numbers become huge ones: outside the window either way */
    out->kdf.opslimit = (uint64_t)mt_col_int64(stmt, col + 2);
    out->kdf.memlimit = (size_t)mt_col_int64(stmt, col + 3);
    out->store_key = mt_col_int(stmt, col + 4) != 0;
}

static void bind_row(mt_stmt *stmt, const mt_pin_row *row)
{
    mt_bind_blob(stmt, 1, row->wrapped.data, row->wrapped.len);
    mt_bind_blob(stmt, 2, row->kdf.salt, MT_SEAL_SALT_LEN);
    mt_bind_int64(stmt, 3, (int64_t)row->kdf.opslimit);
    mt_bind_int64(stmt, 4, (int64_t)row->kdf.memlimit);
    mt_bind_int(stmt, 5, row->store_key);
}

mt_status mt_pin_row_update(mt_store *store, const char *sql, const mt_pin_row *row,
                            unsigned max_failures, int64_t id, const char *what)
{
    mt_stmt *stmt = NULL;
    mt_status st = mt_db_stmt(store, sql, &stmt);
    if (st != MT_OK)
        return st;
    bind_row(stmt, row);
    mt_bind_int(stmt, 6, (int)max_failures);
    mt_bind_int64(stmt, 7, mt_now());
    mt_bind_int64(stmt, 8, id);
    st = mt_db_step_done(store, stmt, what);
    mt_db_done(stmt);
    return st;
}

bool mt_pin_row_stale(const mt_store *store, mt_pin_kind kind, const mt_pin_row *row)
{
    uint64_t ops = 0;
    size_t mem = 0;
    configured_limits(store, kind, &ops, &mem);
    return row->kdf.opslimit != ops || row->kdf.memlimit != mem || (store->store_key && !row->store_key);
}

/* The new wrapping, if the row still holds the old one, and its event. */
static mt_status write_rewrap(mt_store *cs, const mt_pin_rewrap *r, const mt_pin_row *fresh)
{
    mt_stmt *stmt = NULL;
    char detail[160];
    mt_status st = mt_db_counter_begin(cs);
    if (st != MT_OK)
        return st;
    if ((st = mt_db_stmt(cs, r->sql, &stmt)) == MT_OK) {
        bind_row(stmt, fresh);
        mt_bind_int64(stmt, 6, r->id);
        mt_bind_blob(stmt, 7, r->row->wrapped.data, r->row->wrapped.len);
        st = mt_db_step_done(cs, stmt, "wrapping the PIN again");
        mt_db_done(stmt);
    }
    snprintf(detail, sizeof(detail), "{\"opslimit\":%llu,\"memlimit\":%llu,\"storeKey\":%s}",
             (unsigned long long)fresh->kdf.opslimit, (unsigned long long)fresh->kdf.memlimit,
             fresh->store_key ? "true" : "false");
    if (st == MT_OK && mt_db_changes(cs) > 0)
        st = mt_event_add(cs, r->org_id, r->action, r->subject, detail);
    return mt_db_counter_end(cs, st);
}

void mt_pin_row_rewrap(mt_store *store, const mt_pin_rewrap *r, const mt_secret *pin,
                       const mt_secret *plaintext)
{
    mt_pin_row fresh = {0};
    mt_store *cs = NULL;
    if (!mt_pin_row_stale(store, r->kind, r->row))
        return;
    if (mt_pin_row_wrap(store, r->kind, pin, plaintext, r->ad, &fresh) == MT_OK &&
        mt_db_counter(store, &cs) == MT_OK && write_rewrap(cs, r, &fresh) == MT_OK)
        mt_db_checkpoint(cs);
    mt_pin_row_clear(&fresh);
    mt_clear_error(); /* the login stands whatever happened here */
}
