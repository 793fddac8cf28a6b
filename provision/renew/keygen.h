/* Candidate key and CSR for a renewal (OpenSSL). */
#ifndef MT_RENEW_KEYGEN_H
#define MT_RENEW_KEYGEN_H

#include <stdbool.h>

#include "mailtoken/store.h"

/* Known key specs: "rsa2048", "rsa3072", "ec-p256", "ec-p384". */
bool mt_renew_key_spec_valid(const char *spec);

/* Generates a key per spec and a CSR for email (CN and emailAddress in the
 * subject, rfc822Name in subjectAltName, keyUsage, EKU emailProtection),
 * signed with hash ("sha256", "sha384", "sha512").  The private key comes
 * back as PKCS#8 DER in sodium memory; the CSR as DER (malloc). */
mt_status mt_renew_make_key_and_csr(const char *spec, const char *email, const char *hash,
                                    mt_secret **pkcs8, uint8_t **csr_der, size_t *csr_len);
/* The CSR as PEM text (malloc). */
char *mt_renew_csr_pem(const uint8_t *csr_der, size_t csr_len);
/* True when the CSR's public key is this SubjectPublicKeyInfo. */
bool mt_renew_csr_matches(const uint8_t *csr_der, size_t csr_len, const uint8_t *spki,
                          size_t spki_len);

#endif
