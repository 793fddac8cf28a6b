/* Schema and forward migrations: migration N takes the schema version (SQLite's
 * user_version, PostgreSQL's meta row) from N-1 to N.  Written once, in SQLite's
 * dialect; the PostgreSQL backend translates the types (db_pg_ddl.c).  A
 * change only one backend needs has that backend's own text.
 *
 * Times are Unix seconds: INTEGER columns in SQLite, timestamptz on
 * PostgreSQL since version 6 (0, "never", is 1970-01-01 00:00:00 UTC there;
 * db_pg.c converts at the edge).  A later migration adding a time column
 * gives PostgreSQL its timestamptz in its own text. */
#include "db.h"

typedef struct migration {
    const char *sql; /* SQLite's dialect, translated for PostgreSQL */
    const char *pg;  /* PostgreSQL's own text instead, when not NULL */
} migration;

/* Version 6 on PostgreSQL: a bigint time column becomes timestamptz, the
 * same instants; one with a default of 0 keeps 1970-01-01 as its default. */
#define TIME(col) " ALTER COLUMN " col " TYPE timestamptz USING to_timestamp(" col ")"
#define TIME_DEFAULT_0(col) \
    " ALTER COLUMN " col " DROP DEFAULT," TIME(col) ", ALTER COLUMN " col " SET DEFAULT to_timestamp(0)"

