/* SPDX-License-Identifier: Apache-2.0 */
/* Lead statuses, their allowed moves and the shared-domain list. */
#include "lifecycle.h"

#include <string.h>

static int rank(const char *s)
{
	static const char *const order[] = {"new", "contacted", "qualified", "converted", NULL};
	for (int i = 0; s && order[i]; i++)
		if (strcmp(order[i], s) == 0)
			return i;
	return -1;
}

static bool in(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

bool rf_lead_status_valid(const char *s)
{
	static const char *const st[] = {"pending_review", "rejected",  "new",  "contacted",
					 "qualified",      "converted", "lost", NULL};
	return in(s, st);
}

bool rf_lead_source_valid(const char *s)
{
	static const char *const src[] = {"partner", "referral", "direct", "organic",
					  "paid",    "campaign", "other",  NULL};
	return in(s, src);
}

bool rf_lead_transition_ok(const char *from, const char *to)
{
	if (!from || !to || strcmp(from, to) == 0)
		return false;
	if (strcmp(from, "lost") == 0)
		return strcmp(to, "new") == 0 || strcmp(to, "contacted") == 0;
	int f = rank(from), t = rank(to);
	if (f < 0 || f == 3)
		return false; /* review statuses, converted */
	if (strcmp(to, "lost") == 0)
		return true;
	return t > f;
}

bool rf_lead_blocks_registration(const char *status)
{
	static const char *const open[] = {"pending_review", "new", "contacted", "qualified", "converted", NULL};
	return in(status, open);
}

bool rf_email_domain_is_free(const char *domain)
{
	static const char *const free_domains[] = {
	    "gmail.com",   "googlemail.com", "outlook.com",  "hotmail.com", "live.com",     "msn.com",
	    "yahoo.com",   "ymail.com",      "icloud.com",   "me.com",      "mac.com",      "aol.com",
	    "proton.me",   "protonmail.com", "gmx.com",      "gmx.de",      "gmx.net",      "web.de",
	    "mail.com",    "yandex.com",     "yandex.ru",    "mail.ru",     "qq.com",       "163.com",
	    "126.com",     "zoho.com",       "fastmail.com", "hey.com",     "tutanota.com", "orange.fr",
	    "free.fr",     "laposte.net",    "t-online.de",  "libero.it",   "naver.com",    "hotmail.co.uk",
	    "yahoo.co.uk", "btinternet.com", "comcast.net",  "verizon.net", "att.net",      NULL};
	return in(domain, free_domains);
}
