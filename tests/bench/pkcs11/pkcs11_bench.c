/* Sign, decrypt and derive rates through a PKCS#11 module (mailtoken or
 * SoftHSMv2) and through raw OpenSSL EVP with the same keys, in one process,
 * with 1 and 2 threads; and what opening a mail sent to an EC account costs
 * (RFC 5753: ECDH with the sender's new point, X9.63 KDF, AES key unwrap),
 * done the way NSS does it through the module.  The RSA and ECDSA rows also
 * give the in-process limit: OpenSSL with a key of its own per thread and a
 * context set up once per thread (limit_op).
 *   pkcs11_bench --seconds S --key-dir DIR [--ops N,N...] --module NAME=PATH:PIN:RSA_LABEL:EC_LABEL...
 * --ops: the rows to measure, by number from 0 (all by default); --rounds R:
 * each row measured R times in turn (raw, limit, each module), the mean
 * given, so that a machine's load drifting affects every column alike.
 * DIR holds alice.key/.crt (RSA-2048) and carol.key/.crt (EC P-256).
 * Every result is checked once per run (exit 1 when one is wrong). */
#include "pkcs11_v3.h"

#include <dlfcn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { OP_RSA_PKCS, OP_RSA_PSS, OP_RSA_OAEP, OP_ECDSA, OP_ECDH, OP_ECDH_UNWRAP, N_OPS };
/* What SoftHSMv2 2.6 can do too: OAEP with SHA-1 only, ECDSA over a hash
 * (the client hashes, as NSS does) */
static const char *const op_names[N_OPS] = {"RSA-2048 PKCS#1 v1.5 sign (SHA-256)",
                                            "RSA-2048 PSS sign (SHA-256)",
                                            "RSA-2048 OAEP decrypt (SHA-1)",
                                            "ECDSA P-256 sign (hash SHA-256, then sign)",
                                            "ECDH P-256 derive",
                                            "EC mail key: ECDH P-256 + SHA-256 KDF + AES-128 unwrap"};
static const uint8_t msg[] = "benchmark message, as long as a short S/MIME digest input";

static EVP_PKEY *rsa_key, *ec_key, *rsa_pub, *ec_pub, *peer;
/* The hash both sides compute before an ECDSA signature, fetched once so
 * that neither loop measures the implicit fetch of EVP_sha256(). */
static EVP_MD *sha256;
static uint8_t oaep_ct[256], peer_point[67]; /* DER OCTET STRING: SoftHSM wants it so */
static size_t oaep_ct_len;
/* A mail to carol: the sender's point (raw, as NSS passes it), the
 * ECC-CMS-SharedInfo for AES-128 key wrap, the content key it wraps. */
static uint8_t peer_raw[65], wrapped_cek[24];
static const uint8_t shared_info[] = {0x30, 0x15, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86,
                                      0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x05, 0xa2,
                                      0x06, 0x04, 0x04, 0x00, 0x00, 0x00, 0x80};
static const uint8_t cek[16] = "content key 1234";
static EVP_KDF *x963;
static EVP_CIPHER *aes128_wrap;
static double seconds = 2.0;
static int rounds = 1;

typedef struct module {
    const char *name;
    CK_FUNCTION_LIST_PTR f;
    CK_SLOT_ID rsa_slot, ec_slot;
    const char *pin;
    int unusable[N_OPS]; /* the key may not do it there (softhsm2-util imports without CKA_DERIVE) */
} module;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static EVP_PKEY *read_key(const char *dir, const char *name, int private_key)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s.%s", dir, name, private_key ? "key" : "crt");
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(2);
    }
    EVP_PKEY *key = NULL;
    if (private_key) {
        key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    } else {
        X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
        key = x ? X509_get_pubkey(x) : NULL;
        X509_free(x);
    }
    fclose(f);
    if (!key) {
        fprintf(stderr, "%s: unreadable\n", path);
        exit(2);
    }
    return key;
}

/* ------------------------------------------------------------ raw EVP */

