/* Consent before private keys are destroyed: what goes is said first, then
 * asked on a terminal; without one, --yes must say it. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

void mt_cli_describe_certs(mt_cert *const *certs, size_t n, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used + 1 < size; i++) {
        char until[21];
        mt_cli_format_time(certs[i]->info->not_after, until);
        until[10] = '\0';
        int w = snprintf(out + used, size - used, "%s#%lld %s until %s%s", i ? ", " : "",
                         (long long)certs[i]->id, mt_cli_first_email(certs[i]), until,
                         certs[i]->has_private_key ? " (with its private key)" : "");
        if (w < 0)
            break;
        used += (size_t)w < size - used ? (size_t)w : size - used - 1;
    }
}

int mt_cli_consent(mt_cli *cli, const char *cmd, bool yes, size_t n_keys, const char *certs)
{
    mt_secret *answer = NULL;
    char what[4200];
    snprintf(what, sizeof(what),
             "this destroys %zu private key%s, of %s: mail encrypted to %s will no longer open",
             n_keys, n_keys == 1 ? "" : "s", certs, n_keys == 1 ? "it" : "them");
    if (yes) {
        mt_cli_note(cli, "%s %s: %s\n", cli->prog, cmd, what);
        return MT_EXIT_OK;
    }
    if (!cli->is_tty)
        return mt_cli_usage_error(cli, cmd, "%s; give --yes to go ahead", what);
    fprintf(stderr, "%s %s: %s.\n", cli->prog, cmd, what);
    int code = MT_EXIT_OK;
    mt_status st = mt_cli_ask("confirmation", "Destroy them? Type yes to go ahead: ", true, &answer);
    if (st != MT_OK)
        code = mt_cli_fail(cli, st, cmd);
    else if (strcmp((const char *)answer->data, "yes") != 0 &&
             strcmp((const char *)answer->data, "y") != 0)
        code = mt_cli_usage_error(cli, cmd, "not confirmed: nothing deleted");
    mt_secret_free(answer);
    return code;
}
