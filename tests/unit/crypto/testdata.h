/* Access to the generated test data ($MT_TESTDATA) for the crypto unit tests. */
#ifndef MT_TEST_TESTDATA_H
#define MT_TEST_TESTDATA_H

#include <mailtoken/store.h>
#include <stddef.h>

typedef struct td_user {
    char name[32];
    char email[64];
    char key[16];      /* rsa2048, ec-p256, ... */
    char p12[128];     /* absolute path or "" */
    char password[128];/* absolute path of the .pass file or "" (no password) */
    char crt[128];
    char chain[128];   /* "" when the P12 has no chain */
} td_user;

/* $MT_TESTDATA/rel (static buffer, valid for the next 7 calls). */
const char *td_path(const char *rel);
/* Reads manifest.tsv; returns the number of users (fails the test on error). */
size_t td_users(td_user *users, size_t max);
const td_user *td_user_named(const td_user *users, size_t n, const char *name);
/* Password of a user or bad file: NULL when there is no .pass file. */
mt_secret *td_password(const char *pass_path);
/* Parses path with its password file (or NULL); returns the status. */
mt_status td_parse(const char *path, const char *pass_path, mt_parsed **out);
/* First line printed by a shell command, trailing newline removed. */
void td_command_line(const char *command, char *out, size_t size);

#endif
