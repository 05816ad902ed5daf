/* SPDX-License-Identifier: Apache-2.0 */
/* Walks a parent chain to refuse cycles before they are written. */
#include "relation.h"

#include <string.h>

rf_status rf_relation_check(const char *self, const char *new_parent, rf_parent_fn parent_of, void *ctx,
			    const char *field, rf_err *err)
{
	if (!new_parent)
		return RF_OK;
	if (self && strcmp(self, new_parent) == 0)
		return rf_err_set(err, RF_ECONFLICT, field, "a partner cannot be its own %s", field);
	const char *cur = new_parent;
	for (int depth = 0; cur; depth++) {
		if (depth >= RF_RELATION_MAX_DEPTH)
			return rf_err_set(err, RF_ECONFLICT, field, "%s chain is deeper than %d levels", field,
					  RF_RELATION_MAX_DEPTH);
		char *next = NULL;
		if (parent_of(ctx, cur, &next) != 0)
			return rf_err_set(err, RF_EIO, field, "could not read the %s chain", field);
		if (next && self && strcmp(next, self) == 0)
			return rf_err_set(err, RF_ECONFLICT, field,
					  "%s would create a cycle: %s is already below this partner", field,
					  new_parent);
		cur = next;
	}
	return RF_OK;
}
