/* CA profiles: how to reach a CA; credentials stay in their own 0600 file. */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROFILE_COLS "id, org_id, name, kind, url, credentials_file, options, created_at"

static void profile_clear(mt_ca_profile *p)
{
    free(p->name);
    free(p->kind);
    free(p->url);
    free(p->credentials_file);
    free(p->options);
}

void mt_ca_profile_free(mt_ca_profile *profile)
{
    if (profile) {
        profile_clear(profile);
        free(profile);
    }
}

void mt_ca_profile_list_free(mt_ca_profile *profiles, size_t n)
{
    for (size_t i = 0; profiles && i < n; i++)
        profile_clear(&profiles[i]);
    free(profiles);
}

static void profile_read(mt_stmt *stmt, mt_ca_profile *p)
{
    p->id = mt_col_int64(stmt, 0);
    p->org_id = mt_col_int64(stmt, 1);
    p->name = mt_col_text(stmt, 2);
    p->kind = mt_col_text(stmt, 3);
    p->url = mt_col_text(stmt, 4);
    p->credentials_file = mt_col_text(stmt, 5);
    p->options = mt_col_text(stmt, 6);
    p->created_at = mt_col_int64(stmt, 7);
}

static mt_status validate(const mt_ca_profile *p)
{
    mt_status st = mt_check_text("name", p->name, 100, true);
    if (st == MT_OK && strcmp(p->kind ? p->kind : "", "sectigo") != 0 &&
        strcmp(p->kind ? p->kind : "", "internetx") != 0)
        st = mt_fail(MT_ERR_INVALID, "kind must be sectigo or internetx, not \"%s\"", p->kind ? p->kind : "");
    if (st == MT_OK)
        st = mt_check_text("url", p->url, 2000, true);
    if (st == MT_OK && strncmp(p->url, "https://", 8) != 0 && strncmp(p->url, "http://", 7) != 0)
        st = mt_fail(MT_ERR_INVALID, "url must start with https:// (got \"%s\")", p->url);
    if (st == MT_OK)
        st = mt_check_text("credentials_file", p->credentials_file, 4096, false);
    if (st == MT_OK)
        st = mt_check_text("options", p->options, 65536, false);
    if (st == MT_OK && p->options && *p->options && p->options[0] != '{')
        st = mt_fail(MT_ERR_INVALID, "options must be a JSON object");
    return st;
}

mt_status mt_store_ca_add(mt_store *store, const mt_ca_profile *profile, int64_t *id)
{
    mt_stmt *stmt = NULL;
    char detail[300], escaped[200];
    if (!store || !profile)
        return mt_fail(MT_ERR_INVALID, "store and profile are required");
    mt_status st = validate(profile);
    if (st != MT_OK || (st = mt_tx_begin(store)) != MT_OK)
        return st;
    st = mt_db_stmt(store,
                    "INSERT INTO ca_profiles (org_id, name, kind, url, credentials_file, options, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    &stmt);
    if (st == MT_OK) {
        mt_bind_int64(stmt, 1, profile->org_id);
        mt_bind_text(stmt, 2, profile->name);
        mt_bind_text(stmt, 3, profile->kind);
        mt_bind_text(stmt, 4, profile->url);
        mt_bind_text_or_null(stmt, 5, profile->credentials_file);
        mt_bind_text(stmt, 6, profile->options && *profile->options ? profile->options : "{}");
        mt_bind_int64(stmt, 7, mt_now());
        st = mt_db_step_done(store, stmt, "adding the CA profile");
    }
    mt_db_done(stmt);
    if (st == MT_ERR_CONFLICT && strstr(mt_errmsg(), "UNIQUE"))
        st = mt_fail(MT_ERR_CONFLICT, "CA profile \"%s\" already exists", profile->name);
    else if (st == MT_ERR_CONFLICT)
        st = mt_fail(MT_ERR_NOT_FOUND, "organisation %lld not found", (long long)profile->org_id);
    if (st == MT_OK) {
        if (id)
            *id = mt_db_last_id(store);
        mt_json_escape(profile->url, escaped, sizeof(escaped));
        snprintf(detail, sizeof(detail), "{\"kind\":\"%s\",\"url\":\"%s\"}", profile->kind, escaped);
        st = mt_event_add(store, profile->org_id, "ca.add", profile->name, detail);
    }
    return mt_tx_end(store, st);
}

mt_status mt_store_ca_get(mt_store *store, int64_t org_id, const char *name, mt_ca_profile **out)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    mt_ca_profile *p = NULL;
    if (!store || !name || !out)
        return mt_fail(MT_ERR_INVALID, "store, name and out are required");
    *out = NULL;
    mt_status st = mt_db_stmt(store, "SELECT " PROFILE_COLS " FROM ca_profiles WHERE org_id = ? AND name = ?", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, org_id);
    mt_bind_text(stmt, 2, name);
    if ((st = mt_db_step_row(store, stmt, "reading the CA profile", &found)) == MT_OK && !found)
        st = mt_fail(MT_ERR_NOT_FOUND, "CA profile \"%s\" not found", name);
    if (st == MT_OK && !(p = calloc(1, sizeof(*p))))
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
    if (st == MT_OK) {
        profile_read(stmt, p);
        *out = p;
    }
    mt_db_done(stmt);
    return st;
}

