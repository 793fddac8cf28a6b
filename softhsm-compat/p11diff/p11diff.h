/*
 * p11diff: runs the same PKCS#11 scenarios against two modules and compares
 * what each one answered.  A scenario never compares handles, serials or
 * signatures: it records observations ("key = value") that must be equal
 * when both modules behave alike (return codes, flags, attribute values,
 * "verified" for a randomised signature checked with the public key).
 */
#ifndef P11DIFF_H
#define P11DIFF_H

#include <stdbool.h>
#include <stddef.h>

/* PKCS#11 2.40 from p11-kit plus the 3.0 names it lacks (the module's header
 * of plain PKCS#11 definitions, nothing of the module itself). */
#include "pkcs11_v3.h"

/* ------------------------------------------------------------ observations */

typedef struct p11d_obs {
    char *key;
    char *value;
} p11d_obs;

/* Observations of one module, in the order they were made, under a scope
 * ("alice@example.org/obj[cert:alice@example.org]") that prefixes keys. */
typedef struct p11d_log {
    p11d_obs *items;
    size_t n;
    size_t cap;
    char scope[512];
} p11d_log;

void p11d_log_free(p11d_log *log);
void p11d_scope_set(p11d_log *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records scope + "/" + key = formatted value. */
void p11d_note(p11d_log *log, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void p11d_note_rv(p11d_log *log, const char *key, CK_RV rv);
/* Byte strings: hex when short, length and SHA-256 prefix when long. */
void p11d_note_bytes(p11d_log *log, const char *key, const void *data, size_t len);
/* Sorts by key (then value) so the comparison does not depend on call order. */
void p11d_log_sort(p11d_log *log);

/* ------------------------------------------------------------------ names */

const char *p11d_rv_name(CK_RV rv, char buf[32]);
const char *p11d_mech_name(CK_MECHANISM_TYPE mech, char buf[32]);
/* Space-separated names of the set bits of a flags word ("table" picks the
 * names: 't' token flags, 's' slot flags, 'm' mechanism flags, 'i' session). */
void p11d_flags_names(char table, CK_FLAGS flags, char *out, size_t out_len);
/* One observation per flag of the table ("KEY.CKF_RNG = set"), so that an
 * accepted difference in one flag never hides another. */
void p11d_note_flags(p11d_log *log, const char *key, char table, CK_FLAGS flags);

/* ------------------------------------------------------------------ run */

/* One module under test, and the token it is compared on. */
typedef struct p11d_ctx {
    CK_FUNCTION_LIST *f;
    p11d_log *log;
    const char *label;        /* token label selected on this module */
    const char *pin;          /* user PIN (test data, not a production secret) */
    size_t pin_len;
    CK_SLOT_ID slot;
    bool have_slot;
    CK_SESSION_HANDLE session; /* R/W session logged in as the user, or 0 */
} p11d_ctx;

/* A scenario: a named group of checks.  It returns false only when it could
 * not run at all (the runner records that as an observation too). */
typedef struct p11d_scenario {
    const char *name;
    bool per_token; /* false: once per module (initialize, finalize) */
    bool (*run)(p11d_ctx *ctx);
} p11d_scenario;

extern const p11d_scenario p11d_scenarios[];
extern const size_t p11d_n_scenarios;

/* Scenario groups (one file each). */
bool p11d_scn_general(p11d_ctx *ctx);
bool p11d_scn_slot(p11d_ctx *ctx);
bool p11d_scn_mechanisms(p11d_ctx *ctx);
bool p11d_scn_session(p11d_ctx *ctx);
bool p11d_scn_login(p11d_ctx *ctx);
bool p11d_scn_find(p11d_ctx *ctx);
bool p11d_scn_attributes(p11d_ctx *ctx);
bool p11d_scn_sign(p11d_ctx *ctx);
bool p11d_scn_decrypt(p11d_ctx *ctx);
bool p11d_scn_digest_random(p11d_ctx *ctx);
bool p11d_scn_write(p11d_ctx *ctx);
bool p11d_scn_finalize(p11d_ctx *ctx);

/* ---------------------------------------------------------- shared helpers */

/* Finds every object matching the template (all of them, in chunks of 3 to
 * exercise C_FindObjects continuation).  Caller frees *out. */
CK_RV p11d_find(p11d_ctx *ctx, CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                CK_OBJECT_HANDLE **out, CK_ULONG *count);
/* Reads one attribute into a fresh buffer (size query, then value). */
CK_RV p11d_get_attr(p11d_ctx *ctx, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE obj,
                    CK_ATTRIBUTE_TYPE type, unsigned char **value, CK_ULONG *len);
CK_RV p11d_get_ulong(p11d_ctx *ctx, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE obj,
                     CK_ATTRIBUTE_TYPE type, CK_ULONG *value);
/* The slot whose token carries this label (space- or NUL-padded). */
bool p11d_find_slot(CK_FUNCTION_LIST *f, const char *label, CK_SLOT_ID *slot);
/* Opens a session on the selected slot and logs the user in. */
CK_RV p11d_open_user_session(p11d_ctx *ctx, CK_SESSION_HANDLE *session);

/* A token object, named by what both modules share: class and label. */
typedef struct p11d_object {
    CK_OBJECT_HANDLE handle;
    CK_OBJECT_CLASS cls;
    CK_KEY_TYPE key_type;     /* keys only */
    char name[160];           /* "cert:alice@example.org", "priv/rsa:..." */
    unsigned char id[64];
    CK_ULONG id_len;
} p11d_object;

/* Every object the session sees, sorted by name (duplicate names get the
 * CKA_ID appended).  Caller frees *out. */
CK_RV p11d_list_objects(p11d_ctx *ctx, CK_SESSION_HANDLE session, p11d_object **out,
                        size_t *n);
/* The certificate object with the same CKA_ID as obj, or NULL. */
const p11d_object *p11d_cert_for(const p11d_object *objs, size_t n, const p11d_object *key);

/* ------------------------------------------------------------ comparison */

typedef enum p11d_relation {
    P11D_REL_NONE,
    P11D_REL_OTHER_VALUE, /* the other module's value, with `from` replaced by `to` */
    P11D_REL_OWN_KEY      /* this module's value for the key with `from` replaced by `to` */
} p11d_relation;

/* What one module must answer for an accepted difference: any of the globs,
 * no observation at all (not_observed), or the relation. */
typedef struct p11d_rule {
    char **globs;
    size_t n_globs;
    bool not_observed;
    p11d_relation relation;
    char *from, *to;
} p11d_rule;

/* One entry of EXPECTED-DIFFERENCES.md: the observation keys it covers and
 * what each module answers there.  The first entry whose pattern matches a
 * key decides whether a difference there is accepted. */
typedef struct p11d_entry {
    char **patterns;
    size_t n_patterns;
    unsigned line;
    bool ref_given, cand_given;
    p11d_rule ref, cand;
    size_t accepted;   /* differences accepted by this entry */
    size_t refused;    /* differences under its patterns with other values */
} p11d_entry;

typedef struct p11d_expected {
    p11d_entry *entries;
    size_t n;
} p11d_expected;

/* Reads the entries of the expected-differences file (see expected.c). */
bool p11d_expected_load(const char *path, p11d_expected *out);
void p11d_expected_free(p11d_expected *expected);

/* Prints every difference between two sorted logs, accepted ones included,
 * and a count per entry; returns the number of differences not accepted. */
size_t p11d_compare(const p11d_log *ref, const p11d_log *cand, p11d_expected *expected);

#endif
