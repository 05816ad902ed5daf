/* SPDX-License-Identifier: Apache-2.0 */
/* Cycle checks for the partner relations (team parent, recruited by), independent of where partners live. */
#ifndef RF_RELATION_H
#define RF_RELATION_H

#include "model.h"
#include "status.h"

/* Deepest chain refd walks; a longer chain is refused as if it were a cycle, so a walk always ends. */
#define RF_RELATION_MAX_DEPTH 64

/* Checks that making new_parent the parent of self along a relation leaves no cycle: walks up from new_parent
 * with parent_of and fails with RF_ECONFLICT naming field when it meets self (or the chain is deeper than
 * RF_RELATION_MAX_DEPTH). A NULL new_parent is always fine. RF_EIO when parent_of fails. */
rf_status rf_relation_check(const char *self, const char *new_parent, rf_parent_fn parent_of, void *ctx,
			    const char *field, rf_err *err);

#endif
