/* SPDX-License-Identifier: Apache-2.0 */
/* The import files' vocabulary: refd's own columns, the ready-made maps of other tools' exports and the header
 * resolution that puts them together. The maps follow the field names of each tool's documented API objects,
 * which their CSV exports follow (docs/IMPORTS.md says which names could be confirmed). */
#include "importmap.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "clock.h"

static const char *const type_names[RF_IMPORT_TYPES] = {"partners", "leads", "sales"};

bool rf_import_type_parse(const char *s, rf_import_type *t)
{
	for (int i = 0; s && i < RF_IMPORT_TYPES; i++)
		if (strcmp(s, type_names[i]) == 0) {
			*t = (rf_import_type)i;
			return true;
		}
	return false;
}

const char *rf_import_type_name(rf_import_type t)
{
	return (unsigned)t < RF_IMPORT_TYPES ? type_names[t] : "?";
}

static const char *const field_names[RF_IF_COUNT] = {
    "email",       "name",       "first_name",    "last_name",    "company",       "kind",
    "status",      "currency",   "cost_per_lead", "ref",          "team_parent",   "recruited_by",
    "external_id", "phone",      "source",        "partner_id",   "partner_email", "partner_ref",
    "code",        "created_at", "amount",        "amount_minor", "occurred_at",   "customer_external_id",
    "lead_id",     "charge_id",
};

/* The fields of each type, in the order the documentation lists them. */
static const rf_import_field type_fields[RF_IMPORT_TYPES][RF_IF_COUNT + 1] = {
    {RF_IF_EMAIL, RF_IF_NAME, RF_IF_FIRST_NAME, RF_IF_LAST_NAME, RF_IF_COMPANY, RF_IF_KIND, RF_IF_STATUS,
     RF_IF_CURRENCY, RF_IF_COST_PER_LEAD, RF_IF_REF, RF_IF_TEAM_PARENT, RF_IF_RECRUITED_BY, RF_IF_COUNT},
    {RF_IF_EMAIL, RF_IF_EXTERNAL_ID, RF_IF_NAME, RF_IF_FIRST_NAME, RF_IF_LAST_NAME, RF_IF_COMPANY, RF_IF_PHONE,
     RF_IF_SOURCE, RF_IF_PARTNER_ID, RF_IF_PARTNER_EMAIL, RF_IF_PARTNER_REF, RF_IF_CODE, RF_IF_CREATED_AT, RF_IF_COUNT},
    {RF_IF_EXTERNAL_ID, RF_IF_AMOUNT, RF_IF_AMOUNT_MINOR, RF_IF_CURRENCY, RF_IF_OCCURRED_AT, RF_IF_EMAIL,
     RF_IF_CUSTOMER_EXTERNAL_ID, RF_IF_LEAD_ID, RF_IF_PARTNER_ID, RF_IF_PARTNER_EMAIL, RF_IF_PARTNER_REF, RF_IF_CODE,
     RF_IF_KIND, RF_IF_CHARGE_ID, RF_IF_COUNT},
};

const char *rf_import_field_name(rf_import_field f)
{
	return (unsigned)f < RF_IF_COUNT ? field_names[f] : "?";
}

bool rf_import_has_field(rf_import_type t, rf_import_field f)
{
	if ((unsigned)t >= RF_IMPORT_TYPES)
		return false;
	for (const rf_import_field *p = type_fields[t]; *p != RF_IF_COUNT; p++)
		if (*p == f)
			return true;
	return false;
}

int rf_import_field_parse(rf_import_type t, const char *name)
{
	if ((unsigned)t >= RF_IMPORT_TYPES || !name)
		return -1;
	for (const rf_import_field *p = type_fields[t]; *p != RF_IF_COUNT; p++)
		if (strcmp(field_names[*p], name) == 0)
			return (int)*p;
	return -1;
}

