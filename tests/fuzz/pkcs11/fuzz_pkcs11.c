/* Fuzz target of the module: each input is a short program of C_* calls
 * whose arguments (templates, mechanisms and their parameters, handles,
 * data, output buffers) all come from the input.  Run by libFuzzer (built
 * with clang, see CMakeLists.txt) and by the replay driver in every build.
 *
 * The module is linked in (its object library) and initialised once over a
 * store of three accounts (RSA, EC P-256, EC P-384), each logged in by a
 * session that stays open; every input opens sessions of its own and closes
 * them at the end, so the objects and operations it made go with them.
 *
 * Input: a sequence of calls, each a selector byte and its fields; see
 * read_* below and make-seeds.py, which writes a seed corpus per call. */
#include "fuzz_pkcs11.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SESSIONS 6
#define MAX_HANDLES 64
#define MAX_TEMPLATE 16
#define MAX_STEPS 8
#define MAX_BUFFER 4096

static CK_FUNCTION_LIST_PTR f;
static CK_SLOT_ID slots[3];
static CK_MECHANISM_TYPE mechs[64];
static CK_ULONG n_mechs;
static char work_dir[256];

/* --------------------------------------------------------------- input */

typedef struct reader {
    const uint8_t *p;
    size_t left;
} reader;

static uint8_t read_u8(reader *r)
{
    if (!r->left)
        return 0;
    r->left--;
    return *r->p++;
}

static uint16_t read_u16(reader *r)
{
    uint16_t lo = read_u8(r);
    return (uint16_t)(lo | read_u8(r) << 8);
}

static uint32_t read_u32(reader *r)
{
    uint32_t lo = read_u16(r);
    return lo | (uint32_t)read_u16(r) << 16;
}

/* A length-prefixed byte string, pointing into the input. */
static const uint8_t *read_bytes(reader *r, size_t *len)
{
    size_t want = read_u16(r);
    const uint8_t *p = r->p;
    *len = want < r->left ? want : r->left;
    r->p += *len;
    r->left -= *len;
    return p;
}

/* ------------------------------------------------------------ the state */

/* What one input has: its sessions and the handles it met. */
typedef struct state {
    reader in;
    CK_SESSION_HANDLE sessions[MAX_SESSIONS];
    size_t n_sessions;
    CK_OBJECT_HANDLE handles[MAX_HANDLES];
    size_t n_handles;
    void *allocs[4 * MAX_TEMPLATE + 8]; /* freed after each call */
    size_t n_allocs;
} state;

static void *scratch(state *s, size_t len)
{
    void *p = calloc(1, len ? len : 1);
    if (!p || s->n_allocs == sizeof(s->allocs) / sizeof(s->allocs[0]))
        abort(); /* the harness's own limits: not the module's fault */
    s->allocs[s->n_allocs++] = p;
    return p;
}

static void scratch_free(state *s)
{
    for (size_t i = 0; i < s->n_allocs; i++)
        free(s->allocs[i]);
    s->n_allocs = 0;
}

static void remember(state *s, CK_OBJECT_HANDLE h)
{
    if (h != CK_INVALID_HANDLE && s->n_handles < MAX_HANDLES)
        s->handles[s->n_handles++] = h;
}

static CK_SESSION_HANDLE read_session(state *s)
{
    uint8_t i = read_u8(&s->in);
    return i == 0xff ? read_u32(&s->in) : s->sessions[i % s->n_sessions];
}

static CK_OBJECT_HANDLE read_handle(state *s)
{
    uint8_t i = read_u8(&s->in);
    if (i >= 0xf0 || !s->n_handles)
        return read_u32(&s->in);
    return s->handles[i % s->n_handles];
}

