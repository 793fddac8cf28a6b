/* mt_cert_parse: P12 (BER/DER or PEM-armoured), PEM bundles (with keys),
 * PKCS#7 bundles and DER certificates into entries (certificate, optional
 * PKCS#8 key, chain). */
#include "cert_internal.h"
#include "secret_io.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const p12_pem_labels[] = {"PKCS12", "PKCS #12", "PFX"};
static const char *const cert_pem_labels[] = {"CERTIFICATE", "X509 CERTIFICATE",
                                              "TRUSTED CERTIFICATE"};

static bool label_in(const char *label, const char *const *labels, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(label, labels[i]) == 0)
            return true;
    return false;
}

/* Length of the header (tag + length) of the SEQUENCE at data, or 0 when
 * malformed.  BER's indefinite length (0x80), which NSS writes (pk12util,
 * Thunderbird and Firefox backups), is a header of 2 bytes. */
static size_t der_header_len(const uint8_t *data, size_t len)
{
    if (len < 2 || data[0] != 0x30)
        return 0;
    if (data[1] <= 0x80)
        return 2;
    size_t n = data[1] & 0x7f;
    return (n >= 1 && n <= 4 && len >= 2 + n) ? 2 + n : 0;
}

/* The label of the first PEM block, e.g. "CERTIFICATE", or NULL. */
static bool first_pem_label(const uint8_t *data, size_t len, char *label, size_t size)
{
    static const char begin[] = "-----BEGIN ";
    const uint8_t *at = memmem(data, len, begin, sizeof(begin) - 1);
    if (!at)
        return false;
    const uint8_t *start = at + sizeof(begin) - 1;
    const uint8_t *end = memmem(start, len - (size_t)(start - data), "-----", 5);
    if (!end || (size_t)(end - start) >= size)
        return false;
    memcpy(label, start, (size_t)(end - start));
    label[end - start] = '\0';
    return true;
}

mt_input_format mt_cert_detect_format(const uint8_t *data, size_t len)
{
    char label[64];
    if (!data || len == 0)
        return MT_FORMAT_UNKNOWN;
    size_t header = der_header_len(data, len);
    if (header > 0 && header < len) {
        /* PFX starts with INTEGER version, a certificate with its TBS
         * SEQUENCE, PKCS#7 ContentInfo with the SignedData OID. */
        static const uint8_t signed_data[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                              0xf7, 0x0d, 0x01, 0x07, 0x02};
        if (data[header] == 0x02)
            return MT_FORMAT_P12;
        if (data[header] == 0x30)
            return MT_FORMAT_DER;
        if (len - header >= sizeof(signed_data) &&
            memcmp(data + header, signed_data, sizeof(signed_data)) == 0)
            return MT_FORMAT_PKCS7;
        return MT_FORMAT_UNKNOWN;
    }
    if (first_pem_label(data, len, label, sizeof(label))) {
        if (label_in(label, p12_pem_labels, sizeof(p12_pem_labels) / sizeof(*p12_pem_labels)))
            return MT_FORMAT_P12;
        if (strcmp(label, "PKCS7") == 0)
            return MT_FORMAT_PKCS7;
        return MT_FORMAT_PEM;
    }
    return MT_FORMAT_UNKNOWN;
}

void mt_parsed_free(mt_parsed *parsed)
{
    if (!parsed)
        return;
    for (size_t i = 0; i < parsed->n_entries; i++) {
        mt_parsed_entry *entry = &parsed->entries[i];
        mt_cert_info_free(entry->cert);
        mt_secret_free(entry->pkcs8);
        for (size_t c = 0; c < entry->n_chain; c++)
            mt_cert_info_free(entry->chain[c]);
        free(entry->chain);
        free(entry->friendly_name);
    }
    free(parsed->entries);
    for (size_t i = 0; i < parsed->n_skipped; i++) {
        mt_skipped_entry *s = &parsed->skipped[i];
        free(s->friendly_name);
        free(s->subject);
        free(s->serial_hex);
        free(s->fingerprint);
        free(s->algorithm);
        free(s->reason);
    }
    free(parsed->skipped);
    for (size_t i = 0; i < parsed->n_warnings; i++)
        free(parsed->warnings[i]);
    free(parsed->warnings);
    free(parsed);
}