/* The key-encryption key of RFC 5753 from the sender's point bytes: the
 * point decoded onto carol's curve, ECDH, X9.63 with SHA-256. */
static int raw_kek(uint8_t kek[16])
{
    uint8_t z[32];
    size_t z_len = sizeof(z);
    EVP_PKEY *sender = EVP_PKEY_new();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(ec_key, NULL);
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(x963);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, sizeof(z)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)shared_info,
                                          sizeof(shared_info)),
        OSSL_PARAM_construct_end()};
    int ok = sender && EVP_PKEY_copy_parameters(sender, ec_key) == 1 &&
             EVP_PKEY_set1_encoded_public_key(sender, peer_raw, sizeof(peer_raw)) == 1 &&
             EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, sender) == 1 &&
             EVP_PKEY_derive(ctx, z, &z_len) == 1 && EVP_KDF_derive(kctx, kek, 16, params) == 1;
    OPENSSL_cleanse(z, sizeof(z));
    EVP_KDF_CTX_free(kctx);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(sender);
    return ok;
}

/* AES key wrap (RFC 3394) one way or the other. */
static int raw_wrap(int wrap, const uint8_t kek[16], const uint8_t *in, int in_len, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    int ok = EVP_CipherInit_ex2(ctx, aes128_wrap, kek, NULL, wrap, NULL) == 1 &&
             EVP_CipherUpdate(ctx, out, &n, in, in_len) == 1 && n == in_len + (wrap ? 8 : -8);
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

static int raw_mail_key(uint8_t out[16])
{
    uint8_t kek[16];
    int ok = raw_kek(kek) && raw_wrap(0, kek, wrapped_cek, sizeof(wrapped_cek), out);
    OPENSSL_cleanse(kek, sizeof(kek));
    return ok;
}

static int raw_sign(EVP_PKEY *key, int pss, uint8_t *sig, size_t *len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, key) == 1;
    if (ok && pss)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1;
    ok = ok && EVP_DigestSign(ctx, sig, len, msg, sizeof(msg)) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static int raw_op(int op)
{
    uint8_t out[512];
    size_t len = sizeof(out);
    EVP_PKEY_CTX *ctx = NULL;
    int ok = 0;
    switch (op) {
    case OP_RSA_PKCS: return raw_sign(rsa_key, 0, out, &len);
    case OP_RSA_PSS: return raw_sign(rsa_key, 1, out, &len);
    case OP_ECDSA: {
        uint8_t hash[32];
        EVP_Digest(msg, sizeof(msg), hash, NULL, sha256, NULL);
        ctx = EVP_PKEY_CTX_new(ec_key, NULL);
        ok = EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_sign(ctx, out, &len, hash, sizeof(hash)) == 1;
        break;
    }
    case OP_RSA_OAEP:
        ctx = EVP_PKEY_CTX_new(rsa_key, NULL);
        ok = EVP_PKEY_decrypt_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha1()) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha1()) == 1 &&
             EVP_PKEY_decrypt(ctx, out, &len, oaep_ct, oaep_ct_len) == 1;
        break;
    case OP_ECDH:
        ctx = EVP_PKEY_CTX_new(ec_key, NULL);
        ok = EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
             EVP_PKEY_derive(ctx, out, &len) == 1;
        break;
    case OP_ECDH_UNWRAP:
        return raw_mail_key(out);
    }
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* ------------------------------------------- the in-process limit */

/* What one thread of a program doing nothing but this could reach: a key
 * of its own (no state shared with another thread, RSA blinding included)
 * and a context set up once, the hash computed beside it.  ECDH and the
 * mail key have no such form here (n/a). */
typedef struct limit_ctx {
    EVP_PKEY *rsa, *ec;
    EVP_PKEY_CTX *ctx[N_OPS];
} limit_ctx;

static int limit_has(int op)
{
    return op == OP_RSA_PKCS || op == OP_RSA_PSS || op == OP_RSA_OAEP || op == OP_ECDSA;
}

