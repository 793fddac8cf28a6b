/* Replays files (or every file of directories) through a fuzz target, then a
 * short deterministic fuzz run over each: truncations, byte flips, and
 * pseudo-random overwrites, inserts and deletions from a fixed seed, so that
 * every build (CI, the sanitizer pass) exercises the target with the normal
 * compiler.  A file with a FILE.pass beside it gets that password appended
 * in the targets' input format (fuzz.h).  A target with state to set up
 * first (the module's) defines LLVMFuzzerInitialize, as for libFuzzer.
 *   usage: fuzz-TARGET-replay PATH...   (exit 0: no crash) */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define VARIANTS 8  /* truncations and flips */
#define MUTATIONS 16 /* random edits */

static size_t n_runs;
static uint64_t rng = 0x6d61696c746f6b65ull; /* fixed: every run the same */

static uint32_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static uint8_t *read_all(const char *path, size_t *len, size_t extra)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    struct stat sb;
    if (!f)
        return NULL;
    if (fstat(fileno(f), &sb) == 0 && (data = malloc((size_t)sb.st_size + extra + 1))) {
        *len = fread(data, 1, (size_t)sb.st_size, f);
        data[*len] = '\0';
    }
    fclose(f);
    return data;
}

/* FILE.ext -> FILE.pass appended as PASSWORD || length (none: unchanged). */
static void append_password(const char *path, uint8_t *data, size_t *len)
{
    char pass_path[4096];
    const char *dot = strrchr(path, '.');
    size_t stem = dot ? (size_t)(dot - path) : strlen(path), pw_len = 0;
    snprintf(pass_path, sizeof(pass_path), "%.*s.pass", (int)stem, path);
    uint8_t *pw = read_all(pass_path, &pw_len, 0);
    if (!pw)
        return;
    pw_len = strcspn((char *)pw, "\n");
    if (pw_len <= MT_FUZZ_MAX_PASSWORD) {
        memcpy(data + *len, pw, pw_len);
        data[*len + pw_len] = (uint8_t)pw_len;
        *len += pw_len + 1;
    }
    free(pw);
}

static void run(const uint8_t *data, size_t len)
{
    LLVMFuzzerTestOneInput(data, len);
    n_runs++;
}

static void mutate(const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len + 1);
    if (!copy)
        return;
    for (size_t m = 0; m < MUTATIONS; m++) {
        size_t n = len;
        memcpy(copy, data, len);
        size_t at = next_random() % len;
        switch (next_random() % 3) {
        case 0: /* a few bytes overwritten */
            for (size_t k = 0; k < 1 + next_random() % 4 && at + k < n; k++)
                copy[at + k] = (uint8_t)next_random();
            break;
        case 1: /* one byte inserted */
            memmove(copy + at + 1, copy + at, n - at);
            copy[at] = (uint8_t)next_random();
            n++;
            break;
        default: /* one byte deleted */
            memmove(copy + at, copy + at + 1, n - at - 1);
            n--;
            break;
        }
        run(copy, n);
    }
    free(copy);
}

static void replay_file(const char *path)
{
    size_t len = 0;
    uint8_t *data = read_all(path, &len, MT_FUZZ_MAX_PASSWORD + 1);
    if (!data || strstr(path, ".pass"))
        goto out;
    append_password(path, data, &len);
    run(data, len);
    if (len > 0 && len <= MT_MAX_INPUT_SIZE) {
        for (size_t v = 1; v <= VARIANTS; v++) {
            run(data, len * v / (VARIANTS + 1)); /* truncated */
            size_t at = (len * v * 7919 / (VARIANTS + 1)) % len;
            data[at] ^= (uint8_t)(0x5a + v);     /* one byte flipped */
            run(data, len);
            data[at] ^= (uint8_t)(0x5a + v);
        }
        mutate(data, len);
    }
out:
    free(data);
}

static void replay_path(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "fuzz replay: %s: not found\n", path);
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

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize && LLVMFuzzerInitialize(&argc, &argv) != 0) {
        fprintf(stderr, "%s: the target's setup failed\n", argv[0]);
        return 1;
    }
    for (int i = 1; i < argc; i++)
        replay_path(argv[i]);
    printf("%s: %zu inputs parsed without a crash\n", argv[0], n_runs);
    return n_runs > 0 ? 0 : 1;
}
