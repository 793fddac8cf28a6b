/* White-box tests of the module's parts, linked from its object library:
 * the mechanism table and its parameter checks, attribute lists, the
 * reserved string of C_Initialize and the account filter it carries, the
 * ECDSA signature forms, an operation's single- or multi-part state, the
 * key value cells, AES streaming and the PIN policy's error codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "module.h"

#include <openssl/evp.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int setup(void **state)
{
    (void)state;
    assert_int_equal(mt_library_init(), MT_OK);
    assert_int_equal(mt_crypto_init(), CKR_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mt_crypto_free();
    return 0;
}

static mt_object *aes_object(const uint8_t *value, size_t len)
{
    mt_object *o = mt_object_new(CKO_SECRET_KEY);
    assert_non_null(o);
    o->key_type = CKK_AES;
    o->value = mt_keymem_alloc(len);
    assert_non_null(o->value);
    memcpy(o->value, value, len);
    o->value_len = len;
    return o;
}

static CK_RV resolve(CK_MECHANISM_TYPE type, void *param, CK_ULONG len, const mt_object *key,
                     mt_mech_params *params)
{
    CK_MECHANISM m = {type, param, len};
    const mt_mech *mech = NULL;
    CK_RV rv = mt_mech_resolve(&m, CKF_ENCRYPT, key, &mech, params);
    if (rv == CKR_OK)
        assert_int_equal(mech->type, type);
    return rv;
}

static void mechanism_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < mt_mech_count(); i++) {
        const mt_mech *m = mt_mech_at(i);
        assert_ptr_equal(mt_mech_find(m->type), m);
        assert_true(m->flags != 0);
        assert_true(m->min_bits <= m->max_bits);
        assert_true((m->key_type == CKK_AES) == (m->aes != MT_AES_NONE));
        if (m->aes) {
            assert_int_equal(m->min_bits, 16);
            assert_int_equal(m->max_bits, 32);
        }
    }
    assert_null(mt_mech_at(mt_mech_count()));
    uint8_t value[32] = {0}, iv[16] = {1};
    mt_object *key = aes_object(value, 16);
    mt_mech_params p;
    /* CBC needs its 16-byte IV; ECB takes none; the wraps an optional one */
    assert_int_equal(resolve(CKM_AES_CBC, NULL, 0, key, &p), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(resolve(CKM_AES_CBC, iv, 8, key, &p), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(resolve(CKM_AES_CBC_PAD, iv, 16, key, &p), CKR_OK);
    assert_int_equal(p.iv_len, 16);
    assert_memory_equal(p.iv, iv, 16);
    assert_int_equal(resolve(CKM_AES_ECB, iv, 16, key, &p), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(resolve(CKM_AES_ECB, NULL, 0, key, &p), CKR_OK);
    assert_int_equal(resolve(CKM_AES_KEY_WRAP, NULL, 0, key, &p), CKR_OK);
    assert_int_equal(p.iv_len, 0);
    assert_int_equal(resolve(CKM_AES_KEY_WRAP, iv, 8, key, &p), CKR_OK);
    assert_int_equal(resolve(CKM_AES_KEY_WRAP, iv, 4, key, &p), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(resolve(CKM_AES_KEY_WRAP_PAD, iv, 4, key, &p), CKR_OK);
    assert_int_equal(resolve(CKM_AES_KEY_WRAP_KWP, iv, 8, key, &p), CKR_MECHANISM_PARAM_INVALID);
    /* the key: AES, of an AES size, allowed the mechanism */
    key->value_len = 20;
    assert_int_equal(resolve(CKM_AES_ECB, NULL, 0, key, &p), CKR_KEY_SIZE_RANGE);
    key->value_len = 16;
    key->key_type = CKK_GENERIC_SECRET;
    assert_int_equal(resolve(CKM_AES_ECB, NULL, 0, key, &p), CKR_KEY_TYPE_INCONSISTENT);
    key->key_type = CKK_AES;
    CK_MECHANISM_TYPE only[] = {CKM_AES_KEY_WRAP};
    assert_int_equal(mt_attr_add(&key->attrs, CKA_ALLOWED_MECHANISMS, only, sizeof(only)), CKR_OK);
    mt_attr_sort(&key->attrs);
    assert_int_equal(resolve(CKM_AES_ECB, NULL, 0, key, &p), CKR_MECHANISM_INVALID);
    assert_int_equal(resolve(CKM_AES_KEY_WRAP, NULL, 0, key, &p), CKR_OK);
    /* a mechanism that does not do what is asked */
    CK_MECHANISM digest = {CKM_SHA256, NULL, 0};
    const mt_mech *mech = NULL;
    assert_int_equal(mt_mech_resolve(&digest, CKF_ENCRYPT, NULL, &mech, &p), CKR_MECHANISM_INVALID);
    mt_object_free(key);
}

static void attribute_lists(void **state)
{
    (void)state;
    mt_attr_list list = {0}, copy = {0};
    assert_int_equal(mt_attr_add(&list, CKA_LABEL, "label", 5), CKR_OK);
    assert_int_equal(mt_attr_add_bool(&list, CKA_SENSITIVE, false), CKR_OK);
    assert_int_equal(mt_attr_add(&list, CKA_VALUE, "secret", 6), CKR_OK);
    mt_attr_sort(&list);
    uint8_t small[2], big[16];
    CK_ATTRIBUTE t[] = {{CKA_LABEL, big, sizeof(big)},
                        {CKA_MODULUS, big, sizeof(big)},
                        {CKA_VALUE, small, sizeof(small)}};
    assert_int_equal(mt_attr_get(&list, t, 3), CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(t[0].ulValueLen, 5);
    assert_int_equal(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(t[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    /* a copy is independent of later changes */
    assert_int_equal(mt_attr_copy(&list, &copy), CKR_OK);
    mt_attr_make_sensitive(&list, CKA_VALUE);
    assert_int_equal(mt_attr_set(&list, CKA_LABEL, "other", 5), CKR_OK);
    assert_int_equal(mt_attr_set(&list, CKA_ID, "x", 1), CKR_ATTRIBUTE_TYPE_INVALID);
    CK_ATTRIBUTE v = {CKA_VALUE, big, sizeof(big)};
    assert_int_equal(mt_attr_get(&list, &v, 1), CKR_ATTRIBUTE_SENSITIVE);
    v.ulValueLen = sizeof(big);
    assert_int_equal(mt_attr_get(&copy, &v, 1), CKR_OK);
    assert_memory_equal(big, "secret", 6);
    const mt_attr *label = mt_attr_find(&copy, CKA_LABEL);
    assert_memory_equal(label->value, "label", 5);
    mt_attr_clear(&list);
    mt_attr_clear(&copy);
}

static void reserved_string(void **state)
{
    (void)state;
    char *copy = NULL;
    assert_int_equal(mt_init_reserved_copy(NULL, &copy), CKR_OK);
    assert_null(copy);
    assert_int_equal(mt_init_reserved_copy("emails=a@*", &copy), CKR_OK);
    assert_string_equal(copy, "emails=a@*");
    free(copy);
    assert_int_equal(mt_init_reserved_copy((void *)1, &copy), CKR_ARGUMENTS_BAD);
    CK_C_INITIALIZE_ARGS args, given = {.flags = CKF_OS_LOCKING_OK, .pReserved = "x"};
    assert_int_equal(mt_init_args_copy((void *)1, &args), CKR_ARGUMENTS_BAD);
    assert_int_equal(mt_init_args_copy(&given, &args), CKR_OK);
    assert_memory_equal(&args, &given, sizeof(args));
    assert_int_equal(mt_init_reserved_copy((void *)-1, &copy), CKR_ARGUMENTS_BAD);
    long page = sysconf(_SC_PAGESIZE);
    char *pages = mmap(NULL, 3 * (size_t)page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(pages != MAP_FAILED);
    assert_int_equal(mprotect(pages + 2 * page, (size_t)page, PROT_NONE), 0);
    /* across a page boundary into readable memory, then into an unreadable page */
    memset(pages, 'w', 2 * (size_t)page);
    strcpy(pages + page - 4, "org=Example");
    assert_int_equal(mt_init_reserved_copy(pages + page - 4, &copy), CKR_OK);
    assert_string_equal(copy, "org=Example");
    free(copy);
    assert_int_equal(mt_init_reserved_copy(pages + 2 * page - 10, &copy), CKR_ARGUMENTS_BAD);
    munmap(pages, 3 * (size_t)page);
    /* the filter it carries; NSS's own words are left alone */
    mt_account_filter f;
    assert_int_equal(mt_filter_from_init_string("configdir=x emails='*@example.org' kind=internal",
                                                &f),
                     CKR_OK);
    assert_int_equal(f.n_email_globs, 1);
    assert_int_equal(f.kind, MT_FILTER_INTERNAL);
    mt_filter_clear(&f);
    assert_int_equal(mt_filter_from_init_string("kind=sideways", &f), CKR_ARGUMENTS_BAD);
    assert_int_equal(mt_filter_from_init_string("", &f), CKR_OK);
    mt_filter_clear(&f);
}

static void ecdsa_forms(void **state)
{
    (void)state;
    uint8_t raw[64], back[64], *der = NULL;
    size_t der_len = 0;
    memset(raw, 0, sizeof(raw));
    raw[31] = 7;  /* r = 7: DER drops the leading zeros, raw keeps the width */
    raw[32] = 0x80; /* s with its top bit set: DER adds a zero byte */
    memset(raw + 33, 0x5a, 31);
    assert_int_equal(mt_ecdsa_raw_to_der(raw, sizeof(raw), &der, &der_len), CKR_OK);
    assert_true(der_len < 2 + 3 + 2 + 33 + 1);
    assert_int_equal(mt_ecdsa_der_to_raw(der, der_len, 32, back), CKR_OK);
    assert_memory_equal(back, raw, sizeof(raw));
    OPENSSL_free(der);
    uint8_t garbage[8] = {0x30, 0x99};
    assert_int_equal(mt_ecdsa_der_to_raw(garbage, sizeof(garbage), 32, back), CKR_DEVICE_ERROR);
}

static void operation_parts(void **state)
{
    (void)state;
    mt_session s;
    mt_op *op = NULL;
    memset(&s, 0, sizeof(s));
    assert_int_equal(mt_op_enter(&s, MT_OP_DIGEST, MT_PARTS_SINGLE, &op), CKR_OPERATION_NOT_INITIALIZED);
    s.ops[MT_OP_DIGEST].active = true;
    assert_int_equal(mt_op_enter(&s, MT_OP_DIGEST, MT_PARTS_SINGLE, &op), CKR_OK);
    assert_ptr_equal(op, &s.ops[MT_OP_DIGEST]);
    assert_int_equal(mt_op_enter(&s, MT_OP_DIGEST, MT_PARTS_MULTI, &op), CKR_OPERATION_ACTIVE);
    assert_int_equal(s.ops[MT_OP_DIGEST].parts, MT_PARTS_SINGLE);
    assert_true(s.ops[MT_OP_DIGEST].active);
    s.ops[MT_OP_SIGN].active = true;
    assert_int_equal(mt_op_enter(&s, MT_OP_SIGN, MT_PARTS_MULTI, &op), CKR_OK);
    assert_int_equal(mt_op_enter(&s, MT_OP_SIGN, MT_PARTS_MULTI, &op), CKR_OK);
    assert_int_equal(mt_op_enter(&s, MT_OP_SIGN, MT_PARTS_SINGLE, &op), CKR_OPERATION_ACTIVE);
}

static void key_cells(void **state)
{
    (void)state;
    uint8_t *cells[1100];
    for (size_t i = 0; i < 1100; i++) { /* more than one arena */
        cells[i] = mt_keymem_alloc(32);
        assert_non_null(cells[i]);
        memset(cells[i], 0xab, 32);
    }
    for (size_t i = 1; i < 1100; i++)
        assert_ptr_not_equal(cells[i], cells[i - 1]);
    mt_keymem_free(cells[5], 32);
    for (size_t i = 0; i < 32; i++) /* wiped, in memory that stays the arena's */
        assert_int_equal(cells[5][i], 0);
    uint8_t *again = mt_keymem_alloc(16);
    assert_ptr_equal(again, cells[5]);
    cells[5] = again;
    uint8_t *big = mt_keymem_alloc(200);
    assert_non_null(big);
    mt_keymem_free(big, 200);
    for (size_t i = 0; i < 1100; i++)
        mt_keymem_free(cells[i], 32);
}

/* CBC_PAD decryption a byte at a time: output only whole blocks, the last
 * one held back for its padding; a size query leaves the state alone. */
static void aes_stream(void **state)
{
    (void)state;
    static const uint8_t value[16] = "fedcba9876543210", iv[16] = "initial vector!!";
    uint8_t plain[37], enc[48], out[64];
    int n = 0, m = 0;
    memset(plain, 'q', sizeof(plain));
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    assert_int_equal(EVP_EncryptInit_ex2(ctx, EVP_aes_128_cbc(), value, iv, NULL), 1);
    assert_int_equal(EVP_EncryptUpdate(ctx, enc, &n, plain, sizeof(plain)), 1);
    assert_int_equal(EVP_EncryptFinal_ex(ctx, enc + n, &m), 1);
    EVP_CIPHER_CTX_free(ctx);
    assert_int_equal(n + m, 48);
    mt_object *key = aes_object(value, sizeof(value));
    mt_op op;
    memset(&op, 0, sizeof(op));
    op.kind = MT_OP_DECRYPT;
    op.mech = mt_mech_find(CKM_AES_CBC_PAD);
    memcpy(op.params.iv, iv, 16);
    op.params.iv_len = 16;
    assert_int_equal(mt_aes_op_init(&op, key), CKR_OK);
    size_t total = 0;
    for (size_t i = 0; i < 48; i++) {
        CK_ULONG len = 0;
        size_t held = op.held_len;
        assert_int_equal(mt_aes_update(&op, enc + i, 1, NULL, &len), CKR_OK);
        assert_int_equal(len, i % 16 == 0 && i >= 16 ? 16 : 0);
        assert_int_equal(op.held_len, held);
        len = sizeof(out) - total;
        assert_int_equal(mt_aes_update(&op, enc + i, 1, out + total, &len), CKR_OK);
        total += len;
    }
    assert_int_equal(total, 32);
    assert_int_equal(op.held_len, 16);
    CK_ULONG last = sizeof(out) - total;
    assert_int_equal(mt_aes_final(&op, out + total, &last), CKR_OK);
    assert_int_equal(total + last, sizeof(plain));
    assert_memory_equal(out, plain, sizeof(plain));
    assert_false(op.active); /* ended with its output */
    mt_object_free(key);
}

static void pin_errors(void **state)
{
    (void)state;
    mt_config config;
    mt_secret *pin = NULL;
    memset(&config, 0, sizeof(config));
    config.pin_min_length = 8;
    mt_g.config = &config;
    struct {
        const char *text;
        CK_RV rv;
    } cases[] = {{"short1", CKR_PIN_LEN_RANGE},
                 {"", CKR_PIN_LEN_RANGE},
                 {"1234567890", CKR_PIN_INVALID},
                 {"good\xff\xfepassword", CKR_PIN_INVALID}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(mt_secret_from(cases[i].text, strlen(cases[i].text), &pin), MT_OK);
        assert_int_equal(mt_pin_refused_rv(pin), cases[i].rv);
        mt_secret_free(pin);
    }
    char long_pin[300];
    memset(long_pin, 'a', sizeof(long_pin));
    assert_int_equal(mt_secret_from(long_pin, sizeof(long_pin), &pin), MT_OK);
    assert_int_equal(mt_pin_refused_rv(pin), CKR_PIN_LEN_RANGE);
    mt_secret_free(pin);
    mt_g.config = NULL;
}

/* The info structures' blank-padded fields: text that does not fit is cut
 * at a character boundary, never inside a UTF-8 character. */
static void padded_fields(void **state)
{
    (void)state;
    CK_UTF8CHAR field[8];
    mt_pad(field, sizeof(field), "abc");
    assert_memory_equal(field, "abc     ", 8);
    mt_pad(field, sizeof(field), "abcdefgh-too-long");
    assert_memory_equal(field, "abcdefgh", 8);
    /* "josé..é": the 8th byte would be the first half of the second é */
    mt_pad(field, sizeof(field), "jos\xc3\xa9..\xc3\xa9");
    assert_memory_equal(field, "jos\xc3\xa9.. ", 8);
    /* a 4-byte character starting at byte 6 goes whole */
    mt_pad(field, sizeof(field), "abcdef\xf0\x9f\x93\xa7");
    assert_memory_equal(field, "abcdef  ", 8);
    /* one that ends exactly at the field's end stays */
    mt_pad(field, sizeof(field), "abcd\xf0\x9f\x93\xa7z");
    assert_memory_equal(field, "abcd\xf0\x9f\x93\xa7", 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mechanism_table), cmocka_unit_test(attribute_lists),
        cmocka_unit_test(reserved_string), cmocka_unit_test(ecdsa_forms),
        cmocka_unit_test(operation_parts), cmocka_unit_test(key_cells),
        cmocka_unit_test(aes_stream),      cmocka_unit_test(pin_errors),
        cmocka_unit_test(padded_fields),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
