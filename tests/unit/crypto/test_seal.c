/* Sealing primitives: sealed keys, sealed secrets, PIN wrapping, store key file. */
#include "seal.h"

/* The primitives seal to key pairs made right here: trusted by construction. */
#define TRUSTED(pk) ((const mt_trusted_pk *)(pk))

#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* Cheapest Argon2id limits: the tests check the format, not the cost. */
#define FAST_OPS crypto_pwhash_OPSLIMIT_MIN
#define FAST_MEM crypto_pwhash_MEMLIMIT_MIN

static mt_secret *secret_of(const char *text)
{
    mt_secret *s = NULL;
    assert_int_equal(mt_secret_from(text, strlen(text), &s), MT_OK);
    return s;
}

static void test_key_round_trip(void **state)
{
    (void)state;
    uint8_t pk[MT_SEAL_PK_LEN], spki_hash[32], other_hash[32];
    mt_secret *sk = NULL, *opened = NULL;
    mt_secret *pkcs8 = secret_of("0\x82 pretend PKCS#8 key bytes");
    mt_blob sealed;
    randombytes_buf(spki_hash, sizeof(spki_hash));
    memcpy(other_hash, spki_hash, sizeof(other_hash));
    other_hash[31] ^= 1;

    assert_int_equal(mt_seal_keypair(pk, &sk), MT_OK);
    assert_int_equal(mt_seal_key(TRUSTED(pk), spki_hash, pkcs8, &sealed), MT_OK);
    assert_int_equal(sealed.len, crypto_box_SEALBYTES + 2 + 32 + pkcs8->len);
    /* the key bytes do not appear in the sealed value */
    assert_null(memmem(sealed.data, sealed.len, pkcs8->data, pkcs8->len));
    assert_int_equal(mt_seal_key_open(pk, sk, spki_hash, sealed.data, sealed.len, &opened), MT_OK);
    assert_int_equal(opened->len, pkcs8->len);
    assert_memory_equal(opened->data, pkcs8->data, pkcs8->len);
    mt_secret_free(opened);

    /* bound to its public key: another SPKI hash is refused */
    assert_int_equal(mt_seal_key_open(pk, sk, other_hash, sealed.data, sealed.len, &opened),
                     MT_ERR_CRYPTO);
    assert_null(opened);
    assert_non_null(strstr(mt_errmsg(), "another public key"));

    /* any flipped byte is detected */
    for (size_t i = 0; i < sealed.len; i += 7) {
        sealed.data[i] ^= 0x40;
        assert_int_equal(mt_seal_key_open(pk, sk, spki_hash, sealed.data, sealed.len, &opened),
                         MT_ERR_CRYPTO);
        sealed.data[i] ^= 0x40;
    }
    /* truncated */
    assert_int_equal(mt_seal_key_open(pk, sk, spki_hash, sealed.data, 40, &opened), MT_ERR_CRYPTO);

    /* another token's key does not open it */
    uint8_t pk2[MT_SEAL_PK_LEN];
    mt_secret *sk2 = NULL;
    assert_int_equal(mt_seal_keypair(pk2, &sk2), MT_OK);
    assert_int_equal(mt_seal_key_open(pk2, sk2, spki_hash, sealed.data, sealed.len, &opened),
                     MT_ERR_CRYPTO);
    free(sealed.data);
    mt_secret_free(sk2);
    mt_secret_free(sk);
    mt_secret_free(pkcs8);
}

static void test_key_header_format(void **state)
{
    (void)state;
    uint8_t pk[MT_SEAL_PK_LEN], spki_hash[32] = {1, 2, 3};
    mt_secret *sk = NULL, *plain = NULL, *pkcs8 = secret_of("KEY");
    mt_blob sealed;
    assert_int_equal(mt_seal_keypair(pk, &sk), MT_OK);
    assert_int_equal(mt_seal_key(TRUSTED(pk), spki_hash, pkcs8, &sealed), MT_OK);
    /* documented layout: 0x01 || 0x01 || SHA-256(SPKI) || PKCS#8 */
    assert_int_equal(mt_seal_secret_open(pk, sk, sealed.data, sealed.len, &plain), MT_OK);
    assert_int_equal(plain->len, 2 + 32 + 3);
    assert_int_equal(plain->data[0], 1);
    assert_int_equal(plain->data[1], 1);
    assert_memory_equal(plain->data + 2, spki_hash, 32);
    assert_memory_equal(plain->data + 34, "KEY", 3);
    free(sealed.data);
    mt_secret_free(plain);

    /* an unknown version is refused, not misread */
    mt_secret *v2 = secret_of("..................................KEY");
    v2->data[0] = 2;
    v2->data[1] = 1;
    memcpy(v2->data + 2, spki_hash, 32);
    mt_secret *opened = NULL;
    assert_int_equal(mt_seal_secret(TRUSTED(pk), v2, &sealed), MT_OK);
    assert_int_equal(mt_seal_key_open(pk, sk, spki_hash, sealed.data, sealed.len, &opened),
                     MT_ERR_CRYPTO);
    free(sealed.data);
    mt_secret_free(v2);
    mt_secret_free(sk);
    mt_secret_free(pkcs8);
}

