/* SPDX-License-Identifier: Apache-2.0 */
/* Import rows: each field checked with the rules of the API's input (text without control characters within the
 * same lengths, emails, ISO 4217 codes, amounts within the money bounds, times), the partner a row names found
 * by id, email or the id it had in the other tool, then the row written through the services the API uses. */
#include "imports.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/lifecycle.h"
#include "../core/money.h"
#include "../core/text.h"
#include "leads.h"
#include "partners.h"
#include "sales.h"

bool rf_import_row_status(rf_status st)
{
	return st == RF_EINVAL || st == RF_ECONFLICT || st == RF_ENOTFOUND || st == RF_EFORBIDDEN ||
	       st == RF_EOVERFLOW || st == RF_ETOOBIG;
}

static void __attribute__((format(printf, 3, 4))) problem(rf_import_problems *pr, int field, const char *fmt, ...)
{
	if (pr->n == RF_IMPORT_PROBLEMS_MAX)
		return;
	pr->p[pr->n].field = field;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pr->p[pr->n].message, sizeof pr->p[pr->n].message, fmt, ap);
	va_end(ap);
	pr->n++;
}

/* The import field a service's error names (its members are the API's, which the columns mostly share). */
static int field_of(const char *name)
{
	static const struct {
		const char *svc;
		int field;
	} alias[] = {{"team_parent_id", RF_IF_TEAM_PARENT},
		     {"recruited_by_id", RF_IF_RECRUITED_BY},
		     {"cost_per_lead", RF_IF_COST_PER_LEAD},
		     {"click_id", RF_IF_CODE}};
	for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
		if (strcmp(alias[i].svc, name) == 0)
			return alias[i].field;
	for (int f = 0; f < RF_IF_COUNT; f++)
		if (strcmp(rf_import_field_name((rf_import_field)f), name) == 0)
			return f;
	return -1;
}

/* A service's refusal as the row's problem; other failures pass through. */
static rf_status refused(rf_import_problems *pr, const rf_err *err)
{
	if (rf_import_row_status(err->status))
		problem(pr, err->field[0] ? field_of(err->field) : -1, "%s", err->message);
	return err->status;
}

/* True when a cell would run as a formula in a spreadsheet (=HYPERLINK(...), @SUM(...), +cmd|..., -2+3): it starts
 * with = or @, or with + or - followed by anything but a digit, a dot or a space (+44 20 7946 0000 and -5 are
 * values). Such cells are refused rather than stored: a value refd keeps would otherwise carry them into every
 * export and every spreadsheet that opens one. */
static bool formula(const char *t)
{
	if (t[0] == '=' || t[0] == '@')
		return true;
	if (t[0] != '+' && t[0] != '-')
		return false;
	char n = t[1];
	return n != '\0' && !(n >= '0' && n <= '9') && n != '.' && n != ' ';
}

/* A text field: trimmed, NULL when absent or blank; a problem when it holds control characters or is longer than
 * max bytes (the API's limits). */
static const char *text(rf_svc *sv, const rf_import_row *row, rf_import_field f, size_t max, rf_import_problems *pr)
{
	const char *raw = row->v[f];
	if (!raw)
		return NULL;
	char *t = rf_trim_arena(sv->a, raw);
	if (!t || !*t)
		return NULL;
	const char *name = rf_import_field_name(f);
	if (!rf_text_clean(t)) {
		problem(pr, (int)f, "%s contains control characters", name);
		return NULL;
	}
	if (strlen(t) > max) {
		problem(pr, (int)f, "%s is longer than %zu bytes", name, max);
		return NULL;
	}
	if (formula(t)) {
		problem(
		    pr, (int)f,
		    "%s: '%.40s' is a spreadsheet formula; formulas are refused (export the values, not the formulas)",
		    name, t);
		return NULL;
	}
	return t;
}

/* A name: the name column, or first and last name together. */
static const char *name_of(rf_svc *sv, const rf_import_row *row, rf_import_problems *pr)
{
	const char *name = text(sv, row, RF_IF_NAME, 200, pr);
	if (name || row->v[RF_IF_NAME])
		return name;
	const char *first = text(sv, row, RF_IF_FIRST_NAME, 200, pr);
	const char *last = text(sv, row, RF_IF_LAST_NAME, 200, pr);
	if (!first || !last)
		return first ? first : last;
	char *both = rf_arena_printf(sv->a, "%s %s", first, last);
	if (both && strlen(both) > 200) {
		problem(pr, RF_IF_FIRST_NAME, "first_name and last_name together are longer than 200 bytes");
		return NULL;
	}
	return both;
}

