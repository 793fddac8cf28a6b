/* Which accounts become slots: config filter, $MAILTOKEN_ACCOUNTS and the
 * C_Initialize reserved string, intersected. */
#include "init.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

static bool filter_word(const char *word)
{
    static const char *const keys[] = {"org=", "emails=", "kind=", "accounts="};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strncmp(word, keys[i], strlen(keys[i])) == 0)
            return true;
    return false;
}

/* The string is split on blanks; words that are filter parts
 * (org=, emails=, kind=, or accounts=<filter>, optionally quoted) narrow the
 * filter, other words (NSS module parameters) are ignored. */
CK_RV mt_filter_from_init_string(const char *text, mt_account_filter *out)
{
    char *copy = NULL, *save = NULL;
    CK_RV rv = CKR_OK;
    memset(out, 0, sizeof(*out));
    if (!text || !*text)
        return CKR_OK;
    copy = strndup(text, 4096);
    if (!copy)
        return CKR_HOST_MEMORY;
    for (char *word = strtok_r(copy, " \t\r\n", &save); word; word = strtok_r(NULL, " \t\r\n", &save)) {
        mt_account_filter part = {0}, both = {0};
        size_t len = strlen(word);
        if (!filter_word(word))
            continue;
        if (strncmp(word, "accounts=", 9) == 0)
            word += 9, len -= 9;
        if (len >= 2 && (word[0] == '\'' || word[0] == '"') && word[len - 1] == word[0]) {
            word[len - 1] = '\0';
            word++;
        }
        if (mt_filter_parse(word, &part) != MT_OK) {
            rv = CKR_ARGUMENTS_BAD;
            goto out;
        }
        mt_status st = mt_filter_intersect(out, &part, &both);
        mt_filter_clear(&part);
        if (st != MT_OK) {
            rv = CKR_HOST_MEMORY;
            goto out;
        }
        mt_filter_clear(out);
        *out = both;
    }
out:
    if (rv != CKR_OK)
        mt_filter_clear(out);
    free(copy);
    return rv;
}

bool mt_filter_accepts(const mt_account_filter *filter, const mt_token_brief *token)
{
    if (filter->org && (!token->org_name || strcmp(filter->org, token->org_name) != 0))
        return false;
    if (filter->kind == MT_FILTER_INTERNAL && !token->internal)
        return false;
    if (filter->kind == MT_FILTER_EXTERNAL && token->internal)
        return false;
    if (filter->n_email_globs == 0)
        return true;
    for (size_t i = 0; i < filter->n_email_globs; i++)
        if (fnmatch(filter->email_globs[i], token->email, FNM_CASEFOLD) == 0)
            return true;
    return false;
}