static void test_secret_round_trip(void **state)
{
    (void)state;
    uint8_t pk[MT_SEAL_PK_LEN];
    mt_secret *sk = NULL, *token_secret = NULL, *opened = NULL;
    mt_blob sealed;
    assert_int_equal(mt_seal_keypair(pk, &sk), MT_OK);
    assert_int_equal(mt_secret_new(32, &token_secret), MT_OK);
    randombytes_buf(token_secret->data, 32);
    assert_int_equal(mt_seal_secret(TRUSTED(pk), token_secret, &sealed), MT_OK);
    assert_int_equal(mt_seal_secret_open(pk, sk, sealed.data, sealed.len, &opened), MT_OK);
    assert_memory_equal(opened->data, token_secret->data, 32);
    mt_secret_free(opened);
    sealed.data[sealed.len - 1] ^= 1;
    assert_int_equal(mt_seal_secret_open(pk, sk, sealed.data, sealed.len, &opened), MT_ERR_CRYPTO);
    assert_int_equal(mt_seal_secret_open(pk, sk, sealed.data, 10, &opened), MT_ERR_CRYPTO);
    free(sealed.data);
    mt_secret_free(sk);
    mt_secret_free(token_secret);
}

static void test_pin_wrap(void **state)
{
    (void)state;
    mt_kdf_params kdf, other_salt;
    mt_secret *pin = secret_of("horse battery"), *wrong = secret_of("horse batterz");
    mt_secret *value = secret_of("token secret key, 32 bytes long!");
    mt_secret *store_key = NULL, *other_store_key = NULL, *out = NULL;
    mt_blob wrapped;
    static const uint8_t ad[] = "token:42";
    static const uint8_t other_ad[] = "token:43";

    assert_int_equal(mt_seal_kdf_params_new(FAST_OPS, FAST_MEM, &kdf), MT_OK);
    assert_int_equal(mt_seal_kdf_params_new(FAST_OPS, FAST_MEM, &other_salt), MT_OK);
    assert_memory_not_equal(kdf.salt, other_salt.salt, MT_SEAL_SALT_LEN);

    /* without a store key */
    assert_int_equal(mt_seal_pin_wrap(pin, NULL, &kdf, value, ad, sizeof(ad), &wrapped), MT_OK);
    assert_int_equal(wrapped.data[0], MT_SEAL_VERSION);
    assert_int_equal(wrapped.len, 1 + 24 + value->len + 16);
    assert_int_equal(mt_seal_pin_unwrap(pin, NULL, &kdf, wrapped.data, wrapped.len, ad,
                                        sizeof(ad), &out), MT_OK);
    assert_memory_equal(out->data, value->data, value->len);
    mt_secret_free(out);
    assert_int_equal(mt_seal_pin_unwrap(wrong, NULL, &kdf, wrapped.data, wrapped.len, ad,
                                        sizeof(ad), &out), MT_ERR_PIN_INCORRECT);
    assert_null(out);
    assert_null(strstr(mt_errmsg(), "horse"));
    /* bound to its row and its salt */
    assert_int_equal(mt_seal_pin_unwrap(pin, NULL, &kdf, wrapped.data, wrapped.len, other_ad,
                                        sizeof(other_ad), &out), MT_ERR_PIN_INCORRECT);
    assert_int_equal(mt_seal_pin_unwrap(pin, NULL, &other_salt, wrapped.data, wrapped.len, ad,
                                        sizeof(ad), &out), MT_ERR_PIN_INCORRECT);
    wrapped.data[30] ^= 1;
    assert_int_equal(mt_seal_pin_unwrap(pin, NULL, &kdf, wrapped.data, wrapped.len, ad,
                                        sizeof(ad), &out), MT_ERR_PIN_INCORRECT);
    wrapped.data[0] = 9;
    assert_int_equal(mt_seal_pin_unwrap(pin, NULL, &kdf, wrapped.data, wrapped.len, ad,
                                        sizeof(ad), &out), MT_ERR_CRYPTO);
    assert_int_equal(mt_seal_pin_unwrap(pin, NULL, &kdf, wrapped.data, 20, ad, sizeof(ad), &out),
                     MT_ERR_CRYPTO);
    free(wrapped.data);

    /* with a store key: required to unwrap, and it must be the same one */
    assert_int_equal(mt_secret_new(32, &store_key), MT_OK);
    randombytes_buf(store_key->data, 32);
    assert_int_equal(mt_secret_new(32, &other_store_key), MT_OK);
    randombytes_buf(other_store_key->data, 32);
    assert_int_equal(mt_seal_pin_wrap(pin, store_key, &kdf, value, ad, sizeof(ad), &wrapped),
                     MT_OK);
    assert_int_equal(mt_seal_pin_unwrap(pin, store_key, &kdf, wrapped.data, wrapped.len, ad,
                                        sizeof(ad), &out), MT_OK);
    assert_memory_equal(out->data, value->data, value->len);
    mt_secret_free(out);
    assert_int_equal(mt_seal_pin_unwrap(pin, NULL, &kdf, wrapped.data, wrapped.len, ad,
                                        sizeof(ad), &out), MT_ERR_PIN_INCORRECT);
    assert_int_equal(mt_seal_pin_unwrap(pin, other_store_key, &kdf, wrapped.data, wrapped.len, ad,
                                        sizeof(ad), &out), MT_ERR_PIN_INCORRECT);
    free(wrapped.data);

    /* a store key of the wrong size is an argument error */
    mt_secret *short_key = secret_of("short");
    assert_int_equal(mt_seal_pin_wrap(pin, short_key, &kdf, value, ad, sizeof(ad), &wrapped),
                     MT_ERR_INVALID);
    mt_secret_free(short_key);
    mt_secret_free(store_key);
    mt_secret_free(other_store_key);
    mt_secret_free(pin);
    mt_secret_free(wrong);
    mt_secret_free(value);
}

