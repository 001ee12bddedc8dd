/* log.h - the library's only way to say something: a process-wide callback (frugal_set_log). */
#ifndef FRUGAL_BASE_LOG_H
#define FRUGAL_BASE_LOG_H

#include "frugal.h"

void log_msg(frugal_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(FRUGAL_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(FRUGAL_LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(FRUGAL_LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(FRUGAL_LOG_ERROR, __VA_ARGS__)

#endif
