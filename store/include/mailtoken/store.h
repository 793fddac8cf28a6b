/*
 * mailtoken store: the one public header of libmailtoken-store.
 *
 * Everything pkcs11/ and provision/ know about the store, certificates and
 * sealing goes through this header.  Conventions (libsodium / SQLite style):
 *   - every function returns an mt_status; MT_OK is 0;
 *   - on failure, mt_errmsg() returns a message for the calling thread that
 *     names the file, field or argument ("primaryCertificateId must be present
 *     in certificateHistory", "alice.p12: wrong password");
 *   - buffers carry explicit lengths; out-structures are freed by their own
 *     mt_*_free function (all accept NULL);
 *   - secrets (PINs, passwords, PKCS#8 keys, token secrets) travel in
 *     mt_secret, which lives in sodium_malloc memory and is wiped on free.
 *
 * The store knows nothing of PKCS#11 or of the command line.
 */
#ifndef MAILTOKEN_STORE_H
#define MAILTOKEN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MT_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------ status */

typedef enum mt_status {
    MT_OK = 0,
    MT_ERR_INVALID,       /* bad input: a field, argument or file is wrong (API 400) */
    MT_ERR_NOT_FOUND,     /* no such account, certificate, profile... (API 404) */
    MT_ERR_CONFLICT,      /* already exists / wrong state (API 409) */
    MT_ERR_PASSWORD,      /* wrong P12 password */
    MT_ERR_UNSUPPORTED,   /* an algorithm or format this build cannot handle */
    MT_ERR_TOO_LARGE,     /* input over a documented limit */
    MT_ERR_PIN_INCORRECT, /* wrong user or SO PIN */
    MT_ERR_PIN_LOCKED,    /* too many failed logins */
    MT_ERR_PIN_POLICY,    /* new PIN refused by the PIN policy */
    MT_ERR_PIN_NOT_SET,   /* token has no user PIN yet */
    MT_ERR_READONLY,      /* store opened read-only, or file not writable */
    MT_ERR_BUSY,          /* store locked beyond busy_timeout */
    MT_ERR_IO,            /* file system error */
    MT_ERR_DB,            /* SQLite error, schema too new, corrupt store */
    MT_ERR_CRYPTO,        /* OpenSSL or libsodium failure, sealed data corrupt */
    MT_ERR_NOMEM,
    MT_ERR_INTERNAL,
    MT_ERR_TAMPERED       /* a row failed its authentication ("store tampered: ..."): a
                             public key that does not match its tag or the importer's
                             record, KDF limits outside the window, a sealed key that
                             is not its certificate's; recorded as a store.tampered event */
} mt_status;

/* Stable short name of a status ("invalid", "not-found", ...). */
const char *mt_status_name(mt_status status);

/* Message of the last failure on this thread ("" if none).  Never contains a
 * secret.  Valid until the next mt_* call on this thread. */
const char *mt_errmsg(void);
/* Forgets this thread's message (a caller that reports per call). */
void mt_clear_error(void);

/* The text without the white space around it, in place (a line of a
 * `key = value` file: the config, CA credentials, migration maps). */
char *mt_text_trim(char *text);

/* Library setup: sodium_init(), OpenSSL providers (default + legacy for old
 * P12 files).  Idempotent and thread-safe; every entry point calls it. */
mt_status mt_library_init(void);

/* ------------------------------------------------------------------ secrets */

typedef struct mt_secret {
    uint8_t *data; /* sodium_malloc'd, len bytes (+1 NUL so a PIN can be a C string) */
    size_t len;
} mt_secret;

mt_status mt_secret_new(size_t len, mt_secret **out);
mt_status mt_secret_from(const void *data, size_t len, mt_secret **out);
/* Reads a secret from a file (trailing newline stripped).  Names the file on
 * error.  A regular file that group or others may access is refused, as
 * mt_secret_file_check says. */
mt_status mt_secret_from_file(const char *path, mt_secret **out);
/* Every file holding a secret (key files, PIN and password files, the record
 * of known keys) is refused, MT_ERR_INVALID, when it is a regular file that
 * group or others may access: "PATH: must not be accessible by group or
 * others (mode 0644); chmod 600 it".  Pipes and terminals pass. */
mt_status mt_secret_file_check(int fd, const char *path);
/* Reads one line from a file descriptor (trailing newline stripped). */
mt_status mt_secret_from_fd(int fd, mt_secret **out);
void mt_secret_free(mt_secret *secret);

/* Binary blob (not secret). */
typedef struct mt_blob {
    uint8_t *data;
    size_t len;
} mt_blob;

/* ------------------------------------------------------------------ config */

typedef enum mt_account_filter_kind {
    MT_FILTER_ALL = 0,
    MT_FILTER_INTERNAL, /* accounts whose primary has a private key */
    MT_FILTER_EXTERNAL  /* PEM-only accounts */
} mt_account_filter_kind;

/* Which accounts a PKCS#11 client sees.  Textual form (config key `accounts`,
 * $MAILTOKEN_ACCOUNTS, C_Initialize reserved string):
 *   "org=NAME;emails=GLOB[,GLOB...];kind=all|internal|external"
 * every part optional, e.g. "emails=alice@*,*@sales.example.org". */
typedef struct mt_account_filter {
    char *org;            /* NULL: every organisation */
    char **email_globs;   /* NULL / 0: every email; fnmatch, case-insensitive */
    size_t n_email_globs;
    mt_account_filter_kind kind;
} mt_account_filter;

mt_status mt_filter_parse(const char *spec, mt_account_filter *out);
/* out = a AND b (used to narrow the config filter by the environment and by
 * C_Initialize's reserved string). */
mt_status mt_filter_intersect(const mt_account_filter *a, const mt_account_filter *b,
                              mt_account_filter *out);
void mt_filter_clear(mt_account_filter *filter);

