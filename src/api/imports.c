/* SPDX-License-Identifier: Apache-2.0 */
/* POST /api/v1/imports: a CSV file of partners, leads or sales as the body, run on the importer thread (the
 * request waits, deferred, without holding up its worker), answered with the import's report. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/text.h"
#include "../jobs/importer.h"
#include "api.h"

typedef struct {
	rf_import_job job;
	rf_req *req;
	size_t max_errors;
} api_import;

/* On the request's worker thread, once the import ended: the answer. */
static void finish(rf_req *req, void *arg)
{
	api_import *ai = arg;
	rf_import_report *rep = &ai->job.report;
	if (rf_req_gone(req)) {
		rf_resp_send(req, 0, NULL, NULL, 0);
		rf_import_report_free(rep);
		return;
	}
	rf_ctx c;
	memset(&c, 0, sizeof c);
	c.req = req;
	c.a = rf_req_arena(req);
	rf_status st = ai->job.status;
	if (st == RF_OK) {
		rf_json_send(&c, 200, rf_import_report_json(rep, ai->max_errors));
	} else if (rep->batches == 0 && rep->rows == 0 && st != RF_EUNAVAIL) {
		/* Refused as a whole (no header, unknown columns, no such program): nothing was written. */
		rf_json_error(&c, &rep->fatal);
	} else {
		/* Stopped midway: what was committed stays, and the same file run again finishes it. */
		rf_err err = rep->fatal;
		rf_err_set(
		    &err, st == RF_ENOMEM ? RF_ENOMEM : RF_EUNAVAIL, NULL,
		    "the import stopped after %lld rows (%lld written): %.120s; send the same file again to finish "
		    "it",
		    (long long)rep->rows, (long long)rep->created, rep->fatal.message);
		rf_resp_header(req, "Retry-After", "1");
		rf_json_error(&c, &err);
	}
	rf_import_report_free(rep);
}

/* On the importer thread. */
static void imported(rf_import_job *job)
{
	api_import *ai = (api_import *)job;
	rf_req_post(ai->req, finish, ai);
}

static bool csv_type(const char *ct)
{
	if (!ct)
		return false;
	static const char *const ok[] = {"text/csv", "application/csv", "text/plain"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		size_t n = strlen(ok[i]);
		if (strncasecmp(ct, ok[i], n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
			return true;
	}
	return false;
}

void rf_api_imports_create(rf_ctx *c)
{
	rf_err err = {0};
	api_import *ai = rf_arena_alloc(c->a, sizeof *ai);
	if (!ai) {
		rf_json_fail(c, RF_ENOMEM, NULL, "out of memory");
		return;
	}
	rf_import_options *o = &ai->job.opts;
	if (!csv_type(rf_req_header(c->req, "Content-Type"))) {
		rf_json_fail(c, RF_EINVAL, "Content-Type",
			     "the body must be the CSV file, sent as Content-Type: text/csv");
		return;
	}
	size_t len = 0;
	const char *body = rf_req_body(c->req, &len);
	if (!len) {
		rf_json_fail(c, RF_EINVAL, "body", "the body is empty: send the CSV file, a header row and then rows");
		return;
	}
	const char *type = rf_req_query(c->req, "type");
	if (!type || !rf_import_type_parse(type, &o->type)) {
		rf_json_fail(c, RF_EINVAL, "type", "type must be partners, leads or sales");
		return;
	}
	const char *dry = rf_req_query(c->req, "dry_run");
	if (dry && strcmp(dry, "true") != 0 && strcmp(dry, "false") != 0) {
		rf_json_fail(c, RF_EINVAL, "dry_run", "dry_run must be true or false");
		return;
	}
	o->dry_run = dry && strcmp(dry, "true") == 0;
	const char *map = rf_req_query(c->req, "map");
	bool known = false;
	o->map = rf_import_map_find(map ? map : "none", &known);
	if (!known) {
		rf_json_fail(c, RF_EINVAL, "map", "map must be none, rewardful, firstpromoter, partnerstack or tolt");
		return;
	}
	const char *mapping = rf_req_query(c->req, "mapping");
	if (mapping) {
		rf_import_pair *pairs = NULL;
		if (rf_import_mapping_parse(mapping, c->a, &pairs, &o->n_mapping, &err) != RF_OK) {
			rf_json_error(c, &err);
			return;
		}
		o->mapping = pairs;
	}
	const char *pid = rf_req_query(c->req, "program_id");
	if (pid && !rf_id_valid(pid, "prg")) {
		rf_json_fail(c, RF_EINVAL, "program_id", "program_id: no such program %.64s", pid);
		return;
	}
	o->program_id = pid;
	o->actor = rf_arena_strdup(c->a, c->who.actor ? c->who.actor : "anonymous");
	o->cfg = c->app->cfg;
	ai->job.csv = body;
	ai->job.len = len;
	ai->job.done = imported;
	ai->req = c->req;
	ai->max_errors = 10000;
	rf_req_defer(c->req);
	if (!rf_importer_submit(&ai->job)) {
		rf_resp_header(c->req, "Retry-After", "5");
		rf_json_fail(c, RF_ECONFLICT, NULL,
			     "another import is running in this refd process; send this one again when it has ended");
		return;
	}
}