static void test_kdf_limits(void **state)
{
    (void)state;
    mt_kdf_params kdf;
    assert_int_equal(mt_seal_kdf_params_new(0, FAST_MEM, &kdf), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "kdf_opslimit"));
    assert_int_equal(mt_seal_kdf_params_new(FAST_OPS, 1024, &kdf), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "kdf_memlimit"));
    assert_int_equal(mt_seal_kdf_params_new(crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                            crypto_pwhash_MEMLIMIT_INTERACTIVE, &kdf), MT_OK);
    assert_int_equal(kdf.opslimit, crypto_pwhash_OPSLIMIT_INTERACTIVE);
    assert_int_equal(kdf.memlimit, crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_store_key_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/mt-seal-XXXXXX", path[64];
    uint8_t raw[32];
    mt_secret *key = NULL;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/store.key", dir);

    randombytes_buf(raw, sizeof(raw));
    raw[31] = '\n'; /* a raw key may end in a newline byte: kept */
    write_file(path, raw, sizeof(raw), 0600);
    assert_int_equal(mt_seal_read_key_file(path, &key), MT_OK);
    assert_int_equal(key->len, 32);
    assert_memory_equal(key->data, raw, 32);
    mt_secret_free(key);

    char hex[66];
    sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
    strcat(hex, "\n");
    write_file(path, hex, strlen(hex), 0600);
    assert_int_equal(mt_seal_read_key_file(path, &key), MT_OK);
    assert_memory_equal(key->data, raw, 32);
    mt_secret_free(key);

    write_file(path, hex, strlen(hex), 0644);
    assert_int_equal(mt_seal_read_key_file(path, &key), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), path));
    assert_non_null(strstr(mt_errmsg(), "group or others"));

    write_file(path, "too short", 9, 0600);
    assert_int_equal(mt_seal_read_key_file(path, &key), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "32 raw bytes or 64 hex digits"));
    hex[10] = 'z';
    write_file(path, hex, strlen(hex), 0600);
    assert_int_equal(mt_seal_read_key_file(path, &key), MT_ERR_INVALID);
    assert_null(key);

    unlink(path);
    assert_int_equal(mt_seal_read_key_file(path, &key), MT_ERR_IO);
    assert_non_null(strstr(mt_errmsg(), path));
    rmdir(dir);
}

static void test_arguments(void **state)
{
    (void)state;
    uint8_t pk[MT_SEAL_PK_LEN] = {0}, hash[32] = {0};
    mt_blob sealed;
    mt_secret *out = NULL, *empty = NULL;
    assert_int_equal(mt_seal_key(TRUSTED(pk), hash, NULL, &sealed), MT_ERR_INVALID);
    assert_int_equal(mt_secret_new(0, &empty), MT_OK);
    assert_int_equal(mt_seal_key(TRUSTED(pk), hash, empty, &sealed), MT_ERR_INVALID);
    assert_int_equal(mt_seal_key_open(pk, empty, hash, (const uint8_t *)"x", 1, &out),
                     MT_ERR_CRYPTO);
    mt_secret_free(empty);
    assert_int_equal(mt_seal_keypair(NULL, &out), MT_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_round_trip),    cmocka_unit_test(test_key_header_format),
        cmocka_unit_test(test_secret_round_trip), cmocka_unit_test(test_pin_wrap),
        cmocka_unit_test(test_kdf_limits),        cmocka_unit_test(test_store_key_file),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