/* An email, normalised; NULL when absent. */
static const char *email_of(rf_svc *sv, const rf_import_row *row, rf_import_field f, rf_import_problems *pr)
{
	const char *s = text(sv, row, f, RF_EMAIL_MAX, pr);
	if (!s)
		return NULL;
	char email[RF_EMAIL_MAX + 1];
	if (rf_email_normalize(s, email, sizeof email) != RF_OK) {
		problem(pr, (int)f, "%s: '%.80s' is not an email address", rf_import_field_name(f), s);
		return NULL;
	}
	return rf_arena_strdup(sv->a, email);
}

/* A currency code into out, or the program's when the row gives none; the exponent, or -1 after a problem. */
static int currency_of(const rf_import_ctx *ic, const rf_import_row *row, char out[4], rf_import_problems *pr)
{
	const char *s = row->v[RF_IF_CURRENCY];
	char code[16];
	size_t n = 0;
	for (; s && *s && n + 1 < sizeof code; s++)
		if (*s != ' ' && *s != '\t')
			code[n++] = *s;
	code[n] = '\0';
	if (!n)
		return rf_currency_lookup(ic->prog->currency, out);
	int exp = rf_currency_lookup(code, out);
	if (exp < 0)
		problem(pr, RF_IF_CURRENCY, "currency: '%.8s' is not an ISO 4217 code", code);
	return exp;
}

/* A time; 0 when absent, -1 after a problem. Times to come are refused, as the API refuses them. */
static int64_t time_of(rf_svc *sv, const rf_import_row *row, rf_import_field f, rf_import_problems *pr)
{
	const char *s = text(sv, row, f, 40, pr);
	if (!s)
		return 0;
	int64_t ms = 0;
	const char *name = rf_import_field_name(f);
	if (rf_import_time_parse(s, &ms) != 0) {
		problem(pr, (int)f, "%s: '%.40s' is not a time (2026-01-31T12:00:00Z, 2026-01-31 12:00 or 2026-01-31)",
			name, s);
		return -1;
	}
	if (ms > rf_clock_now_ms() + 86400000LL) {
		problem(pr, (int)f, "%s cannot be in the future", name);
		return -1;
	}
	if (ms <= 0) {
		problem(pr, (int)f, "%s must be after 1970", name);
		return -1;
	}
	return ms;
}

/* An amount in minor units: a decimal in the currency's exponent (amount) or whole minor units (amount_minor),
 * from min to the money bound. false after a problem or when absent (*given says which). */
static bool amount_of(const rf_import_row *row, rf_import_field f, int exp, int64_t min, int64_t *out, bool *given,
		      rf_import_problems *pr)
{
	const char *raw = row->v[f];
	char s[64];
	size_t n = 0;
	for (; raw && *raw && n + 1 < sizeof s; raw++)
		if (*raw != ' ' && *raw != '\t')
			s[n++] = *raw;
	s[n] = '\0';
	*given = n > 0;
	if (!n)
		return false;
	const char *name = rf_import_field_name(f);
	int64_t v = 0;
	bool ok = false;
	if (f == RF_IF_AMOUNT_MINOR) {
		ok = true;
		for (size_t i = 0; i < n && ok; i++)
			ok = s[i] >= '0' && s[i] <= '9';
		ok = ok && rf_money_parse(s, 0, &v) == RF_OK;
		if (!ok) {
			problem(pr, (int)f, "%s: '%.30s' is not a whole number of minor units (cents)", name, s);
			return false;
		}
	} else if (exp < 0 || rf_money_parse(s, exp, &v) != RF_OK) {
		if (exp >= 0)
			problem(pr, (int)f, "%s: '%.30s' is not an amount with at most %d decimals (such as 49.00)",
				name, s, exp);
		return false;
	}
	if (v < min || v > RF_MONEY_MAX) {
		problem(pr, (int)f, "%s must be from %lld to %lld minor units", name, (long long)min,
			(long long)RF_MONEY_MAX);
		return false;
	}
	*out = v;
	return true;
}

/* The partner a value names in the program: a partner id (ptn_…), an email, or the id it had in the other tool;
 * how says which ("auto" guesses from the value). NULL after a problem naming field. */
