/* mt-gen-bulk: many RSA-2048 S/MIME P12 files, fast, for benchmarks.
 *   mt-gen-bulk --out DIR --count N [--keys K] [--password P] [--domain D]
 *               [--ca CADIR] [--iterations I]
 * writes DIR/userNNNNN.p12 for userNNNNN@D (K distinct keys reused; defaults:
 * K = 8, P = "mailtoken", D = example.org).  With --ca, certificates are issued
 * by CADIR/sub.crt + sub.key (the test data CA) and carry that chain;
 * otherwise by a throwaway CA made on the spot.  --iterations sets the P12's
 * PBKDF2 and MAC iteration counts (default: OpenSSL's 2048); 1 makes stores
 * of a hundred thousand accounts quick to build where only their size matters. */
#include "tool_util.h"

#include <errno.h>
#include <getopt.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *tool_name = "mt-gen-bulk";

typedef struct issuer {
    X509 *cert;
    EVP_PKEY *key;
    STACK_OF(X509) *chain; /* put in every P12 */
} issuer;

static bool add_ext(X509 *cert, X509 *issuer_cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer_cert ? issuer_cert : cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    bool ok = ext && X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* A certificate for key, named cn, issued by is (self-signed when is is NULL). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, const char *email, const issuer *is)
{
    X509 *cert = X509_new();
    unsigned char serial[12];
    BIGNUM *bn = NULL;
    bool ok = cert && RAND_bytes(serial, sizeof(serial)) == 1;
    if (ok) {
        serial[0] &= 0x7f;
        bn = BN_bin2bn(serial, sizeof(serial), NULL);
    }
    X509_NAME *name = X509_get_subject_name(cert);
    ok = ok && bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) &&
         X509_set_version(cert, 2) &&
         X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"mailtoken "
                                    "Test", -1, -1, 0) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0) &&
         X509_set_issuer_name(cert, is ? X509_get_subject_name(is->cert) : name) &&
         X509_gmtime_adj(X509_getm_notBefore(cert), -86400) &&
         X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 86400) && X509_set_pubkey(cert, key);
    X509 *issuer_cert = is ? is->cert : NULL;
    if (ok && email) {
        char san[320];
        snprintf(san, sizeof(san), "email:%s", email);
        ok = add_ext(cert, issuer_cert, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(cert, issuer_cert, NID_key_usage,
                     "critical,digitalSignature,nonRepudiation,keyEncipherment") &&
             add_ext(cert, issuer_cert, NID_ext_key_usage, "emailProtection") &&
             add_ext(cert, issuer_cert, NID_subject_alt_name, san);
    } else if (ok) {
        ok = add_ext(cert, NULL, NID_basic_constraints, "critical,CA:TRUE") &&
             add_ext(cert, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    ok = ok && add_ext(cert, issuer_cert, NID_subject_key_identifier, "hash") &&
         (!is || add_ext(cert, issuer_cert, NID_authority_key_identifier, "keyid")) &&
         X509_sign(cert, is ? is->key : key, EVP_sha256()) > 0;
    BN_free(bn);
    if (!ok) {
        X509_free(cert);
        tool_fail("cannot make the certificate for %s", cn);
        return NULL;
    }
    return cert;
}

static bool load_issuer(const char *ca_dir, issuer *is)
{
    char path[4096];
    is->chain = sk_X509_new_null();
    if (!is->chain)
        return false;
    if (!ca_dir) {
        is->key = EVP_RSA_gen(2048);
        is->cert = is->key ? make_cert(is->key, "mt-gen-bulk throwaway CA", NULL, NULL) : NULL;
        return is->cert && X509_up_ref(is->cert) && sk_X509_push(is->chain, is->cert);
    }
    snprintf(path, sizeof(path), "%s/sub.key", ca_dir);
    if (!(is->key = tool_load_key(path)))
        return false;
    snprintf(path, sizeof(path), "%s/sub.crt", ca_dir);
    if (!(is->cert = tool_load_cert(path)))
        return false;
    snprintf(path, sizeof(path), "%s/root.crt", ca_dir);
    X509 *root = tool_load_cert(path);
    return root && X509_up_ref(is->cert) && sk_X509_push(is->chain, is->cert) &&
           sk_X509_push(is->chain, root);
}

static int usage(void)
{
    fprintf(stderr, "usage: %s --out DIR --count N [--keys K] [--password P] [--domain D] "
                    "[--ca CADIR] [--iterations I]\n",
            tool_name);
    return 2;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"out", required_argument, NULL, 'o'},      {"count", required_argument, NULL, 'n'},
        {"keys", required_argument, NULL, 'k'},     {"password", required_argument, NULL, 'p'},
        {"domain", required_argument, NULL, 'd'},   {"ca", required_argument, NULL, 'c'},
        {"iterations", required_argument, NULL, 'i'}, {NULL, 0, NULL, 0}};
    const char *out = NULL, *password = "mailtoken", *domain = "example.org", *ca_dir = NULL;
    long count = -1, n_keys = 8, iterations = PKCS12_DEFAULT_ITER;
    int opt, rc = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'o': out = optarg; break;
        case 'n': count = strtol(optarg, NULL, 10); break;
        case 'k': n_keys = strtol(optarg, NULL, 10); break;
        case 'p': password = optarg; break;
        case 'd': domain = optarg; break;
        case 'c': ca_dir = optarg; break;
        case 'i': iterations = strtol(optarg, NULL, 10); break;
        default: return usage();
        }
    }
    if (!out || count < 0 || count > 99999 || n_keys < 1 || n_keys > 10000 ||
        iterations < 1 || iterations > 10000000 || optind != argc)
        return usage();
    if (mkdir(out, 0755) != 0 && errno != EEXIST)
        return tool_fail("%s: %s", out, strerror(errno));

    issuer is = {0};
    EVP_PKEY **keys = calloc((size_t)n_keys, sizeof(*keys));
    if (!keys || !load_issuer(ca_dir, &is)) {
        tool_fail("cannot set up the issuing CA");
        goto out;
    }
    for (long i = 0; i < count; i++) {
        char user[32], email[300], path[4096];
        snprintf(user, sizeof(user), "user%05ld", i + 1);
        snprintf(email, sizeof(email), "%s@%s", user, domain);
        snprintf(path, sizeof(path), "%s/%s.p12", out, user);
        EVP_PKEY **key = &keys[i % n_keys];
        if (!*key && !(*key = EVP_RSA_gen(2048))) {
            tool_fail("RSA key generation failed");
            goto out;
        }
        X509 *cert = make_cert(*key, user, email, &is);
        PKCS12 *p12 = cert ? PKCS12_create_ex(password, email, *key, cert, is.chain, 0, 0,
                                              (int)iterations, (int)iterations, 0, NULL, NULL)
                           : NULL;
        bool ok = p12 && tool_write_p12(path, p12);
        PKCS12_free(p12);
        X509_free(cert);
        if (!ok) {
            tool_fail("%s: cannot write", path);
            goto out;
        }
    }
    rc = 0;
out:
    for (long k = 0; keys && k < n_keys; k++)
        EVP_PKEY_free(keys[k]);
    free(keys);
    X509_free(is.cert);
    EVP_PKEY_free(is.key);
    sk_X509_pop_free(is.chain, X509_free);
    return rc;
}