static mt_status add_der_cert(mt_cert_pool *pool, const uint8_t *der, size_t len, bool exact)
{
    const unsigned char *p = der;
    X509 *cert = d2i_X509(NULL, &p, (long)len);
    ERR_clear_error();
    if (!cert || (exact && p != der + len)) {
        X509_free(cert);
        return mt_fail(MT_ERR_INVALID, "%s: corrupt or truncated certificate", pool->name);
    }
    return mt_pool_add_cert(pool, cert, NULL, NULL);
}

/* What PEM blocks are read: certificates, private keys, PKCS#7 bundles;
 * *p12 receives an armoured P12.  Other blocks are skipped with a warning. */
typedef struct pem_input {
    const char *password;
    size_t password_len;
    uint8_t **p12;
    size_t *p12_len;
} pem_input;

static mt_status pem_block(mt_cert_pool *pool, const pem_input *in, const char *label,
                           const char *header, unsigned char *der, long der_len, size_t block)
{
    size_t n_labels = sizeof(cert_pem_labels) / sizeof(*cert_pem_labels);
    size_t n_p12 = sizeof(p12_pem_labels) / sizeof(*p12_pem_labels);
    if (label_in(label, cert_pem_labels, n_labels))
        /* TRUSTED CERTIFICATE carries trust settings after the DER. */
        return add_der_cert(pool, der, (size_t)der_len, strcmp(label, "TRUSTED CERTIFICATE"));
    if (mt_pem_is_key_label(label))
        return mt_pem_load_key(pool, label, header, der, der_len, block, in->password,
                               in->password_len);
    if (strcmp(label, "PKCS7") == 0)
        return mt_pkcs7_load(pool, der, (size_t)der_len);
    if (label_in(label, p12_pem_labels, n_p12) && !*in->p12) {
        *in->p12 = mt_memdup(der, (size_t)der_len);
        *in->p12_len = (size_t)der_len;
        return *in->p12 ? MT_OK : mt_fail(MT_ERR_NOMEM, "out of memory");
    }
    return mt_pool_warn(pool, "PEM block %zu \"%.40s\" ignored (not a certificate, private key "
                              "or PKCS#7 bundle)", block, label);
}