static const char *find_partner(rf_svc *sv, const rf_import_ctx *ic, const char *how, const char *value,
				rf_import_field field, rf_import_problems *pr, rf_err *err, rf_status *failed)
{
	const char *name = rf_import_field_name(field);
	*failed = RF_OK;
	bool auto_ = strcmp(how, "auto") == 0;
	if (strcmp(how, "id") == 0 || (auto_ && rf_id_valid(value, "ptn"))) {
		if (!rf_id_valid(value, "ptn")) {
			problem(pr, (int)field, "%s: '%.64s' is not a partner id (ptn_...)", name, value);
			return NULL;
		}
		return value;
	}
	rf_status rc;
	if (strcmp(how, "email") == 0 || (auto_ && strchr(value, '@'))) {
		char email[RF_EMAIL_MAX + 1];
		if (rf_email_normalize(value, email, sizeof email) != RF_OK) {
			problem(pr, (int)field, "%s: '%.80s' is not an email address", name, value);
			return NULL;
		}
		rf_partner p;
		rc = rf_store_partner_by_email(sv->store, ic->prog->id, email, &p, sv->a, err);
		if (rc == RF_OK)
			return p.id;
		if (rc == RF_ENOTFOUND)
			problem(pr, (int)field, "%s: no partner of the program has the email %s", name, email);
	} else {
		char *id = NULL;
		rc = rf_store_partner_ref_get(sv->store, ic->prog->id, value, &id, sv->a, err);
		if (rc == RF_OK)
			return id;
		if (rc == RF_ENOTFOUND)
			problem(pr, (int)field, "%s: no partner of the program was imported with the ref %.80s", name,
				value);
	}
	if (rc != RF_ENOTFOUND)
		*failed = rc;
	return NULL;
}

/* The partner a lead or sale row credits: partner_id, partner_email or partner_ref (the first given); NULL when
 * none or after a problem (*failed says whether the database failed). */
static const char *credited(rf_svc *sv, const rf_import_ctx *ic, const rf_import_row *row, int *from,
			    rf_import_problems *pr, rf_err *err, rf_status *failed)
{
	static const struct {
		rf_import_field f;
		const char *how;
	} ways[] = {{RF_IF_PARTNER_ID, "id"}, {RF_IF_PARTNER_EMAIL, "email"}, {RF_IF_PARTNER_REF, "ref"}};
	*failed = RF_OK;
	*from = -1;
	for (size_t i = 0; i < sizeof ways / sizeof ways[0]; i++) {
		const char *v = text(sv, row, ways[i].f, 254, pr);
		if (!v)
			continue;
		*from = (int)ways[i].f;
		return find_partner(sv, ic, ways[i].how, v, ways[i].f, pr, err, failed);
	}
	return NULL;
}

static char *origin_meta(rf_svc *sv, const rf_import_ctx *ic)
{
	return rf_arena_printf(sv->a, "{\"import\":\"%s\"}", ic->origin ? ic->origin : "csv");
}

/* ---- partners ---- */