typedef struct mt_config {
    char *source_path;        /* config file read, or NULL when none was found */
    char *store_path;         /* `store`; NULL: see mt_config_store_path */
    char *store_key_file;     /* `store_key_file`: 32 random bytes mixed into PIN keys */
    char *recovery_key_file;  /* `recovery_key_file`: gateway mode, no PIN asked */
    char *ca_bundle;          /* `ca_bundle`: trust anchors for CA renewals */
    unsigned pin_min_length;  /* `pin_min_length`, default 8 */
    bool pin_allow_digits_only; /* `pin_allow_digits_only`, default false */
    unsigned pin_max_failures;  /* `pin_max_failures`, default 10 (0: never lock) */
    unsigned so_pin_max_failures; /* `so_pin_max_failures`, default 10 (0: never lock) */
    unsigned so_pin_max_delay;  /* `so_pin_max_delay`: seconds, default 30; the wait
                                   before the next SO PIN doubles from 1 s after each
                                   wrong one, up to this (0: no wait) */
    bool pin_counter_best_effort; /* `pin_counter = best-effort`: a login whose attempt
                                     cannot be recorded is still checked (the default,
                                     `required`, refuses it) */
    uint64_t kdf_opslimit;    /* `kdf_opslimit`, user PINs, default crypto_pwhash_OPSLIMIT_MODERATE */
    size_t kdf_memlimit;      /* `kdf_memlimit`, user PINs, default crypto_pwhash_MEMLIMIT_MODERATE */
    bool strict;              /* `strict`: a store readable by others is an error; no
                                 public key is trusted on first use; a PIN wrapped
                                 without the configured store key does not log in */
    char *debug;              /* `debug`: the PKCS#11 module's trace, as MAILTOKEN_DEBUG
                                 (which wins when set) */
    mt_account_filter filter; /* `accounts` */
    /* `mailtoken serve`, the HTTPS API (docs/api.md): */
    char *api_listen;         /* `api_listen`: HTTPS listener, ADDRESS:PORT */
    char *api_tls_cert;       /* `api_tls_cert`: PEM certificate (and chain) */
    char *api_tls_key;        /* `api_tls_key`: PEM private key (a 0600 file) */
    char *api_plain_listen;   /* `api_plain_listen`: plain HTTP for a reverse proxy:
                                 unix:PATH or a loopback ADDRESS:PORT */
    unsigned api_max_connections; /* `api_max_connections`, default 64 */
    unsigned api_timeout;     /* `api_timeout`: seconds a connection may idle, default 30 */
    size_t api_max_body;      /* `api_max_body`: bytes of a request body, default 6 MiB */
    unsigned api_auth_failures; /* `api_auth_failures`: failed authentications per
                                   address and minute before 429, default 10 */
    /* Added with the KDF window and the authentication of public keys: */
    uint64_t so_kdf_opslimit; /* `so_kdf_opslimit`, the SO PIN, default crypto_pwhash_OPSLIMIT_SENSITIVE */
    size_t so_kdf_memlimit;   /* `so_kdf_memlimit`, the SO PIN, default crypto_pwhash_MEMLIMIT_SENSITIVE */
    bool allow_weak_kdf;      /* `allow_weak_kdf`: limits under the window's floor are
                                 accepted, in the config and in rows (test stores) */
    unsigned so_pin_min_length; /* `so_pin_min_length`, default 12 */
    char *known_keys_file;    /* `known_keys_file`: the importer's record of the public
                                 keys it seals to (default: $XDG_DATA_HOME/mailtoken/known-keys) */
    char *store_primary;      /* `store_primary`: with `store` a PostgreSQL standby, the
                                 primary that transactions and writes go to
                                 ($MAILTOKEN_STORE_PRIMARY wins); NULL: none */
} mt_config;

/* The window of Argon2id limits the store accepts, from the config and from
 * its rows (a row outside it is refused as tampered, before any PIN is
 * counted): ops 2..16, memory 19 MiB..4 GiB; `allow_weak_kdf` lowers the
 * floor to libsodium's minimum (ops 1, 8 KiB). */
#define MT_KDF_OPS_FLOOR 2u
#define MT_KDF_OPS_CEILING 16u
#define MT_KDF_MEM_FLOOR (19ull << 20)
#define MT_KDF_MEM_CEILING (4ull << 30)

/* Loads the config: explicit_path, else $MAILTOKEN_CONF, else
 * ~/.config/mailtoken/mailtoken.conf, else /etc/mailtoken/mailtoken.conf.
 * No file at all is fine (defaults).  Format: `key = value` lines, `#`
 * comments.  An unknown key or bad value is MT_ERR_INVALID naming file:line. */
mt_status mt_config_load(const char *explicit_path, mt_config **out);
/* Defaults only (no file read). */
mt_status mt_config_defaults(mt_config **out);
void mt_config_free(mt_config *config);
/* $MAILTOKEN_STORE, else config->store_path, else
 * $XDG_DATA_HOME/mailtoken/store.db (~/.local/share/... when unset). */
mt_status mt_config_store_path(const mt_config *config, char **out);

/* ------------------------------------------------------------ certificates */

typedef enum mt_key_type {
    MT_KEY_NONE = 0,
    MT_KEY_RSA,
    MT_KEY_EC,
    MT_KEY_ED25519,
    MT_KEY_ED448,
    MT_KEY_X25519,
    MT_KEY_X448,
    MT_KEY_OTHER
} mt_key_type;

const char *mt_key_type_name(mt_key_type type); /* "rsa", "ec", "ed25519", "x25519"... */

#define MT_KEY_ID_LEN 20 /* CKA_ID: SHA-1 of the public value, as NSS computes it */

/* X.509 key usage bits, as in the certificate (digitalSignature = 0x80 ...). */
#define MT_KU_DIGITAL_SIGNATURE 0x0080u
#define MT_KU_NON_REPUDIATION   0x0040u
#define MT_KU_KEY_ENCIPHERMENT  0x0020u
#define MT_KU_DATA_ENCIPHERMENT 0x0010u
#define MT_KU_KEY_AGREEMENT     0x0008u
#define MT_KU_KEY_CERT_SIGN     0x0004u
#define MT_KU_CRL_SIGN          0x0002u