static void limit_close(limit_ctx *l)
{
    for (int op = 0; op < N_OPS; op++)
        EVP_PKEY_CTX_free(l->ctx[op]);
    EVP_PKEY_free(l->rsa);
    EVP_PKEY_free(l->ec);
}

static int limit_open(limit_ctx *l, int op)
{
    memset(l, 0, sizeof(*l));
    l->rsa = EVP_PKEY_dup(rsa_key);
    l->ec = EVP_PKEY_dup(ec_key);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(op == OP_ECDSA ? l->ec : l->rsa, NULL);
    l->ctx[op] = c;
    if (!l->rsa || !l->ec || !c)
        return 0;
    switch (op) {
    case OP_RSA_PKCS:
        return EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_CTX_set_signature_md(c, sha256) == 1;
    case OP_RSA_PSS:
        return EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) == 1 &&
               EVP_PKEY_CTX_set_signature_md(c, sha256) == 1 && EVP_PKEY_CTX_set_rsa_pss_saltlen(c, 32) == 1;
    case OP_RSA_OAEP:
        return EVP_PKEY_decrypt_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
               EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha1()) == 1 &&
               EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha1()) == 1;
    default:
        return EVP_PKEY_sign_init(c) == 1;
    }
}

static int limit_op(limit_ctx *l, int op)
{
    uint8_t out[512], hash[32];
    size_t len = sizeof(out);
    if (op == OP_RSA_OAEP)
        return EVP_PKEY_decrypt(l->ctx[op], out, &len, oaep_ct, oaep_ct_len) == 1;
    return EVP_Digest(msg, sizeof(msg), hash, NULL, sha256, NULL) == 1 &&
           EVP_PKEY_sign(l->ctx[op], out, &len, hash, sizeof(hash)) == 1;
}

/* ------------------------------------------------------------ PKCS#11 */

static CK_OBJECT_HANDLE private_key(module *m, CK_SESSION_HANDLE s)
{
    CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t = {CKA_CLASS, &klass, sizeof(klass)};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG n = 0;
    m->f->C_FindObjectsInit(s, &t, 1);
    m->f->C_FindObjects(s, &h, 1, &n);
    m->f->C_FindObjectsFinal(s);
    return n ? h : CK_INVALID_HANDLE;
}

typedef struct p11_ctx {
    module *m;
    CK_SESSION_HANDLE rsa_s, ec_s, ec_s2; /* NSS unwraps in another session */
    CK_OBJECT_HANDLE rsa_k, ec_k;
} p11_ctx;

static int p11_open(module *m, p11_ctx *c)
{
    c->m = m;
    if (m->f->C_OpenSession(m->rsa_slot, CKF_SERIAL_SESSION, NULL, NULL, &c->rsa_s) != CKR_OK ||
        m->f->C_OpenSession(m->ec_slot, CKF_SERIAL_SESSION, NULL, NULL, &c->ec_s) != CKR_OK ||
        m->f->C_OpenSession(m->ec_slot, CKF_SERIAL_SESSION, NULL, NULL, &c->ec_s2) != CKR_OK)
        return 0;
    CK_RV rv = m->f->C_Login(c->rsa_s, CKU_USER, (CK_UTF8CHAR_PTR)m->pin, strlen(m->pin));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
        return 0;
    rv = m->f->C_Login(c->ec_s, CKU_USER, (CK_UTF8CHAR_PTR)m->pin, strlen(m->pin));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
        return 0;
    c->rsa_k = private_key(m, c->rsa_s);
    c->ec_k = private_key(m, c->ec_s);
    return c->rsa_k != CK_INVALID_HANDLE && c->ec_k != CK_INVALID_HANDLE;
}

/* NSS opening an EC mail: the key-encryption key derived into a session
 * key (its template as NSS sends it), the content key unwrapped with it in
 * another session; both go when done.  The content key is left in *cek_out
 * when asked for (the check), else destroyed too. */
