/* Authenticating the public keys the store seals to (auth.h). */
#include "auth.h"
#include "known_keys.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define MAC_KEY_LEN 32

mt_status mt_auth_mac_key(const mt_secret *store_key, mt_secret **out)
{
    /* 16 bytes, no terminator: BLAKE2b's personalisation */
    static const uint8_t personal[crypto_generichash_blake2b_PERSONALBYTES] = {
        'm', 'a', 'i', 'l', 't', 'o', 'k', 'e', 'n', '-', 'm', 'a', 'c', '-', '0', '1'};
    mt_status st = mt_secret_new(MAC_KEY_LEN, out);
    if (st == MT_OK &&
        crypto_generichash_blake2b_salt_personal((*out)->data, MAC_KEY_LEN, NULL, 0, store_key->data,
                                                 store_key->len, NULL, personal) != 0) {
        mt_secret_free(*out);
        *out = NULL;
        st = mt_fail(MT_ERR_CRYPTO, "deriving the tag key failed");
    }
    return st;
}

static void put_u64(crypto_generichash_state *h, uint64_t v)
{
    uint8_t b[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
    crypto_generichash_update(h, b, sizeof(b));
}

/* Every field has a fixed length or a length prefix: no two rows encode alike. */
void mt_auth_tag(const mt_store *store, const mt_key_row *row, uint8_t tag[MT_AUTH_TAG_LEN])
{
    crypto_generichash_state h;
    const char *domain = row->is_org ? "org" : "token";
    crypto_generichash_init(&h, store->mac_key->data, store->mac_key->len, MT_AUTH_TAG_LEN);
    crypto_generichash_update(&h, (const uint8_t *)domain, strlen(domain) + 1);
    put_u64(&h, (uint64_t)row->org_id);
    if (!row->is_org)
        put_u64(&h, (uint64_t)row->id);
    put_u64(&h, strlen(row->name));
    crypto_generichash_update(&h, (const uint8_t *)row->name, strlen(row->name));
    crypto_generichash_update(&h, row->pk, MT_SEAL_PK_LEN);
    crypto_generichash_final(&h, tag, MT_AUTH_TAG_LEN);
}

static int64_t record_id(const mt_key_row *row)
{
    return row->is_org ? row->org_id : row->id;
}

mt_status mt_auth_state_of(mt_store *store, const mt_key_row *row, mt_auth_state *out)
{
    uint8_t tag[MT_AUTH_TAG_LEN];
    mt_known known = MT_KNOWN_ABSENT;
    if (store->mac_key && row->tag) {
        mt_auth_tag(store, row, tag);
        *out = row->tag_len == MT_AUTH_TAG_LEN && sodium_memcmp(tag, row->tag, MT_AUTH_TAG_LEN) == 0
                   ? MT_AUTH_TAGGED
                   : MT_AUTH_BAD_TAG;
        return MT_OK;
    }
    mt_status st = mt_known_keys_lookup(store, row->is_org, record_id(row), row->pk, &known);
    *out = known == MT_KNOWN_SAME ? MT_AUTH_KNOWN : known == MT_KNOWN_DIFFERENT ? MT_AUTH_KNOWN_OTHER
                                                                               : MT_AUTH_UNKNOWN;
    return st;
}

/* "the public key of token 3 (alice@example.org)" / "the recovery key of organisation "acme"" */
static void describe(const mt_key_row *row, char *out, size_t len)
{
    if (row->is_org)
        snprintf(out, len, "the recovery key of organisation \"%s\"", row->name);
    else
        snprintf(out, len, "the public key of token %lld (%s)", (long long)row->id, row->name);
}

mt_status mt_auth_write_tag(mt_store *store, const mt_key_row *row)
{
    uint8_t tag[MT_AUTH_TAG_LEN];
    mt_stmt *stmt = NULL;
    if (!store->mac_key)
        return MT_OK;
    mt_auth_tag(store, row, tag);
    mt_status st = mt_db_stmt(store, row->is_org ? "UPDATE organizations SET recovery_tag = ? WHERE id = ?"
                                                 : "UPDATE tokens SET pk_tag = ? WHERE id = ?",
                              &stmt);
    if (st != MT_OK)
        return st;
    mt_bind_blob(stmt, 1, tag, MT_AUTH_TAG_LEN);
    mt_bind_int64(stmt, 2, record_id(row));
    st = mt_db_step_done(store, stmt, "tagging a public key");
    mt_db_done(stmt);
    return st;
}

mt_status mt_auth_adopt(mt_store *store, const mt_key_row *row)
{
    mt_status st = mt_auth_write_tag(store, row);
    if (st == MT_OK)
        st = mt_known_keys_record(store, row->is_org, record_id(row), row->pk, row->name);
    return st;
}

static mt_status refuse(mt_store *store, const mt_key_row *row, mt_auth_state state)
{
    char what[400];
    describe(row, what, sizeof(what));
    if (state == MT_AUTH_BAD_TAG)
        return mt_tampered(store, row->org_id, row->name, "%s does not match its tag (or the tag "
                           "was made with another store key file than the configured one); nothing "
                           "was sealed to it", what);
    if (state == MT_AUTH_KNOWN_OTHER)
        return mt_tampered(store, row->org_id, row->name, "%s is not the one recorded in %s "
                           "(nothing was sealed to it)", what, store->known_keys_path);
    return mt_fail(MT_ERR_CONFLICT, "%s is not authenticated (%s, and not in %s) and the config "
                   "says strict: `mailtoken org rewrap` (SO PIN) vouches for the organisation's keys",
                   what, store->mac_key ? "no tag: set before the store key file" : "no store key file",
                   store->known_keys_path ? store->known_keys_path : "a known-keys file (no home)");
}

mt_status mt_auth_key(mt_store *store, const mt_key_row *row, bool created, mt_trusted_pk *out)
{
    mt_auth_state state = MT_AUTH_UNKNOWN;
    mt_status st = MT_OK;
    if (created) {
        st = mt_known_keys_record(store, row->is_org, record_id(row), row->pk, row->name);
    } else if ((st = mt_auth_state_of(store, row, &state)) != MT_OK) {
        return st;
    } else if (state == MT_AUTH_BAD_TAG || state == MT_AUTH_KNOWN_OTHER ||
               (state == MT_AUTH_UNKNOWN && store->config.strict)) {
        return refuse(store, row, state);
    } else if (state == MT_AUTH_UNKNOWN) {
        st = mt_auth_adopt(store, row); /* trust on first use */
    } else if (state == MT_AUTH_KNOWN && store->mac_key && !row->tag) {
        st = mt_auth_write_tag(store, row); /* a row from before the store key, known here */
    }
    if (st == MT_OK)
        memcpy(out->pk, row->pk, MT_SEAL_PK_LEN);
    return st;
}

mt_status mt_auth_tag_check(mt_store *store, const mt_key_row *row)
{
    uint8_t tag[MT_AUTH_TAG_LEN];
    char what[400];
    if (!store->mac_key || !row->tag)
        return MT_OK;
    mt_auth_tag(store, row, tag);
    if (row->tag_len == MT_AUTH_TAG_LEN && sodium_memcmp(tag, row->tag, MT_AUTH_TAG_LEN) == 0)
        return MT_OK;
    describe(row, what, sizeof(what));
    return mt_tampered(store, row->org_id, row->name, "%s does not match its tag (or the tag was "
                       "made with another store key file than the configured one)", what);
}

void mt_auth_warn_untagged(mt_store *store)
{
    mt_stmt *stmt = NULL;
    int64_t tokens = 0, orgs = 0;
    if (mt_db_stmt(store,
                   "SELECT (SELECT count(*) FROM tokens WHERE pk_tag IS NULL),"
                   " (SELECT count(*) FROM organizations WHERE recovery_tag IS NULL)",
                   &stmt) != MT_OK)
        return; /* a warning only: the open stands */
    if (mt_step(stmt) == MT_ROW) {
        tokens = mt_col_int64(stmt, 0);
        orgs = mt_col_int64(stmt, 1);
    }
    mt_db_done(stmt);
    if (tokens + orgs > 0)
        mt_store_warn(store,
                      "%lld row%s of the store (%lld token%s, %lld organisation%s) written before "
                      "the store key file %s no tag: their public keys are trusted only through "
                      "this importer's record of known keys; run `mailtoken org rewrap` (SO PIN) "
                      "to tag them",
                      (long long)(tokens + orgs), tokens + orgs == 1 ? "" : "s", (long long)tokens,
                      tokens == 1 ? "" : "s", (long long)orgs, orgs == 1 ? "" : "s",
                      tokens + orgs == 1 ? "has" : "have");
}