/* Everything parsed out of one X.509 certificate. */
typedef struct mt_cert_info {
    uint8_t *der;
    size_t der_len;
    char *subject;              /* RFC 2253, UTF-8 */
    char *issuer;
    uint8_t *subject_der;       /* DER Name, for CKA_SUBJECT */
    size_t subject_der_len;
    uint8_t *issuer_der;        /* DER Name, for CKA_ISSUER */
    size_t issuer_der_len;
    uint8_t *serial_der;        /* full DER INTEGER, tag included (CKA_SERIAL_NUMBER) */
    size_t serial_der_len;
    char *serial_hex;           /* lower-case hex of the serial value */
    int64_t not_before;         /* Unix time */
    int64_t not_after;
    uint8_t sha256[32];         /* fingerprint of der */
    char **emails;              /* lower-cased, subjectAltName rfc822Name then subject emailAddress, unique */
    size_t n_emails;
    mt_key_type key_type;
    char *key_algorithm;        /* for messages: "RSA", "EC", "DSA", "ML-KEM-768", or the OID */
    unsigned key_bits;          /* RSA modulus bits, EC field bits */
    char *curve;                /* "P-256", "P-384", "P-521" or NULL */
    uint8_t *spki;              /* SubjectPublicKeyInfo DER (CKA_PUBLIC_KEY_INFO) */
    size_t spki_len;
    uint8_t key_id[MT_KEY_ID_LEN];
    bool has_key_usage;
    unsigned key_usage;         /* MT_KU_* bits when has_key_usage */
    bool email_protection;      /* no EKU, or EKU contains emailProtection */
    bool is_ca;                 /* basicConstraints cA */
    bool self_signed;
} mt_cert_info;

mt_status mt_cert_info_from_der(const uint8_t *der, size_t der_len, mt_cert_info **out);
mt_cert_info *mt_cert_info_dup(const mt_cert_info *info);
void mt_cert_info_free(mt_cert_info *info);

/* Largest file mt_cert_parse accepts. */
#define MT_MAX_INPUT_SIZE (4u * 1024u * 1024u)

typedef enum mt_input_format {
    MT_FORMAT_UNKNOWN = 0,
    MT_FORMAT_P12,      /* PKCS#12 / PFX, DER or PEM-armoured */
    MT_FORMAT_PEM,      /* PEM certificates (a bundle), possibly with their private keys */
    MT_FORMAT_DER,      /* one DER certificate */
    MT_FORMAT_PKCS7     /* PKCS#7 certificate bundle (.p7b/.p7c), DER or PEM */
} mt_input_format;

/* One certificate found in an input file, with its key and chain: an
 * end-entity certificate, or (authority) a CA certificate that came without
 * a key and issues nothing else in the file, stored so that it completes the
 * chains of the certificates it issued. */
typedef struct mt_parsed_entry {
    mt_cert_info *cert;
    mt_secret *pkcs8;           /* private key as PKCS#8 DER, or NULL (public only) */
    mt_cert_info **chain;       /* issuer certificates found beside it, leaf-most first */
    size_t n_chain;
    char *friendly_name;        /* P12 friendlyName bag attribute (valid UTF-8) or NULL */
    bool authority;             /* a CA certificate without a key: never an account's */
} mt_parsed_entry;

/* An entry of the input this build cannot import (e.g. a DSA key in a Java
 * keystore); the others are imported all the same. */
typedef struct mt_skipped_entry {
    char *friendly_name;        /* or NULL */
    char *subject;              /* or NULL: a key without a certificate */
    char *serial_hex;           /* or NULL */
    char *fingerprint;          /* SHA-256, 64 hex digits, or NULL */
    char *algorithm;            /* "DSA", "ML-KEM-768", "EC brainpoolP256r1", an OID... */
    char *reason;
} mt_skipped_entry;

typedef struct mt_parsed {
    mt_input_format format;
    mt_parsed_entry *entries;
    size_t n_entries;
    char **warnings;            /* what is not usable or looks wrong, and why */
    size_t n_warnings;
    mt_skipped_entry *skipped;  /* entries left out (the file is a partial import) */
    size_t n_skipped;
} mt_parsed;

/* Detects the format by content. */
mt_input_format mt_cert_detect_format(const uint8_t *data, size_t len);

/* Parses a P12 (BER or DER, or PEM-armoured), a PEM bundle (certificates
 * and PRIVATE KEY, RSA/EC PRIVATE KEY and ENCRYPTED PRIVATE KEY blocks,
 * paired with their certificates by public key), a PKCS#7 bundle or a DER
 * certificate.  password may be NULL (no password); "" with len 0 is the
 * empty password; it opens P12 files and encrypted PEM keys alike.  `name`
 * (usually the file name) prefixes every error and warning.  Certificates
 * without an email, CA certificates and EdDSA/X25519/X448 certificates are
 * entries with warnings; entries of an algorithm this build cannot use are
 * listed in `skipped`.  Errors: MT_ERR_PASSWORD (wrong password: the MAC, or
 * without one every decryption, fails), MT_ERR_UNSUPPORTED (e.g. PBMAC1 under
 * OpenSSL 3.0, or no entry this build supports: never reported as a wrong
 * password), MT_ERR_TOO_LARGE, MT_ERR_INVALID (corrupt or truncated, also
 * behind a correct password; empty; key not matching its certificate; a PEM
 * key matching no certificate; friendly name not UTF-8, ...). */
mt_status mt_cert_parse(const uint8_t *data, size_t len, const char *name,
                        const char *password, size_t password_len, mt_parsed **out);
mt_status mt_cert_parse_file(const char *path, const mt_secret *password, mt_parsed **out);
void mt_parsed_free(mt_parsed *parsed);

/* Hex "ab:cd:..." or plain "abcd..." (64 hex digits) to bytes. */
mt_status mt_fingerprint_parse(const char *text, uint8_t sha256[32]);
/* 64 lower-case hex digits + NUL. */
void mt_fingerprint_hex(const uint8_t sha256[32], char out[65]);

/* ------------------------------------------------------------------ store */

typedef struct mt_store mt_store;

enum {
    MT_OPEN_READONLY = 1u << 0, /* the PKCS#11 module: never writes but PIN attempts */
    MT_OPEN_CREATE = 1u << 1    /* create the file (0600) and schema if missing */
};