static const CK_ATTRIBUTE_TYPE attribute_types[] = {
    CKA_CLASS,      CKA_KEY_TYPE,          CKA_VALUE,           CKA_VALUE_LEN,
    CKA_TOKEN,      CKA_PRIVATE,           CKA_SENSITIVE,       CKA_EXTRACTABLE,
    CKA_ENCRYPT,    CKA_DECRYPT,           CKA_WRAP,            CKA_UNWRAP,
    CKA_SIGN,       CKA_VERIFY,            CKA_DERIVE,          CKA_LABEL,
    CKA_ID,         CKA_MODIFIABLE,        CKA_COPYABLE,        CKA_DESTROYABLE,
    CKA_ALLOWED_MECHANISMS, CKA_START_DATE, CKA_END_DATE,       CKA_LOCAL,
    CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE, CKA_TRUSTED,   CKA_WRAP_WITH_TRUSTED,
    CKA_MODULUS,    CKA_EC_POINT,          CKA_EC_PARAMS,       CKA_CERTIFICATE_TYPE,
    CKA_SUBJECT,    CKA_ISSUER,            CKA_SERIAL_NUMBER,   CKA_KEY_GEN_MECHANISM,
    CKA_UNIQUE_ID,  CKA_CHECK_VALUE,       CKA_PUBLIC_KEY_INFO, CKA_ALWAYS_AUTHENTICATE,
};
#define N_TYPES (sizeof(attribute_types) / sizeof(attribute_types[0]))

/* A template: for each attribute a type, and a value that is a pointer to
 * nothing, bytes, a CK_ULONG, a CK_BBOOL or an empty buffer to fill. */
static CK_ATTRIBUTE *read_template(state *s, CK_ULONG *count)
{
    uint8_t n = read_u8(&s->in);
    if (n == 0xff) { /* NULL with a count */
        *count = read_u8(&s->in);
        return NULL;
    }
    *count = n % (MAX_TEMPLATE + 1);
    CK_ATTRIBUTE *t = scratch(s, *count * sizeof(*t));
    for (CK_ULONG i = 0; i < *count; i++) {
        uint8_t pick = read_u8(&s->in);
        t[i].type = pick < N_TYPES ? attribute_types[pick] : read_u32(&s->in);
        size_t len = 0;
        const uint8_t *bytes = NULL;
        switch (read_u8(&s->in) % 5) {
        case 0: /* NULL, with a length */
            t[i].pValue = NULL;
            t[i].ulValueLen = read_u16(&s->in);
            break;
        case 1:
            bytes = read_bytes(&s->in, &len);
            t[i].pValue = scratch(s, len);
            memcpy(t[i].pValue, bytes, len);
            t[i].ulValueLen = len;
            break;
        case 2: {
            CK_ULONG *v = scratch(s, sizeof(*v));
            *v = read_u32(&s->in);
            t[i].pValue = v;
            t[i].ulValueLen = sizeof(*v);
            break;
        }
        case 3: {
            CK_BBOOL *b = scratch(s, sizeof(*b));
            *b = read_u8(&s->in);
            t[i].pValue = b;
            t[i].ulValueLen = sizeof(*b);
            break;
        }
        default: /* a buffer of the size asked for (C_GetAttributeValue) */
            len = read_u16(&s->in) % MAX_BUFFER;
            t[i].pValue = scratch(s, len);
            t[i].ulValueLen = len;
        }
    }
    return t;
}

static const CK_ULONG kdfs[] = {CKD_NULL,       CKD_SHA1_KDF,   CKD_SHA224_KDF,
                                CKD_SHA256_KDF, CKD_SHA384_KDF, CKD_SHA512_KDF};
static const CK_MECHANISM_TYPE hashes[] = {CKM_SHA_1, CKM_SHA256, CKM_SHA384, CKM_SHA512, CKM_MD5};
static const CK_RSA_PKCS_MGF_TYPE mgfs[] = {CKG_MGF1_SHA1, CKG_MGF1_SHA256, CKG_MGF1_SHA384,
                                            CKG_MGF1_SHA512};

static CK_ULONG pick(state *s, const CK_ULONG *list, size_t n)
{
    uint8_t i = read_u8(&s->in);
    return i < n ? list[i] : read_u32(&s->in);
}

