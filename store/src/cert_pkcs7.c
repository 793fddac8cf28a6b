/* PKCS#7 certificate bundles (.p7b/.p7c: a SignedData without signers, as
 * Windows and `openssl crl2pkcs7` write chains): their certificates. */
#include "cert_internal.h"

#include <openssl/err.h>
#include <openssl/pkcs7.h>

mt_status mt_pkcs7_load(mt_cert_pool *pool, const uint8_t *der, size_t len)
{
    mt_status st = MT_OK;
    const unsigned char *p = der;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)len);
    if (!p7 || p != der + len) {
        st = mt_fail(MT_ERR_INVALID, "%s: corrupt or truncated PKCS#7 file", pool->name);
        goto out;
    }
    if (!PKCS7_type_is_signed(p7) || !p7->d.sign) {
        st = mt_fail(MT_ERR_INVALID, "%s: PKCS#7 of type %s: only certificate bundles "
                                     "(SignedData) are read", pool->name,
                     OBJ_nid2sn(OBJ_obj2nid(p7->type)));
        goto out;
    }
    STACK_OF(X509) *certs = p7->d.sign->cert;
    for (int i = 0; i < sk_X509_num(certs) && st == MT_OK; i++) {
        X509 *cert = X509_dup(sk_X509_value(certs, i));
        st = cert ? mt_pool_add_cert(pool, cert, NULL, NULL)
                  : mt_fail(MT_ERR_NOMEM, "out of memory");
    }
out:
    PKCS7_free(p7);
    ERR_clear_error();
    return st;
}
