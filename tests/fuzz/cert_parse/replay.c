/* Replays files (or every file of directories) through the mt_cert_parse fuzz
 * target, with each file's .pass password, plus deterministic truncations
 * and byte flips, so that CI exercises the target with the normal compiler.
 *   usage: fuzz-cert-parse-replay PATH...   (exit 0: no crash) */
#include "fuzz_cert_parse.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define VARIANTS 8

static size_t n_runs;

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    struct stat sb;
    if (!f)
        return NULL;
    if (fstat(fileno(f), &sb) == 0 && (data = malloc((size_t)sb.st_size + 1))) {
        *len = fread(data, 1, (size_t)sb.st_size, f);
        data[*len] = '\0';
    }
    fclose(f);
    return data;
}

/* FILE.p12 -> FILE.pass, read as the password (NULL when absent). */
static char *password_for(const char *path)
{
    char pass_path[4096];
    const char *dot = strrchr(path, '.');
    size_t stem = dot ? (size_t)(dot - path) : strlen(path);
    snprintf(pass_path, sizeof(pass_path), "%.*s.pass", (int)stem, path);
    size_t len = 0;
    char *text = read_all(pass_path, &len);
    if (text)
        text[strcspn(text, "\n")] = '\0';
    return text;
}

static void run(const uint8_t *data, size_t len)
{
    LLVMFuzzerTestOneInput(data, len);
    n_runs++;
}

static void replay_file(const char *path)
{
    size_t len = 0;
    uint8_t *data = (uint8_t *)read_all(path, &len);
    if (!data || strstr(path, ".pass"))
        goto out;
    char *password = password_for(path);
    mt_fuzz_password = password;
    run(data, len);
    if (len > 0 && len <= MT_MAX_INPUT_SIZE) {
        for (size_t v = 1; v <= VARIANTS; v++) {
            run(data, len * v / (VARIANTS + 1)); /* truncated */
            size_t at = (len * v * 7919 / (VARIANTS + 1)) % len;
            data[at] ^= (uint8_t)(0x5a + v);     /* one byte flipped */
            run(data, len);
            data[at] ^= (uint8_t)(0x5a + v);
        }
    }
    mt_fuzz_password = NULL;
    free(password);
out:
    free(data);
}

static void replay_path(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "fuzz-cert-parse-replay: %s: not found\n", path);
        exit(1);
    }
    if (!S_ISDIR(sb.st_mode)) {
        replay_file(path);
        return;
    }
    struct dirent **names = NULL;
    int n = scandir(path, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        char child[4096];
        if (names[i]->d_name[0] != '.') {
            snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name);
            replay_path(child);
        }
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz-cert-parse-replay PATH...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++)
        replay_path(argv[i]);
    printf("fuzz-cert-parse-replay: %zu inputs parsed without a crash\n", n_runs);
    return n_runs > 0 ? 0 : 1;
}
