/* err.c - error messages and status names (see err.h and frugal.h). */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *frugal_strerror(frugal_status status)
{
    switch (status) {
    case FRUGAL_OK: return "ok";
    case FRUGAL_ENOMEM: return "out of memory";
    case FRUGAL_EIO: return "input/output error";
    case FRUGAL_ECORRUPT: return "corrupt or malformed data";
    case FRUGAL_EINVAL: return "invalid argument";
    case FRUGAL_ENOTFOUND: return "not found";
    case FRUGAL_EEXIST: return "already exists";
    case FRUGAL_EVERSION: return "unsupported version";
    case FRUGAL_EUNSUPPORTED: return "unsupported";
    case FRUGAL_ETOOBIG: return "too big";
    case FRUGAL_ETIMEOUT: return "timed out";
    case FRUGAL_EBUSY: return "busy";
    case FRUGAL_EINTERNAL: return "internal error";
    case FRUGAL_EEMPTY: return "no text";
    }
    return "unknown status";
}

void err_clear(struct err *e)
{
    if (e == NULL)
        return;
    e->code = FRUGAL_OK;
    e->msg[0] = '\0';
}

frugal_status err_set(struct err *e, frugal_status code, const char *fmt, ...)
{
    if (e == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code;
    return code;
}

frugal_status err_prefix(struct err *e, const char *fmt, ...)
{
    if (e == NULL)
        return FRUGAL_EINTERNAL;
    char prefix[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[ERR_MSG_MAX];
    memcpy(old, e->msg, sizeof old);
    /* bounded so that the compiler can see the result fits (it is truncated if not) */
    int plen = (int)strnlen(prefix, ERR_MSG_MAX / 2);
    if (old[0] == '\0')
        snprintf(e->msg, sizeof e->msg, "%.*s: %s", plen, prefix, frugal_strerror(e->code));
    else
        snprintf(e->msg, sizeof e->msg, "%.*s: %.*s", plen, prefix, ERR_MSG_MAX / 2 - 4, old);
    return e->code;
}
