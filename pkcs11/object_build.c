/* Builds a token's objects from its account: profile, certificates of the
 * history (primary first), their public and private keys, chain certificates. */
#include "object.h"

#include "attr.h"
#include "crypto.h"
#include "mech.h"
#include "rv.h"

#include <openssl/core_names.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What an object is, for its handle. */
enum { KIND_PROFILE, KIND_CERTIFICATE, KIND_PUBLIC_KEY, KIND_PRIVATE_KEY };

typedef struct builder {
    mt_objects *objects;
    size_t slot_index;
    mt_handles *handles;
    const char *email;
    uint8_t (*seen)[32]; /* fingerprints of certificates already added */
    size_t n_seen;
} builder;

/* The object's number: the one it had before, or the next free one. */
static bool object_number(mt_handles *handles, uint8_t kind, const uint8_t *sha256, size_t *number)
{
    uint8_t key[33] = {kind};
    if (sha256)
        memcpy(key + 1, sha256, 32);
    for (size_t i = 0; i < handles->n; i++) {
        if (memcmp(handles->keys[i], key, sizeof(key)) == 0) {
            *number = i;
            return true;
        }
    }
    if (handles->n >= MT_OBJECTS_PER_TOKEN)
        return false; /* a history this long is cut, the token still works */
    uint8_t (*keys)[33] = realloc(handles->keys, (handles->n + 1) * sizeof(*keys));
    if (!keys)
        return false;
    handles->keys = keys;
    memcpy(keys[handles->n], key, sizeof(key));
    *number = handles->n++;
    return true;
}

static CK_RV add_object(builder *b, mt_object *object, uint8_t kind, const uint8_t *sha256)
{
    mt_objects *objects = b->objects;
    size_t number = 0;
    if (!object_number(b->handles, kind, sha256, &number)) {
        mt_object_free(object);
        return CKR_OK;
    }
    mt_object **items = realloc(objects->items, (objects->n + 1) * sizeof(*items));
    if (!items) {
        mt_object_free(object);
        return CKR_HOST_MEMORY;
    }
    objects->items = items;
    object->handle = mt_handle_make(b->slot_index, number);
    mt_attr_sort(&object->attrs);
    items[objects->n++] = object;
    return CKR_OK;
}

static CK_RV number_objects(mt_objects *objects, const mt_handles *handles)
{
    objects->by_number = calloc(handles->n + 1, sizeof(*objects->by_number));
    if (!objects->by_number)
        return CKR_HOST_MEMORY;
    objects->n_numbers = handles->n;
    for (size_t i = 0; i < objects->n; i++)
        objects->by_number[mt_handle_number(objects->items[i]->handle)] = (uint32_t)i + 1;
    return CKR_OK;
}

static CK_RV add_storage(mt_attr_list *a, CK_OBJECT_CLASS klass, bool is_private,
                         const char *label)
{
    CK_RV rv = mt_attr_add_ulong(a, CKA_CLASS, klass);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_TOKEN, true);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_PRIVATE, is_private);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_MODIFIABLE, false);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_COPYABLE, false);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_DESTROYABLE, false);
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_LABEL, label, strlen(label));
    return rv;
}

static CK_RV add_profile(builder *b)
{
    mt_object *object = mt_object_new(CKO_PROFILE);
    if (!object)
        return CKR_HOST_MEMORY;
    CK_RV rv = add_storage(&object->attrs, CKO_PROFILE, false, "");
    if (rv == CKR_OK)
        rv = mt_attr_add_ulong(&object->attrs, CKA_PROFILE_ID, CKP_PUBLIC_CERTIFICATES_TOKEN);
    if (rv != CKR_OK) {
        mt_object_free(object);
        return rv;
    }
    return add_object(b, object, KIND_PROFILE, NULL);
}

static void to_ck_date(int64_t t, CK_DATE *date)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char text[40];
    gmtime_r(&tt, &tm);
    snprintf(text, sizeof(text), "%04d%02d%02d", (tm.tm_year + 1900) % 10000, tm.tm_mon + 1,
             tm.tm_mday);
    memcpy(date->year, text, 4);
    memcpy(date->month, text + 4, 2);
    memcpy(date->day, text + 6, 2);
}

