/* SPDX-License-Identifier: Apache-2.0 */
/* The website side of tracking: the /t.js script and the click endpoint it calls, with CORS limited to each
 * program's tracking origins. */
#include <string.h>

#include "../core/text.h"
#include "../core/url.h"
#include "../http/json.h"
#include "clicks.h"
#include "codes.h"
#include "track.h"

/* The script, with the parameter names and the API address filled in when served. It keeps to what every
 * current browser has: fetch, URLSearchParams, document.cookie. */
static const char script_head[] = "/* refd tracking script: records a referral visit and keeps its click id in a "
				  "first-party cookie. */\n(function () {\n  'use strict';\n";

static const char script_body[] =
    "  var COOKIE = 'refd_click';\n"
    "  function readCookie() {\n"
    "    var m = document.cookie.match(/(?:^|;\\s*)refd_click=([A-Za-z0-9_]+)/);\n"
    "    return m ? m[1] : null;\n"
    "  }\n"
    "  function fillForms(id) {\n"
    "    if (!id) return;\n"
    "    var forms = document.querySelectorAll('form');\n"
    "    for (var i = 0; i < forms.length; i++) {\n"
    "      var input = forms[i].querySelector('input[name=\"refd_click\"]');\n"
    "      if (!input) {\n"
    "        input = document.createElement('input');\n"
    "        input.type = 'hidden';\n"
    "        input.name = 'refd_click';\n"
    "        forms[i].appendChild(input);\n"
    "      }\n"
    "      input.value = id;\n"
    "    }\n"
    "  }\n"
    "  function publish(id) {\n"
    "    window.refd = window.refd || {};\n"
    "    window.refd.clickId = id;\n"
    "    fillForms(id);\n"
    "    try { document.dispatchEvent(new CustomEvent('refd:click', { detail: { clickId: id } })); } catch (e) {}\n"
    "  }\n"
    "  function code() {\n"
    "    var q = new URLSearchParams(window.location.search);\n"
    "    for (var i = 0; i < PARAMS.length; i++) {\n"
    "      var v = q.get(PARAMS[i]);\n"
    "      if (v && /^[A-Za-z0-9_-]{1,64}$/.test(v)) return v;\n"
    "    }\n"
    "    return null;\n"
    "  }\n"
    "  function start() {\n"
    "    var c = code();\n"
    "    var known = readCookie() || new URLSearchParams(window.location.search).get('refd_click');\n"
    "    if (!c) { publish(known); return; }\n"
    "    var body = JSON.stringify({ code: c, landing_url: window.location.href, referrer: document.referrer || null,\n"
    "                                previous_click_id: known });\n"
    "    fetch(API + '/api/v1/track/click', { method: 'POST', mode: 'cors', credentials: 'omit',\n"
    "      headers: { 'Content-Type': 'text/plain' }, body: body })\n"
    "      .then(function (r) { return r.ok ? r.json() : null; })\n"
    "      .then(function (d) {\n"
    "        if (d && d.click_id) {\n"
    "          document.cookie = COOKIE + '=' + d.click_id + '; Max-Age=' + d.max_age + '; Path=/; SameSite=Lax' +\n"
    "            (window.location.protocol === 'https:' ? '; Secure' : '');\n"
    "          publish(d.click_id);\n"
    "        } else {\n"
    "          publish(known);\n"
    "        }\n"
    "      })\n"
    "      .catch(function () { publish(known); });\n"
    "  }\n"
    "  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);\n"
    "  else start();\n"
    "})();\n";

void rf_track_script(rf_ctx *c)
{
	rf_err err = {0};
	rf_page page = {.limit = 100};
	rf_program *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_store_program_list(c->app->store, &page, NULL, &items, &n, &more, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	/* Every program's parameter names, once each; names are [a-z0-9_-], safe inside a JS string. */
	json_t *names = json_array();
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < items[i].n_tracking_params; j++) {
			bool seen = false;
			size_t k;
			json_t *v;
			json_array_foreach(names, k, v) seen =
			    seen || strcmp(json_string_value(v), items[i].tracking_params[j]) == 0;
			if (!seen)
				json_array_append_new(names, json_string(items[i].tracking_params[j]));
		}
	if (json_array_size(names) == 0)
		json_array_append_new(names, json_string("via"));
	char *params = json_dumps(names, JSON_COMPACT);
	json_t *api = json_string(c->app->cfg->public_url);
	char *api_js = json_dumps(api, JSON_ENCODE_ANY);
	json_decref(names);
	json_decref(api);
	char *js = rf_arena_printf(c->a, "%s  var PARAMS = %s;\n  var API = %s;\n%s", script_head,
				   params ? params : "[]", api_js ? api_js : "\"\"", script_body);
	free(params);
	free(api_js);
	if (!js) {
		rf_json_fail(c, RF_ENOMEM, NULL, "out of memory");
		return;
	}
	rf_resp_header(c->req, "Cache-Control", "public, max-age=300");
	rf_resp_send(c->req, 200, "application/javascript; charset=utf-8", js, strlen(js));
}