/* Opens (or creates) the store.  path: a SQLite file, or a PostgreSQL
 * connection URI (postgresql://... or postgres://..., libpq's syntax; the
 * password from ~/.pgpass, PGPASSFILE or a service file).  config may be NULL
 * (defaults).  Only MT_OPEN_CREATE makes a store of an empty file or empty
 * database; otherwise such a file or database, or one of something else, is
 * MT_ERR_INVALID "not a mailtoken store". */
mt_status mt_store_open(const char *path, const mt_config *config, unsigned flags,
                        mt_store **out);
void mt_store_close(mt_store *store);
/* Whether a store location names a database server (a connection URI)
 * rather than a file. */
bool mt_store_location_is_server(const char *location);
/* The location as given, less a URI's password. */
const char *mt_store_path(const mt_store *store);
/* What opening found worth a warning, never printed by the library (the
 * caller shows it where it belongs): a store readable by others; with a store
 * key file, rows written before it (no tag: `mailtoken org rewrap`).  One
 * line per finding, separated by '\n'; NULL when nothing. */
const char *mt_store_warning(const mt_store *store);
/* Schema version (PRAGMA user_version). */
int mt_store_schema_version(mt_store *store);
/* Who is acting, recorded in every audit event ("cli:root", "pkcs11:1234"). */
mt_status mt_store_set_actor(mt_store *store, const char *actor);
/* A number that changes whenever any process commits a change to the store
 * (a transaction that wrote no row leaves it); cheap enough to call on every
 * C_GetSlotList / C_FindObjectsInit. */
mt_status mt_store_generation(mt_store *store, uint64_t *out);

/* Copying a whole store to another (a SQLite file to a PostgreSQL server or
 * back): every row of every table, sealed keys and wrapped PINs as they are.
 * The destination is a new store or an earlier copy of the same source: rows
 * already there are kept, so a second run copies only what is new.  All in
 * one transaction of the destination, verified before it commits: per table
 * the row counts and a digest of the rows (independent of their order) must
 * agree, else MT_ERR_CONFLICT naming the table and nothing is written. */
typedef struct mt_copy_table {
    const char *name;
    size_t rows;     /* in the source (and, verified, in the destination) */
    size_t copied;   /* new in the destination */
    char digest[65]; /* SHA-256 based digest of the rows, hex */
} mt_copy_table;

typedef struct mt_copy_report {
    mt_copy_table *tables;
    size_t n_tables;
} mt_copy_report;

mt_status mt_store_copy(mt_store *from, mt_store *to, mt_copy_report *report);
void mt_copy_report_clear(mt_copy_report *report);

/* Roles of a store on PostgreSQL (docs/postgresql.md, "Roles").  A writer
 * reads and changes every table (the schema's migrations stay its owner's);
 * a reader reads what the module needs and writes only the PIN counters and
 * the audit events of logins.  org_id > 0 binds a reader to one organisation:
 * row-level security (set up by the same SQL) then shows it none of another
 * organisation's rows.  mt_store_role_sql gives the SQL (one transaction, to
 * run as the tables' owner; *sql freed by the caller); mt_store_role_grant
 * runs it on the store's connection.  The role must exist; granting again
 * replaces what the role had. */
typedef enum mt_role_kind { MT_ROLE_WRITER, MT_ROLE_READER } mt_role_kind;

mt_status mt_store_role_sql(mt_store *store, mt_role_kind kind, const char *role, int64_t org_id,
                            char **sql);
mt_status mt_store_role_grant(mt_store *store, mt_role_kind kind, const char *role, int64_t org_id);

/* Explicit transactions.  Every mt_store_* write is atomic on its own; these
 * group several into one (nesting is allowed: savepoints). */
mt_status mt_store_begin(mt_store *store);
mt_status mt_store_commit(mt_store *store);
mt_status mt_store_rollback(mt_store *store);

/* ----------------------------------------------------------- organisations */

typedef struct mt_org {
    int64_t id;
    char *name;
    int64_t created_at;
    int64_t updated_at;
    unsigned so_failed_logins; /* SO PIN attempts since the last right one */
    unsigned so_max_failures;  /* the SO PIN locks there (0: never) */
} mt_org;

/* Creates an organisation with its recovery key pair; the recovery secret is
 * wrapped under Argon2id(SO PIN) (policy-checked). */
mt_status mt_store_org_create(mt_store *store, const char *name, const mt_secret *so_pin,
                              int64_t *org_id);
/* name NULL: the only organisation (MT_ERR_INVALID "--org is required" when
 * there are several, MT_ERR_NOT_FOUND when none). */
mt_status mt_store_org_find(mt_store *store, const char *name, mt_org **out);
mt_status mt_store_org_list(mt_store *store, mt_org **out, size_t *n);
void mt_org_free(mt_org *org);
void mt_org_list_free(mt_org *orgs, size_t n);
/* Every SO PIN check (here, mt_store_so_set_pin, mt_store_token_init_pin,
 * mt_store_org_export_recovery_key) is a counted attempt, as user logins are
 * (mt_store_token_login): MT_ERR_PIN_LOCKED once `so_pin_max_failures` wrong
 * SO PINs follow each other, until mt_store_org_unlock_so.  After a wrong SO
 * PIN the next one waits 1 s, then 2, 4... up to `so_pin_max_delay` before it
 * is checked (these calls sleep). */
mt_status mt_store_so_check(mt_store *store, int64_t org_id, const mt_secret *so_pin);
mt_status mt_store_so_set_pin(mt_store *store, int64_t org_id, const mt_secret *old_so_pin,
                              const mt_secret *new_so_pin);
/* Added for locked SO PINs: unlocks with the organisation's recovery key file
 * (as written by mt_store_org_export_recovery_key), which stands for the SO
 * PIN (another organisation's key: MT_ERR_PIN_INCORRECT); with new_so_pin
 * (policy-checked), also sets a new SO PIN.  Records an audit event. */
mt_status mt_store_org_unlock_so(mt_store *store, int64_t org_id, const char *recovery_key_file,
                                 const mt_secret *new_so_pin);
/* Creates a store key file (config key `store_key_file`): 32 random bytes as
 * 64 hex digits in a new file created 0600; an existing file is refused. */
mt_status mt_store_key_file_create(const char *path);
/* Added for gateway mode: writes the organisation's recovery secret (64 hex
 * digits) to a new file created 0600, for the `recovery_key_file` config key;
 * needs the SO PIN, refuses an existing file, records an audit event. */