static rf_status import_partner(rf_svc *sv, const rf_import_ctx *ic, const rf_import_row *row, rf_import_done *done,
				rf_import_problems *pr, rf_err *err)
{
	const rf_program *prog = ic->prog;
	const char *email = email_of(sv, row, RF_IF_EMAIL, pr);
	if (!email && !pr->n)
		problem(pr, RF_IF_EMAIL, "email is required");
	const char *name = name_of(sv, row, pr);
	if (!name && !pr->n)
		problem(pr, row->v[RF_IF_NAME] ? RF_IF_NAME : RF_IF_FIRST_NAME, "name is required");
	const char *company = text(sv, row, RF_IF_COMPANY, 200, pr);
	const char *kind = text(sv, row, RF_IF_KIND, 16, pr);
	if (kind && !rf_partner_kind_valid(kind))
		problem(pr, RF_IF_KIND, "kind must be one of partner, agent, affiliate, customer, employee");
	const char *status_in = text(sv, row, RF_IF_STATUS, 32, pr);
	const char *status = status_in ? rf_import_partner_status(status_in) : "active";
	if (!status)
		problem(pr, RF_IF_STATUS,
			"status must be active, applied, suspended or banned (or approved, pending, denied, rejected, "
			"disabled as other tools write them)");
	char currency[4];
	int exp = currency_of(ic, row, currency, pr);
	int64_t cpl = 0;
	bool cpl_given = false;
	amount_of(row, RF_IF_COST_PER_LEAD, exp, 0, &cpl, &cpl_given, pr);
	const char *ref = text(sv, row, RF_IF_REF, 200, pr);
	const char *parent_v = text(sv, row, RF_IF_TEAM_PARENT, 254, pr);
	const char *recruiter_v = text(sv, row, RF_IF_RECRUITED_BY, 254, pr);
	if (pr->n)
		return RF_EINVAL;
	if (status && !*status) {
		done->outcome = RF_IMPORT_SKIPPED;
		done->note = rf_arena_printf(sv->a, "the file's status is %s: not imported", status_in);
		return RF_OK;
	}
	rf_partner p;
	rf_status rc = rf_store_partner_by_email(sv->store, prog->id, email, &p, sv->a, err);
	char *ref_owner = NULL;
	if (rc == RF_OK || rc == RF_ENOTFOUND) {
		rf_status rrc =
		    ref ? rf_store_partner_ref_get(sv->store, prog->id, ref, &ref_owner, sv->a, err) : RF_ENOTFOUND;
		if (rrc != RF_OK && rrc != RF_ENOTFOUND)
			return rrc;
	}
	if (rc == RF_OK) {
		/* The same email is the same partner: left as it is, its ref recorded when it had none. */
		if (ref_owner && strcmp(ref_owner, p.id) != 0) {
			problem(pr, RF_IF_REF, "ref %.80s is partner %s's, not this email's", ref, ref_owner);
			return RF_ECONFLICT;
		}
		if (ref && !ref_owner &&
		    rf_store_partner_ref_put(sv->store, prog->id, ref, p.id, rf_clock_now_ms(), err) != RF_OK)
			return refused(pr, err);
		done->outcome = RF_IMPORT_EXISTING;
		done->id = p.id;
		return RF_OK;
	}
	if (rc != RF_ENOTFOUND)
		return rc;
	if (ref_owner) {
		problem(pr, RF_IF_REF, "ref %.80s is partner %s's, which has another email", ref, ref_owner);
		return RF_ECONFLICT;
	}
	memset(&p, 0, sizeof p);
	p.id = rf_id_new_arena(sv->a, "ptn");
	p.program_id = prog->id;
	p.kind = (char *)(kind ? kind : "partner");
	/* A partner suspended or banned in the other tool is made active, then given its status, as the API would. */
	p.status = (char *)(strcmp(status, "applied") == 0 ? "applied" : "active");
	p.name = (char *)name;
	p.email = (char *)email;
	p.company = (char *)company;
	memcpy(p.currency, currency, 4);
	p.cost_per_lead = cpl;
	memcpy(p.cost_per_lead_currency, currency, 4);
	p.metadata = origin_meta(sv, ic);
	rf_status frc = RF_OK;
	const char *parent = parent_v ? find_partner(sv, ic, "auto", parent_v, RF_IF_TEAM_PARENT, pr, err, &frc) : NULL;
	if (frc != RF_OK)
		return frc;
	const char *recruiter =
	    recruiter_v ? find_partner(sv, ic, "auto", recruiter_v, RF_IF_RECRUITED_BY, pr, err, &frc) : NULL;
	if (frc != RF_OK)
		return frc;
	if (pr->n)
		return RF_EINVAL;
	if ((parent && rf_svc_partner_relation(sv, &p, "team_parent_id", parent, &p.team_parent_id, err) != RF_OK) ||
	    (recruiter &&
	     rf_svc_partner_relation(sv, &p, "recruited_by_id", recruiter, &p.recruited_by_id, err) != RF_OK) ||
	    rf_svc_partner_new_code(sv, &p, err) != RF_OK)
		return refused(pr, err);
	p.created_at = rf_clock_now_ms();
	if (rf_svc_partner_save(sv, &p, true, NULL, err) != RF_OK ||
	    (ref && rf_store_partner_ref_put(sv->store, prog->id, ref, p.id, p.created_at, err) != RF_OK))
		return refused(pr, err);
	if ((strcmp(status, "suspended") == 0 || strcmp(status, "banned") == 0) &&
	    rf_svc_partner_set_status(sv, &p, status, rf_arena_printf(sv->a, "imported as %s", status_in), err) !=
		RF_OK)
		return refused(pr, err);
	done->outcome = RF_IMPORT_CREATED;
	done->id = p.id;
	return RF_OK;
}

/* ---- leads ---- */

static bool phone_ok(const char *s)
{
	int digits = 0;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digits++;
		else if (!strchr(" +-().", *s))
			return false;
	}
	return digits >= 3;
}