void rf_import_field_list(rf_import_type t, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	if ((unsigned)t >= RF_IMPORT_TYPES)
		return;
	for (const rf_import_field *p = type_fields[t]; *p != RF_IF_COUNT && used < len; p++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", field_names[*p]);
}

/* ---- The ready-made maps ---- */

#define C(col, f)              \
	{                      \
		col, RF_IF_##f \
	}
#define SKIP(col)       \
	{               \
		col, -1 \
	}
#define END              \
	{                \
		NULL, -1 \
	}

/* Rewardful: the affiliate, referral and commission (with its sale) objects of its REST API. */
static const rf_import_alias rewardful_partners[] = {
    C("id", REF),
    C("email", EMAIL),
    C("first_name", FIRST_NAME),
    C("last_name", LAST_NAME),
    C("state", STATUS),
    SKIP("paypal_email"),
    SKIP("wise_email"),
    SKIP("token"),
    SKIP("campaign"),
    SKIP("campaign_name"),
    SKIP("visitors"),
    SKIP("leads"),
    SKIP("conversions"),
    SKIP("created_at"),
    SKIP("updated_at"),
    SKIP("confirmed_at"),
    SKIP("stripe_customer_id"),
    END,
};
static const rf_import_alias rewardful_leads[] = {
    SKIP("id"),
    C("customer_email", EMAIL),
    C("customer_name", NAME),
    C("stripe_customer_id", EXTERNAL_ID),
    C("affiliate_id", PARTNER_REF),
    C("affiliate_email", PARTNER_EMAIL),
    C("created_at", CREATED_AT),
    SKIP("conversion_state"),
    SKIP("visits"),
    SKIP("expires_at"),
    SKIP("became_lead_at"),
    SKIP("became_conversion_at"),
    SKIP("deactivated_at"),
    SKIP("link"),
    SKIP("updated_at"),
    END,
};
static const rf_import_alias rewardful_sales[] = {
    SKIP("id"),
    SKIP("amount"), /* the commission: refd computes its own */
    C("currency", CURRENCY),
    SKIP("state"),
    SKIP("due_at"),
    SKIP("paid_at"),
    SKIP("voided_at"),
    SKIP("created_at"),
    C("sale_id", EXTERNAL_ID),
    C("sale_amount_cents", AMOUNT_MINOR),
    SKIP("charge_amount_cents"),
    SKIP("refund_amount_cents"),
    SKIP("tax_amount_cents"),
    C("charged_at", OCCURRED_AT),
    SKIP("invoiced_at"),
    C("stripe_charge_id", CHARGE_ID),
    C("customer_email", EMAIL),
    C("stripe_customer_id", CUSTOMER_EXTERNAL_ID),
    C("affiliate_id", PARTNER_REF),
    C("affiliate_email", PARTNER_EMAIL),
    SKIP("campaign"),
    END,
};

/* FirstPromoter: its promoter, referral and commission objects. */
static const rf_import_alias firstpromoter_partners[] = {
    C("id", REF),
    C("email", EMAIL),
    C("first_name", FIRST_NAME),
    C("last_name", LAST_NAME),
    C("company_name", COMPANY),
    C("status", STATUS),
    C("parent_promoter_id", RECRUITED_BY),
    SKIP("ref_id"),
    SKIP("default_ref_id"),
    SKIP("cust_id"),
    SKIP("created_at"),
    SKIP("balance"),
    SKIP("earnings_balance"),
    SKIP("paid_balance"),
    END,
};
static const rf_import_alias firstpromoter_leads[] = {
    SKIP("id"),
    C("email", EMAIL),
    C("uid", EXTERNAL_ID),
    C("promoter_id", PARTNER_REF),
    C("promoter_email", PARTNER_EMAIL),
    C("created_at", CREATED_AT),
    SKIP("state"),
    SKIP("username"),
    SKIP("customer_since"),
    SKIP("plan_name"),
    SKIP("mrr"),
    END,
};
static const rf_import_alias firstpromoter_sales[] = {
    SKIP("id"),
    SKIP("amount"), /* the commission */
    SKIP("status"),
    C("event_id", EXTERNAL_ID),
    C("sale_amount", AMOUNT_MINOR),
    C("currency", CURRENCY),
    SKIP("original_sale_amount"),
    SKIP("original_sale_currency"),
    C("referral_email", EMAIL),
    C("referral_uid", CUSTOMER_EXTERNAL_ID),
    C("promoter_id", PARTNER_REF),
    C("promoter_email", PARTNER_EMAIL),
    C("created_at", OCCURRED_AT),
    SKIP("is_paid"),
    SKIP("commission_type"),
    SKIP("tier"),
    END,
};

/* PartnerStack: partnerships (partner_key), customers (customer_key) and rewards with their transactions. */
static const rf_import_alias partnerstack_partners[] = {
    C("partner_key", REF),
    C("email", EMAIL),
    C("first_name", FIRST_NAME),
    C("last_name", LAST_NAME),
    C("company", COMPANY),
    C("status", STATUS),
    SKIP("group"),
    SKIP("group_key"),
    SKIP("created_at"),
    SKIP("signed_up"),
    SKIP("last_active"),
    SKIP("revenue"),
    END,
};
static const rf_import_alias partnerstack_leads[] = {
    C("customer_key", EXTERNAL_ID),    C("email", EMAIL),           C("name", NAME),      C("partner_key", PARTNER_REF),
    C("partner_email", PARTNER_EMAIL), C("created_at", CREATED_AT), SKIP("provider_key"), END,
};
static const rf_import_alias partnerstack_sales[] = {
    SKIP("key"),
    SKIP("reward_key"),
    SKIP("amount"), /* the reward */
    SKIP("status"),
    C("transaction_key", EXTERNAL_ID),
    C("transaction_amount", AMOUNT_MINOR),
    C("currency", CURRENCY),
    C("customer_key", CUSTOMER_EXTERNAL_ID),
    C("customer_email", EMAIL),
    C("partner_key", PARTNER_REF),
    C("partner_email", PARTNER_EMAIL),
    C("created_at", OCCURRED_AT),
    SKIP("product_key"),
    END,
};

/* Tolt: its partner, customer and commission objects. */
static const rf_import_alias tolt_partners[] = {
    C("id", REF),
    C("email", EMAIL),
    C("first_name", FIRST_NAME),
    C("last_name", LAST_NAME),
    C("company_name", COMPANY),
    C("status", STATUS),
    SKIP("country_code"),
    SKIP("group_id"),
    SKIP("program_id"),
    SKIP("created_at"),
    SKIP("updated_at"),
    END,
};
static const rf_import_alias tolt_leads[] = {
    SKIP("id"),
    C("email", EMAIL),
    C("name", NAME),
    C("customer_id", EXTERNAL_ID),
    C("partner_id", PARTNER_REF),
    C("partner_email", PARTNER_EMAIL),
    C("created_at", CREATED_AT),
    SKIP("status"),
    SKIP("lead_at"),
    SKIP("active_at"),
    SKIP("subscription_id"),
    SKIP("click_id"),
    SKIP("program_id"),
    END,
};
static const rf_import_alias tolt_sales[] = {
    SKIP("id"),
    SKIP("amount"), /* the commission */
    SKIP("status"),
    C("transaction_id", EXTERNAL_ID),
    C("revenue", AMOUNT_MINOR),
    C("currency", CURRENCY),
    C("charge_id", CHARGE_ID),
    C("customer_email", EMAIL),
    SKIP("customer_id"),
    C("partner_id", PARTNER_REF),
    C("partner_email", PARTNER_EMAIL),
    C("created_at", OCCURRED_AT),
    SKIP("source"),
    SKIP("program_id"),
    END,
};

struct rf_import_map {
	const char *name, *tool;
	const rf_import_alias *cols[RF_IMPORT_TYPES];
};

static const rf_import_map maps[] = {
    {"rewardful", "Rewardful", {rewardful_partners, rewardful_leads, rewardful_sales}},
    {"firstpromoter", "FirstPromoter", {firstpromoter_partners, firstpromoter_leads, firstpromoter_sales}},
    {"partnerstack", "PartnerStack", {partnerstack_partners, partnerstack_leads, partnerstack_sales}},
    {"tolt", "Tolt", {tolt_partners, tolt_leads, tolt_sales}},
};

const char *const rf_import_map_names[] = {"rewardful", "firstpromoter", "partnerstack", "tolt", NULL};

const rf_import_map *rf_import_map_find(const char *name, bool *known)
{
	*known = name && strcmp(name, "none") == 0;
	for (size_t i = 0; name && i < sizeof maps / sizeof maps[0]; i++)
		if (strcmp(maps[i].name, name) == 0) {
			*known = true;
			return &maps[i];
		}
	return NULL;
}

const char *rf_import_map_name(const rf_import_map *m)
{
	return m ? m->name : "none";
}

const char *rf_import_map_tool(const rf_import_map *m)
{
	return m ? m->tool : "refd";
}

const rf_import_alias *rf_import_map_columns(const rf_import_map *m, rf_import_type t)
{
	return m && (unsigned)t < RF_IMPORT_TYPES ? m->cols[t] : NULL;
}

/* ---- Resolving a header ---- */

void rf_import_header_norm(const char *in, char *out, size_t len)
{
	size_t o = 0;
	bool gap = false;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 1 < len; p++) {
		unsigned char c = *p;
		bool word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
		if (c >= 'A' && c <= 'Z') {
			c = (unsigned char)(c - 'A' + 'a');
			word = true;
		}
		if (!word) {
			gap = o > 0;
			continue;
		}
		if (gap && o + 2 < len)
			out[o++] = '_';
		gap = false;
		out[o++] = (char)c;
	}
	out[o] = '\0';
}

