/*
 * The narrow contract between the renewal engine and a CA driver.  A driver
 * speaks one CA's protocol; it never touches the renewal's state (the engine
 * decides and persists), only the CA handles and status it learns
 * (order_ref, order_ref2, ca_status) and its own JSON object `dstate`.
 */
#ifndef MT_RENEW_DRIVER_H
#define MT_RENEW_DRIVER_H

#include <jansson.h>
#include <stdbool.h>

#include "mailtoken/store.h"
#include "renew/creds.h"
#include "renew/http.h"

typedef enum mt_drv_outcome {
    MT_DRV_OK,        /* order accepted (handles recorded), revoked, authenticated */
    MT_DRV_ISSUED,    /* result.pem holds what the CA returned */
    MT_DRV_WAIT,      /* the CA is working on it: ask again later */
    MT_DRV_RETRY,     /* transient failure (rate limit, 5xx, time-out): back off */
    MT_DRV_AUTH,      /* credentials refused: stop every renewal of this profile */
    MT_DRV_REJECTED,  /* the request is wrong (argument, CSR, key size): give up */
    MT_DRV_ATTENTION, /* the order is in a state an operator must look at */
    MT_DRV_NO_ORDER   /* reconcile only: the CA proves no order was placed */
} mt_drv_outcome;

typedef struct mt_drv_result {
    mt_drv_outcome outcome;
    long delay;          /* seconds the CA asked for, -1: the engine's back-off */
    bool rate_limited;   /* RETRY caused by a call limit: longer back-off */
    bool not_sent;       /* RETRY: the CA cannot have acted on the request */
    char message[512];   /* for the operator: what happened and what to do */
    char *pem;           /* ISSUED: every certificate returned (malloc) */
} mt_drv_result;

typedef struct mt_drv_ctx {
    mt_store *store;
    int64_t org_id;
    const mt_ca_profile *profile;
    json_t *options;     /* the profile's options object */
    mt_http http;
    mt_ca_creds *creds;  /* read on first use: mt_drv_creds */
} mt_drv_ctx;

typedef struct mt_driver {
    const char *kind;
    /* Checks the kind-specific options at `ca add` (mt_cli_set_error on
     * failure); NULL when the kind needs none. */
    mt_status (*check_options)(json_t *options);
    void (*submit)(mt_drv_ctx *ctx, mt_renewal *r, json_t *dstate, mt_drv_result *res);
    /* Asks for the order's progress; ISSUED when the certificate is there. */
    void (*poll)(mt_drv_ctx *ctx, mt_renewal *r, json_t *dstate, mt_drv_result *res);
    /* After a submit whose answer was lost: finds the order (OK: handles
     * recorded; ISSUED), or proves there is none (NO_ORDER). */
    void (*reconcile)(mt_drv_ctx *ctx, mt_renewal *r, json_t *dstate, mt_drv_result *res);
    void (*revoke)(mt_drv_ctx *ctx, mt_renewal *r, const mt_cert *old, json_t *dstate,
                   mt_drv_result *res);
    /* Authenticates without ordering anything. */
    void (*test_auth)(mt_drv_ctx *ctx, mt_drv_result *res);
} mt_driver;

extern const mt_driver mt_driver_sectigo;
extern const mt_driver mt_driver_internetx;

/* The driver for a profile kind, or NULL. */
const mt_driver *mt_driver_find(const char *kind);

/* ---- helpers shared by the drivers */
void mt_drv_set(mt_drv_result *res, mt_drv_outcome outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Loads the credentials file once; false (and AUTH/ATTENTION set) on failure. */
bool mt_drv_creds(mt_drv_ctx *ctx, mt_drv_result *res);
/* Maps a transport failure to RETRY (and not_sent) or ATTENTION (TLS);
 * returns false when a response did arrive. */
bool mt_drv_transport_failed(const mt_http_response *resp, mt_drv_result *res);
const char *mt_opt_str(json_t *options, const char *key, const char *fallback);
long mt_opt_int(json_t *options, const char *key, long fallback);
/* Replaces a malloc'd string field (NULL clears it). */
void mt_drv_set_field(char **field, const char *value);
/* Integer from a JSON number or string (CAs send either). */
bool mt_json_int(json_t *value, long *out);
/* The CA's base URL joined with a path ("https://x/v1" + "/poll"). */
char *mt_drv_url(const mt_drv_ctx *ctx, const char *path);

#endif
