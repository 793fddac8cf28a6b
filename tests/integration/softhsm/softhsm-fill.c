/*
 * softhsm-fill: loads certificates and keys into a PKCS#11 token in one
 * session, the way pkcs11-tool --write-object does one object at a time
 * (too slow for hundreds of objects in a test).
 *
 *   softhsm-fill MODULE TOKEN-LABEL PIN-FILE < manifest
 *
 * manifest lines: LABEL <tab> CERT.pem <tab> KEY.pem|- <tab> 0|1 (extractable)
 * Each line becomes a certificate, its public key and (with a key) its
 * private key, sharing CKA_LABEL and CKA_ID (SHA-1 of the RSA modulus or of
 * the EC point, as NSS computes it).  Prints "LABEL <tab> ID-HEX <tab>
 * SHA-256 of the certificate" per line.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static CK_FUNCTION_LIST *f;
static CK_SESSION_HANDLE session;

static int die(const char *what, CK_RV rv)
{
    fprintf(stderr, "softhsm-fill: %s: %s\n", what, rv ? p11_kit_strerror(rv) : "failed");
    exit(1);
}

typedef struct bytes {
    unsigned char data[1024];
    size_t len;
} bytes;

static void bn_param(EVP_PKEY *key, const char *name, bytes *out)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(key, name, &bn))
        die(name, 0);
    out->len = (size_t)BN_num_bytes(bn);
    BN_bn2bin(bn, out->data);
    BN_clear_free(bn);
}

/* Public parts shared by the public and private key objects. */
typedef struct pub_parts {
    CK_KEY_TYPE type;
    bytes modulus, exponent, ec_params, ec_point, id;
} pub_parts;

static void public_parts(EVP_PKEY *key, pub_parts *p)
{
    memset(p, 0, sizeof(*p));
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        p->type = CKK_RSA;
        bn_param(key, OSSL_PKEY_PARAM_RSA_N, &p->modulus);
        bn_param(key, OSSL_PKEY_PARAM_RSA_E, &p->exponent);
        SHA1(p->modulus.data, p->modulus.len, p->id.data);
    } else {
        p->type = CKK_EC;
        char group[64];
        if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                            NULL))
            die("EC group", 0);
        ASN1_OBJECT *oid = OBJ_txt2obj(group, 0);
        unsigned char *q = p->ec_params.data;
        p->ec_params.len = (size_t)i2d_ASN1_OBJECT(oid, &q);
        ASN1_OBJECT_free(oid);
        size_t len = 0;
        if (!EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                             p->ec_point.data + 2, sizeof(p->ec_point.data) - 2,
                                             &len))
            die("EC point", 0);
        SHA1(p->ec_point.data + 2, len, p->id.data);
        p->ec_point.data[0] = 0x04; /* CKA_EC_POINT: DER OCTET STRING */
        p->ec_point.data[1] = (unsigned char)len;
        p->ec_point.len = len + 2;
    }
    p->id.len = SHA_DIGEST_LENGTH;
}

static void create(CK_ATTRIBUTE *tmpl, CK_ULONG n, const char *what)
{
    CK_OBJECT_HANDLE h;
    CK_RV rv = f->C_CreateObject(session, tmpl, n, &h);
    if (rv != CKR_OK)
        die(what, rv);
}

static void put_cert(X509 *cert, const char *label, const pub_parts *p)
{
    unsigned char *der = NULL, *subject = NULL, *issuer = NULL, *serial = NULL;
    int der_len = i2d_X509(cert, &der);
    int subject_len = i2d_X509_NAME(X509_get_subject_name(cert), &subject);
    int issuer_len = i2d_X509_NAME(X509_get_issuer_name(cert), &issuer);
    int serial_len = i2d_ASN1_INTEGER(X509_get_serialNumber(cert), &serial);
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE type = CKC_X_509;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_CERTIFICATE_TYPE, &type, sizeof(type)},
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_PRIVATE, &no, sizeof(no)},
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_ID, (void *)p->id.data, p->id.len},
        {CKA_VALUE, der, (CK_ULONG)der_len},
        {CKA_SUBJECT, subject, (CK_ULONG)subject_len},
        {CKA_ISSUER, issuer, (CK_ULONG)issuer_len},
        {CKA_SERIAL_NUMBER, serial, (CK_ULONG)serial_len},
    };
    create(tmpl, sizeof(tmpl) / sizeof(tmpl[0]), "certificate");
    OPENSSL_free(der);
    OPENSSL_free(subject);
    OPENSSL_free(issuer);
    OPENSSL_free(serial);
}

/* Key attributes common to both halves, then the type's own. */
static CK_ULONG key_common(CK_ATTRIBUTE *t, CK_OBJECT_CLASS *cls, const char *label,
                           const pub_parts *p, CK_BBOOL *yes)
{
    CK_ULONG n = 0;
    t[n++] = (CK_ATTRIBUTE){CKA_CLASS, cls, sizeof(*cls)};
    t[n++] = (CK_ATTRIBUTE){CKA_KEY_TYPE, (void *)&p->type, sizeof(p->type)};
    t[n++] = (CK_ATTRIBUTE){CKA_TOKEN, yes, sizeof(*yes)};
    t[n++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)label, strlen(label)};
    t[n++] = (CK_ATTRIBUTE){CKA_ID, (void *)p->id.data, p->id.len};
    if (p->type == CKK_RSA) {
        t[n++] = (CK_ATTRIBUTE){CKA_MODULUS, (void *)p->modulus.data, p->modulus.len};
        t[n++] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, (void *)p->exponent.data, p->exponent.len};
    } else {
        t[n++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)p->ec_params.data, p->ec_params.len};
    }
    return n;
}