/* The mechanism's own parameter structure, filled from the input. */
static void *read_struct_param(state *s, CK_MECHANISM_TYPE type, size_t *size)
{
    size_t len = 0;
    const uint8_t *bytes = NULL;
    if (type == CKM_ECDH1_DERIVE) {
        CK_ECDH1_DERIVE_PARAMS *p = scratch(s, sizeof(*p) + 16);
        p->kdf = pick(s, kdfs, sizeof(kdfs) / sizeof(kdfs[0]));
        bytes = read_bytes(&s->in, &len);
        p->pSharedData = len || read_u8(&s->in) ? memcpy(scratch(s, len), bytes, len) : NULL;
        p->ulSharedDataLen = len;
        bytes = read_bytes(&s->in, &len);
        p->pPublicData = memcpy(scratch(s, len), bytes, len);
        p->ulPublicDataLen = len;
        *size = sizeof(*p);
        return p;
    }
    if (type == CKM_RSA_PKCS_OAEP) {
        CK_RSA_PKCS_OAEP_PARAMS *p = scratch(s, sizeof(*p) + 16);
        p->hashAlg = pick(s, hashes, sizeof(hashes) / sizeof(hashes[0]));
        p->mgf = pick(s, mgfs, sizeof(mgfs) / sizeof(mgfs[0]));
        p->source = read_u8(&s->in) % 3;
        bytes = read_bytes(&s->in, &len);
        p->pSourceData = len ? memcpy(scratch(s, len), bytes, len) : NULL;
        p->ulSourceDataLen = len;
        *size = sizeof(*p);
        return p;
    }
    /* the PSS mechanisms and any other: a PSS structure */
    CK_RSA_PKCS_PSS_PARAMS *p = scratch(s, sizeof(*p) + 16);
    p->hashAlg = pick(s, hashes, sizeof(hashes) / sizeof(hashes[0]));
    p->mgf = pick(s, mgfs, sizeof(mgfs) / sizeof(mgfs[0]));
    p->sLen = read_u32(&s->in);
    *size = sizeof(*p);
    return p;
}

/* A mechanism from the module's list (or any number), with no parameter,
 * raw bytes, or its structure with the right length or a wrong one. */
static CK_MECHANISM *read_mechanism(state *s)
{
    uint8_t i = read_u8(&s->in);
    if (i == 0xfe)
        return NULL;
    CK_MECHANISM *m = scratch(s, sizeof(*m));
    m->mechanism = i < n_mechs ? mechs[i] : read_u32(&s->in);
    size_t len = 0;
    const uint8_t *bytes = NULL;
    switch (read_u8(&s->in) % 4) {
    case 0:
        break;
    case 1:
        bytes = read_bytes(&s->in, &len);
        m->pParameter = memcpy(scratch(s, len), bytes, len);
        m->ulParameterLen = len;
        break;
    case 2:
        m->pParameter = read_struct_param(s, m->mechanism, &len);
        m->ulParameterLen = len;
        break;
    default: /* the structure, its length told wrong (never past the buffer) */
        m->pParameter = read_struct_param(s, m->mechanism, &len);
        m->ulParameterLen = len - 1 + read_u8(&s->in) % 17;
    }
    return m;
}

/* Output: no buffer (a size query), a buffer of some size, or no length. */
typedef struct output {
    CK_BYTE_PTR buf;
    CK_ULONG len;
    CK_ULONG_PTR len_ptr;
} output;

static void read_output(state *s, output *o)
{
    uint8_t kind = read_u8(&s->in) % 3;
    o->len = read_u16(&s->in) % MAX_BUFFER;
    o->buf = kind == 1 ? scratch(s, o->len) : NULL;
    o->len_ptr = kind == 2 ? NULL : &o->len;
}

static CK_BYTE_PTR read_data(state *s, CK_ULONG *len)
{
    size_t n = 0;
    const uint8_t *bytes = read_bytes(&s->in, &n);
    *len = n;
    if (read_u8(&s->in) == 0xff) /* NULL with a length */
        return NULL;
    return memcpy(scratch(s, n), bytes, n);
}

