/* Driver registry and the helpers every driver uses. */
#include "renew/driver.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const mt_driver *mt_driver_find(const char *kind)
{
    static const mt_driver *const drivers[] = {&mt_driver_sectigo, &mt_driver_internetx};
    for (size_t i = 0; kind && i < sizeof drivers / sizeof drivers[0]; i++)
        if (strcmp(drivers[i]->kind, kind) == 0)
            return drivers[i];
    return NULL;
}

void mt_drv_set(mt_drv_result *res, mt_drv_outcome outcome, const char *fmt, ...)
{
    res->outcome = outcome;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof res->message, fmt, ap);
    va_end(ap);
}

bool mt_drv_creds(mt_drv_ctx *ctx, mt_drv_result *res)
{
    if (ctx->creds)
        return true;
    mt_status st = mt_ca_creds_load(ctx->profile->credentials_file, &ctx->creds);
    if (st != MT_OK) {
        mt_drv_set(res, MT_DRV_AUTH, "CA profile %s: %s", ctx->profile->name, mt_cli_errmsg());
        return false;
    }
    return true;
}

bool mt_drv_transport_failed(const mt_http_response *resp, mt_drv_result *res)
{
    res->delay = -1;
    switch (resp->failure) {
    case MT_HTTP_OK:
        return false;
    case MT_HTTP_TLS:
        mt_drv_set(res, MT_DRV_ATTENTION,
                   "the CA's TLS certificate did not verify (%s); check ca_bundle", resp->error);
        return true;
    case MT_HTTP_NOT_SENT:
        res->not_sent = true;
        mt_drv_set(res, MT_DRV_RETRY, "cannot reach the CA (%s)", resp->error);
        return true;
    case MT_HTTP_LOST:
        mt_drv_set(res, MT_DRV_RETRY, "no answer from the CA (%s)", resp->error);
        return true;
    }
    return false;
}

const char *mt_opt_str(json_t *options, const char *key, const char *fallback)
{
    const char *v = json_string_value(json_object_get(options, key));
    return v ? v : fallback;
}

long mt_opt_int(json_t *options, const char *key, long fallback)
{
    long v;
    return mt_json_int(json_object_get(options, key), &v) ? v : fallback;
}

void mt_drv_set_field(char **field, const char *value)
{
    char *copy = value ? strdup(value) : NULL;
    free(*field);
    *field = copy;
}

bool mt_json_int(json_t *value, long *out)
{
    if (json_is_integer(value)) {
        *out = (long)json_integer_value(value);
        return true;
    }
    const char *s = json_string_value(value);
    char *end = NULL;
    if (!s || !*s)
        return false;
    long v = strtol(s, &end, 10);
    if (*end)
        return false;
    *out = v;
    return true;
}

char *mt_drv_url(const mt_drv_ctx *ctx, const char *path)
{
    const char *base = ctx->profile->url;
    size_t len = strlen(base);
    while (len > 0 && base[len - 1] == '/')
        len--;
    char *url = NULL;
    if (asprintf(&url, "%.*s%s", (int)len, base, path) < 0)
        return NULL;
    return url;
}
