/* From the source's certificates to accounts: who gets what, which one is
 * primary, and writing it to the store. */
#include "migrate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static char *text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *text(const char *fmt, ...)
{
    char *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = vasprintf(&out, fmt, ap);
    va_end(ap);
    return len < 0 ? NULL : out;
}

static bool names_email(const mt_cert_info *cert, const char *email)
{
    for (size_t i = 0; i < cert->n_emails; i++)
        if (!strcasecmp(cert->emails[i], email))
            return true;
    return false;
}

static char *lower_dup(const char *s)
{
    char *out = strdup(s);
    for (char *p = out; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return out;
}

void mt_mig_assign_emails(mt_mig_source *src, const mt_mig_map *map)
{
    for (size_t i = 0; i < src->n_items; i++) {
        mt_mig_item *item = &src->items[i];
        const char *mapped = map ? mt_mig_map_lookup(map, item) : NULL;
        const char *label = item->cert_label ? item->cert_label : "";
        if (item->cert->is_ca)
            item->error = text("authority certificate \"%s\" (%s): kept as the chain of the "
                               "certificates it issued",
                               label, item->cert->subject);
        else if (mapped && !names_email(item->cert, mapped))
            item->error = text("certificate \"%s\" (id %s) does not name %s (--map): a "
                               "certificate only joins an account whose email it names",
                               label, item->id_hex, mapped);
        else if (!mapped && item->cert->n_emails == 0)
            item->error = text("certificate \"%s\" (id %s) names no email address: skipped",
                               label, item->id_hex);
        else
            item->email = lower_dup(mapped ? mapped : item->cert->emails[0]);
    }
}

static bool valid_now(const mt_cert_info *cert, int64_t now)
{
    return cert->not_before <= now && now <= cert->not_after;
}

/* Newest valid certificate, else the one that expires last. */
static bool better_primary(const mt_cert_info *a, const mt_cert_info *b, int64_t now)
{
    if (valid_now(a, now) != valid_now(b, now))
        return valid_now(a, now);
    if (valid_now(a, now) && a->not_before != b->not_before)
        return a->not_before > b->not_before;
    return a->not_after > b->not_after;
}

static const mt_mig_item *sort_items;
static int by_age(const void *x, const void *y)
{
    const mt_cert_info *a = sort_items[*(const size_t *)x].cert;
    const mt_cert_info *b = sort_items[*(const size_t *)y].cert;
    if (a->not_before != b->not_before)
        return a->not_before < b->not_before ? -1 : 1;
    if (a->not_after != b->not_after)
        return a->not_after < b->not_after ? -1 : 1;
    return memcmp(a->sha256, b->sha256, 32);
}

static int by_email(const void *x, const void *y)
{
    return strcmp(((const mt_mig_account *)x)->email, ((const mt_mig_account *)y)->email);
}

static mt_mig_account *account_for(mt_mig_plan *plan, const char *email)
{
    for (size_t i = 0; i < plan->n_accounts; i++)
        if (!strcmp(plan->accounts[i].email, email))
            return &plan->accounts[i];
    mt_mig_account *grown = realloc(plan->accounts, (plan->n_accounts + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    plan->accounts = grown;
    mt_mig_account *acc = &plan->accounts[plan->n_accounts++];
    memset(acc, 0, sizeof(*acc));
    acc->email = email;
    return acc;
}

/* Does the store's current primary give way to the migrated one? */
static mt_status compare_existing(mt_store *store, const mt_account *existing,
                                  const mt_cert_info *candidate, int64_t now, bool *changes)
{
    mt_cert *current = NULL;
    mt_status st = mt_store_cert_get(store, existing->primary_cert_id, &current);
    if (st == MT_OK)
        *changes = memcmp(current->info->sha256, candidate->sha256, 32) != 0 &&
                   better_primary(candidate, current->info, now);
    mt_cert_free(current);
    return st;
}

mt_status mt_mig_plan_build(mt_store *store, int64_t org_id, mt_mig_source *src,
                            mt_mig_plan *plan)
{
    int64_t now = (int64_t)time(NULL);
    mt_status st = MT_OK;
    memset(plan, 0, sizeof(*plan));
    for (size_t i = 0; i < src->n_items && st == MT_OK; i++) {
        if (!src->items[i].email)
            continue;
        mt_mig_account *acc = account_for(plan, src->items[i].email);
        size_t *grown = acc ? realloc(acc->items, (acc->n_items + 1) * sizeof(size_t)) : NULL;
        if (!grown) {
            st = MT_ERR_NOMEM;
            break;
        }
        acc->items = grown;
        acc->items[acc->n_items++] = i;
    }
    if (plan->n_accounts)
        qsort(plan->accounts, plan->n_accounts, sizeof(*plan->accounts), by_email);
    sort_items = src->items;
    for (size_t a = 0; a < plan->n_accounts && st == MT_OK; a++) {
        mt_mig_account *acc = &plan->accounts[a];
        qsort(acc->items, acc->n_items, sizeof(size_t), by_age);
        acc->primary = acc->items[0];
        for (size_t k = 1; k < acc->n_items; k++)
            if (better_primary(src->items[acc->items[k]].cert, src->items[acc->primary].cert, now))
                acc->primary = acc->items[k];
        mt_account *existing = NULL;
        st = mt_store_account_get(store, org_id, acc->email, &existing);
        acc->exists = st == MT_OK;
        acc->primary_changes = !acc->exists;
        if (st == MT_OK)
            st = compare_existing(store, existing, src->items[acc->primary].cert, now,
                                  &acc->primary_changes);
        else if (st == MT_ERR_NOT_FOUND)
            st = MT_OK;
        else if (st == MT_ERR_INVALID) { /* e.g. the certificate names a malformed address */
            acc->error = text("%s", mt_errmsg());
            st = acc->error ? MT_OK : MT_ERR_NOMEM;
        }
        mt_account_free(existing);
    }
    return st;
}

/* Authority certificates of the source that issued this one, leaf-most first. */
static size_t build_chain(const mt_mig_source *src, const mt_cert_info *leaf,
                          mt_cert_info **chain, size_t max)
{
    size_t n = 0;
    const mt_cert_info *cur = leaf;
    while (n < max && !cur->self_signed) {
        const mt_cert_info *issuer = NULL;
        for (size_t i = 0; i < src->n_items && !issuer; i++) {
            const mt_cert_info *c = src->items[i].cert;
            if (c->is_ca && c != cur && c->subject_der_len == cur->issuer_der_len &&
                !memcmp(c->subject_der, cur->issuer_der, c->subject_der_len))
                issuer = c;
        }
        if (!issuer)
            break;
        chain[n++] = (mt_cert_info *)issuer;
        cur = issuer;
    }
    return n;
}

static mt_status import_item(mt_store *store, int64_t org_id, const mt_mig_source *src,
                             mt_mig_item *item)
{
    mt_cert_info *chain[8];
    mt_parsed_entry entry = {
        .cert = item->cert,
        .pkcs8 = item->key_state == MT_MIG_KEY_EXTRACTED ? item->pkcs8 : NULL,
        .chain = chain,
        .n_chain = build_chain(src, item->cert, chain, 8),
        .friendly_name = item->cert_label,
    };
    char description[96];
    snprintf(description, sizeof(description), "migrated from PKCS#11 token \"%s\"",
             src->token_label);
    return mt_store_cert_import(store, org_id, &entry, item->cert_label, description,
                                &item->cert_id, &item->cert_created);
}

static mt_status apply_account(mt_store *store, int64_t org_id, mt_mig_source *src,
                               mt_mig_account *acc)
{
    int64_t *history = calloc(acc->n_items, sizeof(int64_t));
    mt_status st = history ? MT_OK : MT_ERR_NOMEM;
    for (size_t k = 0; k < acc->n_items && st == MT_OK; k++) {
        st = import_item(store, org_id, src, &src->items[acc->items[k]]);
        history[k] = src->items[acc->items[k]].cert_id;
    }
    int64_t primary = src->items[acc->primary].cert_id;
    if (st == MT_OK && !acc->exists)
        st = mt_store_account_create(store, org_id, acc->email, primary, history, acc->n_items);
    for (size_t k = 0; acc->exists && k < acc->n_items && st == MT_OK; k++)
        st = mt_store_account_add_to_history(store, org_id, acc->email, history[k]);
    if (st == MT_OK && acc->exists && acc->primary_changes)
        st = mt_store_account_set_primary(store, org_id, acc->email, primary);
    free(history);
    return st;
}

void mt_mig_plan_apply(mt_store *store, int64_t org_id, mt_mig_source *src, mt_mig_plan *plan)
{
    for (size_t a = 0; a < plan->n_accounts; a++) {
        mt_mig_account *acc = &plan->accounts[a];
        if (acc->error)
            continue;
        mt_status st = mt_store_begin(store);
        if (st == MT_OK)
            st = apply_account(store, org_id, src, acc);
        if (st == MT_OK)
            st = mt_store_commit(store);
        if (st != MT_OK) {
            acc->error = text("%s", mt_errmsg());
            mt_store_rollback(store);
            for (size_t k = 0; k < acc->n_items; k++) {
                src->items[acc->items[k]].cert_id = 0;
                src->items[acc->items[k]].cert_created = false;
            }
        }
    }
}

void mt_mig_plan_free(mt_mig_plan *plan)
{
    for (size_t a = 0; a < plan->n_accounts; a++) {
        free(plan->accounts[a].items);
        free(plan->accounts[a].error);
    }
    free(plan->accounts);
    memset(plan, 0, sizeof(*plan));
}