/* ---------------------------------------------------------------- calls */

static void call_find(state *s)
{
    CK_SESSION_HANDLE h = read_session(s);
    CK_ULONG count = 0, n = 0;
    CK_ATTRIBUTE *t = read_template(s, &count);
    CK_OBJECT_HANDLE found[8];
    if (f->C_FindObjectsInit(h, t, count) != CKR_OK)
        return;
    if (f->C_FindObjects(h, found, read_u8(&s->in) % 9, &n) == CKR_OK)
        for (CK_ULONG i = 0; i < n; i++)
            remember(s, found[i]);
    f->C_FindObjectsFinal(h);
}

static void call_create(state *s, int which)
{
    CK_SESSION_HANDLE h = read_session(s);
    CK_OBJECT_HANDLE object = read_handle(s), made = CK_INVALID_HANDLE;
    CK_ULONG count = 0;
    CK_ATTRIBUTE *t = read_template(s, &count);
    switch (which) {
    case 0: f->C_GetAttributeValue(h, object, t, count); break;
    case 1: f->C_SetAttributeValue(h, object, t, count); break;
    case 2: f->C_CreateObject(h, t, count, read_u8(&s->in) ? &made : NULL); break;
    case 3: f->C_CopyObject(h, object, t, count, read_u8(&s->in) ? &made : NULL); break;
    default: f->C_DestroyObject(h, object);
    }
    remember(s, made);
}

static void call_key_management(state *s, int which)
{
    CK_SESSION_HANDLE h = read_session(s);
    CK_MECHANISM *m = read_mechanism(s);
    CK_OBJECT_HANDLE key = read_handle(s), other = read_handle(s), made = CK_INVALID_HANDLE;
    CK_ULONG count = 0, len = 0;
    CK_ATTRIBUTE *t = read_template(s, &count);
    CK_BYTE_PTR data = read_data(s, &len);
    output o;
    read_output(s, &o);
    switch (which) {
    case 0: f->C_DeriveKey(h, m, key, t, count, read_u8(&s->in) ? &made : NULL); break;
    case 1: f->C_UnwrapKey(h, m, key, data, len, t, count, read_u8(&s->in) ? &made : NULL); break;
    default: f->C_WrapKey(h, m, key, other, o.buf, o.len_ptr);
    }
    remember(s, made);
}

/* An operation and a few steps of it: single-part, update, final, in any
 * order, each with its data and output as the input says. */
static void call_operation(state *s, int kind)
{
    CK_SESSION_HANDLE h = read_session(s);
    CK_MECHANISM *m = read_mechanism(s);
    CK_OBJECT_HANDLE key = read_handle(s);
    CK_RV rv;
    switch (kind) {
    case 0: rv = f->C_EncryptInit(h, m, key); break;
    case 1: rv = f->C_DecryptInit(h, m, key); break;
    case 2: rv = f->C_SignInit(h, m, key); break;
    case 3: rv = f->C_VerifyInit(h, m, key); break;
    default: rv = f->C_DigestInit(h, m);
    }
    if (rv != CKR_OK)
        return;
    uint8_t steps = read_u8(&s->in) % (MAX_STEPS + 1);
    for (uint8_t i = 0; i < steps && s->in.left; i++) {
        uint8_t step = read_u8(&s->in) % 4;
        CK_ULONG len = 0;
        CK_BYTE_PTR data = read_data(s, &len);
        output o;
        read_output(s, &o);
        switch (kind * 4 + step) {
        case 0: f->C_Encrypt(h, data, len, o.buf, o.len_ptr); break;
        case 1: f->C_EncryptUpdate(h, data, len, o.buf, o.len_ptr); break;
        case 2: f->C_EncryptFinal(h, o.buf, o.len_ptr); break;
        case 4: f->C_Decrypt(h, data, len, o.buf, o.len_ptr); break;
        case 5: f->C_DecryptUpdate(h, data, len, o.buf, o.len_ptr); break;
        case 6: f->C_DecryptFinal(h, o.buf, o.len_ptr); break;
        case 8: f->C_Sign(h, data, len, o.buf, o.len_ptr); break;
        case 9: f->C_SignUpdate(h, data, len); break;
        case 10: f->C_SignFinal(h, o.buf, o.len_ptr); break;
        case 12: f->C_Verify(h, data, len, o.buf, o.len); break;
        case 13: f->C_VerifyUpdate(h, data, len); break;
        case 14: f->C_VerifyFinal(h, o.buf, o.len); break;
        case 16: f->C_Digest(h, data, len, o.buf, o.len_ptr); break;
        case 17: f->C_DigestUpdate(h, data, len); break;
        case 18: f->C_DigestFinal(h, o.buf, o.len_ptr); break;
        case 19: f->C_DigestKey(h, read_handle(s)); break;
        default: break; /* a step the operation does not have */
        }
        scratch_free(s);
    }
}