static rf_status import_lead(rf_svc *sv, const rf_import_ctx *ic, const rf_import_row *row, rf_import_done *done,
			     rf_import_problems *pr, rf_err *err)
{
	const rf_program *prog = ic->prog;
	rf_lead l;
	memset(&l, 0, sizeof l);
	l.program_id = prog->id;
	l.email = (char *)email_of(sv, row, RF_IF_EMAIL, pr);
	l.external_id = (char *)text(sv, row, RF_IF_EXTERNAL_ID, 200, pr);
	if (!l.email && !l.external_id && !pr->n)
		problem(pr, row->v[RF_IF_EMAIL] ? RF_IF_EMAIL : RF_IF_EXTERNAL_ID,
			"a lead needs an email or an external_id");
	l.name = (char *)name_of(sv, row, pr);
	l.company = (char *)text(sv, row, RF_IF_COMPANY, 200, pr);
	l.phone = (char *)text(sv, row, RF_IF_PHONE, 40, pr);
	if (l.phone && !phone_ok(l.phone))
		problem(pr, RF_IF_PHONE, "phone may hold digits, spaces and + - ( ) . only");
	const char *source = text(sv, row, RF_IF_SOURCE, 16, pr);
	if (source && !rf_lead_source_valid(source))
		problem(pr, RF_IF_SOURCE, "source must be partner, referral, direct, organic, paid, campaign or other");
	int64_t created = time_of(sv, row, RF_IF_CREATED_AT, pr);
	const char *code = text(sv, row, RF_IF_CODE, 64, pr);
	int from = -1;
	rf_status frc = RF_OK;
	const char *partner = credited(sv, ic, row, &from, pr, err, &frc);
	if (frc != RF_OK)
		return frc;
	if (pr->n)
		return RF_EINVAL;
	/* The same person is the same lead: left as it is. */
	rf_lead existing;
	rf_status rc = rf_store_lead_find(sv->store, prog->id, l.email, l.external_id, &existing, sv->a, err);
	if (rc == RF_ENOTFOUND && l.email && l.external_id)
		rc = rf_store_lead_find(sv->store, prog->id, NULL, l.external_id, &existing, sv->a, err);
	if (rc == RF_OK) {
		done->outcome = RF_IMPORT_EXISTING;
		done->id = existing.id;
		return RF_OK;
	}
	if (rc != RF_ENOTFOUND)
		return rc;
	if (rf_svc_lead_attribute(sv, prog, partner,
				  from >= 0 ? rf_import_field_name((rf_import_field)from) : "partner_id", code, NULL,
				  NULL, &l, err) != RF_OK)
		return refused(pr, err);
	int64_t now = rf_clock_now_ms();
	l.id = rf_id_new_arena(sv->a, "lead");
	l.source = (char *)(source ? source : l.partner_id ? "partner" : "direct");
	l.status = "new";
	l.metadata = origin_meta(sv, ic);
	l.created_by = (char *)sv->actor;
	l.created_at = l.status_at = created ? created : now;
	l.updated_at = now;
	if (rf_svc_lead_insert(sv, &l, err) != RF_OK)
		return refused(pr, err);
	done->outcome = RF_IMPORT_CREATED;
	done->id = l.id;
	return RF_OK;
}

/* ---- sales ---- */