static CK_RV p11_mail_key(p11_ctx *c, CK_OBJECT_HANDLE *cek_out)
{
    CK_FUNCTION_LIST_PTR f = c->m->f;
    CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_BBOOL yes = CK_TRUE;
    CK_ULONG kek_len = 16;
    CK_ATTRIBUTE kek_t[] = {{CKA_CLASS, &klass, sizeof(klass)}, {CKA_KEY_TYPE, &aes, sizeof(aes)},
                            {CKA_WRAP, &yes, sizeof(yes)}, {CKA_VALUE_LEN, &kek_len, sizeof(kek_len)}};
    CK_ATTRIBUTE cek_t[] = {{CKA_CLASS, &klass, sizeof(klass)}, {CKA_KEY_TYPE, &aes, sizeof(aes)},
                            {CKA_UNWRAP, &yes, sizeof(yes)}};
    CK_ECDH1_DERIVE_PARAMS ecdh = {CKD_SHA256_KDF, sizeof(shared_info), (CK_BYTE_PTR)shared_info,
                                   sizeof(peer_raw), peer_raw};
    CK_MECHANISM derive = {CKM_ECDH1_DERIVE, &ecdh, sizeof(ecdh)}, kw = {CKM_AES_KEY_WRAP, NULL, 0};
    CK_OBJECT_HANDLE kek = CK_INVALID_HANDLE, cek = CK_INVALID_HANDLE;
    CK_RV rv = f->C_DeriveKey(c->ec_s, &derive, c->ec_k, kek_t, 4, &kek);
    if (rv == CKR_OK)
        rv = f->C_UnwrapKey(c->ec_s2, &kw, kek, wrapped_cek, sizeof(wrapped_cek), cek_t, 3, &cek);
    if (kek != CK_INVALID_HANDLE)
        f->C_DestroyObject(c->ec_s, kek);
    if (rv == CKR_OK && cek_out)
        *cek_out = cek;
    else if (cek != CK_INVALID_HANDLE)
        f->C_DestroyObject(c->ec_s2, cek);
    return rv;
}

static CK_RV p11_op(p11_ctx *c, int op, uint8_t *out, CK_ULONG *len)
{
    CK_FUNCTION_LIST_PTR f = c->m->f;
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_ECDH1_DERIVE_PARAMS ecdh = {CKD_NULL, 0, NULL, sizeof(peer_point), peer_point};
    CK_MECHANISM mechs[N_OPS] = {{CKM_SHA256_RSA_PKCS, NULL, 0},
                                 {CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss)},
                                 {CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)},
                                 {CKM_ECDSA, NULL, 0},
                                 {CKM_ECDH1_DERIVE, &ecdh, sizeof(ecdh)},
                                 {0, NULL, 0}};
    CK_RV rv;
    switch (op) {
    case OP_RSA_PKCS:
    case OP_RSA_PSS:
        rv = f->C_SignInit(c->rsa_s, &mechs[op], c->rsa_k);
        return rv ? rv : f->C_Sign(c->rsa_s, (CK_BYTE_PTR)msg, sizeof(msg), out, len);
    case OP_ECDSA: {
        uint8_t hash[32];
        EVP_Digest(msg, sizeof(msg), hash, NULL, sha256, NULL);
        rv = f->C_SignInit(c->ec_s, &mechs[op], c->ec_k);
        return rv ? rv : f->C_Sign(c->ec_s, hash, sizeof(hash), out, len);
    }
    case OP_RSA_OAEP:
        rv = f->C_DecryptInit(c->rsa_s, &mechs[op], c->rsa_k);
        return rv ? rv : f->C_Decrypt(c->rsa_s, oaep_ct, oaep_ct_len, out, len);
    case OP_ECDH_UNWRAP:
        return p11_mail_key(c, NULL);
    default: {
        CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
        CK_KEY_TYPE type = CKK_GENERIC_SECRET;
        CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
        CK_ULONG value_len = 32;
        CK_ATTRIBUTE t[] = {{CKA_CLASS, &klass, sizeof(klass)}, {CKA_KEY_TYPE, &type, sizeof(type)},
                            {CKA_TOKEN, &no, sizeof(no)}, {CKA_SENSITIVE, &no, sizeof(no)},
                            {CKA_EXTRACTABLE, &yes, sizeof(yes)},
                            {CKA_VALUE_LEN, &value_len, sizeof(value_len)}};
        CK_OBJECT_HANDLE key;
        rv = f->C_DeriveKey(c->ec_s, &mechs[op], c->ec_k, t, 6, &key);
        if (rv == CKR_OK) {
            CK_ATTRIBUTE v = {CKA_VALUE, out, *len};
            rv = f->C_GetAttributeValue(c->ec_s, key, &v, 1);
            *len = v.ulValueLen;
            f->C_DestroyObject(c->ec_s, key);
        }
        return rv;
    }
    }
}

