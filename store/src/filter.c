/* Account filters: "org=NAME;emails=GLOB[,GLOB...];kind=all|internal|external". */
#include "internal.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mt_filter_clear(mt_account_filter *filter)
{
    if (!filter)
        return;
    free(filter->org);
    for (size_t i = 0; i < filter->n_email_globs; i++)
        free(filter->email_globs[i]);
    free(filter->email_globs);
    memset(filter, 0, sizeof(*filter));
}

static mt_status add_glob(mt_account_filter *filter, const char *glob, size_t len)
{
    char **grown = realloc(filter->email_globs, (filter->n_email_globs + 1) * sizeof(*grown));
    if (!grown)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    filter->email_globs = grown;
    if (!(grown[filter->n_email_globs] = strndup(glob, len)))
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    filter->n_email_globs++;
    return MT_OK;
}

static mt_status parse_globs(mt_account_filter *filter, const char *value)
{
    mt_status st = MT_OK;
    while (st == MT_OK && *value) {
        size_t len = strcspn(value, ",");
        if (len == 0)
            return mt_fail(MT_ERR_INVALID, "accounts filter: empty glob in emails=");
        st = add_glob(filter, value, len);
        value += len + (value[len] == ',');
    }
    return st;
}

static mt_status parse_part(mt_account_filter *filter, const char *part)
{
    const char *eq = strchr(part, '=');
    if (!eq)
        return mt_fail(MT_ERR_INVALID, "accounts filter: \"%s\" is not key=value", part);
    size_t key_len = (size_t)(eq - part);
    const char *value = eq + 1;
    if (key_len == 3 && !strncmp(part, "org", 3)) {
        if (!*value)
            return mt_fail(MT_ERR_INVALID, "accounts filter: org= needs a name");
        free(filter->org);
        return (filter->org = strdup(value)) ? MT_OK : mt_fail(MT_ERR_NOMEM, "out of memory");
    }
    if (key_len == 6 && !strncmp(part, "emails", 6))
        return parse_globs(filter, value);
    if (key_len == 4 && !strncmp(part, "kind", 4)) {
        if (!strcmp(value, "all"))
            filter->kind = MT_FILTER_ALL;
        else if (!strcmp(value, "internal"))
            filter->kind = MT_FILTER_INTERNAL;
        else if (!strcmp(value, "external"))
            filter->kind = MT_FILTER_EXTERNAL;
        else
            return mt_fail(MT_ERR_INVALID,
                           "accounts filter: kind must be all, internal or external, not \"%s\"", value);
        return MT_OK;
    }
    return mt_fail(MT_ERR_INVALID, "accounts filter: unknown key \"%.*s\" (org, emails, kind)",
                   (int)key_len, part);
}

mt_status mt_filter_parse(const char *spec, mt_account_filter *out)
{
    mt_status st = MT_OK;
    char *copy = NULL, *save = NULL;
    if (!out)
        return mt_fail(MT_ERR_INVALID, "accounts filter: out is NULL");
    memset(out, 0, sizeof(*out));
    if (!spec)
        return MT_OK;
    if (!(copy = strdup(spec)))
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    for (char *part = strtok_r(copy, ";", &save); part && st == MT_OK; part = strtok_r(NULL, ";", &save)) {
        while (*part == ' ')
            part++;
        if (*part)
            st = parse_part(out, part);
    }
    free(copy);
    if (st != MT_OK)
        mt_filter_clear(out);
    return st;
}

/* Of two globs, the one whose text the other matches (the narrower), or NULL
 * when they only overlap partly. */
static const char *narrower(const char *x, size_t x_len, const char *y, size_t y_len, size_t *len)
{
    char *xs = strndup(x, x_len), *ys = strndup(y, y_len);
    const char *keep = NULL;
    if (xs && ys) {
        if (fnmatch(xs, ys, FNM_CASEFOLD) == 0)
            keep = y, *len = y_len;
        else if (fnmatch(ys, xs, FNM_CASEFOLD) == 0)
            keep = x, *len = x_len;
    }
    free(xs);
    free(ys);
    return keep;
}

/* One glob of a AND b: "local@domain" globs intersect part by part (so
 * "alice@*" and "*@example.org" give "alice@example.org"); other globs only
 * when one contains the other.  Never wider than either. */
static mt_status intersect_pair(mt_account_filter *out, const char *ga, const char *gb)
{
    const char *at_a = strchr(ga, '@'), *at_b = strchr(gb, '@');
    size_t local_len = 0, domain_len = 0;
    if (at_a && at_b && !strchr(at_a + 1, '@') && !strchr(at_b + 1, '@')) {
        const char *local = narrower(ga, (size_t)(at_a - ga), gb, (size_t)(at_b - gb), &local_len);
        const char *domain = narrower(at_a + 1, strlen(at_a + 1), at_b + 1, strlen(at_b + 1), &domain_len);
        if (!local || !domain)
            return MT_OK;
        char *joined = NULL;
        if (asprintf(&joined, "%.*s@%.*s", (int)local_len, local, (int)domain_len, domain) < 0)
            return mt_fail(MT_ERR_NOMEM, "out of memory");
        mt_status st = add_glob(out, joined, strlen(joined));
        free(joined);
        return st;
    }
    const char *keep = narrower(ga, strlen(ga), gb, strlen(gb), &local_len);
    return keep ? add_glob(out, keep, local_len) : MT_OK;
}

/* Email globs of a AND b (pairwise intersections). */
static mt_status intersect_globs(mt_account_filter *out, const mt_account_filter *a,
                                 const mt_account_filter *b)
{
    mt_status st = MT_OK;
    const mt_account_filter *only = !a->n_email_globs ? b : !b->n_email_globs ? a : NULL;
    if (only) {
        for (size_t i = 0; st == MT_OK && i < only->n_email_globs; i++)
            st = add_glob(out, only->email_globs[i], strlen(only->email_globs[i]));
        return st;
    }
    for (size_t i = 0; st == MT_OK && i < a->n_email_globs; i++)
        for (size_t j = 0; st == MT_OK && j < b->n_email_globs; j++)
            st = intersect_pair(out, a->email_globs[i], b->email_globs[j]);
    /* nothing in common: a glob no email can match */
    if (st == MT_OK && out->n_email_globs == 0)
        st = add_glob(out, "\x01", 1);
    return st;
}

mt_status mt_filter_intersect(const mt_account_filter *a, const mt_account_filter *b,
                              mt_account_filter *out)
{
    mt_status st = MT_OK;
    if (!a || !b || !out)
        return mt_fail(MT_ERR_INVALID, "accounts filter: NULL argument");
    memset(out, 0, sizeof(*out));
    const char *org = a->org ? a->org : b->org;
    if (a->org && b->org && strcmp(a->org, b->org) != 0)
        org = "\x01no organisation matches both filters";
    if (org && !(out->org = strdup(org)))
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
    if (st == MT_OK)
        st = intersect_globs(out, a, b);
    if (a->kind == MT_FILTER_ALL)
        out->kind = b->kind;
    else if (b->kind == MT_FILTER_ALL || b->kind == a->kind)
        out->kind = a->kind;
    else if (st == MT_OK) {
        free(out->org);
        if (!(out->org = strdup("\x01no account is both internal and external")))
            st = mt_fail(MT_ERR_NOMEM, "out of memory");
    }
    if (st != MT_OK)
        mt_filter_clear(out);
    return st;
}
