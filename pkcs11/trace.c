/* The module's trace: what a client's user never sees (the module runs in a
 * mail client, whose console is not ours to write to) but an administrator
 * may ask for, through $MAILTOKEN_DEBUG or the config's `debug`:
 *   stderr, /path/file   what went wrong or looks wrong (why C_Initialize
 *                        failed, a store readable by others ...)
 *   1, calls, calls:DEST the same and every C_* call: one line each, with
 *                        the shape of its arguments, its return value and,
 *                        on failure, the store's message; DEST as above
 *                        (stderr when none)
 * A file is appended to, created 0600.  Unset, empty or 0: nothing, and a
 * call pays one relaxed atomic load for it. */
#include "trace.h"

#include "mailtoken/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

atomic_bool mt_trace_calls_on;
static atomic_bool trace_on;
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static char trace_dest[PATH_MAX]; /* "stderr" or a file (trace_lock) */

void mt_trace_configure(const char *config_value)
{
    const char *value = getenv("MAILTOKEN_DEBUG");
    const char *where = NULL;
    bool calls = false;
    if (!value)
        value = config_value;
    if (!value || !*value || !strcmp(value, "0"))
        where = NULL;
    else if (!strcmp(value, "1") || !strcmp(value, "calls"))
        calls = true, where = "stderr";
    else if (!strncmp(value, "calls:", 6))
        calls = true, where = value[6] ? value + 6 : "stderr";
    else
        where = value;
    pthread_mutex_lock(&trace_lock);
    snprintf(trace_dest, sizeof(trace_dest), "%s", where ? where : "");
    atomic_store(&trace_on, where != NULL);
    atomic_store(&mt_trace_calls_on, calls);
    pthread_mutex_unlock(&trace_lock);
}

/* The calls before C_Initialize (C_GetFunctionList, C_GetInterface) are
 * traced too: the environment is read when the module is loaded. */
__attribute__((constructor)) static void trace_at_load(void)
{
    mt_trace_configure(NULL);
}

static void trace_write(const char *line, size_t n)
{
    pthread_mutex_lock(&trace_lock);
    bool own = strcmp(trace_dest, "stderr") != 0;
    int fd = own ? open(trace_dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600)
                 : STDERR_FILENO;
    pthread_mutex_unlock(&trace_lock);
    if (fd < 0)
        return;
    /* one write per line: lines of several threads or processes never mix */
    if (write(fd, line, n) < 0) {
        /* nowhere to report it */
    }
    if (own)
        close(fd);
}

static void trace_line(const char *fmt, va_list ap)
{
    char line[2048];
    int n = snprintf(line, sizeof(line), "mailtoken-pkcs11[%ld]: ", (long)getpid());
    if (n > 0 && (size_t)n < sizeof(line))
        n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line) - 1)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    int saved = errno; /* a trace never changes what the caller sees */
    trace_write(line, (size_t)n);
    errno = saved;
}

void mt_trace(const char *fmt, ...)
{
    if (!atomic_load_explicit(&trace_on, memory_order_relaxed))
        return;
    va_list ap;
    va_start(ap, fmt);
    trace_line(fmt, ap);
    va_end(ap);
}

