/* SPDX-License-Identifier: Apache-2.0 */
/* POST /api/v1/imports: a CSV file of partners, leads or sales as the body, handed to the importer thread; the
 * request waits, deferred, until the file's header is read and the import's record written (202 with the import
 * object), or the file is refused as a whole (4xx). GET /api/v1/imports/{id}: that record, its counts as they go;
 * GET /api/v1/imports: the records newest first. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/clock.h"
#include "../core/text.h"
#include "../jobs/importer.h"
#include "../svc/imports.h"
#include "api.h"

/* The answer an import gives its request, made on the importer thread and sent on the request's worker. */
typedef struct {
	rf_req *req;
	int code;     /* 202 when the import started, 0 for the error in err */
	json_t *body; /* the import object (202) */
	rf_err err;   /* why it did not start */
	bool retry;   /* worth sending again later (Retry-After) */
	char id[40];
} answer_msg;

/* On the request's worker thread. */
static void finish(rf_req *req, void *arg)
{
	answer_msg *m = arg;
	if (rf_req_gone(req)) {
		rf_resp_send(req, 0, NULL, NULL, 0);
	} else {
		rf_ctx c;
		memset(&c, 0, sizeof c);
		c.req = req;
		c.a = rf_req_arena(req);
		if (m->retry)
			rf_resp_header(req, "Retry-After", "1");
		if (m->code) {
			rf_resp_header(req, "Location", rf_arena_printf(c.a, "/api/v1/imports/%s", m->id));
			rf_json_send(&c, m->code, m->body);
			m->body = NULL;
		} else {
			rf_json_error(&c, &m->err);
		}
	}
	json_decref(m->body);
	free(m);
}

/* On the importer thread: once, when the import started or could not. */
static void answered(rf_import_job *job, rf_status st, const rf_import_report *rep)
{
	answer_msg *m = calloc(1, sizeof *m);
	if (!m)
		return; /* The request then waits for its timeout; the import goes on all the same. */
	m->req = job->arg;
	snprintf(m->id, sizeof m->id, "%s", job->id);
	if (st == RF_OK) {
		m->code = 202;
		m->body = rf_import_job_json(job->id, rep, 100);
	} else {
		m->err = rep->fatal;
		if (!m->err.status)
			rf_err_set(&m->err, st, NULL, "the import could not start");
		/* Refused as a whole (no header, unknown columns, no such program): a 4xx naming the culprit. The
		 * server stopping, or the database failing: try again. */
		m->retry = !rf_import_row_status(m->err.status);
		if (m->retry && m->err.status != RF_ENOMEM)
			m->err.status = RF_EUNAVAIL;
	}
	rf_req_post(m->req, finish, m);
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
	if (!csv_type(rf_req_header(c->req, "Content-Type"))) {
		rf_json_fail(c, RF_EINVAL, "Content-Type",
			     "the body must be the CSV file, sent as Content-Type: text/csv");
		return;
	}
	rf_import_options o;
	memset(&o, 0, sizeof o);
	const char *type = rf_req_query(c->req, "type");
	if (!type || !rf_import_type_parse(type, &o.type)) {
		rf_json_fail(c, RF_EINVAL, "type", "type must be partners, leads or sales");
		return;
	}
	const char *dry = rf_req_query(c->req, "dry_run");
	if (dry && strcmp(dry, "true") != 0 && strcmp(dry, "false") != 0) {
		rf_json_fail(c, RF_EINVAL, "dry_run", "dry_run must be true or false");
		return;
	}
	o.dry_run = dry && strcmp(dry, "true") == 0;
	const char *map = rf_req_query(c->req, "map");
	bool known = false;
	o.map = rf_import_map_find(map ? map : "none", &known);
	if (!known) {
		rf_json_fail(c, RF_EINVAL, "map", "map must be none, rewardful, firstpromoter, partnerstack or tolt");
		return;
	}
	const char *pid = rf_req_query(c->req, "program_id");
	if (pid && !rf_id_valid(pid, "prg")) {
		rf_json_fail(c, RF_EINVAL, "program_id", "program_id: no such program %.64s", pid);
		return;
	}
	rf_import_job *job = rf_import_job_new();
	if (!job) {
		rf_json_fail(c, RF_ENOMEM, NULL, "out of memory");
		return;
	}
	const char *mapping = rf_req_query(c->req, "mapping");
	if (mapping) {
		rf_import_pair *pairs = NULL;
		if (rf_import_mapping_parse(mapping, &job->a, &pairs, &o.n_mapping, &err) != RF_OK) {
			rf_import_job_free(job);
			rf_json_error(c, &err);
			return;
		}
		o.mapping = pairs;
	}
	/* The file: on disk as it arrived (a caller allowed a large body), or in memory, copied for the importer. */
	job->file = rf_req_body_file(c->req, &job->len);
	if (!job->file) {
		const char *body = rf_req_body(c->req, &job->len);
		if (job->len && (job->csv = malloc(job->len)))
			memcpy(job->csv, body, job->len);
		if (job->len && !job->csv) {
			rf_import_job_free(job);
			rf_json_fail(c, RF_ENOMEM, NULL, "out of memory");
			return;
		}
	}
	if (!job->len) {
		rf_import_job_free(job);
		rf_json_fail(c, RF_EINVAL, "body", "the body is empty: send the CSV file, a header row and then rows");
		return;
	}
	o.program_id = pid ? rf_arena_strdup(&job->a, pid) : NULL;
	o.actor = rf_arena_strdup(&job->a, c->who.actor ? c->who.actor : "anonymous");
	o.cfg = c->app->cfg;
	if ((pid && !o.program_id) || !o.actor) {
		rf_import_job_free(job);
		rf_json_fail(c, RF_ENOMEM, NULL, "out of memory");
		return;
	}
	job->opts = o;
	rf_id_new("imp", job->id, sizeof job->id);
	job->answer = answered;
	job->arg = c->req;
	/* Deferred before it is handed over: the importer may answer at once. */
	rf_req_defer(c->req);
	if (!rf_importer_submit(job)) {
		rf_import_job_free(job);
		rf_resp_header(c->req, "Retry-After", "5");
		rf_json_fail(c, RF_ECONFLICT, NULL,
			     "another import is running in this refd process; send this one again when it has ended");
	}
}

void rf_api_imports_get(rf_ctx *c)
{
	rf_err err = {0};
	const char *id = c->params[0];
	rf_import_record r;
	if (!rf_id_valid(id, "imp")) {
		rf_json_fail(c, RF_ENOTFOUND, "id", "no such import");
		return;
	}
	if (rf_store_import_get(c->app->store, id, &r, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *j = rf_import_record_json(&r, rf_clock_now_ms());
	if (!j) {
		rf_json_fail(c, RF_EIO, NULL, "the import's record cannot be read");
		return;
	}
	rf_json_send(c, 200, j);
}

void rf_api_imports_list(rf_ctx *c)
{
	rf_err err = {0};
	rf_page page;
	rf_import_record *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_json_page(c, &page, &err) != RF_OK ||
	    rf_store_import_list(c->app->store, &page, &items, &n, &more, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	int64_t now = rf_clock_now_ms();
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *j = rf_import_record_json(&items[i], now);
		if (!j) {
			json_decref(data);
			rf_json_fail(c, RF_EIO, NULL, "the record of import %s cannot be read", items[i].id);
			return;
		}
		json_array_append_new(data, j);
	}
	rf_json_send(c, 200, rf_json_list(data, more));
}
