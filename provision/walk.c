/* The certificate files of a folder, recursively, in a stable order; every
 * other file named with the reason it is left out. */
#include "import.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const char *const cert_extensions[] = {".p12", ".pfx", ".pkcs12", ".p7b", ".p7c", ".pem",
                                              ".crt", ".cer", ".der",    ".key"};
const char mt_cert_extension_list[] = ".p12 .pfx .pkcs12 .p7b .p7c .pem .crt .cer .der .key";

/* Certificate files a NAME.key is read with (PEM text, as keys come). */
static const char *const key_partners[] = {".crt", ".pem", ".cer"};

static bool ends_with_one_of(const char *name, const char *const *exts, size_t n)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(dot, exts[i]) == 0)
            return true;
    return false;
}

bool mt_has_cert_extension(const char *name)
{
    const char *base = strrchr(name, '/');
    return ends_with_one_of(base ? base + 1 : name, cert_extensions,
                            sizeof(cert_extensions) / sizeof(*cert_extensions));
}

static bool is_key_file(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && strcasecmp(dot, ".key") == 0;
}

mt_status mt_file_list_add(mt_file_list *list, const char *path)
{
    char *copy = strdup(path);
    char **grown = copy ? realloc(list->paths, (list->n + 1) * sizeof(*grown)) : NULL;
    char **keys = grown ? realloc(list->key_paths, (list->n + 1) * sizeof(*keys)) : NULL;
    if (grown)
        list->paths = grown;
    if (!keys) {
        free(copy);
        return MT_ERR_NOMEM;
    }
    list->key_paths = keys;
    list->key_paths[list->n] = NULL;
    list->paths[list->n++] = copy;
    return MT_OK;
}

mt_status mt_file_list_skip(mt_file_list *list, const char *path, const char *reason)
{
    mt_skipped_file *grown = realloc(list->skipped_files, (list->skipped + 1) * sizeof(*grown));
    if (!grown)
        return MT_ERR_NOMEM;
    list->skipped_files = grown;
    mt_skipped_file *s = &grown[list->skipped];
    s->path = strdup(path);
    s->reason = strdup(reason);
    if (!s->path || !s->reason) {
        free(s->path);
        free(s->reason);
        return MT_ERR_NOMEM;
    }
    list->skipped++;
    return MT_OK;
}

static mt_status other_file(mt_file_list *list, const char *path)
{
    char reason[160];
    snprintf(reason, sizeof(reason), "not a certificate file name (%s); --all-files tries every "
                                     "file by its content", mt_cert_extension_list);
    return mt_file_list_skip(list, path, reason);
}

static mt_status walk(const char *dir, bool all_files, unsigned depth, mt_file_list *list)
{
    mt_status st = MT_OK;
    if (depth > 64)
        return mt_cli_set_error(MT_ERR_INVALID, "%s: folders nested too deep", dir);
    DIR *d = opendir(dir);
    if (!d)
        return mt_cli_set_error(MT_ERR_IO, "%s: %s", dir, strerror(errno));
    struct dirent *de;
    while (st == MT_OK && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
            st = MT_ERR_NOMEM;
            break;
        }
        struct stat sb;
        if (stat(path, &sb) != 0)
            st = mt_cli_set_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
        else if (de->d_name[0] == '.')
            st = mt_file_list_skip(list, path, S_ISDIR(sb.st_mode) ? "hidden folder"
                                                                   : "hidden file");
        else if (S_ISDIR(sb.st_mode))
            st = walk(path, all_files, depth + 1, list);
        else if (!S_ISREG(sb.st_mode))
            st = mt_file_list_skip(list, path, "not a regular file");
        else if (all_files || mt_has_cert_extension(de->d_name))
            st = mt_file_list_add(list, path);
        else
            st = other_file(list, path);
        free(path);
    }
    closedir(d);
    return st;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int compare_skipped(const void *a, const void *b)
{
    return strcmp(((const mt_skipped_file *)a)->path, ((const mt_skipped_file *)b)->path);
}

/* Index of the certificate file NAME.crt/.pem/.cer of key file NAME.key. */
static long key_partner(const mt_file_list *list, size_t first, const char *key)
{
    size_t stem = strlen(key) - 4;
    for (size_t i = first; i < list->n; i++) {
        const char *p = list->paths[i];
        if (p && !is_key_file(p) && strncmp(p, key, stem) == 0 && strlen(p) == stem + 4 &&
            ends_with_one_of(p + stem, key_partners, sizeof(key_partners) / sizeof(*key_partners)))
            return (long)i;
    }
    return -1;
}

/* NAME.key goes with NAME.crt (or .pem, .cer); alone it is skipped. */
static mt_status pair_key_files(mt_file_list *list, size_t first)
{
    mt_status st = MT_OK;
    for (size_t i = first; i < list->n && st == MT_OK; i++) {
        char *path = list->paths[i];
        if (!is_key_file(path))
            continue;
        long partner = key_partner(list, first, path);
        if (partner >= 0 && !list->key_paths[partner]) {
            list->key_paths[partner] = path;
        } else {
            st = mt_file_list_skip(list, path, "a private key with no certificate file of the "
                                               "same name (.crt, .pem or .cer) beside it");
            free(path);
        }
        list->paths[i] = NULL;
    }
    size_t kept = first;
    for (size_t i = first; i < list->n; i++) {
        if (!list->paths[i])
            continue;
        list->key_paths[kept] = list->key_paths[i];
        list->paths[kept++] = list->paths[i];
    }
    list->n = kept;
    return st;
}

mt_status mt_walk_folder(const char *folder, bool all_files, mt_file_list *list)
{
    size_t first = list->n;
    mt_status st = walk(folder, all_files, 0, list);
    if (st == MT_OK && list->n > first) {
        qsort(list->paths + first, list->n - first, sizeof(char *), compare_paths);
        st = pair_key_files(list, first);
    }
    if (st == MT_OK && list->skipped > 0)
        qsort(list->skipped_files, list->skipped, sizeof(*list->skipped_files), compare_skipped);
    return st;
}

void mt_file_list_clear(mt_file_list *list)
{
    for (size_t i = 0; i < list->n; i++) {
        free(list->paths[i]);
        free(list->key_paths ? list->key_paths[i] : NULL);
    }
    for (size_t i = 0; i < list->skipped; i++) {
        free(list->skipped_files[i].path);
        free(list->skipped_files[i].reason);
    }
    free(list->paths);
    free(list->key_paths);
    free(list->skipped_files);
    memset(list, 0, sizeof(*list));
}
