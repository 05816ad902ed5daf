/* SPDX-License-Identifier: Apache-2.0 */
/* Folding an import transaction's writes that only add up: the rollup additions and the audit entries of its
 * rows are kept in memory while the rows run, and written when the transaction is about to commit, once per
 * rollup key (the program's volume, an entity and day, a dim and day) and once per action, rather than once per
 * row. What the rollups hold afterwards is the same: additions commute. */
#ifndef RF_SVC_BATCH_H
#define RF_SVC_BATCH_H

#include "svc.h"

/* A new, empty batch; NULL when out of memory. */
rf_svc_batch *rf_svc_batch_new(void);
void rf_svc_batch_free(rf_svc_batch *b);

/* The row that has just run is kept (its savepoint released with its writes) or dropped (rolled back to): what it
 * gave the batch joins the transaction's or is forgotten. keep fails only when out of memory. */
rf_status rf_svc_batch_row_keep(rf_svc_batch *b, rf_err *err);
void rf_svc_batch_row_drop(rf_svc_batch *b);

/* Writes what the transaction's kept rows gave, in x's transaction, and empties the batch. */
rf_status rf_svc_batch_flush(rf_svc *x, rf_svc_batch *b, rf_err *err);

/* Forgets everything (the transaction was rolled back). */
void rf_svc_batch_clear(rf_svc_batch *b);

/* For rf_svc_rollup and rf_svc_audit when x->batch is set: the current row's rollup addition (taken only when no
 * figure is below zero: *taken false otherwise, and the caller writes it) and its audit entry without detail. */
rf_status rf_svc_batch_rollup(rf_svc_batch *b, const char *program_id, int64_t at, const char *currency,
			      const char *const entities[3], const char *const dims[3], const rf_metrics *m,
			      bool *taken, rf_err *err);
rf_status rf_svc_batch_audit(rf_svc_batch *b, const char *actor, const char *action, const char *object_id,
			     rf_err *err);

#endif
