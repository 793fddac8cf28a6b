/* The importer's record of public keys, outside the store: one line per key,
 *
 *   <store id> org <org id> <recovery public key, hex> <name>
 *   <store id> token <token id> <public key, hex> <email>
 *
 * where the store id is a hash of the store file's real path, so that one
 * file serves every store this user fills.  Lines are only ever appended
 * (the latest line of a key wins: `account rekey` appends the new one), by
 * one write under flock, after the transaction that made the key commits: a
 * record of a rolled-back token would name an id the next token may get.
 * Read when first needed, and again from where it stopped before a key is
 * called unknown or different (another import may have appended since). */
#include "known_keys.h"
#include "secret_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define STORE_ID_HEX 32
#define LINE_MAX_LEN 1024

typedef struct known_entry {
    uint64_t key; /* id * 2 + is_org; 0: empty slot */
    uint8_t pk[32];
} known_entry;

struct mt_known_keys {
    char store_id[STORE_ID_HEX + 1];
    known_entry *table;      /* open addressing, a power of two */
    size_t cap, n;
    off_t offset;            /* bytes read: whole lines only */
    known_entry *pending;    /* recorded in the open transaction */
    char *pending_lines;
    size_t n_pending, pending_len;
};

static uint64_t entry_key(bool is_org, int64_t id)
{
    return (uint64_t)id * 2 + (is_org ? 1 : 0);
}

mt_status mt_known_keys_path(const mt_config *config, char **out)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    char *path = NULL;
    *out = NULL;
    if (config && config->known_keys_file)
        path = strdup(config->known_keys_file);
    else if (xdg && *xdg && asprintf(&path, "%s/mailtoken/known-keys", xdg) < 0)
        path = NULL;
    else if (!(xdg && *xdg) && home && *home &&
             asprintf(&path, "%s/.local/share/mailtoken/known-keys", home) < 0)
        path = NULL;
    else if (!(xdg && *xdg) && !(home && *home))
        return MT_OK; /* no home: no record (strict then trusts nothing unknown) */
    if (!path)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    *out = path;
    return MT_OK;
}

void mt_known_keys_free(mt_known_keys *known)
{
    if (!known)
        return;
    free(known->table);
    free(known->pending);
    free(known->pending_lines);
    free(known);
}

static mt_status table_put(mt_known_keys *k, uint64_t key, const uint8_t pk[32])
{
    if ((k->n + 1) * 2 > k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 256;
        known_entry *grown = calloc(cap, sizeof(*grown));
        if (!grown)
            return mt_fail(MT_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < k->cap; i++) {
            if (!k->table[i].key)
                continue;
            size_t j = k->table[i].key & (cap - 1);
            while (grown[j].key)
                j = (j + 1) & (cap - 1);
            grown[j] = k->table[i];
        }
        free(k->table);
        k->table = grown;
        k->cap = cap;
    }
    size_t j = key & (k->cap - 1);
    while (k->table[j].key && k->table[j].key != key)
        j = (j + 1) & (k->cap - 1);
    if (!k->table[j].key)
        k->n++;
    k->table[j].key = key;
    memcpy(k->table[j].pk, pk, 32);
    return MT_OK;
}

static const known_entry *table_get(const mt_known_keys *k, uint64_t key)
{
    if (!k->cap)
        return NULL;
    for (size_t j = key & (k->cap - 1); k->table[j].key; j = (j + 1) & (k->cap - 1))
        if (k->table[j].key == key)
            return &k->table[j];
    return NULL;
}

/* One line; lines of other stores and lines this build cannot read are skipped. */
static mt_status parse_line(mt_known_keys *k, char *line)
{
    char *save = NULL;
    const char *store_id = strtok_r(line, " ", &save);
    const char *kind = strtok_r(NULL, " ", &save);
    const char *id_text = strtok_r(NULL, " ", &save);
    const char *hex = strtok_r(NULL, " \n", &save);
    uint8_t pk[32];
    size_t pk_len = 0;
    if (!store_id || !kind || !id_text || !hex || strcmp(store_id, k->store_id) != 0)
        return MT_OK;
    char *end = NULL;
    long long id = strtoll(id_text, &end, 10);
    bool is_org = !strcmp(kind, "org");
    if (*end || id <= 0 || (!is_org && strcmp(kind, "token")) ||
        sodium_hex2bin(pk, sizeof(pk), hex, strlen(hex), NULL, &pk_len, NULL) != 0 || pk_len != 32)
        return MT_OK;
    return table_put(k, entry_key(is_org, id), pk);
}

