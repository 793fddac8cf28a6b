/* crypto-keyid FILE [PASSFILE]: prints "KEY_ID_HEX EMAIL" for every entry of
 * a certificate file, for comparison with the key IDs NSS computes. */
#include "mailtoken/store.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    mt_secret *password = NULL;
    mt_parsed *parsed = NULL;
    int rc = 1;
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: crypto-keyid FILE [PASSFILE]\n");
        return 2;
    }
    if (argc == 3 && mt_secret_from_file(argv[2], &password) != MT_OK)
        goto out;
    if (mt_cert_parse_file(argv[1], password, &parsed) != MT_OK)
        goto out;
    for (size_t i = 0; i < parsed->n_entries; i++) {
        for (size_t b = 0; b < MT_KEY_ID_LEN; b++)
            printf("%02x", parsed->entries[i].cert->key_id[b]);
        printf(" %s\n", parsed->entries[i].cert->emails[0]);
    }
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "crypto-keyid: %s\n", mt_errmsg());
    mt_parsed_free(parsed);
    mt_secret_free(password);
    return rc;
}