/* The header's text for messages: cut short, never past a character. */
static const char *shown(const char *h, char *buf, size_t len)
{
	size_t n = strlen(h);
	if (n < len) {
		memcpy(buf, h, n + 1);
		return buf;
	}
	n = len - 4;
	while (n && ((unsigned char)h[n] & 0xC0) == 0x80)
		n--;
	memcpy(buf, h, n);
	memcpy(buf + n, "...", 4);
	return buf;
}

/* Where a map's column for field f is named, for messages: "email", or "" when the map has none. */
static const char *map_column(const rf_import_map *map, rf_import_type t, rf_import_field f)
{
	for (const rf_import_alias *a = rf_import_map_columns(map, t); a && a->column; a++)
		if (a->field == (int)f)
			return a->column;
	return "";
}

static rf_status missing(rf_import_type t, const rf_import_map *map, const char *what, rf_import_field f, rf_err *err)
{
	const char *mc = map_column(map, t, f);
	if (map && *mc)
		return rf_err_set(err, RF_EINVAL, "header", "the file has no column for %s (%s's export calls it %s)",
				  what, rf_import_map_tool(map), mc);
	return rf_err_set(err, RF_EINVAL, "header", "the file has no column for %s", what);
}

rf_status rf_import_columns_resolve(rf_import_type t, const rf_import_map *map, const rf_import_pair *custom,
				    size_t n_custom, const char *const *header, size_t n, rf_import_columns *out,
				    rf_err *err)
{
	memset(out, 0, sizeof *out);
	for (int f = 0; f < RF_IF_COUNT; f++)
		out->col[f] = -1;
	if ((unsigned)t >= RF_IMPORT_TYPES)
		return rf_err_set(err, RF_EINVAL, "type", "type must be partners, leads or sales");
	if (n > RF_IMPORT_COLUMNS_MAX)
		return rf_err_set(err, RF_EINVAL, "header", "the header has more than %d columns",
				  RF_IMPORT_COLUMNS_MAX);
	out->ncols = n;
	char norm[128], cnorm[128], buf[72];
	/* Every entry of the mapping must be used, and name a field of the type. */
	bool used[64] = {false};
	if (n_custom > sizeof used / sizeof used[0])
		return rf_err_set(err, RF_EINVAL, "mapping", "the mapping has more than %zu entries", sizeof used);
	for (size_t k = 0; k < n_custom; k++)
		if (custom[k].field && rf_import_field_parse(t, custom[k].field) < 0) {
			char list[400];
			rf_import_field_list(t, list, sizeof list);
			return rf_err_set(err, RF_EINVAL, "mapping", "mapping: %.40s is not a column of %s (%s)",
					  custom[k].field, type_names[t], list);
		}
	for (size_t i = 0; i < n; i++) {
		rf_import_header_norm(header[i], norm, sizeof norm);
		int field = -2; /* -2: unknown, -1: left out */
		for (size_t k = 0; k < n_custom && field == -2; k++) {
			rf_import_header_norm(custom[k].column, cnorm, sizeof cnorm);
			if (strcmp(cnorm, norm) == 0) {
				used[k] = true;
				field = custom[k].field ? rf_import_field_parse(t, custom[k].field) : -1;
			}
		}
		if (field == -2 && map) {
			field = -1; /* a map leaves out what it does not know */
			for (const rf_import_alias *a = map->cols[t]; a->column; a++)
				if (strcmp(a->column, norm) == 0) {
					field = a->field;
					break;
				}
		}
		if (field == -2) {
			field = rf_import_field_parse(t, norm);
			if (field < 0) {
				/* refd's own format knows every column; only the mapping can leave one out. */
				char list[400];
				rf_import_field_list(t, list, sizeof list);
				return rf_err_set(
				    err, RF_EINVAL, "header",
				    "column %zu (%s) is not a column of %s: %s (or give a map or a mapping)", i + 1,
				    shown(header[i], buf, 40), type_names[t], list);
			}
		}
		if (field < 0) {
			if (out->nignored < RF_IMPORT_COLUMNS_MAX)
				out->ignored[out->nignored++] = (int)i;
			continue;
		}
		if (out->col[field] >= 0) {
			char b2[72];
			return rf_err_set(err, RF_EINVAL, "header", "columns %d (%s) and %zu (%s) both give %s",
					  out->col[field] + 1, shown(header[out->col[field]], b2, 40), i + 1,
					  shown(header[i], buf, 40), field_names[field]);
		}
		out->col[field] = (int)i;
	}
	for (size_t k = 0; k < n_custom; k++)
		if (!used[k])
			return rf_err_set(err, RF_EINVAL, "mapping", "mapping: the header has no column %s",
					  shown(custom[k].column, buf, 60));
	const int *c = out->col;
	switch (t) {
	case RF_IMPORT_PARTNERS:
		if (c[RF_IF_EMAIL] < 0)
			return missing(t, map, "email", RF_IF_EMAIL, err);
		if (c[RF_IF_NAME] < 0 && c[RF_IF_FIRST_NAME] < 0 && c[RF_IF_LAST_NAME] < 0)
			return missing(t, map, "name (or first_name and last_name)", RF_IF_FIRST_NAME, err);
		break;
	case RF_IMPORT_LEADS:
		if (c[RF_IF_EMAIL] < 0 && c[RF_IF_EXTERNAL_ID] < 0)
			return missing(t, map, "email or external_id", RF_IF_EMAIL, err);
		break;
	case RF_IMPORT_SALES:
		if (c[RF_IF_EXTERNAL_ID] < 0)
			return missing(t, map, "external_id (the invoice or order id)", RF_IF_EXTERNAL_ID, err);
		if (c[RF_IF_AMOUNT] < 0 && c[RF_IF_AMOUNT_MINOR] < 0)
			return missing(t, map, "amount (or amount_minor)", RF_IF_AMOUNT_MINOR, err);
		if (c[RF_IF_AMOUNT] >= 0 && c[RF_IF_AMOUNT_MINOR] >= 0)
			return rf_err_set(err, RF_EINVAL, "header",
					  "the file has both amount and amount_minor: keep one of them");
		if (c[RF_IF_EMAIL] < 0 && c[RF_IF_CUSTOMER_EXTERNAL_ID] < 0 && c[RF_IF_LEAD_ID] < 0)
			return missing(t, map, "the customer (email, customer_external_id or lead_id)", RF_IF_EMAIL,
				       err);
		break;
	}
	return RF_OK;
}

