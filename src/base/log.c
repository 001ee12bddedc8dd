/* log.c - forwards formatted messages to the embedder's callback; silent without one. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>

static frugal_log_fn g_fn;
static void *g_ctx;
static frugal_log_level g_min = FRUGAL_LOG_INFO;

void frugal_set_log(frugal_log_fn fn, void *ctx, frugal_log_level min_level)
{
    g_fn = fn;
    g_ctx = ctx;
    g_min = min_level;
}

void log_msg(frugal_log_level level, const char *fmt, ...)
{
    if (g_fn == NULL || level < g_min)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    g_fn(g_ctx, level, line);
}
