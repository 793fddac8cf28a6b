/* Replays the corpus through the module's fuzz target in every build (ASan
 * too), with deterministic variants of each input (halves, byte flips),
 * so that CI runs the target without libFuzzer.
 *   usage: fuzz-pkcs11-replay PATH...   (files, or directories walked; exit 0: no crash) */
#include "fuzz_pkcs11.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static size_t n_runs;

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    struct stat sb;
    if (!f)
        return NULL;
    if (fstat(fileno(f), &sb) == 0 && (data = malloc((size_t)sb.st_size + 1)))
        *len = fread(data, 1, (size_t)sb.st_size, f);
    fclose(f);
    return data;
}

static void replay_file(const char *path)
{
    size_t len = 0;
    uint8_t *data = read_all(path, &len);
    if (!data)
        return;
    mt_fuzz_one(data, len);
    mt_fuzz_one(data, len / 2);
    for (size_t i = 0; i < 8 && len; i++) {
        size_t at = (i * 7919 + 13) % len;
        data[at] ^= (uint8_t)(1u << i);
        mt_fuzz_one(data, len);
        data[at] ^= (uint8_t)(1u << i);
    }
    n_runs += 10;
    free(data);
}

static void replay(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "fuzz-pkcs11-replay: %s: not found\n", path);
        exit(2);
    }
    if (!S_ISDIR(sb.st_mode)) {
        replay_file(path);
        return;
    }
    struct dirent **entries = NULL;
    int n = scandir(path, &entries, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        if (entries[i]->d_name[0] != '.') {
            char child[4096];
            snprintf(child, sizeof(child), "%s/%s", path, entries[i]->d_name);
            replay(child);
        }
        free(entries[i]);
    }
    free(entries);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz-pkcs11-replay PATH...\n");
        return 2;
    }
    if (mt_fuzz_setup() != 0) {
        fprintf(stderr, "fuzz-pkcs11-replay: setup failed\n");
        return 1;
    }
    for (int i = 1; i < argc; i++)
        replay(argv[i]);
    printf("fuzz-pkcs11-replay: %zu inputs, no crash\n", n_runs);
    return n_runs ? 0 : 1;
}