static void call_misc(state *s, int which)
{
    CK_SESSION_HANDLE h = read_session(s);
    CK_ULONG len = 0;
    switch (which) {
    case 0: { /* C_Initialize again, and the filter its string carries */
        CK_BYTE_PTR data = read_data(s, &len);
        char *text = scratch(s, len + 1);
        if (data)
            memcpy(text, data, len);
        CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK, .pReserved = text};
        f->C_Initialize(&args);
        mt_account_filter filter;
        if (mt_filter_from_init_string(text, &filter) == CKR_OK)
            mt_filter_clear(&filter);
        break;
    }
    case 1: { /* another session on one of the tokens */
        CK_SESSION_HANDLE opened = 0;
        CK_FLAGS flags = read_u8(&s->in) & 1 ? CKF_RW_SESSION : 0;
        if (s->n_sessions < MAX_SESSIONS &&
            f->C_OpenSession(slots[read_u8(&s->in) % 3], CKF_SERIAL_SESSION | flags, NULL, NULL,
                             &opened) == CKR_OK)
            s->sessions[s->n_sessions++] = opened;
        break;
    }
    case 2: { /* close one of this input's sessions (its objects go) */
        uint8_t i = read_u8(&s->in);
        if (s->n_sessions > 1) {
            i %= s->n_sessions;
            f->C_CloseSession(s->sessions[i]);
            s->sessions[i] = s->sessions[--s->n_sessions];
        }
        break;
    }
    case 3: {
        CK_MECHANISM_INFO info;
        f->C_GetMechanismInfo(slots[read_u8(&s->in) % 3], read_u32(&s->in),
                              read_u8(&s->in) ? &info : NULL);
        break;
    }
    default: {
        output o;
        read_output(s, &o);
        f->C_GenerateRandom(h, o.buf, o.len);
        f->C_SeedRandom(h, o.buf, o.len);
    }
    }
}

/* ---------------------------------------------------------------- setup */

static int provision(void)
{
    const char *tool = getenv("MT_PROVISION"), *data = getenv("MT_TESTDATA");
    const char *tmp = getenv("TMPDIR");
    char cmd[4096];
    if (!tool || !data) {
        fprintf(stderr, "fuzz-pkcs11: MT_PROVISION and MT_TESTDATA must be set\n");
        return -1;
    }
    snprintf(work_dir, sizeof(work_dir), "%s/mt-fuzz-pkcs11-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(work_dir))
        return -1;
    snprintf(cmd, sizeof(cmd),
             "'%s' --store '%s/store.db' --so-pin fuzz-so-pin-1 --pin " MT_FUZZ_PIN
             " '%s/users/alice.p12' '%s/users/carol.p12' '%s/users/dave.p12' >/dev/null",
             tool, work_dir, data, data, data);
    char store[320], conf[320];
    snprintf(store, sizeof(store), "%s/store.db", work_dir);
    snprintf(conf, sizeof(conf), "%s/mailtoken.conf", work_dir);
    FILE *c = fopen(conf, "w");
    if (!c)
        return -1;
    /* the cheapest Argon2id, as the provisioning tool writes the rows
     * (tests/data/fast-kdf.conf): the setup's logins must pass the window */
    fputs("allow_weak_kdf = true\nkdf_opslimit = 1\nkdf_memlimit = 8192\n"
          "so_kdf_opslimit = 1\nso_kdf_memlimit = 8192\n", c);
    fclose(c);
    setenv("MAILTOKEN_STORE", store, 1);
    setenv("MAILTOKEN_CONF", conf, 1);
    unsetenv("MAILTOKEN_ACCOUNTS");
    return system(cmd) == 0 ? 0 : -1;
}

static void cleanup(void)
{
    char cmd[512];
    if (f)
        f->C_Finalize(NULL);
    if (work_dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "fuzz-pkcs11: could not remove %s\n", work_dir);
    }
}