/* ---- Values as other tools write them ---- */

int rf_import_time_parse(const char *s, int64_t *ms)
{
	if (!s)
		return -1;
	if (rf_clock_parse(s, ms) == 0)
		return 0;
	size_t n = strlen(s);
	char buf[40];
	/* 2025-01-31 */
	if (n == 10 && snprintf(buf, sizeof buf, "%sT00:00:00Z", s) < (int)sizeof buf && rf_clock_parse(buf, ms) == 0)
		return 0;
	/* 2025-01-31 14:05 */
	if (n == 16 && snprintf(buf, sizeof buf, "%s:00Z", s) < (int)sizeof buf && rf_clock_parse(buf, ms) == 0)
		return 0;
	/* 2025-01-31 14:05:09, perhaps with a fraction, without a zone */
	if (n >= 19 && n < 30 && snprintf(buf, sizeof buf, "%sZ", s) < (int)sizeof buf && rf_clock_parse(buf, ms) == 0)
		return 0;
	return -1;
}

const char *rf_import_partner_status(const char *s)
{
	static const struct {
		const char *from, *to;
	} table[] = {
	    {"active", "active"},
	    {"approved", "active"},
	    {"applied", "applied"},
	    {"pending", "applied"},
	    {"suspended", "suspended"},
	    {"disabled", "suspended"},
	    {"blocked", "suspended"},
	    {"suspicious", "suspended"},
	    {"inactive", "suspended"},
	    {"banned", "banned"},
	    {"denied", ""},
	    {"rejected", ""},
	    {"declined", ""},
	};
	for (size_t i = 0; s && i < sizeof table / sizeof table[0]; i++)
		if (strcasecmp(s, table[i].from) == 0)
			return table[i].to;
	return NULL;
}
