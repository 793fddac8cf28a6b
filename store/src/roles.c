/* Roles of a store on PostgreSQL (docs/postgresql.md, "Roles"): the SQL that
 * lets a role write the whole store, or read what the module needs and write
 * only its counters and login events; and row-level security, so that a role
 * bound to one organisation reads none of another's rows.
 *
 * Which organisation a role sees is a row of mailtoken_roles (role name ->
 * organisation id, NULL: every one), writable by the tables' owner only.  The
 * owner (the role that ran `mailtoken init`) is not subject to the policies;
 * a role with no row sees no row of any organisation. */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How a table's rows belong to an organisation. */
typedef struct role_table {
    const char *name;
    const char *owner_expr; /* the policy's test, "%1$s" the schema; NULL: no organisation's */
    bool module_reads;      /* the module (a reader) needs its rows */
} role_table;

/* Rows of an organisation the connecting role is bound to, or of any when it
 * sees the whole store.  Uncorrelated subqueries: evaluated once per statement. */
#define ROLE_ROW "(SELECT 1 FROM %1$s.mailtoken_roles m WHERE m.role_name = current_user"
#define WHOLE_STORE "EXISTS " ROLE_ROW " AND m.org_id IS NULL)"
#define OWN_ORG(col) WHOLE_STORE " OR " col " IN (SELECT m.org_id FROM %1$s.mailtoken_roles m" \
                     " WHERE m.role_name = current_user)"
#define THROUGH(col, parent_col, table) WHOLE_STORE " OR " col " IN (SELECT " parent_col " FROM %1$s." table ")"

/* Every table of the schema (a schema holding another is refused), parents
 * first: a policy reaching a table through another relies on that one's. */
static const role_table TABLES[] = {
    {"meta", NULL, true},
    {"organizations", OWN_ORG("id"), true},
    {"tokens", OWN_ORG("org_id"), true},
    {"certificates", OWN_ORG("org_id"), true},
    {"certificate_emails", THROUGH("cert_id", "id", "certificates"), true},
    {"certificate_chain", THROUGH("cert_id", "id", "certificates"), true},
    /* issuer certificates are shared: seen through a chain that uses them */
    {"chain_certificates", THROUGH("id", "chain_id", "certificate_chain"), true},
    {"sealed_keys", THROUGH("cert_id", "id", "certificates"), true},
    {"accounts", OWN_ORG("org_id"), true},
    {"account_certificates", THROUGH("account_id", "id", "accounts"), true},
    {"ca_profiles", OWN_ORG("org_id"), false},
    {"renewals", OWN_ORG("org_id"), false},
    {"ca_messages", OWN_ORG("org_id"), false},
    {"events", OWN_ORG("org_id"), false},
    {"api_keys", OWN_ORG("org_id"), false},
};
#define N_TABLES (sizeof(TABLES) / sizeof(TABLES[0]))

/* The role's organisation, as its mailtoken_roles row says (NULL: every one). */
#define ROLE_TABLE                                                                            \
    "CREATE TABLE IF NOT EXISTS %1$s.mailtoken_roles (\n"                                     \
    "  role_name text PRIMARY KEY,\n"                                                         \
    "  org_id bigint REFERENCES %1$s.organizations (id) ON DELETE CASCADE);\n"                \
    "ALTER TABLE %1$s.mailtoken_roles ENABLE ROW LEVEL SECURITY;\n"                           \
    "DROP POLICY IF EXISTS mailtoken_own ON %1$s.mailtoken_roles;\n"                          \
    "CREATE POLICY mailtoken_own ON %1$s.mailtoken_roles USING (role_name = current_user);\n"

/* An identifier ("...") or a literal ('...'), its quotes doubled. */
static void put_quoted(FILE *f, const char *text, char quote)
{
    fputc(quote, f);
    for (const char *p = text; *p; p++) {
        if (*p == quote)
            fputc(quote, f);
        fputc(*p, f);
    }
    fputc(quote, f);
}

static char *quoted(const char *text, char quote)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    put_quoted(f, text, quote);
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* Where the store's tables are (the connection's search_path), whose they
 * are, and whether the connected role may change them. */
typedef struct schema_info {
    char *schema, *owner, *user;
    bool owns;
} schema_info;

static void schema_info_clear(schema_info *info)
{
    free(info->schema);
    free(info->owner);
    free(info->user);
    memset(info, 0, sizeof(*info));
}