static CK_RV add_cert(builder *b, const mt_cert_info *info, const char *label, CK_ULONG category,
                      int64_t cert_id)
{
    mt_object *object = mt_object_new(CKO_CERTIFICATE);
    if (!object)
        return CKR_HOST_MEMORY;
    object->cert_id = cert_id;
    mt_attr_list *a = &object->attrs;
    CK_DATE start, end;
    uint8_t sha1[SHA_DIGEST_LENGTH];
    to_ck_date(info->not_before, &start);
    to_ck_date(info->not_after, &end);
    SHA1(info->der, info->der_len, sha1);
    CK_RV rv = add_storage(a, CKO_CERTIFICATE, false, label);
    if (rv == CKR_OK) rv = mt_attr_add_ulong(a, CKA_CERTIFICATE_TYPE, CKC_X_509);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_TRUSTED, false);
    if (rv == CKR_OK) rv = mt_attr_add_ulong(a, CKA_CERTIFICATE_CATEGORY, category);
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_CHECK_VALUE, sha1, 3);
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_START_DATE, &start, sizeof(start));
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_END_DATE, &end, sizeof(end));
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_PUBLIC_KEY_INFO, info->spki, info->spki_len);
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_SUBJECT, info->subject_der, info->subject_der_len);
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_ISSUER, info->issuer_der, info->issuer_der_len);
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_SERIAL_NUMBER, info->serial_der, info->serial_der_len);
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_VALUE, info->der, info->der_len);
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_ID, info->key_id, MT_KEY_ID_LEN);
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_URL, NULL, 0);
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_HASH_OF_SUBJECT_PUBLIC_KEY, NULL, 0);
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_HASH_OF_ISSUER_PUBLIC_KEY, NULL, 0);
    if (rv == CKR_OK) rv = mt_attr_add_ulong(a, CKA_JAVA_MIDP_SECURITY_DOMAIN, 0);
    if (rv == CKR_OK) rv = mt_attr_add_ulong(a, CKA_NAME_HASH_ALGORITHM, CKM_SHA_1);
    if (rv != CKR_OK) {
        mt_object_free(object);
        return rv;
    }
    return add_object(b, object, KIND_CERTIFICATE, info->sha256);
}

static CK_RV add_bn(mt_attr_list *a, CK_ATTRIBUTE_TYPE type, const EVP_PKEY *pkey,
                    const char *name)
{
    BIGNUM *bn = NULL;
    CK_RV rv = CKR_DEVICE_ERROR;
    uint8_t *bytes = NULL;
    if (!EVP_PKEY_get_bn_param(pkey, name, &bn))
        goto out;
    int len = BN_num_bytes(bn);
    bytes = malloc(len > 0 ? (size_t)len : 1);
    if (!bytes) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    BN_bn2bin(bn, bytes);
    rv = mt_attr_add(a, type, bytes, (size_t)len);
out:
    free(bytes);
    BN_free(bn);
    return rv;
}

/* EC_PARAMS (DER ECParameters: the curve OID) and EC_POINT (DER OCTET STRING
 * of 04||X||Y), read from the provider-native key: no EC_KEY, which an ENGINE
 * made the application's default could take over. */
static CK_RV add_ec_public(mt_attr_list *a, const EVP_PKEY *pkey)
{
    uint8_t point[1 + 2 * 66], octets[3 + sizeof(point)];
    size_t point_len = 0;
    unsigned char *params = NULL;
    CK_RV rv = CKR_DEVICE_ERROR;
    int params_len = i2d_KeyParams(pkey, &params);
    if (params_len <= 0 ||
        EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                        sizeof(point), &point_len) != 1 ||
        point_len == 0)
        goto out;
    /* up to P-521's 133 bytes: a one-byte length, or 0x81 and one byte */
    size_t header = point_len < 128 ? 2 : 3;
    octets[0] = 0x04;
    octets[1] = header == 2 ? (uint8_t)point_len : 0x81;
    octets[2] = (uint8_t)point_len;
    memcpy(octets + header, point, point_len);
    rv = mt_attr_add(a, CKA_EC_PARAMS, params, (size_t)params_len);
    if (rv == CKR_OK)
        rv = mt_attr_add(a, CKA_EC_POINT, octets, header + point_len);
out:
    OPENSSL_free(params);
    return rv;
}

