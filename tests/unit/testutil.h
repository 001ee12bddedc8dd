/* testutil.h - what every cmocka unit test includes. */
#ifndef FRUGAL_TESTUTIL_H
#define FRUGAL_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frugal.h"

/* Directory of test data files (tests/data), from $FRUGAL_TEST_DATA. */
static inline const char *test_data_dir(void)
{
    const char *d = getenv("FRUGAL_TEST_DATA");
    return d != NULL ? d : "tests/data";
}

/* Directory of the shared fixtures and evaluation data (../shared), from $FRUGAL_SHARED. */
static inline const char *test_shared_dir(void)
{
    const char *d = getenv("FRUGAL_SHARED");
    return d != NULL ? d : "../shared";
}

#endif