static mt_status read_schema(mt_store *store, schema_info *info)
{
    mt_stmt *stmt = NULL;
    bool found = false;
    mt_status st = mt_db_stmt(store, "SELECT current_schema(), pg_get_userbyid(c.relowner), current_user,"
                                     " pg_has_role(c.relowner, 'USAGE') FROM pg_class c"
                                     " WHERE c.oid = to_regclass('meta')", &stmt);
    if (st == MT_OK)
        st = mt_db_step_row(store, stmt, "reading the store's schema", &found);
    if (st == MT_OK && (!found || mt_col_is_null(stmt, 0)))
        st = mt_fail(MT_ERR_DB, "%s: the store's schema is not on the connection's search_path",
                     store->path);
    if (st == MT_OK && (!(info->schema = mt_col_text(stmt, 0)) || !(info->owner = mt_col_text(stmt, 1)) ||
                        !(info->user = mt_col_text(stmt, 2))))
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
    if (st == MT_OK)
        info->owns = mt_col_int(stmt, 3) != 0;
    mt_db_done(stmt);
    return st;
}

/* A table this build has no rule for (a schema newer than the list above)
 * would be left out of the grants and the policies: refused instead. */
static mt_status check_tables_known(mt_store *store)
{
    mt_stmt *stmt = NULL;
    int rc = MT_DONE;
    mt_status st = mt_db_stmt(store, "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname ="
                                     " current_schema() AND tablename <> 'mailtoken_roles'", &stmt);
    if (st != MT_OK)
        return st;
    while (st == MT_OK && (rc = mt_step(stmt)) == MT_ROW) {
        const char *name = mt_col_peek_text(stmt, 0);
        size_t i = 0;
        while (i < N_TABLES && strcmp(TABLES[i].name, name) != 0)
            i++;
        if (i == N_TABLES)
            st = mt_fail(MT_ERR_INTERNAL, "%s: table %s has no rule for roles in this build",
                         store->path, name);
    }
    if (st == MT_OK && rc != MT_DONE)
        st = mt_db_error(store, rc, "listing the store's tables");
    mt_db_done(stmt);
    return st;
}

static void put_policies(FILE *f, const char *schema)
{
    fprintf(f, ROLE_TABLE, schema);
    for (size_t i = 0; i < N_TABLES; i++) {
        if (!TABLES[i].owner_expr)
            continue;
        fprintf(f, "ALTER TABLE %1$s.%2$s ENABLE ROW LEVEL SECURITY;\n"
                   "DROP POLICY IF EXISTS mailtoken_org ON %1$s.%2$s;\n"
                   "CREATE POLICY mailtoken_org ON %1$s.%2$s USING (", schema, TABLES[i].name);
        fprintf(f, TABLES[i].owner_expr, schema);
        fputs(");\n", f);
    }
}

/* What the role may do, from nothing: a role made a reader loses what it
 * had as a writer. */
static void put_grants(FILE *f, const char *schema, const char *role, mt_role_kind kind)
{
    fprintf(f, "GRANT USAGE ON SCHEMA %1$s TO %2$s;\n"
               "REVOKE ALL ON ALL TABLES IN SCHEMA %1$s FROM %2$s;\n"
               "REVOKE ALL ON ALL SEQUENCES IN SCHEMA %1$s FROM %2$s;\n"
               "GRANT SELECT ON %1$s.mailtoken_roles TO %2$s;\n", schema, role);
    for (size_t i = 0; i < N_TABLES; i++) {
        if (kind == MT_ROLE_WRITER)
            fprintf(f, "GRANT SELECT, INSERT, UPDATE, DELETE ON %s.%s TO %s;\n", schema, TABLES[i].name, role);
        else if (TABLES[i].module_reads)
            fprintf(f, "GRANT SELECT ON %s.%s TO %s;\n", schema, TABLES[i].name, role);
    }
    if (kind == MT_ROLE_WRITER) {
        fprintf(f, "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %s TO %s;\n", schema, role);
        return;
    }
    /* the module's only writes: the PIN counters (and the SO PIN's wait) and
     * the audit events of logins; a PIN wrapped again at login is skipped */
    fprintf(f, "GRANT UPDATE (failed_logins) ON %1$s.tokens TO %2$s;\n"
               "GRANT UPDATE (so_failed_logins, so_next_attempt_at) ON %1$s.organizations TO %2$s;\n"
               "GRANT INSERT ON %1$s.events TO %2$s;\n", schema, role);
}