/* Attributes a public and a private key object share. */
static CK_RV add_key_common(mt_object *object, const mt_cert_info *info, const char *label,
                            bool is_private)
{
    mt_attr_list *a = &object->attrs;
    object->pub = mt_key_from_der(info->spki, info->spki_len, false);
    if (!object->pub)
        return CKR_DEVICE_ERROR;
    object->key_type = info->key_type == MT_KEY_RSA ? CKK_RSA : CKK_EC;
    object->key_bits = info->key_bits;
    object->is_private = is_private;
    object->cert_id = 0;
    CK_RV rv = add_storage(a, object->klass, is_private, label);
    if (rv == CKR_OK) rv = mt_attr_add_ulong(a, CKA_KEY_TYPE, object->key_type);
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_ID, info->key_id, MT_KEY_ID_LEN);
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_START_DATE, NULL, 0);
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_END_DATE, NULL, 0);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_LOCAL, false);
    if (rv == CKR_OK) rv = mt_attr_add_ulong(a, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION);
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_SUBJECT, info->subject_der, info->subject_der_len);
    if (rv == CKR_OK) rv = mt_attr_add(a, CKA_PUBLIC_KEY_INFO, info->spki, info->spki_len);
    if (rv != CKR_OK)
        return rv;
    if (object->key_type == CKK_RSA) {
        rv = add_bn(a, CKA_MODULUS, object->pub->pkey, OSSL_PKEY_PARAM_RSA_N);
        if (rv == CKR_OK)
            rv = add_bn(a, CKA_PUBLIC_EXPONENT, object->pub->pkey, OSSL_PKEY_PARAM_RSA_E);
        if (rv == CKR_OK && !is_private)
            rv = mt_attr_add_ulong(a, CKA_MODULUS_BITS, info->key_bits);
        return rv;
    }
    return add_ec_public(a, object->pub->pkey);
}

static CK_RV add_public_key(builder *b, const mt_cert_info *info, const char *label)
{
    mt_object *object = mt_object_new(CKO_PUBLIC_KEY);
    if (!object)
        return CKR_HOST_MEMORY;
    mt_attr_list *a = &object->attrs;
    bool rsa = info->key_type == MT_KEY_RSA;
    CK_RV rv = add_key_common(object, info, label, false);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_ENCRYPT, rsa);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_VERIFY, true);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_VERIFY_RECOVER, false);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_WRAP, false);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_DERIVE, false);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_TRUSTED, false);
    if (rv == CKR_OK)
        rv = mt_mech_allowed(object->key_type, CKF_VERIFY | (rsa ? CKF_ENCRYPT : 0), a);
    if (rv != CKR_OK) {
        mt_object_free(object);
        return rv;
    }
    return add_object(b, object, KIND_PUBLIC_KEY, info->sha256);
}

static const CK_ATTRIBUTE_TYPE rsa_sensitive[] = {CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2,
                                                  CKA_EXPONENT_1, CKA_EXPONENT_2,
                                                  CKA_COEFFICIENT};

static CK_RV add_private_key(builder *b, const mt_cert_info *info, const char *label,
                             int64_t cert_id, bool can_sign)
{
    mt_object *object = mt_object_new(CKO_PRIVATE_KEY);
    if (!object)
        return CKR_HOST_MEMORY;
    mt_attr_list *a = &object->attrs;
    bool rsa = info->key_type == MT_KEY_RSA;
    CK_RV rv = add_key_common(object, info, label, true);
    object->cert_id = cert_id;
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_SENSITIVE, true);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_ALWAYS_SENSITIVE, true);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_EXTRACTABLE, false);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_NEVER_EXTRACTABLE, true);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_SIGN, can_sign);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_SIGN_RECOVER, false);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_DECRYPT, rsa);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_UNWRAP, rsa);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_DERIVE, !rsa);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_WRAP_WITH_TRUSTED, false);
    if (rv == CKR_OK) rv = mt_attr_add_bool(a, CKA_ALWAYS_AUTHENTICATE, false);
    if (rv == CKR_OK) rv = mt_attr_add_sensitive(a, CKA_VALUE);
    for (size_t i = 0; rsa && rv == CKR_OK && i < sizeof(rsa_sensitive) / sizeof(*rsa_sensitive); i++)
        rv = mt_attr_add_sensitive(a, rsa_sensitive[i]);
    if (rv == CKR_OK) {
        CK_FLAGS flags = (can_sign ? CKF_SIGN : 0) | (rsa ? CKF_DECRYPT | CKF_UNWRAP : CKF_DERIVE);
        rv = mt_mech_allowed(object->key_type, flags, a);
    }
    if (rv != CKR_OK) {
        mt_object_free(object);
        return rv;
    }
    return add_object(b, object, KIND_PRIVATE_KEY, info->sha256);
}

static bool seen_before(builder *b, const uint8_t sha256[32])
{
    for (size_t i = 0; i < b->n_seen; i++)
        if (memcmp(b->seen[i], sha256, 32) == 0)
            return true;
    uint8_t (*seen)[32] = realloc(b->seen, (b->n_seen + 1) * sizeof(*seen));
    if (!seen)
        return false;
    b->seen = seen;
    memcpy(b->seen[b->n_seen++], sha256, 32);
    return false;
}

