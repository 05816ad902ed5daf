/* SPDX-License-Identifier: Apache-2.0 */
/* Error detail recording and the mapping from statuses to API error types and HTTP codes. */
#include "status.h"

#include <stdio.h>
#include <string.h>

rf_status rf_err_set(rf_err *err, rf_status status, const char *field, const char *fmt, ...)
{
	if (!err)
		return status;
	err->status = status;
	snprintf(err->field, sizeof err->field, "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return status;
}

rf_status rf_err_blame(rf_err *err, const char *field)
{
	char msg[sizeof err->message];
	snprintf(msg, sizeof msg, "%s", err->message);
	snprintf(err->field, sizeof err->field, "%s", field);
	/* A message cut short is better than none: the field leads, the detail follows as far as it fits. */
	size_t fl = strlen(field);
	if (fl + 2 >= sizeof err->message)
		fl = sizeof err->message - 3;
	memcpy(err->message, field, fl);
	memcpy(err->message + fl, ": ", 2);
	size_t room = sizeof err->message - fl - 3, ml = strlen(msg);
	if (ml > room)
		ml = room;
	memcpy(err->message + fl + 2, msg, ml);
	err->message[fl + 2 + ml] = '\0';
	return err->status;
}

const char *rf_status_type(rf_status status)
{
	switch (status) {
	case RF_OK:
		return "ok";
	case RF_EINVAL:
	case RF_EOVERFLOW:
		return "invalid_request";
	case RF_ENOTFOUND:
		return "not_found";
	case RF_ECONFLICT:
		return "conflict";
	case RF_EFORBIDDEN:
		return "forbidden";
	case RF_EUNAUTH:
		return "unauthorized";
	case RF_ERATE:
		return "rate_limited";
	case RF_ETOOBIG:
		return "payload_too_large";
	case RF_EUNAVAIL:
	case RF_ERETRY:
		return "unavailable";
	case RF_ENOMEM:
	case RF_EIO:
		break;
	}
	return "internal_error";
}

int rf_status_http(rf_status status)
{
	switch (status) {
	case RF_OK:
		return 200;
	case RF_EINVAL:
	case RF_EOVERFLOW:
		return 400;
	case RF_ENOTFOUND:
		return 404;
	case RF_ECONFLICT:
		return 409;
	case RF_EFORBIDDEN:
		return 403;
	case RF_EUNAUTH:
		return 401;
	case RF_ERATE:
		return 429;
	case RF_ETOOBIG:
		return 413;
	case RF_EUNAVAIL:
	case RF_ERETRY:
		return 503;
	case RF_ENOMEM:
	case RF_EIO:
		break;
	}
	return 500;
}