int mt_fuzz_setup(void)
{
    CK_ULONG n = 3;
    if (provision() != 0 || C_GetFunctionList(&f) != CKR_OK || f->C_Initialize(NULL) != CKR_OK ||
        f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK || n != 3)
        return -1;
    atexit(cleanup);
    /* logged in for good: a session per token stays open */
    for (size_t i = 0; i < 3; i++) {
        CK_SESSION_HANDLE keeper;
        if (f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL, NULL, &keeper) != CKR_OK ||
            f->C_Login(keeper, CKU_USER, (CK_UTF8CHAR_PTR)MT_FUZZ_PIN, strlen(MT_FUZZ_PIN)) !=
                CKR_OK)
            return -1;
    }
    n_mechs = sizeof(mechs) / sizeof(mechs[0]);
    return f->C_GetMechanismList(slots[0], mechs, &n_mechs) == CKR_OK ? 0 : -1;
}

int mt_fuzz_one(const uint8_t *data, size_t size)
{
    state *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->in = (reader){data, size};
    for (size_t i = 0; i < 3; i++)
        if (f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL, NULL, &s->sessions[i]) == CKR_OK)
            s->n_sessions++;
    for (size_t calls = 0; s->in.left && calls < 32; calls++) {
        uint8_t selector = read_u8(&s->in);
        switch (selector % MT_FUZZ_CALLS) {
        case MT_FUZZ_FIND: call_find(s); break;
        case MT_FUZZ_GET_ATTRIBUTES: call_create(s, 0); break;
        case MT_FUZZ_SET_ATTRIBUTES: call_create(s, 1); break;
        case MT_FUZZ_CREATE: call_create(s, 2); break;
        case MT_FUZZ_COPY: call_create(s, 3); break;
        case MT_FUZZ_DESTROY: call_create(s, 4); break;
        case MT_FUZZ_DERIVE: call_key_management(s, 0); break;
        case MT_FUZZ_UNWRAP: call_key_management(s, 1); break;
        case MT_FUZZ_WRAP: call_key_management(s, 2); break;
        case MT_FUZZ_ENCRYPT: call_operation(s, 0); break;
        case MT_FUZZ_DECRYPT: call_operation(s, 1); break;
        case MT_FUZZ_SIGN: call_operation(s, 2); break;
        case MT_FUZZ_VERIFY: call_operation(s, 3); break;
        case MT_FUZZ_DIGEST: call_operation(s, 4); break;
        case MT_FUZZ_INITIALIZE: call_misc(s, 0); break;
        case MT_FUZZ_OPEN: call_misc(s, 1); break;
        case MT_FUZZ_CLOSE: call_misc(s, 2); break;
        case MT_FUZZ_MECHANISM_INFO: call_misc(s, 3); break;
        default: call_misc(s, 4);
        }
        scratch_free(s);
    }
    for (size_t i = 0; i < s->n_sessions; i++)
        f->C_CloseSession(s->sessions[i]);
    free(s);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (mt_fuzz_setup() != 0) {
        fprintf(stderr, "fuzz-pkcs11: setup failed\n");
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return mt_fuzz_one(data, size);
}