static const migration migrations[] = {
    /* 1: the first schema */
    {.sql = "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO meta (key, value) VALUES ('generation', 0);"
    "CREATE TABLE organizations ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL UNIQUE,"
    "  recovery_pk BLOB NOT NULL,"
    "  so_wrapped BLOB NOT NULL,"
    "  so_salt BLOB NOT NULL, so_ops INTEGER NOT NULL, so_mem INTEGER NOT NULL,"
    "  so_store_key INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE TABLE tokens ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  org_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,"
    "  email TEXT NOT NULL,"
    "  public_key BLOB NOT NULL,"
    "  recovery_sealed BLOB NOT NULL,"
    "  pin_wrapped BLOB,"
    "  pin_salt BLOB, pin_ops INTEGER, pin_mem INTEGER, pin_store_key INTEGER,"
    "  failed_logins INTEGER NOT NULL DEFAULT 0,"
    "  max_failures INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    "  UNIQUE (org_id, email));"
    "CREATE TABLE certificates ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  org_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,"
    "  kind INTEGER NOT NULL,"
    "  friendly_name TEXT, description TEXT,"
    "  der BLOB NOT NULL,"
    "  sha256 BLOB NOT NULL,"
    "  subject TEXT NOT NULL, issuer TEXT NOT NULL, serial TEXT NOT NULL,"
    "  not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,"
    "  key_type TEXT NOT NULL, key_bits INTEGER NOT NULL, curve TEXT,"
    "  spki_sha256 BLOB NOT NULL,"
    "  has_key INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    "  UNIQUE (org_id, sha256));"
    "CREATE INDEX certificates_org_not_after ON certificates (org_id, not_after);"
    "CREATE TABLE certificate_emails ("
    "  cert_id INTEGER NOT NULL REFERENCES certificates(id) ON DELETE CASCADE,"
    "  email TEXT NOT NULL,"
    "  PRIMARY KEY (cert_id, email)) WITHOUT ROWID;"
    "CREATE INDEX certificate_emails_email ON certificate_emails (email);"
    /* issuer certificates are shared: an organisation's users have one chain */
    "CREATE TABLE chain_certificates ("
    "  id INTEGER PRIMARY KEY,"
    "  sha256 BLOB NOT NULL UNIQUE,"
    "  der BLOB NOT NULL);"
    "CREATE TABLE certificate_chain ("
    "  cert_id INTEGER NOT NULL REFERENCES certificates(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  chain_id INTEGER NOT NULL REFERENCES chain_certificates(id),"
    "  PRIMARY KEY (cert_id, position)) WITHOUT ROWID;"
    "CREATE INDEX certificate_chain_chain ON certificate_chain (chain_id);"
    /* rowid tables for blobs: WITHOUT ROWID rows this large waste most of a page */
    "CREATE TABLE sealed_keys ("
    "  cert_id INTEGER NOT NULL REFERENCES certificates(id) ON DELETE CASCADE,"
    "  token_id INTEGER NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,"
    "  sealed BLOB NOT NULL,"
    "  UNIQUE (cert_id, token_id));"
    "CREATE TABLE accounts ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  org_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,"
    "  email TEXT NOT NULL,"
    "  token_id INTEGER NOT NULL REFERENCES tokens(id),"
    "  primary_cert_id INTEGER NOT NULL REFERENCES certificates(id),"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    "  UNIQUE (org_id, email));"
    "CREATE INDEX accounts_token ON accounts (token_id);"
    "CREATE TABLE account_certificates ("
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  cert_id INTEGER NOT NULL REFERENCES certificates(id),"
    "  added_at INTEGER NOT NULL,"
    "  UNIQUE (account_id, cert_id));"
    "CREATE INDEX account_certificates_cert ON account_certificates (cert_id);"
    "CREATE TABLE ca_profiles ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  org_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL, kind TEXT NOT NULL, url TEXT NOT NULL,"
    "  credentials_file TEXT, options TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (org_id, name));"
    "CREATE TABLE renewals ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  org_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,"
    "  email TEXT NOT NULL, ca_name TEXT NOT NULL, key_spec TEXT NOT NULL,"
    "  revoke_old INTEGER NOT NULL, state INTEGER NOT NULL, active INTEGER NOT NULL,"
    "  old_cert_id INTEGER REFERENCES certificates(id) ON DELETE SET NULL,"
    "  new_cert_id INTEGER REFERENCES certificates(id) ON DELETE SET NULL,"
    "  candidate_spki BLOB, candidate_sealed BLOB, candidate_token_id INTEGER,"
    "  csr_der BLOB, attempt_id TEXT, order_ref TEXT, order_ref2 TEXT, ca_status TEXT,"
    "  cert_der BLOB, chain_pem TEXT,"
    "  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT, driver_state TEXT NOT NULL DEFAULT '{}',"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX renewals_one_active ON renewals (org_id, email) WHERE active = 1;"
    "CREATE TABLE ca_messages ("
    "  org_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,"
    "  profile TEXT NOT NULL, message_id TEXT NOT NULL, body TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  PRIMARY KEY (org_id, profile, message_id)) WITHOUT ROWID;"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  at INTEGER NOT NULL, org_id INTEGER NOT NULL DEFAULT 0,"
    "  actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL);"
    "CREATE INDEX events_org_at ON events (org_id, at);"},
    /* 2: the SO PIN gets its own failure counter, limit and delay between wrong
     * SO PINs; and a token whose account is gone loses its user PIN and counter,
     * so that whoever gets the address next never inherits the previous PIN */
    {.sql = "ALTER TABLE organizations ADD COLUMN so_failed_logins INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE organizations ADD COLUMN so_max_failures INTEGER NOT NULL DEFAULT 10;"
    "ALTER TABLE organizations ADD COLUMN so_next_attempt_at INTEGER NOT NULL DEFAULT 0;"
    "UPDATE tokens SET pin_wrapped = NULL, pin_salt = NULL, pin_ops = NULL, pin_mem = NULL,"
    "  pin_store_key = NULL, failed_logins = 0"
    "  WHERE pin_wrapped IS NOT NULL AND id NOT IN (SELECT token_id FROM accounts);"},
    /* 3: CA certificates imported on their own complete the chains of the
     * certificates they issue: found by subject (the issuer of a chain's tail) */
    {.sql = "CREATE INDEX certificates_org_subject ON certificates (org_id, subject);"},
    /* 4: Bearer keys of `mailtoken serve`.  Only a hash of each key is kept
     * (the key is shown once, at creation); revoked keys stay, for the audit
     * trail that names them. */
    {.sql = "CREATE TABLE api_keys ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  org_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,"
    "  name TEXT,"
    "  scope TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),"
    "  key_hash BLOB NOT NULL UNIQUE,"
    "  prefix TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL DEFAULT 0,"
    "  revoked_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX api_keys_org ON api_keys (org_id);"},
    /* 5: tags that
     * authenticate the public keys sealed to, keyed BLAKE2b under the store
     * key file (store/src/auth.c); NULL for rows written without one */
    {.sql = "ALTER TABLE organizations ADD COLUMN recovery_tag BLOB;"
            "ALTER TABLE tokens ADD COLUMN pk_tag BLOB;"},
    /* 6: times on PostgreSQL are timestamptz (SQLite: nothing changes) */
    {.sql = "",
     .pg = "ALTER TABLE organizations" TIME("created_at") "," TIME("updated_at") ","
           TIME_DEFAULT_0("so_next_attempt_at") ";"
           "ALTER TABLE tokens" TIME("created_at") "," TIME("updated_at") ";"
           "ALTER TABLE certificates" TIME("not_before") "," TIME("not_after") ","
           TIME("created_at") "," TIME("updated_at") ";"
           "ALTER TABLE accounts" TIME("created_at") "," TIME("updated_at") ";"
           "ALTER TABLE account_certificates" TIME("added_at") ";"
           "ALTER TABLE ca_profiles" TIME("created_at") ";"
           "ALTER TABLE renewals" TIME_DEFAULT_0("next_attempt_at") "," TIME("created_at") ","
           TIME("updated_at") ";"
           "ALTER TABLE ca_messages" TIME("received_at") ";"
           "ALTER TABLE events" TIME("at") ";"
           "ALTER TABLE api_keys" TIME("created_at") "," TIME_DEFAULT_0("expires_at") ","
           TIME_DEFAULT_0("revoked_at")},
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int mt_schema_latest(void)
{
    return N_MIGRATIONS;
}