void rf_track_click_preflight(rf_ctx *c)
{
	rf_err err = {0};
	const char *origin = rf_req_header(c->req, "Origin");
	char *origin_lc = origin ? rf_lower_arena(c->a, origin) : NULL;
	rf_page page = {.limit = 100};
	rf_program *items = NULL;
	size_t n = 0;
	bool more = false, allowed = false;
	if (rf_store_program_list(c->app->store, &page, NULL, &items, &n, &more, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	for (size_t i = 0; origin_lc && i < n && !allowed; i++)
		for (size_t j = 0; j < items[i].n_tracking_origins && !allowed; j++)
			allowed = strcmp(items[i].tracking_origins[j], origin_lc) == 0;
	rf_resp_header(c->req, "Vary", "Origin");
	if (!allowed) {
		rf_json_fail(c, RF_EFORBIDDEN, "Origin", "origin %.100s is not among any program's tracking origins",
			     origin ? origin : "(none)");
		return;
	}
	rf_resp_header(c->req, "Access-Control-Allow-Origin", origin_lc);
	rf_resp_header(c->req, "Access-Control-Allow-Methods", "POST");
	rf_resp_header(c->req, "Access-Control-Allow-Headers", "Content-Type");
	rf_resp_header(c->req, "Access-Control-Max-Age", "600");
	rf_resp_send(c->req, 204, NULL, NULL, 0);
}

static const rf_jfield click_fields[] = {
    {"code", RF_JT_STRING, false, 64, NULL},
    {"landing_url", RF_JT_STRING, true, 2048, NULL},
    {"referrer", RF_JT_STRING, true, 2048, NULL},
    {"previous_click_id", RF_JT_STRING, true, 64, NULL},
    {NULL, 0, false, 0, NULL},
};

typedef struct {
	rf_click_job job;
	rf_req *req;
	int64_t max_age;
	const char *origin; /* echoed in Access-Control-Allow-Origin */
} script_job;

static void script_finish(rf_req *req, void *arg)
{
	script_job *sj = arg;
	if (rf_req_gone(req)) {
		rf_resp_send(req, 0, NULL, NULL, 0);
		return;
	}
	if (sj->origin) {
		rf_resp_header(req, "Access-Control-Allow-Origin", sj->origin);
		rf_resp_header(req, "Vary", "Origin");
	}
	rf_resp_header(req, "Cache-Control", "no-store");
	if (!sj->job.click.at) {
		rf_track_unavailable(req);
		return;
	}
	/* Only a credited click gives the page an id to keep. */
	char *out =
	    sj->job.click.partner_id
		? rf_arena_printf(rf_req_arena(req), "{\"object\":\"click\",\"click_id\":\"%s\",\"max_age\":%lld}",
				  sj->job.click.id, (long long)sj->max_age)
		: rf_arena_printf(rf_req_arena(req), "{\"object\":\"click\",\"click_id\":null,\"max_age\":0}");
	rf_resp_send(req, 201, "application/json", out, out ? strlen(out) : 0);
}

static void script_committed(rf_click_job *job, bool ok)
{
	script_job *sj = (script_job *)job;
	if (!ok)
		job->click.at = 0;
	rf_req_post(sj->req, script_finish, sj);
}

static bool origin_allowed(const rf_program *p, const char *origin)
{
	for (size_t i = 0; origin && i < p->n_tracking_origins; i++)
		if (strcmp(p->tracking_origins[i], origin) == 0)
			return true;
	return false;
}

void rf_track_click(rf_ctx *c)
{
	rf_err err = {0};
	json_t *body = NULL;
	const char *origin = rf_req_header(c->req, "Origin");
	bool cors_ok = false;
	char *origin_lc = origin ? rf_lower_arena(c->a, origin) : NULL;
	if (rf_json_body_typed(c, click_fields, true, &body, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	const char *code = rf_json_str(body, "code");
	rf_code_entry e;
	bool found = false;
	char *fallback = NULL;
	if (!code) {
		rf_err_set(&err, RF_EINVAL, "code", "code is required");
		goto fail;
	}
	if (rf_codes_lookup(c->app->store, code, c->a, &e, &found, &fallback, &err) != RF_OK)
		goto fail;
	if (!found) {
		rf_err_set(&err, RF_ENOTFOUND, "code", "no such code: %.64s", code);
		goto fail;
	}
	rf_program prog;
	if (rf_store_program_get(c->app->store, e.program_id, &prog, c->a, &err) != RF_OK)
		goto fail;
	/* A browser on another site may record a click only from the program's configured origins. */
	if (origin_lc && !origin_allowed(&prog, origin_lc)) {
		rf_err_set(&err, RF_EFORBIDDEN, "Origin", "origin %.100s is not among the program's tracking origins",
			   origin);
		goto fail;
	}
	/* From here on the page's origin may read the answer, errors included. */
	cors_ok = true;
	const char *landing = rf_json_str(body, "landing_url");
	char host[RF_URL_HOST_MAX];
	if (landing && rf_url_check(landing, host, sizeof host, &err) != RF_OK) {
		rf_err_blame(&err, "landing_url");
		goto fail;
	}
	script_job *sj = rf_arena_alloc(c->a, sizeof *sj);
	if (!sj) {
		rf_err_set(&err, RF_ENOMEM, NULL, "out of memory");
		goto fail;
	}
	rf_track_click_init(c, &e, &sj->job.click, "script", rf_arena_strdup(c->a, rf_json_str(body, "referrer")),
			    rf_arena_strdup(c->a, landing),
			    rf_arena_strdup(c->a, rf_json_str(body, "previous_click_id")));
	sj->req = c->req;
	sj->max_age = e.window_days * 86400;
	sj->origin = origin_lc;
	sj->job.done = script_committed;
	json_decref(body);
	rf_req_defer(c->req);
	if (!rf_clicks_submit(&sj->job)) {
		sj->job.click.at = 0;
		script_finish(c->req, sj);
	}
	return;
fail:
	json_decref(body);
	if (origin_lc) {
		/* An allowed page may read why it failed; any other origin learns nothing. */
		rf_resp_header(c->req, "Vary", "Origin");
		if (cors_ok)
			rf_resp_header(c->req, "Access-Control-Allow-Origin", origin_lc);
	}
	rf_json_error(c, &err);
}