mt_status mt_store_org_export_recovery_key(mt_store *store, int64_t org_id,
                                           const mt_secret *so_pin, const char *path);

/* Added for the authentication of public keys: checks everything the SO
 * PIN can vouch for.  Opens the recovery secret with the SO PIN (a counted
 * attempt; a recovery public key that is not the secret's, or that fails
 * its tag, is MT_ERR_TAMPERED and ends the check), then for every token:
 * its public key against its tag or the importer's record, its secret (from
 * its recovery seal) against its public key, every key sealed to it against
 * its certificate (and renewal candidates against theirs), and the salt and
 * Argon2id limits of its PIN.  Every mismatch is a finding; the call returns
 * MT_OK with the report (and an "org.verify" event) unless it could not run.
 * MT_VERIFY_ADOPT (`org rewrap`): rows without a tag (a store key added
 * later) or not in the importer's record, whose checks all pass, are tagged
 * and recorded; the SO PIN is wrapped again under the configured limits and
 * store key (any SO use does that). */
typedef struct mt_verify_finding {
    char *what;               /* "token-key", "token-secret", "sealed-key", "candidate-key", "pin-kdf" */
    char *subject;            /* the token's email */
    int64_t token_id;
    int64_t cert_id;          /* sealed-key: the certificate; candidate-key: the renewal */
    char *message;
} mt_verify_finding;

typedef struct mt_verify_report {
    size_t tokens;            /* tokens checked */
    size_t keys;              /* sealed keys and candidates opened and checked */
    size_t untagged;          /* rows without a tag while a store key is configured */
    size_t unrecorded;        /* keys neither tagged nor in the importer's record */
    size_t unkeyed;           /* PIN wrappings made without the configured store key */
    size_t adopted;           /* MT_VERIFY_ADOPT: rows tagged and recorded */
    mt_verify_finding *findings;
    size_t n_findings;
} mt_verify_report;

#define MT_VERIFY_ADOPT 1u
mt_status mt_store_org_verify(mt_store *store, int64_t org_id, const mt_secret *so_pin,
                              unsigned flags, mt_verify_report **out);
void mt_verify_report_free(mt_verify_report *report);

/* ----------------------------------------------------- stored certificates */

typedef enum mt_cert_kind {
    MT_CERT_PEM = 0, /* public certificate only */
    MT_CERT_P12 = 1  /* came with a private key, kept sealed */
} mt_cert_kind;

typedef struct mt_cert {
    int64_t id;
    int64_t org_id;
    mt_cert_kind kind;
    char *friendly_name;
    char *description;
    mt_cert_info *info;
    mt_blob *chain;       /* DER issuer certificates, leaf-most first */
    size_t n_chain;
    bool has_private_key;
    int64_t created_at;
    int64_t updated_at;
} mt_cert;

void mt_cert_free(mt_cert *cert);
void mt_cert_list_free(mt_cert **certs, size_t n);

/* Stores one parsed entry.  The private key (if any) is sealed to the token
 * key of each email the certificate names (tokens are created on demand;
 * no PIN needed); a certificate naming no email is refused a key.  A chain
 * that stops short of a root is completed from the CA certificates already
 * in the organisation.  Importing a certificate that is already there (same
 * SHA-256 in the organisation) sets *created = false and changes nothing,
 * except that it gains the key when it was stored public-only, and the
 * longer chain when the entry brings one. */
mt_status mt_store_cert_import(mt_store *store, int64_t org_id, const mt_parsed_entry *entry,
                               const char *friendly_name, const char *description,
                               int64_t *cert_id, bool *created);

/* What mt_store_cert_import_ex did. */
typedef struct mt_cert_import_result {
    int64_t cert_id;
    bool created;
    bool key_added;       /* an existing certificate gained its private key */
    bool chain_added;     /* an existing certificate gained a longer chain */
    size_t n_chain;       /* issuer certificates stored with it now */
    size_t n_chain_from_store; /* of which found among the stored CA certificates */
    size_t n_extended;    /* (authority entries) stored certificates whose chain it extended */
} mt_cert_import_result;

mt_status mt_store_cert_import_ex(mt_store *store, int64_t org_id, const mt_parsed_entry *entry,
                                  const char *friendly_name, const char *description,
                                  mt_cert_import_result *result);
mt_status mt_store_cert_get(mt_store *store, int64_t cert_id, mt_cert **out);
mt_status mt_store_cert_get_by_fingerprint(mt_store *store, int64_t org_id,
                                           const uint8_t sha256[32], mt_cert **out);

typedef struct mt_cert_query {
    int64_t org_id;        /* required */
    const char *email;     /* certificates naming this email, or NULL */
    int64_t expiring_before; /* not_after < this (Unix time), or 0 */
    int kind;              /* -1 any, else mt_cert_kind */
    size_t limit;          /* 0: no limit */
    size_t offset;
} mt_cert_query;

mt_status mt_store_cert_list(mt_store *store, const mt_cert_query *query, mt_cert ***out,
                             size_t *n, size_t *total);
/* NULL leaves a field unchanged; "" clears it.  Validates UTF-8 and length. */
mt_status mt_store_cert_update(mt_store *store, int64_t cert_id, const char *friendly_name,
                               const char *description);
/* Deletes a certificate that no account references (MT_ERR_CONFLICT otherwise). */
mt_status mt_store_cert_delete(mt_store *store, int64_t cert_id);

/* ------------------------------------------------------------------ tokens */

/* A token is the key pair that seals an email's private keys; it exists
 * from the first key imported for that email, outlives a deleted account
 * (so slot numbers stay stable) and has a persistent id. */
typedef struct mt_token {
    int64_t id;             /* persistent, never reused; slot IDs derive from it */
    int64_t org_id;
    char *org_name;
    char *email;
    bool has_account;       /* false: no account (deleted or not yet created) */
    bool internal;          /* the account's primary has a private key */
    bool pin_set;           /* a user PIN has been set */
    unsigned failed_logins;
    unsigned max_failures;  /* 0: never locks */
    size_t n_private_keys;  /* keys among the account's certificates */
    int64_t updated_at;
    unsigned so_failed_logins; /* the organisation's SO PIN counter and limit */
    unsigned so_max_failures;
} mt_token;