static void put_public(const char *label, const pub_parts *p)
{
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t[16];
    CK_ULONG n = key_common(t, &cls, label, p, &yes);
    if (p->type == CKK_EC)
        t[n++] = (CK_ATTRIBUTE){CKA_EC_POINT, (void *)p->ec_point.data, p->ec_point.len};
    t[n++] = (CK_ATTRIBUTE){CKA_VERIFY, &yes, sizeof(yes)};
    t[n++] = (CK_ATTRIBUTE){CKA_ENCRYPT, &yes, sizeof(yes)};
    create(t, n, "public key");
}

static void put_private(EVP_PKEY *key, const char *label, const pub_parts *p, bool extractable)
{
    static const char *const rsa_names[] = {
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    static const CK_ATTRIBUTE_TYPE rsa_types[] = {CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
                                                  CKA_PRIME_2,          CKA_EXPONENT_1,
                                                  CKA_EXPONENT_2,       CKA_COEFFICIENT};
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_BBOOL yes = CK_TRUE, ext = extractable ? CK_TRUE : CK_FALSE;
    CK_ATTRIBUTE t[24];
    bytes parts[6];
    CK_ULONG n = key_common(t, &cls, label, p, &yes);
    t[n++] = (CK_ATTRIBUTE){CKA_PRIVATE, &yes, sizeof(yes)};
    t[n++] = (CK_ATTRIBUTE){CKA_SENSITIVE, &yes, sizeof(yes)};
    t[n++] = (CK_ATTRIBUTE){CKA_EXTRACTABLE, &ext, sizeof(ext)};
    t[n++] = (CK_ATTRIBUTE){CKA_SIGN, &yes, sizeof(yes)};
    t[n++] = (CK_ATTRIBUTE){CKA_DECRYPT, &yes, sizeof(yes)};
    if (p->type == CKK_RSA) {
        for (size_t i = 0; i < 6; i++) {
            bn_param(key, rsa_names[i], &parts[i]);
            t[n++] = (CK_ATTRIBUTE){rsa_types[i], parts[i].data, parts[i].len};
        }
    } else {
        bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &parts[0]);
        t[n++] = (CK_ATTRIBUTE){CKA_VALUE, parts[0].data, parts[0].len};
        t[n++] = (CK_ATTRIBUTE){CKA_DERIVE, &yes, sizeof(yes)};
    }
    create(t, n, "private key");
    OPENSSL_cleanse(parts, sizeof(parts));
}

static void *read_pem(const char *path, bool key)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        die(path, 0);
    void *obj = key ? (void *)PEM_read_PrivateKey(fp, NULL, NULL, NULL)
                    : (void *)PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    if (!obj)
        die(path, 0);
    return obj;
}

static CK_SLOT_ID find_slot(const char *label)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    CK_RV rv = f->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv != CKR_OK)
        die("C_GetSlotList", rv);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO info;
        if (f->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
            p11_kit_space_strlen(info.label, 32) == strlen(label) &&
            !memcmp(info.label, label, strlen(label)))
            return slots[i];
    }
    die(label, CKR_TOKEN_NOT_PRESENT);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fputs("usage: softhsm-fill MODULE TOKEN-LABEL PIN-FILE < manifest\n", stderr);
        return 2;
    }
    char pin[256] = "";
    FILE *pf = fopen(argv[3], "r");
    if (!pf || !fgets(pin, sizeof(pin), pf))
        die(argv[3], 0);
    fclose(pf);
    pin[strcspn(pin, "\r\n")] = '\0';
    if (!(f = p11_kit_module_load(argv[1], P11_KIT_MODULE_UNMANAGED)))
        die(argv[1], 0);
    CK_RV rv = f->C_Initialize(NULL);
    if (rv != CKR_OK)
        die("C_Initialize", rv);
    rv = f->C_OpenSession(find_slot(argv[2]), CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                          &session);
    if (rv == CKR_OK)
        rv = f->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    if (rv != CKR_OK)
        die("C_Login", rv);
    char line[4096];
    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *save = NULL, *label = strtok_r(line, "\t", &save);
        char *cert_path = strtok_r(NULL, "\t", &save), *key_path = strtok_r(NULL, "\t", &save);
        char *extractable = strtok_r(NULL, "\t", &save);
        if (!label || !cert_path || !key_path || !extractable)
            die("manifest line", 0);
        X509 *cert = read_pem(cert_path, false);
        pub_parts p;
        EVP_PKEY *pub = X509_get0_pubkey(cert);
        public_parts(pub, &p);
        put_cert(cert, label, &p);
        put_public(label, &p);
        if (strcmp(key_path, "-") != 0) {
            EVP_PKEY *key = read_pem(key_path, true);
            put_private(key, label, &p, strcmp(extractable, "1") == 0);
            EVP_PKEY_free(key);
        }
        unsigned char fp[EVP_MAX_MD_SIZE];
        unsigned int fp_len = 0;
        X509_digest(cert, EVP_sha256(), fp, &fp_len);
        printf("%s\t", label);
        for (size_t i = 0; i < p.id.len; i++)
            printf("%02x", p.id.data[i]);
        printf("\t");
        for (unsigned int i = 0; i < fp_len; i++)
            printf("%02x", fp[i]);
        printf("\n");
        X509_free(cert);
    }
    f->C_Logout(session);
    f->C_Finalize(NULL);
    OPENSSL_cleanse(pin, sizeof(pin));
    return 0;
}