/* The content key the module unwrapped is the one sent: the same AES-ECB
 * block of zeros as with the key itself. */
static int p11_check_mail_key(p11_ctx *c, CK_RV *rv)
{
    CK_FUNCTION_LIST_PTR f = c->m->f;
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    CK_MECHANISM ecb = {CKM_AES_ECB, NULL, 0};
    uint8_t zeros[16] = {0}, got[16], want[16];
    CK_ULONG len = sizeof(got);
    int n = 0;
    *rv = p11_mail_key(c, &key);
    if (*rv != CKR_OK)
        return 0;
    *rv = f->C_EncryptInit(c->ec_s, &ecb, key);
    if (*rv == CKR_OK)
        *rv = f->C_Encrypt(c->ec_s, zeros, sizeof(zeros), got, &len);
    f->C_DestroyObject(c->ec_s, key);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = *rv == CKR_OK && EVP_EncryptInit_ex2(ctx, EVP_aes_128_ecb(), cek, NULL, NULL) == 1 &&
             EVP_EncryptUpdate(ctx, want, &n, zeros, sizeof(zeros)) == 1 && len == 16 &&
             memcmp(got, want, 16) == 0;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/* One checked result per operation: signatures verify, plaintext and secret are right. */
static int p11_check(module *m)
{
    p11_ctx c;
    uint8_t out[512], ref[512];
    size_t ref_len = sizeof(ref);
    int ok = p11_open(m, &c);
    for (int op = 0; ok && op < N_OPS; op++) {
        CK_ULONG len = sizeof(out);
        CK_RV rv = CKR_OK;
        int mail_key_ok = op == OP_ECDH_UNWRAP ? p11_check_mail_key(&c, &rv) : 0;
        if (op != OP_ECDH_UNWRAP)
            rv = p11_op(&c, op, out, &len);
        if (rv == CKR_KEY_FUNCTION_NOT_PERMITTED || rv == CKR_MECHANISM_PARAM_INVALID) {
            m->unusable[op] = 1;
            fprintf(stderr, "%s: %s: key not permitted, not measured\n", m->name, op_names[op]);
            continue;
        }
        if (rv != CKR_OK) {
            fprintf(stderr, "%s: %s failed: 0x%lx\n", m->name, op_names[op], (unsigned long)rv);
            return 0;
        }
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pctx = NULL;
        if (op == OP_RSA_PKCS || op == OP_RSA_PSS) {
            ok = EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, rsa_pub) == 1 &&
                 (op == OP_RSA_PKCS || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1) &&
                 EVP_DigestVerify(ctx, out, len, msg, sizeof(msg)) == 1;
        } else if (op == OP_RSA_OAEP) {
            ok = len == 32 && memcmp(out, "0123456789abcdef0123456789abcdef", 32) == 0;
        } else if (op == OP_ECDSA) {
            ok = len == 64; /* r||s; signatures are checked by the unit tests */
        } else if (op == OP_ECDH_UNWRAP) {
            ok = mail_key_ok;
        } else {
            EVP_PKEY_CTX *d = EVP_PKEY_CTX_new(ec_key, NULL);
            ok = EVP_PKEY_derive_init(d) == 1 && EVP_PKEY_derive_set_peer(d, peer) == 1 &&
                 EVP_PKEY_derive(d, ref, &ref_len) == 1 && ref_len == len &&
                 memcmp(ref, out, len) == 0;
            EVP_PKEY_CTX_free(d);
        }
        EVP_MD_CTX_free(ctx);
        if (!ok)
            fprintf(stderr, "%s: %s gave a wrong result\n", m->name, op_names[op]);
    }
    return ok;
}