/* Every token, in id order (the PKCS#11 module filters them). */
mt_status mt_store_token_list(mt_store *store, mt_token **out, size_t *n);
mt_status mt_store_token_get(mt_store *store, int64_t token_id, mt_token **out);
mt_status mt_store_token_find(mt_store *store, int64_t org_id, const char *email, mt_token **out);
void mt_token_free(mt_token *token);
void mt_token_list_free(mt_token *tokens, size_t n);

/* Added for the PKCS#11 module's slot list: what listing and filtering slots
 * needs, every token in id order from sequential index scans (no lookup per
 * token), without the per-token details of mt_token (PIN state, counters,
 * key count: read them with mt_store_token_get when a token is used).
 * `internal` is read only when asked (it costs a look at each account's
 * primary certificate).  The strings live in one block the list owns. */
typedef struct mt_token_brief {
    int64_t id;
    int64_t org_id;
    const char *org_name;
    const char *email;
    bool has_account;
    bool internal;          /* with_internal: the account's primary has a private key */
} mt_token_brief;

typedef struct mt_token_briefs {
    mt_token_brief *items;
    size_t n;
    char *strings;          /* the block org_name and email point into */
} mt_token_briefs;

mt_status mt_store_token_briefs(mt_store *store, bool with_internal, mt_token_briefs *out);
void mt_token_briefs_clear(mt_token_briefs *list);

/* How a token presents itself, shared by the PKCS#11 module and `mailtoken
 * uri` so both always agree.  Label: the email when it fits 32 bytes, else a
 * UTF-8-safe truncation ending in "~" and 6 hex digits of a hash of the
 * email; NUL-terminated, not padded.  Serial: 16 hex digits derived from the
 * organisation and token id, never empty. */
void mt_token_label(const char *email, char label[33]);
void mt_token_serial(int64_t org_id, int64_t token_id, char serial[17]);

/* User login: Argon2id of the PIN unwraps the token secret.  The attempt is
 * counted before the PIN is checked, in one write transaction (refused with
 * MT_ERR_PIN_LOCKED when max_failures attempts are already counted, else
 * counted), so that parallel attempts never check more PINs than the limit;
 * a right PIN sets the counter back to 0, a wrong one is MT_ERR_PIN_INCORRECT.
 * Failures, refusals and the lock are audit events.  A read-only store counts
 * through a read-write connection of its own; when the attempt cannot be
 * written (a file this user cannot write) the login is refused with that
 * error (MT_ERR_READONLY...), unless the config says `pin_counter =
 * best-effort`.  PIN checks are never made inside an explicit transaction
 * (MT_ERR_INTERNAL): their count must stay whatever the caller rolls back.
 * Counting changes no token's objects: mt_store_generation stays.  With a
 * recovery key file configured (gateway mode), pin may be NULL (not counted). */
mt_status mt_store_token_login(mt_store *store, int64_t token_id, const mt_secret *pin,
                               mt_secret **token_secret);
/* Opens the sealed private key of a certificate of this token: PKCS#8 DER.
 * The sealed header binds key and certificate: a mismatch is MT_ERR_CRYPTO. */
mt_status mt_store_key_open(mt_store *store, const mt_secret *token_secret, int64_t cert_id,
                            mt_secret **pkcs8);
/* The sealed keys of a logged-in token, read in one query when it logs in,
 * so that its signatures and decryptions never wait for the store (a
 * server gone away): they stay sealed in memory until opened, and each is
 * checked against its certificate when opened as mt_store_key_open checks
 * it.  MT_ERR_INVALID for a token_secret that is no token secret. */
typedef struct mt_sealed_keys mt_sealed_keys;
mt_status mt_store_sealed_keys(mt_store *store, const mt_secret *token_secret,
                               mt_sealed_keys **out);
/* Opens the key of certificate cert_id from those read: MT_ERR_NOT_FOUND when
 * the token had none for it then (a certificate that came later: ask the
 * store, mt_store_key_open).  A key that fails its check is MT_ERR_TAMPERED,
 * recorded through store (when not NULL) as mt_store_key_open records it. */
mt_status mt_sealed_keys_open(mt_store *store, const mt_sealed_keys *keys,
                              const mt_secret *token_secret, int64_t cert_id, mt_secret **pkcs8);
size_t mt_sealed_keys_count(const mt_sealed_keys *keys);
void mt_sealed_keys_free(mt_sealed_keys *keys);
/* Changes the user PIN (C_SetPIN): old PIN required, new PIN policy-checked. */
mt_status mt_store_token_set_pin(mt_store *store, int64_t token_id, const mt_secret *old_pin,
                                 const mt_secret *new_pin);
/* Sets or resets the user PIN with the SO PIN (C_InitPIN, `account reset-pin`);
 * also clears the failure counter. */
mt_status mt_store_token_init_pin(mt_store *store, int64_t token_id, const mt_secret *so_pin,
                                  const mt_secret *new_pin);
/* Added for a suspected compromise of a token's key: a new key pair for the
 * token (same id, same slot); every key sealed to it, and its renewal
 * candidates, opened with the old secret through the recovery key (SO PIN)
 * and sealed to the new one, in one transaction.  The user PIN goes (it
 * wrapped the old secret): the SO sets a new one.  *n_keys: the keys sealed
 * again.  Audit event "token.rekey". */
mt_status mt_store_token_rekey(mt_store *store, int64_t token_id, const mt_secret *so_pin,
                               size_t *n_keys);
/* Checks a PIN against the configured policy (names the rule broken):
 * length (pin_min_length), digits only, and a compact blocklist of common
 * passwords shipped with the library (MT_ERR_PIN_POLICY). */
mt_status mt_pin_policy_check(const mt_config *config, const mt_secret *pin);
/* The same rules for the SO PIN, with so_pin_min_length (default 12). */
mt_status mt_so_pin_policy_check(const mt_config *config, const mt_secret *pin);

/* ---------------------------------------------------------------- accounts */

