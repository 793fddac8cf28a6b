/* Fuzz target for mt_cert_parse (libFuzzer entry point).  Each input is
 * parsed with no password, the empty password and the password the replay
 * driver sets (the .pass file beside a corpus file). */
#include "fuzz_cert_parse.h"

#include <string.h>

const char *mt_fuzz_password;

static void parse_once(const uint8_t *data, size_t size, const char *password)
{
    mt_parsed *parsed = NULL;
    mt_status st = mt_cert_parse(data, size, "fuzz-input", password,
                                 password ? strlen(password) : 0, &parsed);
    if (st == MT_OK) {
        /* touch what a caller reads, so a bad pointer shows */
        for (size_t i = 0; i < parsed->n_entries; i++) {
            const mt_parsed_entry *entry = &parsed->entries[i];
            volatile uint8_t sink = entry->cert->sha256[0];
            for (size_t e = 0; e < entry->cert->n_emails; e++)
                sink ^= (uint8_t)strlen(entry->cert->emails[e]);
            if (entry->pkcs8 && entry->pkcs8->len)
                sink ^= entry->pkcs8->data[entry->pkcs8->len - 1];
            (void)sink;
        }
    }
    mt_parsed_free(parsed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse_once(data, size, NULL);
    parse_once(data, size, "");
    if (mt_fuzz_password)
        parse_once(data, size, mt_fuzz_password);
    return 0;
}
