/* Comparing two modules' observations against the accepted differences. */
#include "p11diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Length of the shortest prefix of text that pattern matches, or -1. */
static long prefix_match(const char *pattern, const char *text)
{
    if (!*pattern)
        return 0;
    if (*pattern == '*') {
        for (const char *t = text;; t++) {
            long rest = prefix_match(pattern + 1, t);
            if (rest >= 0)
                return (long)(t - text) + rest;
            if (!*t)
                return -1;
        }
    }
    if (*pattern != *text)
        return -1;
    long rest = prefix_match(pattern + 1, text + 1);
    return rest < 0 ? -1 : rest + 1;
}

/* text with the first (shortest) match of from replaced by to (malloc),
 * NULL when from does not occur. */
static char *substitute(const char *text, const char *from, const char *to)
{
    char *out = NULL;
    for (const char *at = text; *at; at++) {
        long len = prefix_match(from, at);
        if (len < 0)
            continue;
        if (asprintf(&out, "%.*s%s%s", (int)(at - text), text, to, at + len) < 0)
            out = NULL;
        break;
    }
    return out;
}

/* The first value observed under key, or NULL. */
static const char *lookup(const p11d_log *log, const char *key)
{
    size_t lo = 0, hi = log->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(log->items[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < log->n && strcmp(log->items[lo].key, key) == 0 ? log->items[lo].value : NULL;
}

/* One side of a difference: this module's log and value, the other's value. */
typedef struct side_view {
    const p11d_log *log;
    const char *value;
    const char *other_value;
} side_view;

static bool relation_holds(const p11d_rule *rule, const char *key, const side_view *v)
{
    char *want = NULL;
    const char *expected = NULL;
    if (rule->relation == P11D_REL_OTHER_VALUE && v->other_value) {
        expected = want = substitute(v->other_value, rule->from, rule->to);
    } else if (rule->relation == P11D_REL_OWN_KEY) {
        char *other_key = substitute(key, rule->from, rule->to);
        expected = other_key ? lookup(v->log, other_key) : NULL;
        free(other_key);
    }
    bool ok = expected && v->value && strcmp(expected, v->value) == 0;
    free(want);
    return ok;
}

static bool rule_accepts(const p11d_rule *rule, const char *key, const side_view *v)
{
    if (!v->value)
        return rule->not_observed;
    for (size_t i = 0; i < rule->n_globs; i++)
        if (glob_match(rule->globs[i], v->value))
            return true;
    return rule->relation != P11D_REL_NONE && relation_holds(rule, key, v);
}

static p11d_entry *entry_for(p11d_expected *expected, const char *key)
{
    for (size_t i = 0; i < expected->n; i++)
        for (size_t k = 0; k < expected->entries[i].n_patterns; k++)
            if (glob_match(expected->entries[i].patterns[k], key))
                return &expected->entries[i];
    return NULL;
}

static size_t report(p11d_expected *expected, const p11d_log *ref_log, const p11d_log *cand_log,
                     const char *key, const char *ref, const char *cand)
{
    p11d_entry *e = entry_for(expected, key);
    side_view r = { ref_log, ref, cand }, c = { cand_log, cand, ref };
    bool accepted = e && rule_accepts(&e->ref, key, &r) && rule_accepts(&e->cand, key, &c);
    const char *none = "(not observed)";
    if (accepted) {
        e->accepted++;
        printf("accepted %s: reference %s, candidate %s (line %u)\n", key, ref ? ref : none,
               cand ? cand : none, e->line);
        return 0;
    }
    printf("DIFF     %s\n    reference: %s\n    candidate: %s\n", key, ref ? ref : none,
           cand ? cand : none);
    if (e) {
        e->refused++;
        printf("    the entry at line %u (`%s`) expects other values\n", e->line, e->patterns[0]);
    }
    return 1;
}

size_t p11d_compare(const p11d_log *ref, const p11d_log *cand, p11d_expected *expected)
{
    size_t i = 0, j = 0, unexpected = 0, same = 0, accepted = 0;
    while (i < ref->n || j < cand->n) {
        int c = i == ref->n ? 1 : j == cand->n ? -1 : strcmp(ref->items[i].key, cand->items[j].key);
        if (c < 0) {
            unexpected += report(expected, ref, cand, ref->items[i].key, ref->items[i].value, NULL);
            i++;
        } else if (c > 0) {
            unexpected += report(expected, ref, cand, cand->items[j].key, NULL, cand->items[j].value);
            j++;
        } else {
            if (strcmp(ref->items[i].value, cand->items[j].value) != 0)
                unexpected += report(expected, ref, cand, ref->items[i].key, ref->items[i].value,
                                     cand->items[j].value);
            else
                same++;
            i++;
            j++;
        }
    }
    for (size_t k = 0; k < expected->n; k++) {
        const p11d_entry *e = &expected->entries[k];
        accepted += e->accepted;
        if (e->accepted || e->refused)
            printf("entry at line %u (`%s`%s): %zu accepted\n", e->line, e->patterns[0],
                   e->n_patterns > 1 ? "..." : "", e->accepted);
        else
            printf("note: the expected difference at line %u (`%s`) did not occur\n", e->line,
                   e->patterns[0]);
    }
    printf("p11diff: %zu observations agree, %zu differences accepted, %zu unexpected differences\n",
           same, accepted, unexpected);
    return unexpected;
}
