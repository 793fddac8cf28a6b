/*
 * Prints "EMAIL FAILED_LOGINS" for every token of a store, read through the
 * store's public API: the client tests check that a client logged in to the
 * token it needed and tried no PIN on any other.
 */
#include <stdio.h>

#include "mailtoken/store.h"

int main(int argc, char **argv)
{
    mt_store *store = NULL;
    mt_token *tokens = NULL;
    size_t n_tokens = 0;
    int rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: %s STORE\n", argv[0]);
        return 2;
    }
    if (mt_store_open(argv[1], NULL, MT_OPEN_READONLY, &store) != MT_OK ||
        mt_store_token_list(store, &tokens, &n_tokens) != MT_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], mt_errmsg());
        goto out;
    }
    for (size_t i = 0; i < n_tokens; i++)
        printf("%s %u\n", tokens[i].email, tokens[i].failed_logins);
    rc = 0;
out:
    mt_token_list_free(tokens, n_tokens);
    mt_store_close(store);
    return rc;
}
