/* The options of a CA profile (`ca add --option KEY=VALUE`): the keys the
 * engine and the drivers read, each with the values it takes. */
#ifndef MT_RENEW_OPTIONS_H
#define MT_RENEW_OPTIONS_H

#include <jansson.h>

#include "mailtoken/store.h"

/* MT_ERR_INVALID (mt_cli_set_error naming the option) for an unknown key,
 * a number option that is not a whole number in its range, or a value the
 * option does not take; a file option must name a readable file. */
mt_status mt_ca_options_check(json_t *options);

#endif