/* ------------------------------------------------------------ timing */

typedef struct run {
    module *m; /* NULL: raw EVP (or the limit) */
    int limit;
    int op;
    double until;
    long count;
    int failed;
} run;

static void *run_loop(void *arg)
{
    run *r = arg;
    p11_ctx c;
    limit_ctx l = {0};
    uint8_t out[512];
    if ((r->m && !p11_open(r->m, &c)) || (r->limit && !limit_open(&l, r->op))) {
        r->failed = 1;
        goto out;
    }
    while (now() < r->until) {
        for (int i = 0; i < 8; i++) {
            CK_ULONG len = sizeof(out);
            int ok = r->m       ? p11_op(&c, r->op, out, &len) == CKR_OK
                     : r->limit ? limit_op(&l, r->op)
                                : raw_op(r->op);
            if (!ok) {
                r->failed = 1;
                goto out;
            }
            r->count++;
        }
    }
    if (r->m) {
        r->m->f->C_CloseSession(c.rsa_s);
        r->m->f->C_CloseSession(c.ec_s);
        r->m->f->C_CloseSession(c.ec_s2);
    }
out:
    limit_close(&l);
    return NULL;
}

static double rate_of(module *m, int limit, int op, int threads)
{
    run runs[2] = {{0}};
    pthread_t t[2];
    double start = now();
    for (int i = 0; i < threads; i++) {
        runs[i] = (run){.m = m, .limit = limit, .op = op, .until = start + seconds};
        pthread_create(&t[i], NULL, run_loop, &runs[i]);
    }
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        if (runs[i].failed)
            return -1;
        total += runs[i].count;
    }
    return (double)total / (now() - start);
}

static double rate(module *m, int op, int threads)
{
    return rate_of(m, 0, op, threads);
}

static module *load(const char *spec)
{
    module *m = calloc(1, sizeof(*m));
    char *copy = strdup(spec), *eq = strchr(copy, '=');
    char *path = eq ? eq + 1 : NULL, *pin = path ? strchr(path, ':') : NULL;
    char *rsa = pin ? strchr(pin + 1, ':') : NULL, *ec = rsa ? strchr(rsa + 1, ':') : NULL;
    if (!ec) {
        fprintf(stderr, "--module NAME=PATH:PIN:RSA_LABEL:EC_LABEL\n");
        exit(2);
    }
    *eq = *pin++ = *rsa++ = *ec++ = '\0';
    m->name = copy;
    m->pin = pin;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CK_C_GetFunctionList get = h ? (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList") : NULL;
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
    if (!get || get(&m->f) != CKR_OK || m->f->C_Initialize(&args) != CKR_OK) {
        fprintf(stderr, "%s: cannot load %s\n", m->name, path);
        exit(2);
    }
    CK_SLOT_ID slots[256];
    CK_ULONG n = 256;
    m->f->C_GetSlotList(CK_TRUE, slots, &n);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO info;
        m->f->C_GetTokenInfo(slots[i], &info);
        if (memcmp(info.label, rsa, strlen(rsa)) == 0 && info.label[strlen(rsa)] == ' ')
            m->rsa_slot = slots[i];
        if (memcmp(info.label, ec, strlen(ec)) == 0 && info.label[strlen(ec)] == ' ')
            m->ec_slot = slots[i];
    }
    return m;
}