mt_status mt_store_ca_list(mt_store *store, int64_t org_id, mt_ca_profile **out, size_t *n)
{
    mt_stmt *stmt = NULL;
    mt_ca_profile *list = NULL;
    size_t count = 0;
    int rc = MT_DONE;
    if (!store || !out || !n)
        return mt_fail(MT_ERR_INVALID, "store, out and n are required");
    *out = NULL;
    *n = 0;
    mt_status st = mt_db_stmt(store, "SELECT " PROFILE_COLS " FROM ca_profiles WHERE org_id = ? ORDER BY name", &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_int64(stmt, 1, org_id);
    while ((rc = mt_step(stmt)) == MT_ROW) {
        mt_ca_profile *grown = realloc(list, (count + 1) * sizeof(*grown));
        if (!grown) {
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
            break;
        }
        list = grown;
        profile_read(stmt, &list[count++]);
    }
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(store, rc, "listing CA profiles");
    mt_db_done(stmt);
    if (st != MT_OK) {
        mt_ca_profile_list_free(list, count);
        return st;
    }
    *out = list;
    *n = count;
    return MT_OK;
}

mt_status mt_store_ca_remove(mt_store *store, int64_t org_id, const char *name)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    if (!store || !name)
        return mt_fail(MT_ERR_INVALID, "store and name are required");
    mt_status st = mt_tx_begin(store);
    if (st != MT_OK)
        return st;
    /* an active renewal still needs its profile */
    st = mt_db_stmt(store, "SELECT count(*) FROM renewals WHERE org_id = ? AND ca_name = ? AND active <> 0", &stmt);
    if (st == MT_OK) {
        mt_bind_int64(stmt, 1, org_id);
        mt_bind_text(stmt, 2, name);
        st = mt_db_step_row(store, stmt, "checking renewals", &found);
        if (st == MT_OK && found && mt_col_int64(stmt, 0) > 0)
            st = mt_fail(MT_ERR_CONFLICT, "CA profile \"%s\" has active renewals (cancel them first)", name);
    }
    mt_db_done(stmt);
    if (st == MT_OK)
        st = mt_db_stmt(store, "DELETE FROM ca_profiles WHERE org_id = ? AND name = ? RETURNING id", &stmt);
    if (st == MT_OK) {
        mt_bind_int64(stmt, 1, org_id);
        mt_bind_text(stmt, 2, name);
        if ((st = mt_db_step_row(store, stmt, "removing the CA profile", &found)) == MT_OK && !found)
            st = mt_fail(MT_ERR_NOT_FOUND, "CA profile \"%s\" not found", name);
    }
    mt_db_done(stmt);
    if (st == MT_OK)
        st = mt_event_add(store, org_id, "ca.remove", name, "{}");
    return mt_tx_end(store, st);
}
