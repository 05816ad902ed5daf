/* SPDX-License-Identifier: Apache-2.0 */
/* The service layer: the business operations every door shares (the API, the command line, the jobs, the
 * integrations). A service takes an rf_svc (the store, an arena for what it returns, who acts, the configuration)
 * and runs inside the transaction its caller opened (the router's for the API, rf_store_tx elsewhere); it never
 * sees a request. */
#ifndef RF_SVC_H
#define RF_SVC_H

#include "../core/arena.h"
#include "../core/config.h"
#include "../core/model.h"
#include "../core/status.h"
#include "../store/store.h"

typedef struct rf_svc_batch rf_svc_batch;

typedef struct {
	rf_store *store;
	rf_arena *a;       /* strings and arrays a service returns live here */
	const char *actor; /* "usr_…", "key_…", "cli", "stripe", "system:…": recorded with what it writes */
	const rf_app_config *cfg; /* NULL where no server runs (some command-line work) */
	bool mail_queued;         /* a service queued mail: once the transaction commits, wake the mail sender
				     (rf_svc_mail_wake, svc/mail.h) */
	struct rf_mail_preview_slot *mail_preview; /* set while previewing: mail composed goes here, not to the
						      outbox (rf_svc_mail_preview, svc/mail.h) */
	rf_svc_batch *batch; /* set by an import: rollup additions and audit entries are folded per transaction
				(svc/batch.h) */
} rf_svc;

/* An audit entry for the actor; detail is JSON object text or NULL. */
rf_status rf_svc_audit(rf_svc *x, const char *action, const char *object_id, const char *detail, rf_err *err);

/* The program named by pid, or the only one when pid is NULL; RF_EINVAL naming program_id otherwise. */
rf_status rf_svc_program_or_only(rf_svc *x, const char *pid, rf_program *prog, rf_err *err);

#endif
