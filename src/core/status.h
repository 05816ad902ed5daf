/* SPDX-License-Identifier: Apache-2.0 */
/* The one status type every fallible refd function returns, and the error detail that goes with it. */
#ifndef RF_STATUS_H
#define RF_STATUS_H

#include <stdarg.h>

typedef enum {
	RF_OK = 0,
	RF_EINVAL,    /* bad input from outside: maps to 400 */
	RF_ENOTFOUND, /* maps to 404 */
	RF_ECONFLICT, /* uniqueness or state conflict: maps to 409 */
	RF_EFORBIDDEN,
	RF_EUNAUTH,
	RF_ERATE,
	RF_ETOOBIG,
	RF_EOVERFLOW, /* arithmetic overflow on money: maps to 400 */
	RF_ENOMEM,
	RF_EUNAVAIL, /* cannot be done right now (disk full, an I/O error, the database busy): 503 with Retry-After */
	RF_ERETRY, /* the transaction lost a race (serialization failure, deadlock): run it again; 503 if it escapes */
	RF_EIO     /* storage or system failure: maps to 500 */
} rf_status;

/* Detail for the user of a failed call; filled by the function that fails first. */
typedef struct {
	rf_status status;
	char message[256];
	char field[96];
} rf_err;

/* Records status, field (may be NULL) and a printf-style message in err (which may be NULL); returns status. */
rf_status rf_err_set(rf_err *err, rf_status status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Names field as the culprit of err and puts "field: " before its message (which stays otherwise as it was);
 * returns err->status. */
rf_status rf_err_blame(rf_err *err, const char *field);

/* The error "type" string of DESIGN.md's error body for a status, e.g. "invalid_request". Static storage. */
const char *rf_status_type(rf_status status);

/* The HTTP status code a status maps to. */
int rf_status_http(rf_status status);

#endif