static rf_status import_sale(rf_svc *sv, const rf_import_ctx *ic, const rf_import_row *row, rf_import_done *done,
			     rf_import_problems *pr, rf_err *err)
{
	rf_sale_input in;
	memset(&in, 0, sizeof in);
	in.program_id = ic->prog->id;
	in.external_id = text(sv, row, RF_IF_EXTERNAL_ID, 200, pr);
	if (!in.external_id && !pr->n)
		problem(pr, RF_IF_EXTERNAL_ID, "external_id (the invoice or order id) is required");
	int exp = currency_of(ic, row, in.currency, pr);
	bool given = false;
	rf_import_field af = row->v[RF_IF_AMOUNT_MINOR] ? RF_IF_AMOUNT_MINOR : RF_IF_AMOUNT;
	if (!amount_of(row, af, exp, 1, &in.amount, &given, pr) && !given)
		problem(pr, (int)af, "%s is required", rf_import_field_name(af));
	int64_t at = time_of(sv, row, RF_IF_OCCURRED_AT, pr);
	in.occurred_at = at > 0 ? at : 0;
	in.email = email_of(sv, row, RF_IF_EMAIL, pr);
	in.customer_external_id = text(sv, row, RF_IF_CUSTOMER_EXTERNAL_ID, 200, pr);
	in.lead_id = text(sv, row, RF_IF_LEAD_ID, 64, pr);
	if (!in.email && !in.customer_external_id && !in.lead_id && !pr->n)
		problem(pr, RF_IF_EMAIL, "a sale needs the customer: email, customer_external_id or lead_id");
	in.kind = text(sv, row, RF_IF_KIND, 16, pr);
	if (in.kind && strcmp(in.kind, "first") != 0 && strcmp(in.kind, "recurring") != 0)
		problem(pr, RF_IF_KIND, "kind must be first or recurring");
	in.charge_id = text(sv, row, RF_IF_CHARGE_ID, 200, pr);
	in.code = text(sv, row, RF_IF_CODE, 64, pr);
	int from = -1;
	rf_status frc = RF_OK;
	in.partner_id = credited(sv, ic, row, &from, pr, err, &frc);
	if (frc != RF_OK)
		return frc;
	if (pr->n)
		return RF_EINVAL;
	in.metadata = origin_meta(sv, ic);
	in.source = "api";
	rf_sale_result res;
	if (rf_svc_sale_ingest(sv, &in, &res, err) != RF_OK) {
		/* The service names the API's member; the row's column is the one the partner came from. */
		if (from >= 0 && strcmp(err->field, "partner_id") == 0)
			snprintf(err->field, sizeof err->field, "%s", rf_import_field_name((rf_import_field)from));
		if (strcmp(err->field, "amount") == 0)
			snprintf(err->field, sizeof err->field, "%s", rf_import_field_name(af));
		return refused(pr, err);
	}
	done->outcome = res.replay ? RF_IMPORT_EXISTING : RF_IMPORT_CREATED;
	done->id = res.sale.id;
	return RF_OK;
}

rf_status rf_svc_import_row(rf_svc *sv, const rf_import_ctx *ic, const rf_import_row *row, rf_import_done *done,
			    rf_import_problems *pr, rf_err *err)
{
	memset(done, 0, sizeof *done);
	pr->n = 0;
	switch (ic->type) {
	case RF_IMPORT_PARTNERS:
		return import_partner(sv, ic, row, done, pr, err);
	case RF_IMPORT_LEADS:
		return import_lead(sv, ic, row, done, pr, err);
	case RF_IMPORT_SALES:
		return import_sale(sv, ic, row, done, pr, err);
	}
	return rf_err_set(err, RF_EINVAL, "type", "type must be partners, leads or sales");
}

/* ---- keys ---- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

/* Copies the field trimmed, with a prefix, into key; false when the field is absent or blank. */
static bool key_of(const char *prefix, const char *v, char key[RF_IMPORT_KEY_MAX])
{
	if (!v)
		return false;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (!n || n + strlen(prefix) >= RF_IMPORT_KEY_MAX)
		return false;
	snprintf(key, RF_IMPORT_KEY_MAX, "%s%.*s", prefix, (int)n, v);
	return true;
}

static bool email_key(const char *v, char key[RF_IMPORT_KEY_MAX])
{
	char email[RF_EMAIL_MAX + 1];
	if (!v || rf_email_normalize(v, email, sizeof email) != RF_OK)
		return false;
	snprintf(key, RF_IMPORT_KEY_MAX, "e:%s", email);
	return true;
}

size_t rf_import_row_keys(const rf_import_ctx *ic, const rf_import_row *row,
			  char keys[RF_IMPORT_KEYS][RF_IMPORT_KEY_MAX], uint64_t *content)
{
	size_t n = 0;
	*content = 0;
	switch (ic->type) {
	case RF_IMPORT_PARTNERS:
		n += email_key(row->v[RF_IF_EMAIL], keys[n]);
		break;
	case RF_IMPORT_LEADS:
		n += email_key(row->v[RF_IF_EMAIL], keys[n]);
		n += key_of("x:", row->v[RF_IF_EXTERNAL_ID], keys[n]);
		break;
	case RF_IMPORT_SALES: {
		n += key_of("x:", row->v[RF_IF_EXTERNAL_ID], keys[n]);
		/* The same invoice twice must say the same amount. */
		rf_import_problems pr = {.n = 0};
		char cur[4] = "";
		int exp = currency_of(ic, row, cur, &pr);
		rf_import_field af = row->v[RF_IF_AMOUNT_MINOR] ? RF_IF_AMOUNT_MINOR : RF_IF_AMOUNT;
		int64_t amount = 0;
		bool given = false;
		amount_of(row, af, exp, 1, &amount, &given, &pr);
		uint64_t h = fnv(1469598103934665603ull, cur, 4);
		*content = fnv(h, &amount, sizeof amount) | 1;
		break;
	}
	}
	return n;
}