typedef struct mt_account {
    int64_t org_id;
    char *email;            /* lower-case */
    int64_t token_id;
    int64_t primary_cert_id;
    int64_t *history;       /* certificate ids, oldest first, primary included */
    size_t n_history;
    bool internal;          /* primary has a private key */
    int64_t created_at;
    int64_t updated_at;
} mt_account;

void mt_account_free(mt_account *account);
void mt_account_list_free(mt_account **accounts, size_t n);

/* Rules (messages as the managed-store API words them):
 *  - email valid and unique in the organisation (MT_ERR_CONFLICT);
 *  - primaryCertificateId must be present in certificateHistory;
 *  - every certificate exists in the organisation and names the email. */
mt_status mt_store_account_create(mt_store *store, int64_t org_id, const char *email,
                                  int64_t primary_cert_id, const int64_t *history,
                                  size_t n_history);
mt_status mt_store_account_get(mt_store *store, int64_t org_id, const char *email,
                               mt_account **out);
mt_status mt_store_account_get_by_token(mt_store *store, int64_t token_id, mt_account **out);
mt_status mt_store_account_list(mt_store *store, int64_t org_id, size_t limit, size_t offset,
                                mt_account ***out, size_t *n, size_t *total);
/* The certificate must already be in the history.  The primary of an
 * internal account (its primary has a private key) must keep one: a
 * public-only certificate is refused (MT_ERR_INVALID, the API's rule)... */
mt_status mt_store_account_set_primary(mt_store *store, int64_t org_id, const char *email,
                                       int64_t cert_id);
/* ...unless flags has MT_PRIMARY_EXTERNAL: the caller means to turn the
 * account into an external one, which no longer signs or decrypts. */
#define MT_PRIMARY_EXTERNAL 1u
mt_status mt_store_account_set_primary_ex(mt_store *store, int64_t org_id, const char *email,
                                          int64_t cert_id, unsigned flags);
/* Idempotent: adding a certificate already in the history changes nothing. */
mt_status mt_store_account_add_to_history(mt_store *store, int64_t org_id, const char *email,
                                          int64_t cert_id);
/* Takes a certificate out of the history (it stays in the store).  Never the
 * primary (MT_ERR_INVALID); one not in the history changes nothing.  Audit
 * event "account.remove-from-history". */
mt_status mt_store_account_remove_from_history(mt_store *store, int64_t org_id, const char *email,
                                               int64_t cert_id);
/* The account's token stays (slot numbers), but loses its user PIN and
 * failure counter, so that the next holder of the address gets a PIN from
 * the SO and never the previous one.  purge: also delete the account's
 * certificates no other account uses. */
mt_status mt_store_account_delete(mt_store *store, int64_t org_id, const char *email,
                                  bool purge);

/* ------------------------------------------------------------------ events */

typedef struct mt_event {
    int64_t id;
    int64_t at;          /* Unix time */
    int64_t org_id;      /* 0 when not tied to one */
    char *actor;
    char *action;        /* "cert.import", "account.create", "account.set-primary", ... */
    char *subject;       /* email, certificate id, profile name */
    char *detail;        /* JSON object text */
} mt_event;

typedef struct mt_event_query {
    int64_t org_id;      /* 0: any */
    const char *action;  /* prefix match ("account." ...), or NULL */
    const char *subject; /* exact, or NULL */
    int64_t since;       /* at >= since, or 0 */
    size_t limit;        /* 0: no limit; newest first */
    size_t offset;       /* skip the newest `offset` matches */
} mt_event_query;

mt_status mt_store_event_list(mt_store *store, const mt_event_query *query, mt_event **out,
                              size_t *n);
/* Added for the API's paged audit trail: how many events match (limit and
 * offset ignored). */
mt_status mt_store_event_count(mt_store *store, const mt_event_query *query, size_t *total);
void mt_event_list_free(mt_event *events, size_t n);

/* ----------------------------------------------------------------- summary */

typedef struct mt_store_stats {
    size_t organizations;
    size_t accounts;
    size_t internal_accounts;
    size_t certificates;
    size_t certificates_with_key;
    size_t tokens;
    size_t pending_renewals;
} mt_store_stats;

mt_status mt_store_stats_get(mt_store *store, int64_t org_id, mt_store_stats *out);

/* ---------------------------------------------------------- CA profiles */

typedef struct mt_ca_profile {
    int64_t id;
    int64_t org_id;
    char *name;
    char *kind;               /* "sectigo" | "internetx" */
    char *url;
    char *credentials_file;   /* 0600 file, read when used, never copied */
    char *options;            /* JSON object text ("{}" when none) */
    int64_t created_at;
} mt_ca_profile;

mt_status mt_store_ca_add(mt_store *store, const mt_ca_profile *profile, int64_t *id);
mt_status mt_store_ca_get(mt_store *store, int64_t org_id, const char *name, mt_ca_profile **out);
mt_status mt_store_ca_list(mt_store *store, int64_t org_id, mt_ca_profile **out, size_t *n);
mt_status mt_store_ca_remove(mt_store *store, int64_t org_id, const char *name);
void mt_ca_profile_free(mt_ca_profile *profile);
void mt_ca_profile_list_free(mt_ca_profile *profiles, size_t n);

/* ---------------------------------------------------------------- renewals */

/* Persistent renewal state machine (DESIGN.md "CA renewals"). */
typedef enum mt_renewal_state {
    MT_RENEWAL_PLANNED = 0,
    MT_RENEWAL_KEY_READY,        /* candidate key sealed beside the current key */
    MT_RENEWAL_CSR_READY,        /* CSR stored */
    MT_RENEWAL_SUBMIT_INTENT,    /* about to send the order: outcome unknown until SUBMITTED */
    MT_RENEWAL_SUBMITTED,        /* CA handle stored */
    MT_RENEWAL_PENDING,          /* waiting for issuance */
    MT_RENEWAL_FETCHED,          /* certificate collected and checked */
    MT_RENEWAL_INSTALLED,        /* in the history and primary */
    MT_RENEWAL_REVOKE_PENDING,   /* old order to revoke */
    MT_RENEWAL_DONE,
    MT_RENEWAL_NEEDS_ATTENTION,  /* stopped: an operator must act */
    MT_RENEWAL_FAILED,           /* terminal */
    MT_RENEWAL_CANCELLED         /* terminal */
} mt_renewal_state;

