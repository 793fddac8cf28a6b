/* `mailtoken cert import`: one file or a folder, each file in its own
 * transaction, so that a failure or a kill leaves every other file intact. */
#ifndef MT_IMPORT_H
#define MT_IMPORT_H

#include "cli.h"

/* A regular file opened for reading, and its size (errors name the file). */
mt_status mt_file_open(const char *path, int *fd, size_t *size);
/* Reads up to len bytes, fewer only at the end of the file. */
mt_status mt_file_read(int fd, const char *path, uint8_t *buf, size_t len, size_t *got);

/* file,password pairs of a mapping file, held in secret memory. */
typedef struct mt_password_map mt_password_map;

mt_status mt_password_map_load(const char *path, mt_password_map **out);
/* The password for a file, by its path relative to the folder, else by its
 * base name; false when the map has none. */
bool mt_password_map_find(const mt_password_map *map, const char *relative_path,
                          const char **password, size_t *password_len);
void mt_password_map_free(mt_password_map *map);

/* A file of the folder that is not imported, and why. */
typedef struct mt_skipped_file {
    char *path;
    char *reason;
} mt_skipped_file;

/* Regular certificate files under a folder, recursively, sorted by path. */
typedef struct mt_file_list {
    char **paths;     /* folder-joined paths */
    char **key_paths; /* per path: NAME.key imported with NAME.crt/.pem/.cer, or NULL */
    size_t n;
    mt_skipped_file *skipped_files; /* sorted by path */
    size_t skipped;
} mt_file_list;

/* The extensions --dir imports without --all-files, as the docs list them. */
extern const char mt_cert_extension_list[];
/* Whether a file name ends in one of them. */
bool mt_has_cert_extension(const char *name);

mt_status mt_walk_folder(const char *folder, bool all_files, mt_file_list *list);
mt_status mt_file_list_add(mt_file_list *list, const char *path);
mt_status mt_file_list_skip(mt_file_list *list, const char *path, const char *reason);
void mt_file_list_clear(mt_file_list *list);

/* How one import run treats each file. */
typedef struct mt_import_opts {
    const char *friendly_name;
    const char *description;
    bool account_auto;             /* create/update the accounts the certificate names */
    const char *folder;            /* for mapping-file look-ups, or NULL */
    const mt_password_map *map;    /* or NULL */
    mt_secret *password;           /* the one password, or NULL */
    mt_secret_source *password_src; /* where to ask for it when a P12 needs one */
    bool may_prompt;
    bool all_files;                /* --all-files: a file of the folder that is no
                                      certificate file by content is skipped */
} mt_import_opts;

typedef enum mt_file_outcome {
    MT_FILE_IMPORTED = 0, /* at least one certificate created (or gained a key or chain) */
    MT_FILE_PRESENT,      /* every certificate was already there */
    MT_FILE_FAILED,
    MT_FILE_SKIPPED,      /* --all-files: not a certificate file by content */
    MT_FILE_OUTCOMES
} mt_file_outcome;

/* A file read and parsed, not yet stored.  Preparing touches no store and
 * may run on any thread (unless it may prompt for a password). */
typedef struct mt_prepared {
    const char *path;
    const char *key_path; /* a NAME.key read with it, or NULL */
    mt_input_format format;
    mt_parsed *parsed;   /* NULL on failure */
    mt_status status;
    bool not_certificate; /* --all-files: not a certificate file by content (skipped) */
    char message[1024];  /* on failure: names the file */
} mt_prepared;

void mt_import_prepare(mt_cli *cli, mt_import_opts *opts, const char *path,
                       const char *key_path, mt_prepared *out);
void mt_prepared_clear(mt_prepared *prepared);

/* Stores a prepared file in its own transaction.  Returns the outcome and a
 * JSON object describing it (mailtoken(1), "cert import"); on failure
 * *status is the reason and the object's "error" the message. */
mt_file_outcome mt_import_store(mt_store *store, int64_t org_id, const mt_import_opts *opts,
                                mt_prepared *prepared, json_t **result, mt_status *status);

/* Counts of a run (import_report.c). */
typedef struct mt_import_tally {
    size_t counts[MT_FILE_OUTCOMES];
    size_t partial;         /* files with skipped entries */
    size_t skipped_entries;
} mt_import_tally;

/* Counts one file by its outcome and its mt_import_store object. */
void mt_import_count(mt_import_tally *t, mt_file_outcome outcome, json_t *result);
/* Text output of one file: warnings and skipped entries on stderr, then
 * (unless bulk on a terminal, where the progress line stands) what was stored. */
void mt_import_report_file(mt_cli *cli, bool bulk, json_t *result);
/* The closing summary: counts, then each failed, partial and skipped file. */
void mt_import_print_summary(mt_cli *cli, const mt_file_list *list, const mt_import_tally *t,
                             json_t *files);
json_t *mt_import_summary_json(const mt_file_list *list, const mt_import_tally *t);

/* Prepares files[0..n) with `jobs` threads and hands each to `store_one` in
 * order, on the calling thread.  jobs <= 1: one at a time. */
typedef void (*mt_prepared_fn)(void *ctx, size_t index, mt_prepared *prepared);
mt_status mt_import_pipeline(mt_cli *cli, mt_import_opts *opts, const mt_file_list *files,
                             unsigned jobs, mt_prepared_fn store_one, void *ctx);

/* --account auto for one stored certificate: creates the account of each
 * email it names, or adds it to the history and makes it primary when it is
 * newer than the current primary.  Appends {"email", "created",
 * "addedToHistory", "madePrimary"} objects to `accounts`. */
mt_status mt_import_auto_accounts(mt_store *store, int64_t org_id, int64_t cert_id,
                                  const mt_cert_info *info, bool has_key, json_t *accounts);

#endif
