/*
 * err.h - how a failure travels inside the library.
 *
 * Internal functions that can fail return a frugal_status and take a `struct err *` as their last
 * argument, where they write one line saying what failed and why ("report.pdf: pdftotext gave up
 * after 60 s"). The public handle copies it out for frugal_errmsg(). err may be NULL when the
 * caller does not want the message.
 */
#ifndef FRUGAL_BASE_ERR_H
#define FRUGAL_BASE_ERR_H

#include "frugal.h"

#define ERR_MSG_MAX 1024

struct err {
    frugal_status code;
    char msg[ERR_MSG_MAX];
};

void err_clear(struct err *e);
/* Sets code and message; returns code so that `return err_set(e, FRUGAL_EIO, "...")` reads well. */
frugal_status err_set(struct err *e, frugal_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepends "prefix: " to the message already in e (e.g. the file name). Returns e->code. */
frugal_status err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
