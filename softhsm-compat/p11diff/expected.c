/*
 * The accepted differences (EXPECTED-DIFFERENCES.md): each entry is a
 * heading naming one or more `patterns` of observation keys, then what each
 * module must answer there, e.g. for the RSA private keys' CKA_VALUE:
 *
 *   - SoftHSM: `CKR_ATTRIBUTE_TYPE_INVALID len=unavailable`
 *   - mailtoken: `CKR_ATTRIBUTE_SENSITIVE len=unavailable`
 *
 * A side's rule is a list of alternatives joined by "or": a `glob` the value
 * matches, "not observed", "SoftHSM's, with `A` as `B`" (the other module's
 * value with A replaced by B; candidate only) or "its own, with `A` as `B`"
 * (what the same module answered for the key with A replaced by B).
 */
#include "p11diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void rule_free(p11d_rule *rule)
{
    for (size_t i = 0; i < rule->n_globs; i++)
        free(rule->globs[i]);
    free(rule->globs);
    free(rule->from);
    free(rule->to);
}

void p11d_expected_free(p11d_expected *expected)
{
    for (size_t i = 0; i < expected->n; i++) {
        p11d_entry *e = &expected->entries[i];
        for (size_t k = 0; k < e->n_patterns; k++)
            free(e->patterns[k]);
        free(e->patterns);
        rule_free(&e->ref);
        rule_free(&e->cand);
    }
    free(expected->entries);
    memset(expected, 0, sizeof(*expected));
}

typedef struct parser {
    const char *path;
    unsigned lineno;
} parser;

static bool parse_error(const parser *p, const char *what)
{
    fprintf(stderr, "p11diff: %s:%u: %s\n", p->path, p->lineno, what);
    return false;
}

static bool grow(void *array, size_t n, size_t size)
{
    void **p = array;
    void *bigger = realloc(*p, (n + 1) * size);
    if (bigger)
        *p = bigger;
    return bigger != NULL;
}

/* `text` at *s: a copy of text, *s moved past the closing backquote. */
static char *quoted(const char **s)
{
    if (**s != '`')
        return NULL;
    const char *end = strchr(*s + 1, '`');
    if (!end)
        return NULL;
    char *text = strndup(*s + 1, (size_t)(end - *s - 1));
    *s = end + 1;
    return text;
}

static bool skip(const char **s, const char *word)
{
    *s += strspn(*s, " \t");
    if (strncmp(*s, word, strlen(word)) != 0)
        return false;
    *s += strlen(word);
    *s += strspn(*s, " \t");
    return true;
}

/* ", with `A` as `B`" after a relation. */
static bool substitution(const parser *p, const char **s, p11d_rule *rule)
{
    skip(s, ",");
    if (!skip(s, "with") || !(rule->from = quoted(s)) || !skip(s, "as") || !(rule->to = quoted(s)))
        return parse_error(p, "a relation reads: with `A` as `B`");
    return true;
}

static bool parse_rule(const parser *p, const char *s, bool candidate, p11d_rule *rule)
{
    bool first = true;
    for (;;) {
        s += strspn(s, " \t");
        if (!*s)
            break;
        if (!first && !skip(&s, "or"))
            return parse_error(p, "alternatives are joined by \"or\"");
        first = false;
        if (*s == '`') {
            char *glob = quoted(&s);
            if (!glob || !grow(&rule->globs, rule->n_globs, sizeof(char *)))
                return parse_error(p, "unterminated `value`");
            rule->globs[rule->n_globs++] = glob;
        } else if (skip(&s, "not observed")) {
            rule->not_observed = true;
        } else if (candidate && (skip(&s, "SoftHSM's") || skip(&s, "the reference's"))) {
            rule->relation = P11D_REL_OTHER_VALUE;
            if (!substitution(p, &s, rule))
                return false;
        } else if (skip(&s, "its own")) {
            rule->relation = P11D_REL_OWN_KEY;
            if (!substitution(p, &s, rule))
                return false;
        } else {
            return parse_error(p, "expected `value`, not observed, SoftHSM's or its own");
        }
    }
    if (first)
        return parse_error(p, "no value given");
    return true;
}

/* "### `a`, `b`": the entry's patterns. */
static bool parse_heading(const parser *p, const char *s, p11d_entry *e)
{
    s += 4;
    while (*s == '`') {
        char *pattern = quoted(&s);
        if (!pattern || !grow(&e->patterns, e->n_patterns, sizeof(char *))) {
            free(pattern);
            return parse_error(p, "unterminated `pattern`");
        }
        e->patterns[e->n_patterns++] = pattern;
        skip(&s, ",");
    }
    s += strspn(s, " \t\r\n");
    if (!e->n_patterns || *s)
        return parse_error(p, "a heading holds `patterns` only");
    return true;
}

static bool complete(const parser *p, const p11d_entry *e)
{
    if (e && (!e->ref_given || !e->cand_given))
        return parse_error(p, "state what both modules answer (\"- SoftHSM:\" and \"- mailtoken:\")");
    return true;
}

static bool parse_line(parser *p, char *line, p11d_expected *out, p11d_entry **entry)
{
    line[strcspn(line, "\r\n")] = '\0';
    if (strncmp(line, "### ", 4) == 0) {
        if (!complete(p, *entry) || !grow(&out->entries, out->n, sizeof(p11d_entry)))
            return false;
        *entry = &out->entries[out->n++];
        memset(*entry, 0, sizeof(**entry));
        (*entry)->line = p->lineno;
        return parse_heading(p, line, *entry);
    }
    if (strncmp(line, "#", 1) == 0) { /* another section: the entry above is over */
        bool ok = complete(p, *entry);
        *entry = NULL;
        return ok;
    }
    if (!*entry)
        return true;
    const char *s = line;
    if (skip(&s, "- SoftHSM:") || skip(&s, "- reference:")) {
        if ((*entry)->ref_given)
            return parse_error(p, "SoftHSM's answer given twice");
        (*entry)->ref_given = true;
        return parse_rule(p, s, false, &(*entry)->ref);
    }
    if (skip(&s, "- mailtoken:") || skip(&s, "- candidate:")) {
        if ((*entry)->cand_given)
            return parse_error(p, "mailtoken's answer given twice");
        (*entry)->cand_given = true;
        return parse_rule(p, s, true, &(*entry)->cand);
    }
    return true; /* the reason, for people */
}

bool p11d_expected_load(const char *path, p11d_expected *out)
{
    memset(out, 0, sizeof(*out));
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "p11diff: %s: cannot open the expected differences\n", path);
        return false;
    }
    parser p = { .path = path };
    p11d_entry *entry = NULL;
    char line[2048];
    bool ok = true;
    while (ok && fgets(line, sizeof(line), fp)) {
        p.lineno++;
        ok = parse_line(&p, line, out, &entry);
    }
    ok = ok && complete(&p, entry);
    fclose(fp);
    if (!ok)
        p11d_expected_free(out);
    return ok;
}
