/* Helpers shared by the test-data tools. */
#include "tool_util.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const char *tool_name;

int tool_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", tool_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    ERR_print_errors_fp(stderr);
    return 1;
}

EVP_PKEY *tool_load_key(const char *path)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!key)
        tool_fail("%s: cannot read the private key", path);
    return key;
}

X509 *tool_load_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!cert)
        tool_fail("%s: cannot read the certificate", path);
    return cert;
}

char *tool_read_password(const char *path)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    if (!f) {
        tool_fail("%s: cannot open", path);
        return NULL;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return strdup(buf);
}

bool tool_write_file(const char *path, const unsigned char *data, size_t len, int mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    bool ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    if (!ok)
        tool_fail("%s: cannot write", path);
    return ok;
}

bool tool_write_p12(const char *path, PKCS12 *p12)
{
    unsigned char *der = NULL;
    int len = i2d_PKCS12(p12, &der);
    bool ok = len > 0 && tool_write_file(path, der, (size_t)len, 0644);
    OPENSSL_free(der);
    return ok;
}

static bool tag_bag(PKCS12_SAFEBAG *bag, unsigned char key_id, const char *friendly_name)
{
    unsigned char id[4] = {0x4d, 0x54, 0x00, key_id};
    return bag && PKCS12_add_localkeyid(bag, id, sizeof(id)) &&
           (!friendly_name || PKCS12_add_friendlyname(bag, friendly_name, -1));
}

bool tool_add_pair(STACK_OF(PKCS12_SAFEBAG) **bags, EVP_PKEY *key, X509 *cert,
                   unsigned char key_id, const char *friendly_name, const char *password)
{
    if (cert && !tag_bag(PKCS12_add_cert(bags, cert), key_id, friendly_name))
        return false;
    if (key && !tag_bag(PKCS12_add_key_ex(bags, key, 0, 2048, NID_aes_256_cbc, password,
                                          NULL, NULL),
                        key_id, friendly_name))
        return false;
    return true;
}

PKCS12 *tool_make_p12(STACK_OF(PKCS12_SAFEBAG) *bags, const char *password, bool mac)
{
    STACK_OF(PKCS7) *safes = NULL;
    PKCS12 *p12 = NULL;
    if (!PKCS12_add_safe_ex(&safes, bags, -1, 0, password, NULL, NULL))
        goto out;
    p12 = PKCS12_add_safes_ex(safes, 0, NULL, NULL);
    if (p12 && mac && !PKCS12_set_mac(p12, password, -1, NULL, 0, 2048, EVP_sha256())) {
        PKCS12_free(p12);
        p12 = NULL;
    }
out:
    sk_PKCS7_pop_free(safes, PKCS7_free);
    return p12;
}
