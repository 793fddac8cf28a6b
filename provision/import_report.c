/* What `cert import` says: per file (certificates, warnings, skipped
 * entries) and the summary of a run, as text or JSON. */
#include "import.h"

void mt_import_count(mt_import_tally *t, mt_file_outcome outcome, json_t *result)
{
    size_t n_skipped = json_array_size(json_object_get(result, "skipped"));
    t->counts[outcome]++;
    t->skipped_entries += n_skipped;
    t->partial += n_skipped > 0;
}

static void report_cert(json_t *c, const char *file)
{
    json_t *emails = json_object_get(c, "emails");
    bool created = json_is_true(json_object_get(c, "created"));
    printf("%-8s #%-5lld %-32s %s%s%s", created ? "created" : "present",
           (long long)json_integer_value(json_object_get(c, "id")),
           json_array_size(emails) ? json_string_value(json_array_get(emails, 0)) : "-", file,
           json_is_true(json_object_get(c, "hasPrivateKey")) ? " (with key)" : "",
           json_is_true(json_object_get(c, "authority")) ? " (CA certificate)" : "");
    json_int_t n_chain = json_integer_value(json_object_get(c, "chainStored"));
    if (n_chain)
        printf(" +%lld chain", (long long)n_chain);
    if (json_is_true(json_object_get(c, "keyAdded")))
        printf(", key added");
    if (json_is_true(json_object_get(c, "chainAdded")))
        printf(", chain added");
    json_int_t extended = json_integer_value(json_object_get(c, "chainsExtended"));
    if (extended)
        printf(", completes the chain of %lld stored certificate%s", (long long)extended,
               extended == 1 ? "" : "s");
    printf("\n");
    size_t k;
    json_t *chain_cert;
    json_array_foreach(json_object_get(c, "chain"), k, chain_cert)
    {
        printf("         chain: %s\n", json_string_value(json_object_get(chain_cert, "subject")));
    }
}

/* Skipped entries and warnings go to stderr, whatever the mode: they need a look. */
static void report_problems(mt_cli *cli, json_t *result)
{
    size_t i;
    json_t *c;
    const char *file = json_string_value(json_object_get(result, "file"));
    json_array_foreach(json_object_get(result, "warnings"), i, c)
    {
        fprintf(stderr, "%s: warning: %s\n", cli->prog, json_string_value(c));
    }
    json_array_foreach(json_object_get(result, "skipped"), i, c)
    {
        const char *subject = json_string_value(json_object_get(c, "subject"));
        const char *friendly = json_string_value(json_object_get(c, "friendlyName"));
        fprintf(stderr, "%s: %s: skipped %s%s%s%s%s%s%s%s: %s\n", cli->prog, file,
                subject ? "certificate \"" : "private key", subject ? subject : "",
                subject ? "\" (serial " : "", subject ? json_string_value(json_object_get(c, "serial")) : "",
                subject ? ")" : "", friendly ? " named \"" : "", friendly ? friendly : "",
                friendly ? "\"" : "", json_string_value(json_object_get(c, "reason")));
    }
}

void mt_import_report_file(mt_cli *cli, bool bulk, json_t *result)
{
    if (cli->json || cli->quiet)
        return;
    report_problems(cli, result);
    if (bulk && cli->is_tty)
        return; /* the progress line and the summary say it */
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(result, "certificates"), i, c)
    {
        report_cert(c, json_string_value(json_object_get(result, "file")));
    }
    json_t *account;
    json_array_foreach(json_object_get(result, "accounts"), i, account)
    {
        const char *what = json_is_true(json_object_get(account, "created")) ? "created"
                           : json_is_true(json_object_get(account, "madePrimary"))
                               ? "new primary"
                           : json_is_true(json_object_get(account, "addedToHistory"))
                               ? "added to history"
                               : "unchanged";
        printf("account  %s: %s\n", json_string_value(json_object_get(account, "email")), what);
    }
}

/* The summary stays under --quiet: it is the result, not a note. */
void mt_import_print_summary(mt_cli *cli, const mt_file_list *list, const mt_import_tally *t,
                             json_t *files)
{
    if (cli->json)
        return;
    size_t total = list->n;
    printf("%zu file%s: %zu imported, %zu already present, %zu failed", total,
           total == 1 ? "" : "s", t->counts[MT_FILE_IMPORTED], t->counts[MT_FILE_PRESENT],
           t->counts[MT_FILE_FAILED]);
    if (t->skipped_entries)
        printf(", %zu entr%s skipped", t->skipped_entries,
               t->skipped_entries == 1 ? "y" : "ies");
    size_t other = list->skipped + t->counts[MT_FILE_SKIPPED];
    if (other)
        printf(" (%zu other file%s skipped)", other, other == 1 ? "" : "s");
    printf("\n");
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        json_t *error = json_object_get(f, "error");
        if (error)
            printf("  failed: %s\n", json_string_value(json_object_get(error, "message")));
        else if (json_array_size(json_object_get(f, "skipped")))
            printf("  partial: %s: %zu entr%s skipped\n",
                   json_string_value(json_object_get(f, "file")),
                   json_array_size(json_object_get(f, "skipped")),
                   json_array_size(json_object_get(f, "skipped")) == 1 ? "y" : "ies");
        else if (json_object_get(f, "reason"))
            printf("  skipped: %s: %s\n", json_string_value(json_object_get(f, "file")),
                   json_string_value(json_object_get(f, "reason")));
    }
    for (size_t k = 0; k < list->skipped; k++)
        printf("  skipped: %s: %s\n", list->skipped_files[k].path,
               list->skipped_files[k].reason);
}

json_t *mt_import_summary_json(const mt_file_list *list, const mt_import_tally *t)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "files", json_integer((json_int_t)list->n));
    json_object_set_new(obj, "imported", json_integer((json_int_t)t->counts[MT_FILE_IMPORTED]));
    json_object_set_new(obj, "present", json_integer((json_int_t)t->counts[MT_FILE_PRESENT]));
    json_object_set_new(obj, "failed", json_integer((json_int_t)t->counts[MT_FILE_FAILED]));
    json_object_set_new(obj, "partial", json_integer((json_int_t)t->partial));
    json_object_set_new(obj, "skippedEntries", json_integer((json_int_t)t->skipped_entries));
    json_object_set_new(obj, "skipped", json_integer((json_int_t)(list->skipped +
                                                                  t->counts[MT_FILE_SKIPPED])));
    json_t *skipped = json_array();
    for (size_t i = 0; i < list->skipped; i++) {
        json_t *f = json_object();
        json_object_set_new(f, "file", json_string(list->skipped_files[i].path));
        json_object_set_new(f, "reason", json_string(list->skipped_files[i].reason));
        json_array_append_new(skipped, f);
    }
    json_object_set_new(obj, "skippedFiles", skipped);
    return obj;
}

