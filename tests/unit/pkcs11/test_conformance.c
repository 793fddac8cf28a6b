/* PKCS#11 3.0 conformance where clients found the module wanting:
 * C_Initialize arguments that cannot be read, the order in which
 * errors are reported, single- and multi-part calls mixed on one operation,
 * size queries, PIN policy errors, and what a write-protected token still
 * lets an application create. */
#include "support.h"

#include <openssl/evp.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const users[] = {"alice", "carol"};

static int setup(void **state)
{
    (void)state;
    test_load_module();
    test_make_store(users, sizeof(users) / sizeof(users[0]));
    return 0;
}

static void initialize_reserved_pointer(void **state)
{
    (void)state;
    /* a pointer that does not point at readable memory, as the reserved
     * string or as the arguments themselves */
    CK_C_INITIALIZE_ARGS one = {.flags = CKF_OS_LOCKING_OK, .pReserved = (void *)1};
    assert_int_equal(p11->C_Initialize(&one), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_Initialize((void *)1), CKR_ARGUMENTS_BAD);
    /* a string running into a page that cannot be read */
    long page = sysconf(_SC_PAGESIZE);
    char *pages = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
    assert_true(pages != MAP_FAILED);
    assert_int_equal(mprotect(pages + page, (size_t)page, PROT_NONE), 0);
    memset(pages, 'a', (size_t)page);
    CK_C_INITIALIZE_ARGS edge = {.pReserved = pages + page - 100};
    assert_int_equal(p11->C_Initialize(&edge), CKR_ARGUMENTS_BAD);
    /* a string that ends just before the unreadable page is fine */
    memcpy(pages + page - 12, "kind=all", 9);
    edge.pReserved = pages + page - 12;
    assert_int_equal(p11->C_Initialize(&edge), CKR_OK);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
    munmap(pages, 2 * (size_t)page);
    /* no NUL within 4 KiB */
    char *long_text = malloc(5000);
    assert_non_null(long_text);
    memset(long_text, 'x', 4999);
    long_text[4999] = '\0';
    CK_C_INITIALIZE_ARGS too_long = {.pReserved = long_text};
    assert_int_equal(p11->C_Initialize(&too_long), CKR_ARGUMENTS_BAD);
    free(long_text);
    /* the filter in a readable string still narrows the slots */
    CK_C_INITIALIZE_ARGS filtered = {.pReserved = "emails=carol@*"};
    CK_ULONG n = 0;
    assert_int_equal(p11->C_Initialize(&filtered), CKR_OK);
    assert_int_equal(p11->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

#define NI(call) assert_int_equal((call), CKR_CRYPTOKI_NOT_INITIALIZED)

/* Every function but the three that serve before C_Initialize, with the
 * worst arguments: not initialised is said first. */
static void not_initialized_first(void **state)
{
    (void)state;
    CK_FUNCTION_LIST_3_0 *f = p11_3;
    NI(f->C_Finalize(NULL));
    NI(f->C_GetInfo(NULL));
    NI(f->C_GetSlotList(CK_FALSE, NULL, NULL));
    NI(f->C_GetSlotInfo(0, NULL));
    NI(f->C_GetTokenInfo(0, NULL));
    NI(f->C_GetMechanismList(0, NULL, NULL));
    NI(f->C_GetMechanismInfo(0, 0, NULL));
    NI(f->C_InitToken(0, NULL, 0, NULL));
    NI(f->C_InitPIN(0, NULL, 0));
    NI(f->C_SetPIN(0, NULL, 0, NULL, 0));
    NI(f->C_OpenSession(0, 0, NULL, NULL, NULL));
    NI(f->C_CloseSession(0));
    NI(f->C_CloseAllSessions(0));
    NI(f->C_GetSessionInfo(0, NULL));
    NI(f->C_GetOperationState(0, NULL, NULL));
    NI(f->C_SetOperationState(0, NULL, 0, 0, 0));
    NI(f->C_Login(0, 0, NULL, 0));
    NI(f->C_Logout(0));
    NI(f->C_CreateObject(0, NULL, 1, NULL));
    NI(f->C_CopyObject(0, 0, NULL, 1, NULL));
    NI(f->C_DestroyObject(0, 0));
    NI(f->C_GetObjectSize(0, 0, NULL));
    NI(f->C_GetAttributeValue(0, 0, NULL, 1));
    NI(f->C_SetAttributeValue(0, 0, NULL, 1));
    NI(f->C_FindObjectsInit(0, NULL, 1));
    NI(f->C_FindObjects(0, NULL, 0, NULL));
    NI(f->C_FindObjectsFinal(0));
    NI(f->C_EncryptInit(0, NULL, 0));
    NI(f->C_Encrypt(0, NULL, 0, NULL, NULL));
    NI(f->C_EncryptUpdate(0, NULL, 0, NULL, NULL));
    NI(f->C_EncryptFinal(0, NULL, NULL));
    NI(f->C_DecryptInit(0, NULL, 0));
    NI(f->C_Decrypt(0, NULL, 0, NULL, NULL));
    NI(f->C_DecryptUpdate(0, NULL, 0, NULL, NULL));
    NI(f->C_DecryptFinal(0, NULL, NULL));
    NI(f->C_DigestInit(0, NULL));
    NI(f->C_Digest(0, NULL, 0, NULL, NULL));
    NI(f->C_DigestUpdate(0, NULL, 0));
    NI(f->C_DigestKey(0, 0));
    NI(f->C_DigestFinal(0, NULL, NULL));
    NI(f->C_SignInit(0, NULL, 0));
    NI(f->C_Sign(0, NULL, 0, NULL, NULL));
    NI(f->C_SignUpdate(0, NULL, 0));
    NI(f->C_SignFinal(0, NULL, NULL));
    NI(f->C_SignRecoverInit(0, NULL, 0));
    NI(f->C_SignRecover(0, NULL, 0, NULL, NULL));
    NI(f->C_VerifyInit(0, NULL, 0));
    NI(f->C_Verify(0, NULL, 0, NULL, 0));
    NI(f->C_VerifyUpdate(0, NULL, 0));
    NI(f->C_VerifyFinal(0, NULL, 0));
    NI(f->C_VerifyRecoverInit(0, NULL, 0));
    NI(f->C_VerifyRecover(0, NULL, 0, NULL, NULL));
    NI(f->C_DigestEncryptUpdate(0, NULL, 0, NULL, NULL));
    NI(f->C_DecryptDigestUpdate(0, NULL, 0, NULL, NULL));
    NI(f->C_SignEncryptUpdate(0, NULL, 0, NULL, NULL));
    NI(f->C_DecryptVerifyUpdate(0, NULL, 0, NULL, NULL));
    NI(f->C_GenerateKey(0, NULL, NULL, 1, NULL));
    NI(f->C_GenerateKeyPair(0, NULL, NULL, 1, NULL, 1, NULL, NULL));
    NI(f->C_WrapKey(0, NULL, 0, 0, NULL, NULL));
    NI(f->C_UnwrapKey(0, NULL, 0, NULL, 0, NULL, 1, NULL));
    NI(f->C_DeriveKey(0, NULL, 0, NULL, 1, NULL));
    NI(f->C_SeedRandom(0, NULL, 0));
    NI(f->C_GenerateRandom(0, NULL, 0));
    NI(f->C_GetFunctionStatus(0));
    NI(f->C_CancelFunction(0));
    NI(f->C_WaitForSlotEvent(0, NULL, NULL));
    NI(f->C_LoginUser(0, 0, NULL, 0, NULL, 0));
    NI(f->C_SessionCancel(0, 0));
    NI(f->C_MessageEncryptInit(0, NULL, 0));
    NI(f->C_EncryptMessage(0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL));
    NI(f->C_EncryptMessageBegin(0, NULL, 0, NULL, 0));
    NI(f->C_EncryptMessageNext(0, NULL, 0, NULL, 0, NULL, NULL, 0));
    NI(f->C_MessageEncryptFinal(0));
    NI(f->C_MessageDecryptInit(0, NULL, 0));
    NI(f->C_DecryptMessage(0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL));
    NI(f->C_DecryptMessageBegin(0, NULL, 0, NULL, 0));
    NI(f->C_DecryptMessageNext(0, NULL, 0, NULL, 0, NULL, NULL, 0));
    NI(f->C_MessageDecryptFinal(0));
    NI(f->C_MessageSignInit(0, NULL, 0));
    NI(f->C_SignMessage(0, NULL, 0, NULL, 0, NULL, NULL));
    NI(f->C_SignMessageBegin(0, NULL, 0));
    NI(f->C_SignMessageNext(0, NULL, 0, NULL, 0, NULL, NULL));
    NI(f->C_MessageSignFinal(0));
    NI(f->C_MessageVerifyInit(0, NULL, 0));
    NI(f->C_VerifyMessage(0, NULL, 0, NULL, 0, NULL, 0));
    NI(f->C_VerifyMessageBegin(0, NULL, 0));
    NI(f->C_VerifyMessageNext(0, NULL, 0, NULL, 0, NULL, 0));
    NI(f->C_MessageVerifyFinal(0));
}

/* A NULL template with a count: CKR_ARGUMENTS_BAD before the mechanism,
 * the key or the write protection are looked at. */
static void null_template_first(void **state)
{
    (void)state;
    CK_MECHANISM nonsense = {0x7fffffffUL, NULL, 0};
    CK_OBJECT_HANDLE h = 0, h2 = 0;
    uint8_t data[16] = {0};
    test_init();
    CK_SESSION_HANDLE s = test_session("alice@example.org", 1);
    CK_OBJECT_HANDLE cert = test_find(s, CKO_CERTIFICATE, NULL, 0);
    assert_int_equal(p11->C_CreateObject(s, NULL, 2, &h), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_CopyObject(s, cert, NULL, 2, &h), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_SetAttributeValue(s, cert, NULL, 2), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_GetAttributeValue(s, cert, NULL, 2), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_FindObjectsInit(s, NULL, 2), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_GenerateKey(s, &nonsense, NULL, 2, &h), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_GenerateKeyPair(s, &nonsense, NULL, 2, NULL, 0, &h, &h2),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_GenerateKeyPair(s, &nonsense, NULL, 0, NULL, 2, &h, &h2),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_UnwrapKey(s, &nonsense, cert, data, sizeof(data), NULL, 2, &h),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_DeriveKey(s, &nonsense, cert, NULL, 2, &h), CKR_ARGUMENTS_BAD);
    /* with a template, the next problem is reported */
    CK_ULONG klass = CKO_SECRET_KEY;
    CK_ATTRIBUTE t = {CKA_CLASS, &klass, sizeof(klass)};
    assert_int_equal(p11->C_GenerateKey(s, &nonsense, &t, 1, &h), CKR_MECHANISM_INVALID);
    assert_int_equal(p11->C_SetAttributeValue(s, cert, &t, 1), CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

static void digest_of(const void *data, size_t len, uint8_t out[32])
{
    unsigned n = 32;
    assert_int_equal(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL), 1);
}

static void digest_mixing(void **state)
{
    (void)state;
    CK_MECHANISM sha256 = {CKM_SHA256, NULL, 0};
    uint8_t out[32], want[32];
    CK_ULONG len = sizeof(out);
    test_init();
    CK_SESSION_HANDLE s = test_session("alice@example.org", 0);
    /* update, then the single-part call: refused, the operation goes on */
    assert_int_equal(p11->C_DigestInit(s, &sha256), CKR_OK);
    assert_int_equal(p11->C_DigestUpdate(s, (CK_BYTE_PTR) "abc", 3), CKR_OK);
    assert_int_equal(p11->C_Digest(s, (CK_BYTE_PTR) "def", 3, out, &len), CKR_OPERATION_ACTIVE);
    assert_int_equal(p11->C_DigestUpdate(s, (CK_BYTE_PTR) "def", 3), CKR_OK);
    assert_int_equal(p11->C_DigestFinal(s, out, &len), CKR_OK);
    digest_of("abcdef", 6, want);
    assert_memory_equal(out, want, 32);
    /* a size query of the single-part call, then a final: refused */
    assert_int_equal(p11->C_DigestInit(s, &sha256), CKR_OK);
    len = 0;
    assert_int_equal(p11->C_Digest(s, (CK_BYTE_PTR) "abc", 3, NULL, &len), CKR_OK);
    assert_int_equal(len, 32);
    assert_int_equal(p11->C_DigestFinal(s, out, &len), CKR_OPERATION_ACTIVE);
    assert_int_equal(p11->C_DigestUpdate(s, (CK_BYTE_PTR) "x", 1), CKR_OPERATION_ACTIVE);
    /* the single-part call over its own input, not the empty one */
    assert_int_equal(p11->C_Digest(s, (CK_BYTE_PTR) "abc", 3, out, &len), CKR_OK);
    digest_of("abc", 3, want);
    assert_memory_equal(out, want, 32);
    /* a final size query keeps the multi-part operation */
    assert_int_equal(p11->C_DigestInit(s, &sha256), CKR_OK);
    assert_int_equal(p11->C_DigestUpdate(s, (CK_BYTE_PTR) "abc", 3), CKR_OK);
    assert_int_equal(p11->C_DigestFinal(s, NULL, &len), CKR_OK);
    assert_int_equal(p11->C_DigestUpdate(s, (CK_BYTE_PTR) "def", 3), CKR_OK);
    assert_int_equal(p11->C_DigestFinal(s, out, &len), CKR_OK);
    digest_of("abcdef", 6, want);
    assert_memory_equal(out, want, 32);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

static CK_OBJECT_HANDLE key_of(CK_SESSION_HANDLE s, CK_OBJECT_CLASS klass)
{
    uint8_t id[20];
    size_t id_len = test_primary_id(s, id);
    CK_OBJECT_HANDLE h = test_find(s, klass, id, id_len);
    assert_int_not_equal(h, CK_INVALID_HANDLE);
    return h;
}

/* The module initialised, a session on alice's token logged in, her primary keys. */
static CK_SESSION_HANDLE alice_keys(CK_OBJECT_HANDLE *priv, CK_OBJECT_HANDLE *pub)
{
    test_init();
    CK_SESSION_HANDLE s = test_session("alice@example.org", 1);
    *priv = key_of(s, CKO_PRIVATE_KEY);
    *pub = key_of(s, CKO_PUBLIC_KEY);
    return s;
}

static void sign_verify_mixing(void **state)
{
    (void)state;
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    uint8_t sig[512];
    CK_ULONG len = sizeof(sig);
    CK_OBJECT_HANDLE priv, pub;
    CK_SESSION_HANDLE s = alice_keys(&priv, &pub);
    /* C_Sign's size query, then C_SignFinal: refused, not a signature of nothing */
    assert_int_equal(p11->C_SignInit(s, &m, priv), CKR_OK);
    assert_int_equal(p11->C_Sign(s, (CK_BYTE_PTR) "mail", 4, NULL, &len), CKR_OK);
    assert_int_equal(len, 256);
    assert_int_equal(p11->C_SignFinal(s, sig, &len), CKR_OPERATION_ACTIVE);
    assert_int_equal(p11->C_SignUpdate(s, (CK_BYTE_PTR) "mail", 4), CKR_OPERATION_ACTIVE);
    assert_int_equal(p11->C_Sign(s, (CK_BYTE_PTR) "mail", 4, sig, &len), CKR_OK);
    assert_int_equal(p11->C_VerifyInit(s, &m, pub), CKR_OK);
    assert_int_equal(p11->C_Verify(s, (CK_BYTE_PTR) "mail", 4, sig, len), CKR_OK);
    /* multi-part signing refuses the single-part call and carries on */
    assert_int_equal(p11->C_SignInit(s, &m, priv), CKR_OK);
    assert_int_equal(p11->C_SignUpdate(s, (CK_BYTE_PTR) "ma", 2), CKR_OK);
    assert_int_equal(p11->C_Sign(s, (CK_BYTE_PTR) "mail", 4, sig, &len), CKR_OPERATION_ACTIVE);
    assert_int_equal(p11->C_SignUpdate(s, (CK_BYTE_PTR) "il", 2), CKR_OK);
    len = sizeof(sig);
    assert_int_equal(p11->C_SignFinal(s, sig, &len), CKR_OK);
    /* the same for verification */
    assert_int_equal(p11->C_VerifyInit(s, &m, pub), CKR_OK);
    assert_int_equal(p11->C_VerifyUpdate(s, (CK_BYTE_PTR) "mail", 4), CKR_OK);
    assert_int_equal(p11->C_Verify(s, (CK_BYTE_PTR) "mail", 4, sig, len), CKR_OPERATION_ACTIVE);
    assert_int_equal(p11->C_VerifyFinal(s, sig, len), CKR_OK);
    assert_int_equal(p11->C_VerifyInit(s, &m, pub), CKR_OK);
    assert_int_equal(p11->C_Verify(s, (CK_BYTE_PTR) "mail", 4, sig, len), CKR_OK);
    assert_int_equal(p11->C_VerifyFinal(s, sig, len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

/* A session AES key made from a known value. */
static CK_OBJECT_HANDLE aes_key(CK_SESSION_HANDLE s, const uint8_t *value, CK_ULONG len)
{
    CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &klass, sizeof(klass)},
                        {CKA_KEY_TYPE, &type, sizeof(type)},
                        {CKA_VALUE, (void *)value, len}};
    CK_OBJECT_HANDLE h = 0;
    assert_int_equal(p11->C_CreateObject(s, t, 3, &h), CKR_OK);
    return h;
}

static void cipher_mixing(void **state)
{
    (void)state;
    static const uint8_t value[16] = "0123456789abcdef", iv[16] = {0};
    uint8_t plain[40], enc[64], enc2[64], dec[64];
    CK_ULONG len = sizeof(enc), len2 = sizeof(enc2), part = 0;
    CK_MECHANISM cbc = {CKM_AES_CBC_PAD, (void *)iv, sizeof(iv)};
    memset(plain, 'p', sizeof(plain));
    test_init();
    CK_SESSION_HANDLE s = test_session("alice@example.org", 1);
    CK_OBJECT_HANDLE key = aes_key(s, value, sizeof(value));
    /* C_Encrypt's size query does not consume the input; C_EncryptUpdate is refused */
    assert_int_equal(p11->C_EncryptInit(s, &cbc, key), CKR_OK);
    assert_int_equal(p11->C_Encrypt(s, plain, sizeof(plain), NULL, &len), CKR_OK);
    assert_int_equal(len, 48);
    assert_int_equal(p11->C_EncryptUpdate(s, plain, 16, enc, &part), CKR_OPERATION_ACTIVE);
    assert_int_equal(p11->C_EncryptFinal(s, enc, &part), CKR_OPERATION_ACTIVE);
    assert_int_equal(p11->C_Encrypt(s, plain, sizeof(plain), enc, &len), CKR_OK);
    assert_int_equal(len, 48);
    /* the multi-part way gives the same, size queries along it change nothing */
    assert_int_equal(p11->C_EncryptInit(s, &cbc, key), CKR_OK);
    part = 0;
    assert_int_equal(p11->C_EncryptUpdate(s, plain, 20, NULL, &part), CKR_OK);
    assert_int_equal(part, 16);
    assert_int_equal(p11->C_Encrypt(s, plain, sizeof(plain), enc2, &len2), CKR_OPERATION_ACTIVE);
    part = 4; /* too small: nothing taken */
    assert_int_equal(p11->C_EncryptUpdate(s, plain, 20, enc2, &part), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(part, 16);
    assert_int_equal(p11->C_EncryptUpdate(s, plain, 20, enc2, &part), CKR_OK);
    len2 = part;
    part = sizeof(enc2) - len2;
    assert_int_equal(p11->C_EncryptUpdate(s, plain + 20, 20, enc2 + len2, &part), CKR_OK);
    len2 += part;
    part = 0;
    assert_int_equal(p11->C_EncryptFinal(s, NULL, &part), CKR_OK);
    assert_int_equal(part, 16);
    assert_int_equal(p11->C_EncryptFinal(s, enc2 + len2, &part), CKR_OK);
    len2 += part;
    assert_int_equal(len2, len);
    assert_memory_equal(enc, enc2, len);
    /* decryption: the same rules */
    CK_ULONG dec_len = sizeof(dec);
    assert_int_equal(p11->C_DecryptInit(s, &cbc, key), CKR_OK);
    part = sizeof(dec);
    assert_int_equal(p11->C_DecryptUpdate(s, enc, 32, dec, &part), CKR_OK);
    assert_int_equal(part, 16); /* the last whole block waits for its padding */
    assert_int_equal(p11->C_Decrypt(s, enc, len, dec, &dec_len), CKR_OPERATION_ACTIVE);
    CK_ULONG more = sizeof(dec) - part;
    assert_int_equal(p11->C_DecryptUpdate(s, enc + 32, 16, dec + part, &more), CKR_OK);
    part += more;
    more = 0;
    assert_int_equal(p11->C_DecryptFinal(s, NULL, &more), CKR_OK);
    assert_int_equal(more, 8);
    assert_int_equal(p11->C_DecryptFinal(s, dec + part, &more), CKR_OK);
    assert_int_equal(part + more, sizeof(plain));
    assert_memory_equal(dec, plain, sizeof(plain));
    assert_int_equal(p11->C_DecryptInit(s, &cbc, key), CKR_OK);
    dec_len = 0;
    assert_int_equal(p11->C_Decrypt(s, enc, len, NULL, &dec_len), CKR_OK);
    assert_true(dec_len >= sizeof(plain));
    assert_int_equal(p11->C_DecryptFinal(s, dec, &more), CKR_OPERATION_ACTIVE);
    dec_len = sizeof(plain); /* exactly enough, though less than the size query said */
    assert_int_equal(p11->C_Decrypt(s, enc, len, dec, &dec_len), CKR_OK);
    assert_int_equal(dec_len, sizeof(plain));
    assert_memory_equal(dec, plain, sizeof(plain));
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

/* RSA collects multi-part input: a size query of an update takes none. */
static void rsa_update_size_query(void **state)
{
    (void)state;
    CK_MECHANISM m = {CKM_RSA_PKCS, NULL, 0};
    uint8_t enc[256], dec[256];
    CK_ULONG part = 0, len = sizeof(enc), dec_len = sizeof(dec);
    CK_OBJECT_HANDLE priv, pub;
    CK_SESSION_HANDLE s = alice_keys(&priv, &pub);
    assert_int_equal(p11->C_EncryptInit(s, &m, pub), CKR_OK);
    assert_int_equal(p11->C_EncryptUpdate(s, (CK_BYTE_PTR) "secret", 6, NULL, &part), CKR_OK);
    assert_int_equal(part, 0);
    assert_int_equal(p11->C_EncryptUpdate(s, (CK_BYTE_PTR) "secret", 6, enc, &part), CKR_OK);
    assert_int_equal(p11->C_EncryptFinal(s, enc, &len), CKR_OK);
    assert_int_equal(p11->C_DecryptInit(s, &m, priv), CKR_OK);
    assert_int_equal(p11->C_Decrypt(s, enc, len, dec, &dec_len), CKR_OK);
    assert_int_equal(dec_len, 6);
    assert_memory_equal(dec, "secret", 6);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

static void pin_policy_errors(void **state)
{
    (void)state;
    CK_SESSION_HANDLE rw;
    test_init();
    CK_SLOT_ID slot = test_slot("alice@example.org");
    assert_int_equal(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &rw),
                     CKR_OK);
    CK_UTF8CHAR_PTR old = (CK_UTF8CHAR_PTR)TEST_PIN;
    /* long enough, but digits only: the policy, not the length */
    assert_int_equal(p11->C_SetPIN(rw, old, strlen(TEST_PIN), (CK_UTF8CHAR_PTR) "1234567890", 10),
                     CKR_PIN_INVALID);
    /* not UTF-8 */
    assert_int_equal(p11->C_SetPIN(rw, old, strlen(TEST_PIN), (CK_UTF8CHAR_PTR) "abc\xff\xfe-defgh",
                                   12),
                     CKR_PIN_INVALID);
    /* too short, too long */
    assert_int_equal(p11->C_SetPIN(rw, old, strlen(TEST_PIN), (CK_UTF8CHAR_PTR) "ab1", 3),
                     CKR_PIN_LEN_RANGE);
    uint8_t long_pin[300];
    memset(long_pin, 'a', sizeof(long_pin));
    assert_int_equal(p11->C_SetPIN(rw, old, strlen(TEST_PIN), long_pin, sizeof(long_pin)),
                     CKR_PIN_LEN_RANGE);
    /* the PIN is unchanged */
    assert_int_equal(p11->C_Login(rw, CKU_USER, old, strlen(TEST_PIN)), CKR_OK);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

/* The token is write-protected: token objects cannot be made, session
 * secret keys can, in read-only sessions too. */
static void session_objects_on_readonly_token(void **state)
{
    (void)state;
    static const uint8_t value[32] = "0123456789abcdef0123456789abcdef";
    CK_OBJECT_CLASS secret = CKO_SECRET_KEY, cert_class = CKO_CERTIFICATE;
    CK_KEY_TYPE aes = CKK_AES;
    CK_BBOOL yes = CK_TRUE;
    CK_OBJECT_HANDLE h = 0;
    CK_SESSION_INFO info;
    test_init();
    CK_SESSION_HANDLE s = test_session("carol@example.org", 0);
    assert_int_equal(p11->C_GetSessionInfo(s, &info), CKR_OK);
    assert_int_equal(info.state, CKS_RO_PUBLIC_SESSION);
    CK_ATTRIBUTE token_key[] = {{CKA_CLASS, &secret, sizeof(secret)},
                                {CKA_KEY_TYPE, &aes, sizeof(aes)},
                                {CKA_TOKEN, &yes, sizeof(yes)},
                                {CKA_VALUE, (void *)value, sizeof(value)}};
    assert_int_equal(p11->C_CreateObject(s, token_key, 4, &h), CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(p11->C_CreateObject(s, token_key, 2, &h), CKR_TEMPLATE_INCOMPLETE);
    CK_ATTRIBUTE cert[] = {{CKA_CLASS, &cert_class, sizeof(cert_class)}};
    assert_int_equal(p11->C_CreateObject(s, cert, 1, &h), CKR_ATTRIBUTE_VALUE_INVALID);
    /* the session key: public (no one logged in), usable at once */
    token_key[2].type = CKA_ENCRYPT;
    assert_int_equal(p11->C_CreateObject(s, token_key, 4, &h), CKR_OK);
    CK_BBOOL is_private = CK_TRUE, is_token = CK_TRUE;
    CK_ATTRIBUTE got[] = {{CKA_PRIVATE, &is_private, 1}, {CKA_TOKEN, &is_token, 1}};
    assert_int_equal(p11->C_GetAttributeValue(s, h, got, 2), CKR_OK);
    assert_false(is_private);
    assert_false(is_token);
    /* a private session key needs the user */
    CK_ATTRIBUTE private_key[] = {{CKA_CLASS, &secret, sizeof(secret)},
                                  {CKA_KEY_TYPE, &aes, sizeof(aes)},
                                  {CKA_PRIVATE, &yes, sizeof(yes)},
                                  {CKA_VALUE, (void *)value, sizeof(value)}};
    assert_int_equal(p11->C_CreateObject(s, private_key, 4, &h), CKR_USER_NOT_LOGGED_IN);
    /* token objects stay as they are */
    CK_OBJECT_HANDLE cert_handle = test_find(s, CKO_CERTIFICATE, NULL, 0);
    assert_int_equal(p11->C_DestroyObject(s, cert_handle), CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(p11->C_SetAttributeValue(s, cert_handle, got, 1), CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(initialize_reserved_pointer),
        cmocka_unit_test(not_initialized_first),
        cmocka_unit_test(null_template_first),
        cmocka_unit_test(digest_mixing),
        cmocka_unit_test(sign_verify_mixing),
        cmocka_unit_test(cipher_mixing),
        cmocka_unit_test(rsa_update_size_query),
        cmocka_unit_test(pin_policy_errors),
        cmocka_unit_test(session_objects_on_readonly_token),
    };
    return cmocka_run_group_tests(tests, setup, test_teardown_store);
}