static mt_status build(mt_store *store, mt_role_kind kind, const char *role, int64_t org_id,
                       schema_info *info, char **out)
{
    char *schema = NULL, *ident = NULL, *literal = NULL, *sql = NULL;
    size_t len = 0;
    FILE *f = NULL;
    *out = NULL;
    mt_status st = read_schema(store, info);
    if (st == MT_OK)
        st = check_tables_known(store);
    if (st != MT_OK)
        goto out;
    if (strcmp(info->owner, role) == 0) {
        st = mt_fail(MT_ERR_INVALID, "role \"%s\" owns the store's tables: it writes the whole store "
                     "already", role);
        goto out;
    }
    if (!(schema = quoted(info->schema, '"')) || !(ident = quoted(role, '"')) ||
        !(literal = quoted(role, '\'')) || !(f = open_memstream(&sql, &len))) {
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
        goto out;
    }
    fprintf(f, "-- mailtoken: %s role %s of ", kind == MT_ROLE_WRITER ? "writer" : "reader", ident);
    fprintf(f, org_id ? "organisation id %lld" : "the whole store", (long long)org_id);
    /* the role's name is a literal below: quotes doubled, backslashes as they are */
    fprintf(f, ", schema %s (owner %s)\nBEGIN;\nSET LOCAL standard_conforming_strings = on;\n", schema,
            info->owner);
    put_policies(f, schema);
    put_grants(f, schema, ident, kind);
    fprintf(f, "INSERT INTO %s.mailtoken_roles (role_name, org_id) VALUES (%s, ", schema, literal);
    fprintf(f, org_id ? "%lld" : "NULL", (long long)org_id);
    fputs(")\n  ON CONFLICT (role_name) DO UPDATE SET org_id = excluded.org_id;\nCOMMIT;\n", f);
    if (fclose(f) != 0) {
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
        goto out;
    }
    *out = sql;
    sql = NULL;
out:
    free(sql);
    free(schema);
    free(ident);
    free(literal);
    return st;
}

/* The SQL, after the checks both entry points make. */
static mt_status role_sql(mt_store *store, mt_role_kind kind, const char *role, int64_t org_id,
                          schema_info *info, char **sql)
{
    if (!store || !role || !sql)
        return mt_fail(MT_ERR_INVALID, "store, role and sql are required");
    *sql = NULL;
    if (store->ops != &mt_backend_pg)
        return mt_fail(MT_ERR_INVALID, "%s: roles are a PostgreSQL server's: a SQLite store is a "
                       "file, whose permissions say who reads and writes it", store->path);
    mt_status st = mt_check_text("role", role, 63, true);
    if (st == MT_OK && kind == MT_ROLE_WRITER && org_id)
        st = mt_fail(MT_ERR_INVALID, "a writer writes the whole store: only a reader is bound to "
                     "one organisation");
    if (st == MT_OK && org_id)
        st = mt_org_exists(store, org_id);
    return st == MT_OK ? build(store, kind, role, org_id, info, sql) : st;
}

mt_status mt_store_role_sql(mt_store *store, mt_role_kind kind, const char *role, int64_t org_id,
                            char **sql)
{
    schema_info info = {0};
    mt_status st = role_sql(store, kind, role, org_id, &info, sql);
    schema_info_clear(&info);
    return st;
}

/* Policies and grants are the owner's to change (a superuser's too); all in
 * one transaction, rolled back on a failure. */
mt_status mt_store_role_grant(mt_store *store, mt_role_kind kind, const char *role, int64_t org_id)
{
    schema_info info = {0};
    char *sql = NULL;
    if (store && store->tx_depth > 0)
        return mt_fail(MT_ERR_INVALID, "roles are granted outside any transaction");
    mt_status st = role_sql(store, kind, role, org_id, &info, &sql);
    if (st == MT_OK && !info.owns)
        st = mt_fail(MT_ERR_READONLY, "connected as \"%s\", which does not own the store's tables: "
                     "connect as \"%s\"", info.user, info.owner);
    if (st == MT_OK && (st = mt_db_exec(store, sql)) != MT_OK)
        store->ops->rollback(store, 0);
    free(sql);
    schema_info_clear(&info);
    if (st == MT_OK)
        return MT_OK;
    char prefix[96];
    snprintf(prefix, sizeof(prefix), "granting role \"%.63s\": ", role ? role : "");
    return mt_fail_prefix(st, prefix);
}