void mt_trace_call(const char *name, CK_RV rv, const char *fmt, ...)
{
    char args[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    const char *store = rv != CKR_OK ? mt_errmsg() : "";
    mt_trace("%s(%s) = %s%s%s", name, args, mt_rv_name(rv), *store ? ": " : "", store);
}

const char *mt_rv_name(CK_RV rv)
{
    static _Thread_local char unknown[32];
    switch (rv) {
    case CKR_ACTION_PROHIBITED: return "CKR_ACTION_PROHIBITED";
    case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
    case CKR_ATTRIBUTE_READ_ONLY: return "CKR_ATTRIBUTE_READ_ONLY";
    case CKR_ATTRIBUTE_SENSITIVE: return "CKR_ATTRIBUTE_SENSITIVE";
    case CKR_ATTRIBUTE_TYPE_INVALID: return "CKR_ATTRIBUTE_TYPE_INVALID";
    case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
    case CKR_BUFFER_TOO_SMALL: return "CKR_BUFFER_TOO_SMALL";
    case CKR_CANT_LOCK: return "CKR_CANT_LOCK";
    case CKR_CRYPTOKI_ALREADY_INITIALIZED: return "CKR_CRYPTOKI_ALREADY_INITIALIZED";
    case CKR_CRYPTOKI_NOT_INITIALIZED: return "CKR_CRYPTOKI_NOT_INITIALIZED";
    case CKR_DATA_LEN_RANGE: return "CKR_DATA_LEN_RANGE";
    case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
    case CKR_ENCRYPTED_DATA_INVALID: return "CKR_ENCRYPTED_DATA_INVALID";
    case CKR_ENCRYPTED_DATA_LEN_RANGE: return "CKR_ENCRYPTED_DATA_LEN_RANGE";
    case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
    case CKR_FUNCTION_NOT_PARALLEL: return "CKR_FUNCTION_NOT_PARALLEL";
    case CKR_FUNCTION_NOT_SUPPORTED: return "CKR_FUNCTION_NOT_SUPPORTED";
    case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
    case CKR_HOST_MEMORY: return "CKR_HOST_MEMORY";
    case CKR_KEY_FUNCTION_NOT_PERMITTED: return "CKR_KEY_FUNCTION_NOT_PERMITTED";
    case CKR_KEY_HANDLE_INVALID: return "CKR_KEY_HANDLE_INVALID";
    case CKR_KEY_INDIGESTIBLE: return "CKR_KEY_INDIGESTIBLE";
    case CKR_KEY_NOT_WRAPPABLE: return "CKR_KEY_NOT_WRAPPABLE";
    case CKR_KEY_SIZE_RANGE: return "CKR_KEY_SIZE_RANGE";
    case CKR_KEY_TYPE_INCONSISTENT: return "CKR_KEY_TYPE_INCONSISTENT";
    case CKR_KEY_UNEXTRACTABLE: return "CKR_KEY_UNEXTRACTABLE";
    case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
    case CKR_MECHANISM_PARAM_INVALID: return "CKR_MECHANISM_PARAM_INVALID";
    case CKR_NO_EVENT: return "CKR_NO_EVENT";
    case CKR_OBJECT_HANDLE_INVALID: return "CKR_OBJECT_HANDLE_INVALID";
    case CKR_OK: return "CKR_OK";
    case CKR_OPERATION_ACTIVE: return "CKR_OPERATION_ACTIVE";
    case CKR_OPERATION_NOT_INITIALIZED: return "CKR_OPERATION_NOT_INITIALIZED";
    case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
    case CKR_PIN_INVALID: return "CKR_PIN_INVALID";
    case CKR_PIN_LEN_RANGE: return "CKR_PIN_LEN_RANGE";
    case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
    case CKR_RANDOM_SEED_NOT_SUPPORTED: return "CKR_RANDOM_SEED_NOT_SUPPORTED";
    case CKR_SESSION_CLOSED: return "CKR_SESSION_CLOSED";
    case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
    case CKR_SESSION_PARALLEL_NOT_SUPPORTED: return "CKR_SESSION_PARALLEL_NOT_SUPPORTED";
    case CKR_SESSION_READ_ONLY: return "CKR_SESSION_READ_ONLY";
    case CKR_SESSION_READ_ONLY_EXISTS: return "CKR_SESSION_READ_ONLY_EXISTS";
    case CKR_SESSION_READ_WRITE_SO_EXISTS: return "CKR_SESSION_READ_WRITE_SO_EXISTS";
    case CKR_SIGNATURE_INVALID: return "CKR_SIGNATURE_INVALID";
    case CKR_SIGNATURE_LEN_RANGE: return "CKR_SIGNATURE_LEN_RANGE";
    case CKR_SLOT_ID_INVALID: return "CKR_SLOT_ID_INVALID";
    case CKR_TEMPLATE_INCOMPLETE: return "CKR_TEMPLATE_INCOMPLETE";
    case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
    case CKR_TOKEN_WRITE_PROTECTED: return "CKR_TOKEN_WRITE_PROTECTED";
    case CKR_UNWRAPPING_KEY_HANDLE_INVALID: return "CKR_UNWRAPPING_KEY_HANDLE_INVALID";
    case CKR_UNWRAPPING_KEY_SIZE_RANGE: return "CKR_UNWRAPPING_KEY_SIZE_RANGE";
    case CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT: return "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT";
    case CKR_USER_ALREADY_LOGGED_IN: return "CKR_USER_ALREADY_LOGGED_IN";
    case CKR_USER_ANOTHER_ALREADY_LOGGED_IN: return "CKR_USER_ANOTHER_ALREADY_LOGGED_IN";
    case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
    case CKR_USER_PIN_NOT_INITIALIZED: return "CKR_USER_PIN_NOT_INITIALIZED";
    case CKR_USER_TYPE_INVALID: return "CKR_USER_TYPE_INVALID";
    case CKR_WRAPPED_KEY_INVALID: return "CKR_WRAPPED_KEY_INVALID";
    case CKR_WRAPPED_KEY_LEN_RANGE: return "CKR_WRAPPED_KEY_LEN_RANGE";
    case CKR_WRAPPING_KEY_HANDLE_INVALID: return "CKR_WRAPPING_KEY_HANDLE_INVALID";
    case CKR_WRAPPING_KEY_SIZE_RANGE: return "CKR_WRAPPING_KEY_SIZE_RANGE";
    case CKR_WRAPPING_KEY_TYPE_INCONSISTENT: return "CKR_WRAPPING_KEY_TYPE_INCONSISTENT";
    default:
        snprintf(unknown, sizeof(unknown), "0x%lx", (unsigned long)rv);
        return unknown;
    }
}
