/* SPDX-License-Identifier: Apache-2.0 */
/* Generation, checking and case folding of referral codes and recruitment codes. */
#include "code.h"

#include <sodium.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const char alphabet[] = "23456789abcdefghjkmnpqrstuvwxyz";

/* Words that are, or may become, paths or names of refd itself, so a code cannot shadow them. */
static const char *const reserved[] = {
    "admin",    "api",      "app",    "assets", "auth",    "dashboard", "docs",   "health",    "healthz", "help",
    "login",    "logout",   "new",    "null",   "partner", "partners",  "portal", "r",         "readyz",  "refd",
    "register", "settings", "signup", "static", "support", "t",         "track",  "undefined", "www",
};

void rf_code_generate(char *out, size_t len)
{
	if (!out || len == 0)
		return;
	if (len < RF_CODE_GENERATED_LEN + 1) {
		out[0] = '\0';
		return;
	}
	/* Drawing again when a code spells a reserved word ("partners") or starts with "refd" keeps every generated
	 * code acceptable as a chosen one; it happens about once in a million draws. */
	do {
		for (size_t i = 0; i < RF_CODE_GENERATED_LEN; i++)
			out[i] = alphabet[randombytes_uniform((uint32_t)(sizeof alphabet - 1))];
		out[RF_CODE_GENERATED_LEN] = '\0';
	} while (rf_code_check(out, NULL) != RF_OK);
}

static int code_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

rf_status rf_code_check(const char *code, rf_err *err)
{
	if (!code || !*code)
		return rf_err_set(err, RF_EINVAL, "code", "a code is required");
	size_t n = strnlen(code, RF_CODE_MAX + 1);
	if (n > RF_CODE_MAX)
		return rf_err_set(err, RF_EINVAL, "code", "a code must be at most %d characters long", RF_CODE_MAX);
	for (size_t i = 0; i < n; i++)
		if (!code_char(code[i]))
			return rf_err_set(err, RF_EINVAL, "code",
					  "a code may only contain letters, digits, '-' and '_'");
	if (n < RF_CODE_MIN)
		return rf_err_set(err, RF_EINVAL, "code", "a code must be at least %d characters long", RF_CODE_MIN);
	if (code[0] == '-' || code[0] == '_' || code[n - 1] == '-' || code[n - 1] == '_')
		return rf_err_set(err, RF_EINVAL, "code", "a code must not start or end with '-' or '_'");
	if (strncasecmp(code, "refd", 4) == 0)
		return rf_err_set(err, RF_EINVAL, "code", "codes starting with 'refd' are reserved");
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (strcasecmp(code, reserved[i]) == 0)
			return rf_err_set(err, RF_EINVAL, "code", "'%s' is a reserved word and cannot be a code", code);
	return RF_OK;
}

void rf_code_fold(const char *code, char *out, size_t len)
{
	if (!out || len == 0)
		return;
	size_t n = code ? strnlen(code, len) : len;
	if (n >= len) {
		out[0] = '\0';
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char c = code[i];
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[n] = '\0';
}

void rf_recruit_code_generate(char *out, size_t len)
{
	if (!out || len == 0)
		return;
	if (len < RF_RECRUIT_CODE_LEN + 1) {
		out[0] = '\0';
		return;
	}
	for (size_t i = 0; i < RF_RECRUIT_CODE_LEN; i++)
		out[i] = alphabet[randombytes_uniform((uint32_t)(sizeof alphabet - 1))];
	out[RF_RECRUIT_CODE_LEN] = '\0';
}

bool rf_recruit_code_normalize(const char *in, char *out, size_t len)
{
	if (!out || len == 0)
		return false;
	out[0] = '\0';
	if (!in || len < RF_RECRUIT_CODE_LEN + 1)
		return false;
	while (*in == ' ' || *in == '\t')
		in++;
	size_t n = 0;
	for (; in[n] && in[n] != ' ' && in[n] != '\t'; n++)
		if (n >= RF_RECRUIT_CODE_LEN)
			return false;
	for (size_t i = n; in[i]; i++)
		if (in[i] != ' ' && in[i] != '\t')
			return false;
	if (n != RF_RECRUIT_CODE_LEN)
		return false;
	char tmp[RF_RECRUIT_CODE_LEN + 1];
	for (size_t i = 0; i < n; i++) {
		char c = in[i] >= 'A' && in[i] <= 'Z' ? (char)(in[i] - 'A' + 'a') : in[i];
		if (!strchr(alphabet, c))
			return false;
		tmp[i] = c;
	}
	tmp[n] = '\0';
	memcpy(out, tmp, n + 1);
	return true;
}
