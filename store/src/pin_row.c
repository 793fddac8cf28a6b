/* PIN-wrapped values as rows store them (token secrets, recovery secrets). */
#include "keys.h"

#include <stdlib.h>
#include <string.h>

void mt_pin_row_clear(mt_pin_row *row)
{
    free(row->wrapped.data);
    memset(row, 0, sizeof(*row));
}

mt_status mt_pin_row_wrap(mt_store *store, const mt_secret *pin, const mt_secret *plaintext,
                          const char *ad, mt_pin_row *out)
{
    memset(out, 0, sizeof(*out));
    mt_status st = mt_seal_kdf_params_new(store->config.kdf_opslimit, store->config.kdf_memlimit,
                                          &out->kdf);
    if (st != MT_OK)
        return st;
    out->store_key = store->store_key != NULL;
    return mt_seal_pin_wrap(pin, store->store_key, &out->kdf, plaintext, (const uint8_t *)ad,
                            strlen(ad), &out->wrapped);
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

void mt_pin_row_read(sqlite3_stmt *stmt, int col, mt_pin_row *out)
{
    memset(out, 0, sizeof(*out));
    out->wrapped.data = mt_col_blob(stmt, col, &out->wrapped.len);
    const void *salt = sqlite3_column_blob(stmt, col + 1);
    if (salt && sqlite3_column_bytes(stmt, col + 1) == MT_SEAL_SALT_LEN)
        memcpy(out->kdf.salt, salt, MT_SEAL_SALT_LEN);
    out->kdf.opslimit = (uint64_t)sqlite3_column_int64(stmt, col + 2);
    out->kdf.memlimit = (size_t)sqlite3_column_int64(stmt, col + 3);
    out->store_key = sqlite3_column_int(stmt, col + 4) != 0;
}

mt_status mt_pin_row_update(mt_store *store, const char *sql, const mt_pin_row *row,
                            unsigned max_failures, int64_t id, const char *what)
{
    sqlite3_stmt *stmt = NULL;
    mt_status st = mt_db_stmt(store, sql, &stmt);
    if (st != MT_OK)
        return st;
    sqlite3_bind_blob(stmt, 1, row->wrapped.data, (int)row->wrapped.len, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, row->kdf.salt, MT_SEAL_SALT_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, (int64_t)row->kdf.opslimit);
    sqlite3_bind_int64(stmt, 4, (int64_t)row->kdf.memlimit);
    sqlite3_bind_int(stmt, 5, row->store_key);
    sqlite3_bind_int(stmt, 6, (int)max_failures);
    sqlite3_bind_int64(stmt, 7, mt_now());
    sqlite3_bind_int64(stmt, 8, id);
    st = mt_db_step_done(store, stmt, what);
    mt_db_done(stmt);
    return st;
}