/* Every block of a PEM text (wiped after use: a block may be a key). */
static mt_status load_pem(mt_cert_pool *pool, const uint8_t *data, size_t len,
                          const pem_input *in)
{
    mt_status st = MT_OK;
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    size_t blocks = 0;

    if (!bio)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    while (st == MT_OK) {
        char *label = NULL, *header = NULL;
        unsigned char *der = NULL;
        long der_len = 0;
        ERR_clear_error();
        /* secure flag: OpenSSL's base64 buffers are wiped (a block may be a key) */
        if (!PEM_read_bio_ex(bio, &label, &header, &der, &der_len,
                             PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE)) {
            unsigned long e = ERR_peek_last_error();
            if (blocks == 0 || ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
                st = mt_fail(MT_ERR_INVALID, "%s: malformed PEM (block %zu)", pool->name,
                             blocks + 1);
            break;
        }
        blocks++;
        st = pem_block(pool, in, label, header, der, der_len, blocks);
        OPENSSL_secure_clear_free(der, (size_t)der_len);
        OPENSSL_secure_free(label);
        OPENSSL_secure_free(header);
    }
    BIO_free(bio);
    ERR_clear_error();
    return st;
}

static mt_status load_input(mt_cert_pool *pool, mt_input_format format, const uint8_t *data,
                            size_t len, const char *password, size_t password_len)
{
    mt_status st = MT_OK;
    uint8_t *armoured = NULL;
    size_t armoured_len = 0;
    pem_input in = {password, password_len, &armoured, &armoured_len};

    switch (format) {
    case MT_FORMAT_DER:
        st = add_der_cert(pool, data, len, true);
        break;
    case MT_FORMAT_PKCS7:
        if (data[0] == 0x30) {
            st = mt_pkcs7_load(pool, data, len);
            break;
        }
        st = load_pem(pool, data, len, &in);
        break;
    case MT_FORMAT_P12:
        if (data[0] == 0x30) {
            st = mt_p12_load(pool, data, len, password, password_len);
            break;
        }
        /* PEM armour around the P12 */
        __attribute__((fallthrough));
    case MT_FORMAT_PEM:
        st = load_pem(pool, data, len, &in);
        if (st == MT_OK && armoured && (pool->n_certs > 0 || pool->n_keys > 0))
            st = mt_fail(MT_ERR_INVALID, "%s: PEM file mixes a PKCS#12 with certificates",
                         pool->name);
        else if (st == MT_OK && armoured)
            st = mt_p12_load(pool, armoured, armoured_len, password, password_len);
        break;
    case MT_FORMAT_UNKNOWN:
        st = mt_fail(MT_ERR_INVALID, "%s: not a PKCS#12, PEM, PKCS#7 or DER certificate file",
                     pool->name);
        break;
    }
    free(armoured);
    return st;
}

mt_status mt_cert_parse(const uint8_t *data, size_t len, const char *name, const char *password,
                        size_t password_len, mt_parsed **out)
{
    mt_status st = mt_library_init();
    mt_parsed *parsed = NULL;
    mt_cert_pool pool = {.name = name ? name : "input"};

    if (st != MT_OK)
        return st;
    if (!out)
        return mt_fail(MT_ERR_INVALID, "mt_cert_parse: out is NULL");
    *out = NULL;
    ERR_clear_error();
    if (!data || len == 0) {
        st = mt_fail(MT_ERR_INVALID, "%s: empty file", pool.name);
        goto out;
    }
    if (len > MT_MAX_INPUT_SIZE) {
        st = mt_fail(MT_ERR_TOO_LARGE, "%s: %zu bytes is over the %u-byte limit", pool.name, len,
                     MT_MAX_INPUT_SIZE);
        goto out;
    }
    if (!password && password_len > 0) {
        st = mt_fail(MT_ERR_INVALID, "%s: password is NULL with a length", pool.name);
        goto out;
    }
    parsed = calloc(1, sizeof(*parsed));
    if (!parsed) {
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
        goto out;
    }
    pool.parsed = parsed;
    parsed->format = mt_cert_detect_format(data, len);
    st = load_input(&pool, parsed->format, data, len, password, password_len);
    if (st == MT_OK)
        st = mt_pool_build_entries(&pool);
    if (st != MT_OK)
        goto out;
    *out = parsed;
    parsed = NULL;
out:
    mt_pool_clear(&pool);
    mt_parsed_free(parsed);
    ERR_clear_error();
    return st;
}

mt_status mt_cert_parse_file(const char *path, const mt_secret *password, mt_parsed **out)
{
    mt_status st = MT_OK;
    uint8_t *data = NULL;
    size_t len = 0;
    int fd = -1;
    struct stat sb;

    if (!path || !out)
        return mt_fail(MT_ERR_INVALID, "mt_cert_parse_file: path and out are required");
    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        st = mt_fail(MT_ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = mt_fail(MT_ERR_INVALID, "%s: not a regular file", path);
        goto out;
    }
    if ((uintmax_t)sb.st_size > MT_MAX_INPUT_SIZE) {
        st = mt_fail(MT_ERR_TOO_LARGE, "%s: %jd bytes is over the %u-byte limit", path,
                     (intmax_t)sb.st_size, MT_MAX_INPUT_SIZE);
        goto out;
    }
    data = malloc((size_t)sb.st_size + 1);
    if (!data) {
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
        goto out;
    }
    st = mt_read_full(fd, path, data, (size_t)sb.st_size, &len);
    if (st != MT_OK)
        goto out;
    st = mt_cert_parse(data, len, path, password ? (const char *)password->data : NULL,
                       password ? password->len : 0, out);
out:
    if (fd >= 0)
        close(fd);
    if (data) {
        OPENSSL_cleanse(data, len); /* a PEM may hold a key in clear */
        free(data);
    }
    return st;
}