static void prepare(const char *dir)
{
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    rsa_key = read_key(dir, "alice", 1);
    ec_key = read_key(dir, "carol", 1);
    rsa_pub = read_key(dir, "alice", 0);
    ec_pub = read_key(dir, "carol", 0);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(rsa_pub, NULL);
    oaep_ct_len = sizeof(oaep_ct);
    if (EVP_PKEY_encrypt_init(ctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha1()) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha1()) != 1 ||
        EVP_PKEY_encrypt(ctx, oaep_ct, &oaep_ct_len, (const uint8_t *)"0123456789abcdef0123456789abcdef", 32) != 1)
        exit(2);
    EVP_PKEY_CTX_free(ctx);
    peer = EVP_EC_gen("P-256");
    unsigned char *point = NULL;
    if (EVP_PKEY_get1_encoded_public_key(peer, &point) != 65)
        exit(2);
    peer_point[0] = 0x04;
    peer_point[1] = 65;
    memcpy(peer_point + 2, point, 65);
    memcpy(peer_raw, point, 65);
    OPENSSL_free(point);
    /* the sender's side: the content key wrapped under the KEK */
    uint8_t kek[16];
    x963 = EVP_KDF_fetch(NULL, "X963KDF", NULL);
    aes128_wrap = EVP_CIPHER_fetch(NULL, "AES-128-WRAP", NULL);
    if (!x963 || !aes128_wrap || !raw_kek(kek) || !raw_wrap(1, kek, cek, sizeof(cek), wrapped_cek))
        exit(2);
}

int main(int argc, char **argv)
{
    module *modules[4];
    int n_modules = 0, failed = 0;
    const char *dir = NULL, *only = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--key-dir"))
            dir = argv[i + 1];
        else if (!strcmp(argv[i], "--ops"))
            only = argv[i + 1];
        else if (!strcmp(argv[i], "--rounds"))
            rounds = atoi(argv[i + 1]) > 0 ? atoi(argv[i + 1]) : 1;
        else if (!strcmp(argv[i], "--module") && n_modules < 4)
            modules[n_modules++] = load(argv[i + 1]);
    }
    if (!dir || !n_modules) {
        fprintf(stderr, "usage: pkcs11_bench --seconds S --key-dir DIR --module NAME=PATH:PIN:RSA:EC...\n");
        return 2;
    }
    prepare(dir);
    for (int i = 0; i < n_modules; i++)
        failed |= !p11_check(modules[i]);
    printf("| operation | threads | raw EVP ops/s | limit ops/s |");
    for (int i = 0; i < n_modules; i++)
        printf(" %s ops/s | %s / raw | %s / limit |", modules[i]->name, modules[i]->name,
               modules[i]->name);
    printf("\n|---|---|---|---|");
    for (int i = 0; i < n_modules; i++)
        printf("---|---|---|");
    printf("\n");
    for (int op = 0; op < N_OPS; op++) {
        char name[8];
        snprintf(name, sizeof(name), "%d", op);
        if (only && !strstr(only, name))
            continue;
        for (int threads = 1; threads <= 2; threads++) {
            double raw = 0, limit = 0, r[4] = {0};
            for (int round = 0; round < rounds; round++) {
                double x = rate(NULL, op, threads);
                failed |= x < 0;
                raw += x / rounds;
                x = limit_has(op) ? rate_of(NULL, 1, op, threads) : 0;
                failed |= x < 0;
                limit += x / rounds;
                for (int i = 0; i < n_modules; i++) {
                    x = modules[i]->unusable[op] ? 0 : rate(modules[i], op, threads);
                    failed |= x < 0;
                    r[i] += x / rounds;
                }
            }
            printf("| %s | %d | %.0f |", op_names[op], threads, raw);
            if (limit > 0)
                printf(" %.0f |", limit);
            else
                printf(" n/a |");
            for (int i = 0; i < n_modules; i++) {
                if (modules[i]->unusable[op]) {
                    printf(" n/a | n/a | n/a |");
                    continue;
                }
                printf(" %.0f | %.2f |", r[i], r[i] / raw);
                if (limit > 0)
                    printf(" %.2f |", r[i] / limit);
                else
                    printf(" n/a |");
            }
            printf("\n");
            fflush(stdout);
        }
    }
    return failed;
}