/* Reads what was appended since the last read. */
static mt_status refresh(mt_store *store)
{
    mt_known_keys *k = store->known;
    char *buf = NULL;
    struct stat sb;
    mt_status st = MT_OK;
    int fd = open(store->known_keys_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? MT_OK : mt_fail(MT_ERR_IO, "%s: %s", store->known_keys_path, strerror(errno));
    if ((st = mt_secret_file_check(fd, store->known_keys_path)) != MT_OK || fstat(fd, &sb) != 0 ||
        sb.st_size <= k->offset)
        goto out;
    size_t len = (size_t)(sb.st_size - k->offset), got = 0;
    if (!(buf = malloc(len + 1))) {
        st = mt_fail(MT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (lseek(fd, k->offset, SEEK_SET) < 0 ||
        (st = mt_read_full(fd, store->known_keys_path, buf, len, &got)) != MT_OK)
        goto out;
    buf[got] = '\0';
    char *line = buf, *nl;
    while (st == MT_OK && (nl = memchr(line, '\n', (size_t)(buf + got - line)))) {
        *nl = '\0';
        if (*line && *line != '#')
            st = parse_line(k, line);
        k->offset += nl + 1 - line;
        line = nl + 1;
    }
out:
    free(buf);
    close(fd);
    return st;
}

static mt_status known_open(mt_store *store)
{
    char real[PATH_MAX];
    uint8_t hash[32];
    if (store->known)
        return MT_OK;
    mt_known_keys *k = calloc(1, sizeof(*k));
    if (!k)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    const char *path = realpath(store->path, real) ? real : store->path;
    crypto_hash_sha256(hash, (const uint8_t *)path, strlen(path));
    sodium_bin2hex(k->store_id, sizeof(k->store_id), hash, STORE_ID_HEX / 2);
    store->known = k;
    mt_status st = refresh(store);
    if (st != MT_OK) {
        mt_known_keys_free(k);
        store->known = NULL;
    }
    return st;
}

static mt_known compare(const known_entry *e, const uint8_t pk[32])
{
    if (!e)
        return MT_KNOWN_ABSENT;
    return sodium_memcmp(e->pk, pk, 32) == 0 ? MT_KNOWN_SAME : MT_KNOWN_DIFFERENT;
}

static const known_entry *pending_get(const mt_known_keys *k, uint64_t key)
{
    for (size_t i = k->n_pending; i > 0; i--)
        if (k->pending[i - 1].key == key)
            return &k->pending[i - 1];
    return NULL;
}

mt_status mt_known_keys_lookup(mt_store *store, bool is_org, int64_t id, const uint8_t pk[32],
                               mt_known *out)
{
    uint64_t key = entry_key(is_org, id);
    *out = MT_KNOWN_ABSENT;
    if (!store->known_keys_path)
        return MT_OK;
    mt_status st = known_open(store);
    if (st != MT_OK)
        return st;
    const known_entry *e = pending_get(store->known, key);
    if (!e)
        e = table_get(store->known, key);
    if (compare(e, pk) != MT_KNOWN_SAME && !pending_get(store->known, key)) {
        if ((st = refresh(store)) != MT_OK)
            return st;
        e = table_get(store->known, key);
    }
    *out = compare(e, pk);
    return MT_OK;
}

/* Appends lines under an exclusive lock, creating the file (and its
 * directory) private to this user. */
static mt_status append_lines(const char *path, const char *lines, size_t len)
{
    struct stat sb;
    static const char header[] = "# mailtoken: public keys this importer seals to, one line "
                                 "each (store id, kind, id, key, name); append-only\n";
    mt_status st = mt_make_parent_dir(path);
    if (st != MT_OK)
        return st;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return mt_fail(MT_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    st = mt_secret_file_check(fd, path);
    if (st == MT_OK && flock(fd, LOCK_EX) != 0)
        st = mt_fail(MT_ERR_IO, "%s: cannot lock: %s", path, strerror(errno));
    if (st == MT_OK && fstat(fd, &sb) == 0 && sb.st_size == 0 &&
        write(fd, header, sizeof(header) - 1) != (ssize_t)(sizeof(header) - 1))
        st = mt_fail(MT_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    if (st == MT_OK && write(fd, lines, len) != (ssize_t)len)
        st = mt_fail(MT_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    close(fd); /* releases the lock */
    return st;
}

static mt_status write_pending(mt_store *store)
{
    mt_known_keys *k = store->known;
    mt_status st = append_lines(store->known_keys_path, k->pending_lines, k->pending_len);
    for (size_t i = 0; st == MT_OK && i < k->n_pending; i++)
        st = table_put(k, k->pending[i].key, k->pending[i].pk);
    k->n_pending = 0;
    k->pending_len = 0;
    return st;
}

mt_status mt_known_keys_record(mt_store *store, bool is_org, int64_t id, const uint8_t pk[32],
                               const char *label)
{
    char hex[65], line[LINE_MAX_LEN];
    if (!store->known_keys_path)
        return MT_OK;
    mt_status st = known_open(store);
    if (st != MT_OK)
        return st;
    mt_known_keys *k = store->known;
    sodium_bin2hex(hex, sizeof(hex), pk, 32);
    int n = snprintf(line, sizeof(line), "%s %s %lld %s %s\n", k->store_id, is_org ? "org" : "token",
                     (long long)id, hex, label ? label : "");
    if (n < 0 || (size_t)n >= sizeof(line))
        n = (int)sizeof(line) - 1, line[n - 1] = '\n';
    for (int i = STORE_ID_HEX + 1; i < n - 1; i++) /* a name never breaks a line */
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = '?';
    known_entry *entries = realloc(k->pending, (k->n_pending + 1) * sizeof(*entries));
    char *lines = realloc(k->pending_lines, k->pending_len + (size_t)n + 1);
    if (entries)
        k->pending = entries;
    if (lines)
        k->pending_lines = lines;
    if (!entries || !lines)
        return mt_fail(MT_ERR_NOMEM, "out of memory");
    k->pending[k->n_pending].key = entry_key(is_org, id);
    memcpy(k->pending[k->n_pending++].pk, pk, 32);
    memcpy(k->pending_lines + k->pending_len, line, (size_t)n);
    k->pending_len += (size_t)n;
    return store->tx_depth == 0 ? write_pending(store) : MT_OK;
}

void mt_known_keys_end(mt_store *store, bool committed)
{
    mt_known_keys *k = store->known;
    if (!k || !k->n_pending)
        return;
    if (committed) {
        /* the rows are in; a record that cannot be written now only means the
         * key is met as unknown later (trusted on first use again, or refused
         * under strict): never a reason to undo the commit */
        (void)write_pending(store);
    }
    k->n_pending = 0;
    k->pending_len = 0;
}
