/* Comparing two modules' observations against the accepted differences. */
#include "p11diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void p11d_expected_free(p11d_expected *expected)
{
    for (size_t i = 0; i < expected->n; i++)
        free(expected->patterns[i]);
    free(expected->patterns);
    free(expected->used);
    memset(expected, 0, sizeof(*expected));
}

/* A difference id is a heading "### `pattern`" (see glob_match); the text
 * under it is the reason, for people. */
bool p11d_expected_load(const char *path, p11d_expected *out)
{
    memset(out, 0, sizeof(*out));
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "p11diff: %s: cannot open the expected differences\n", path);
        return false;
    }
    char line[1024];
    bool ok = true;
    unsigned lineno = 0;
    while (ok && fgets(line, sizeof(line), fp)) {
        lineno++;
        if (strncmp(line, "### `", 5) != 0)
            continue;
        char *start = line + 5, *end = strchr(start, '`');
        if (!end || end == start) {
            fprintf(stderr, "p11diff: %s:%u: heading without a `pattern`\n", path, lineno);
            ok = false;
            break;
        }
        char **patterns = realloc(out->patterns, (out->n + 1) * sizeof(*patterns));
        bool *used = realloc(out->used, (out->n + 1) * sizeof(*used));
        if (patterns)
            out->patterns = patterns;
        if (used)
            out->used = used;
        char *pattern = patterns && used ? strndup(start, (size_t)(end - start)) : NULL;
        if (!pattern) {
            ok = false;
            break;
        }
        out->patterns[out->n] = pattern;
        out->used[out->n++] = false;
    }
    fclose(fp);
    if (!ok)
        p11d_expected_free(out);
    return ok;
}

/* `*` matches any run of characters (slashes and brackets included); every
 * other character only itself, so that "obj[cert:*]" reads literally. */
static bool glob_match(const char *pattern, const char *text)
{
    const char *star = NULL, *resume = NULL;
    while (*text) {
        if (*pattern == '*') {
            star = pattern++;
            resume = text;
        } else if (*pattern == *text) {
            pattern++;
            text++;
        } else if (star) {
            pattern = star + 1;
            text = ++resume;
        } else {
            return false;
        }
    }
    while (*pattern == '*')
        pattern++;
    return *pattern == '\0';
}

static bool is_expected(p11d_expected *expected, const char *key)
{
    for (size_t i = 0; i < expected->n; i++) {
        if (glob_match(expected->patterns[i], key)) {
            expected->used[i] = true;
            return true;
        }
    }
    return false;
}

static size_t report(p11d_expected *expected, const char *key, const char *ref,
                     const char *cand, bool verbose)
{
    bool known = is_expected(expected, key);
    if (!known || verbose)
        printf("%s %s\n    reference: %s\n    candidate: %s\n", known ? "EXPECTED" : "DIFF    ",
               key, ref ? ref : "(not observed)", cand ? cand : "(not observed)");
    return known ? 0 : 1;
}

size_t p11d_compare(const p11d_log *ref, const p11d_log *cand, p11d_expected *expected,
                    bool verbose)
{
    size_t i = 0, j = 0, unexpected = 0, same = 0;
    while (i < ref->n || j < cand->n) {
        int c = i == ref->n ? 1 : j == cand->n ? -1 : strcmp(ref->items[i].key, cand->items[j].key);
        if (c < 0) {
            unexpected += report(expected, ref->items[i].key, ref->items[i].value, NULL, verbose);
            i++;
        } else if (c > 0) {
            unexpected += report(expected, cand->items[j].key, NULL, cand->items[j].value, verbose);
            j++;
        } else {
            if (strcmp(ref->items[i].value, cand->items[j].value) != 0)
                unexpected += report(expected, ref->items[i].key, ref->items[i].value,
                                     cand->items[j].value, verbose);
            else
                same++;
            i++;
            j++;
        }
    }
    printf("p11diff: %zu observations agree, %zu unexpected differences\n", same, unexpected);
    return unexpected;
}
