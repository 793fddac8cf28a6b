/* The module's trace (trace.c): for the administrator, never the client's
 * user.  Off unless $MAILTOKEN_DEBUG (or the config's `debug`) asks for it:
 * what went wrong, or with `1` / `calls:` every C_* call as well. */
#ifndef MT_PKCS11_TRACE_H
#define MT_PKCS11_TRACE_H

#include "pkcs11_v3.h"

#include <stdbool.h>
#include <stdatomic.h>

/* A line of what went wrong or looks wrong (a store readable by others,
 * why C_Initialize failed); nothing when the trace is off. */
void mt_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Every call traced: one relaxed load when off. */
extern atomic_bool mt_trace_calls_on;
static inline bool mt_tracing_calls(void)
{
    return atomic_load_explicit(&mt_trace_calls_on, memory_order_relaxed);
}
/* A call's line: its name, the shape of its arguments (never a PIN or
 * data, only lengths and whether pointers are set), its return value and,
 * on failure, the store's message of this call. */
void mt_trace_call(const char *name, CK_RV rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Where the trace goes: $MAILTOKEN_DEBUG, else `config_value` (the config's
 * `debug`, NULL when none). */
void mt_trace_configure(const char *config_value);
const char *mt_rv_name(CK_RV rv);

#endif