static mt_status read_version(mt_store *store, int *version)
{
    return store->ops->schema_version(store, version);
}

/* Version 0 is a database no mailtoken made: the schema goes only into an
 * empty one, and only when asked to create a store (never as a side effect
 * of a command that then fails). */
static mt_status check_fresh(mt_store *store)
{
    bool any = false;
    mt_status st = store->ops->has_tables(store, &any);
    if (st != MT_OK)
        return st;
    if (any)
        return mt_fail(MT_ERR_INVALID, "%s: not a mailtoken store (a %s database of something "
                       "else)", store->path, store->ops->name);
    /* on a server, a role with no grant on the store's schema sees none of it */
    if (!(store->flags & MT_OPEN_CREATE) || (store->flags & MT_OPEN_READONLY))
        return mt_fail(MT_ERR_INVALID, "%s: not a mailtoken store (an empty %s database%s)",
                       store->path, store->ops->name, store->ops == &mt_backend_pg ?
                       ", or a schema this role may not use: mailtoken store grant" : "");
    return MT_OK;
}

mt_status mt_schema_check(mt_store *store)
{
    int version = 0;
    mt_status st = read_version(store, &version);
    if (st != MT_OK)
        return st;
    if (version > N_MIGRATIONS)
        return mt_fail(MT_ERR_DB, "%s: schema version %d is newer than this build (%d)",
                       store->path, version, N_MIGRATIONS);
    return version == 0 ? check_fresh(store) : MT_OK;
}

/* Applies every missing migration, each in its own transaction with its version bump;
 * the version is re-read under the write lock so two processes never both migrate
 * (and the loop follows that version: a standby read outside it may lag). */
mt_status mt_schema_migrate(mt_store *store)
{
    int version = 0;
    mt_status st = mt_schema_check(store);
    if (st == MT_OK)
        st = read_version(store, &version);
    if (st != MT_OK || version == N_MIGRATIONS)
        return st;
    if (store->flags & (MT_OPEN_READONLY | MT_DB_COUNTER))
        return mt_fail(MT_ERR_READONLY,
                       "%s: schema version %d needs upgrading; open it once read-write",
                       store->path, version);
    while (st == MT_OK && version < N_MIGRATIONS) {
        if ((st = store->ops->begin(store, true)) != MT_OK)
            break;
        st = read_version(store, &version);
        if (st == MT_OK && version < N_MIGRATIONS) {
            const migration *m = &migrations[version];
            if ((st = store->ops->migrate(store, m->pg ? MT_SQL(store, m->sql, m->pg) : m->sql)) == MT_OK)
                st = store->ops->set_schema_version(store, version + 1);
        }
        if (st == MT_OK)
            st = mt_db_exec(store, "COMMIT");
        if (st != MT_OK)
            store->ops->rollback(store, 0);
        else if (version < N_MIGRATIONS)
            version++;
    }
    return st == MT_OK ? MT_OK : mt_fail_prefix(st, "schema migration: ");
}