const char *mt_renewal_state_name(mt_renewal_state state); /* "key-ready", ... */
bool mt_renewal_state_is_active(mt_renewal_state state);   /* not DONE/FAILED/CANCELLED */

typedef struct mt_renewal {
    int64_t id;
    int64_t org_id;
    char *email;
    char *ca_name;
    char *key_spec;              /* "rsa2048", "rsa3072", "ec-p256", "ec-p384" */
    bool revoke_old;
    mt_renewal_state state;
    int64_t old_cert_id;         /* primary when the renewal started */
    int64_t new_cert_id;         /* once INSTALLED */
    uint8_t *candidate_spki;     /* public half of the sealed candidate key */
    size_t candidate_spki_len;
    uint8_t *csr_der;
    size_t csr_der_len;
    char *attempt_id;            /* random id recorded with SUBMIT_INTENT */
    char *order_ref;             /* CA order number / job id */
    char *order_ref2;            /* second CA handle (certificate id, new order number) */
    char *ca_status;             /* last status the CA reported */
    uint8_t *cert_der;           /* collected certificate (FETCHED) */
    size_t cert_der_len;
    char *chain_pem;             /* collected chain */
    unsigned attempts;
    int64_t next_attempt_at;     /* Unix time; 0: now */
    char *last_error;
    char *driver_state;          /* JSON object text kept for the driver ("{}") */
    int64_t created_at;
    int64_t updated_at;
} mt_renewal;

void mt_renewal_free(mt_renewal *renewal);
void mt_renewal_list_free(mt_renewal **renewals, size_t n);

/* MT_ERR_CONFLICT if the account already has an active renewal. */
mt_status mt_store_renewal_create(mt_store *store, int64_t org_id, const char *email,
                                  const char *ca_name, const char *key_spec, bool revoke_old,
                                  int64_t *renewal_id);
mt_status mt_store_renewal_get(mt_store *store, int64_t renewal_id, mt_renewal **out);
/* The active renewal of an account (MT_ERR_NOT_FOUND when none). */
mt_status mt_store_renewal_get_active(mt_store *store, int64_t org_id, const char *email,
                                      mt_renewal **out);
/* active_only: every renewal not DONE/FAILED/CANCELLED; email may be NULL. */
mt_status mt_store_renewal_list(mt_store *store, int64_t org_id, const char *email,
                                 bool active_only, mt_renewal ***out, size_t *n);
/* Writes the mutable fields (state, csr, attempt_id, order refs, ca_status,
 * cert, chain, attempts, next_attempt_at, last_error, driver_state) and an
 * audit event "renewal.<state>", in one transaction. */
mt_status mt_store_renewal_update(mt_store *store, const mt_renewal *renewal);
/* Seals the candidate PKCS#8 key to the account's token key (no PIN) and
 * records its SPKI; state becomes KEY_READY. */
mt_status mt_store_renewal_set_candidate_key(mt_store *store, int64_t renewal_id,
                                             const mt_secret *pkcs8);
/* Checks the issued certificate (its key is the candidate key, it names the
 * email), stores it with the candidate key and chain, adds it to the history
 * and makes it primary, state INSTALLED: one transaction.  Idempotent: a
 * certificate already stored (same fingerprint) is reused. */
mt_status mt_store_renewal_install(mt_store *store, int64_t renewal_id, const uint8_t *cert_der,
                                   size_t cert_der_len, const mt_blob *chain, size_t n_chain);

/* CA messages (InterNetX poll queue): stored before they are confirmed. */
mt_status mt_store_ca_message_save(mt_store *store, int64_t org_id, const char *profile,
                                   const char *message_id, const char *body_json,
                                   bool *was_new);

/* ---------------------------------------------------------------- API keys */

/* Bearer keys of `mailtoken serve`, one organisation each.  The store keeps
 * a hash of each key only: the key itself exists once, in the mt_secret
 * returned at creation. */
typedef enum mt_api_scope {
    MT_SCOPE_READ = 0,  /* reads */
    MT_SCOPE_WRITE = 1, /* reads, uploads, accounts, renewals */
    MT_SCOPE_ADMIN = 2  /* everything: deletions, the audit trail */
} mt_api_scope;

const char *mt_api_scope_name(mt_api_scope scope); /* "read", "write", "admin" */
/* MT_ERR_INVALID naming the value when it is not read, write or admin. */
mt_status mt_api_scope_parse(const char *text, mt_api_scope *out);

typedef struct mt_api_key {
    int64_t id;
    int64_t org_id;
    char *org_name;
    char *name;          /* label given at creation, or NULL */
    mt_api_scope scope;
    char *prefix;        /* the key's first characters, to recognise it by */
    int64_t created_at;
    int64_t expires_at;  /* Unix time; 0: never */
    int64_t revoked_at;  /* Unix time; 0: not revoked */
} mt_api_key;

/* Makes a random key ("mtk_" and 43 base64url characters), stores its hash
 * and an audit event; *key is the key, to show once.  expires_at 0: never,
 * else it must lie in the future. */
mt_status mt_store_api_key_create(mt_store *store, int64_t org_id, mt_api_scope scope,
                                  const char *name, int64_t expires_at, int64_t *key_id,
                                  mt_secret **key);
/* The key whose hash matches (MT_ERR_NOT_FOUND "unknown API key").  Revoked
 * and expired keys are returned too: the caller refuses them, saying why. */
mt_status mt_store_api_key_find(mt_store *store, const char *key, size_t key_len,
                                mt_api_key **out);
/* org_id 0: every organisation; in id order. */
mt_status mt_store_api_key_list(mt_store *store, int64_t org_id, bool include_revoked,
                                mt_api_key **out, size_t *n);
/* MT_ERR_NOT_FOUND (not in the organisation), MT_ERR_CONFLICT (already revoked). */
mt_status mt_store_api_key_revoke(mt_store *store, int64_t org_id, int64_t key_id);
void mt_api_key_free(mt_api_key *key);
void mt_api_key_list_free(mt_api_key *keys, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* MAILTOKEN_STORE_H */