static bool label_taken(const builder *b, const char *label)
{
    for (size_t i = 0; i < b->objects->n; i++) {
        const mt_attr *attr = mt_attr_find(&b->objects->items[i]->attrs, CKA_LABEL);
        if (attr && attr->len == strlen(label) && memcmp(attr->value, label, attr->len) == 0)
            return true;
    }
    return false;
}

/* The primary is named by its email; history certificates add their end date. */
static void account_label(const builder *b, const mt_cert *cert, bool primary, char *label,
                          size_t size)
{
    if (primary) {
        snprintf(label, size, "%s", b->email);
        return;
    }
    time_t t = (time_t)cert->info->not_after;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(label, size, "%s (until %04d-%02d-%02d)", b->email, tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
    if (label_taken(b, label))
        snprintf(label, size, "%s (until %04d-%02d-%02d, #%lld)", b->email, tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, (long long)cert->id);
}

static CK_RV add_chain(builder *b, const mt_cert *cert)
{
    CK_RV rv = CKR_OK;
    for (size_t i = 0; rv == CKR_OK && i < cert->n_chain; i++) {
        mt_cert_info *info = NULL;
        if (mt_cert_info_from_der(cert->chain[i].data, cert->chain[i].len, &info) != MT_OK)
            continue; /* an unreadable chain certificate is left out, not fatal */
        if (!seen_before(b, info->sha256))
            rv = add_cert(b, info, info->subject ? info->subject : "", 2, 0);
        mt_cert_info_free(info);
    }
    return rv;
}

static CK_RV add_account_cert(builder *b, mt_store *store, int64_t cert_id, bool primary)
{
    mt_cert *cert = NULL;
    char label[512];
    CK_RV rv = CKR_OK;
    mt_status st = mt_store_cert_get(store, cert_id, &cert);
    if (st != MT_OK) {
        rv = st == MT_ERR_NOT_FOUND ? CKR_OK : mt_rv_from_status(st);
        goto out;
    }
    if (seen_before(b, cert->info->sha256))
        goto out;
    account_label(b, cert, primary, label, sizeof(label));
    bool with_key = cert->has_private_key &&
                    (cert->info->key_type == MT_KEY_RSA || cert->info->key_type == MT_KEY_EC);
    rv = add_cert(b, cert->info, label, with_key ? 1 : 3, cert->id);
    if (rv == CKR_OK && with_key)
        rv = add_public_key(b, cert->info, label);
    if (rv == CKR_OK && with_key)
        rv = add_private_key(b, cert->info, label, cert->id, primary);
out:
    mt_cert_free(cert);
    return rv;
}

CK_RV mt_objects_build(mt_store *store, int64_t token_id, size_t slot_index, mt_handles *handles,
                       mt_objects **out)
{
    builder b = {.slot_index = slot_index, .handles = handles};
    mt_account *account = NULL;
    CK_RV rv = CKR_HOST_MEMORY;
    b.objects = calloc(1, sizeof(*b.objects));
    if (!b.objects)
        goto out;
    rv = add_profile(&b);
    if (rv != CKR_OK)
        goto out;
    mt_status st = mt_store_account_get_by_token(store, token_id, &account);
    if (st == MT_ERR_NOT_FOUND)
        goto index; /* deleted meanwhile: the slot shows no token */
    if (st != MT_OK) {
        rv = mt_rv_from_status(st);
        goto out;
    }
    b.email = account->email;
    rv = add_account_cert(&b, store, account->primary_cert_id, true);
    for (size_t i = account->n_history; rv == CKR_OK && i-- > 0;)
        if (account->history[i] != account->primary_cert_id)
            rv = add_account_cert(&b, store, account->history[i], false);
    /* chain certificates after the account's own, so they never take their labels */
    for (size_t i = 0; rv == CKR_OK && i <= account->n_history; i++) {
        int64_t id = i == 0 ? account->primary_cert_id : account->history[i - 1];
        mt_cert *cert = NULL;
        if (mt_store_cert_get(store, id, &cert) == MT_OK)
            rv = add_chain(&b, cert);
        mt_cert_free(cert);
    }
    if (rv != CKR_OK)
        goto out;
index:
    rv = number_objects(b.objects, handles);
    if (rv == CKR_OK)
        rv = mt_objects_index(b.objects);
out:
    if (rv != CKR_OK) {
        mt_objects_free(b.objects);
        b.objects = NULL;
    }
    *out = b.objects;
    free(b.seen);
    mt_account_free(account);
    return rv;
}
