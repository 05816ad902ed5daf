/* SPDX-License-Identifier: Apache-2.0 */
/* Email normalisation, public ids and other text checks. */
#include "text.h"

#include "secret.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

rf_status rf_email_normalize(const char *in, char *out, size_t len)
{
	if (!in || len < RF_EMAIL_MAX + 1)
		return RF_EINVAL;
	while (is_space(*in))
		in++;
	size_t n = strlen(in);
	while (n > 0 && is_space(in[n - 1]))
		n--;
	if (n == 0 || n > RF_EMAIL_MAX)
		return RF_EINVAL;
	const char *at = NULL;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '@') {
			if (at)
				return RF_EINVAL;
			at = in + i;
		}
		out[i] = c;
	}
	out[n] = '\0';
	if (!at)
		return RF_EINVAL;
	size_t local = (size_t)(at - in);
	if (local == 0 || local > 64)
		return RF_EINVAL;
	for (size_t i = 0; i < local; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c <= ' ' || c == '"' || c == '(' || c == ')' || c == ',' || c == ':' || c == ';' || c == '<' ||
		    c == '>' || c == '[' || c == '\\' || c == ']' || c == 0x7f)
			return RF_EINVAL;
	}
	if (out[0] == '.' || out[local - 1] == '.')
		return RF_EINVAL;
	const char *d = out + local + 1;
	size_t dl = n - local - 1, label = 0, labels = 0;
	if (dl == 0)
		return RF_EINVAL;
	for (size_t i = 0; i <= dl; i++) {
		char c = i < dl ? d[i] : '.';
		if (c == '.') {
			if (label == 0 || label > 63 || d[i - 1] == '-')
				return RF_EINVAL;
			labels++;
			label = 0;
			continue;
		}
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
		if (!ok || (label == 0 && c == '-'))
			return RF_EINVAL;
		label++;
	}
	return labels >= 2 ? RF_OK : RF_EINVAL;
}

const char *rf_email_domain(const char *email)
{
	const char *at = email ? strchr(email, '@') : NULL;
	return at ? at + 1 : NULL;
}

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void rf_id_new(const char *prefix, char *out, size_t len)
{
	size_t pl = strlen(prefix);
	if (len < pl + RF_ID_RANDOM_LEN + 2) {
		if (len)
			out[0] = '\0';
		return;
	}
	memcpy(out, prefix, pl);
	out[pl] = '_';
	/* Bytes below 248 (4 x 62) map to base62 without bias; the rest are skipped. */
	unsigned char rnd[48];
	size_t used = sizeof rnd;
	for (size_t i = 0; i < RF_ID_RANDOM_LEN;) {
		if (used == sizeof rnd) {
			rf_random_fast(rnd, sizeof rnd);
			used = 0;
		}
		unsigned char b = rnd[used++];
		if (b < 248)
			out[pl + 1 + i++] = b62[b % 62];
	}
	out[pl + 1 + RF_ID_RANDOM_LEN] = '\0';
}

char *rf_id_new_arena(rf_arena *a, const char *prefix)
{
	size_t len = strlen(prefix) + RF_ID_RANDOM_LEN + 2;
	char *p = rf_arena_alloc(a, len);
	if (p)
		rf_id_new(prefix, p, len);
	return p;
}

bool rf_id_valid(const char *s, const char *prefix)
{
	size_t pl = strlen(prefix);
	if (!s || strncmp(s, prefix, pl) != 0 || s[pl] != '_')
		return false;
	size_t n = 0;
	for (const char *p = s + pl + 1; *p; p++, n++) {
		char c = *p;
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
			return false;
	}
	return n >= 1 && n <= 64;
}

void rf_random_token(size_t nbytes, char *out, size_t len)
{
	unsigned char buf[64];
	if (nbytes > sizeof buf)
		nbytes = sizeof buf;
	randombytes_buf(buf, nbytes);
	sodium_bin2base64(out, len, buf, nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(buf, sizeof buf);
}

bool rf_param_name_valid(const char *s)
{
	size_t n = 0;
	for (; s && s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return n >= 1 && n <= 32;
}

/* The length of the well-formed UTF-8 character at p (1 to 4), or 0 when the bytes there are not one. */
static size_t utf8_char(const unsigned char *p)
{
	unsigned c = *p;
	size_t extra;
	unsigned cp;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		extra = 1;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		extra = 2;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		extra = 3;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i <= extra; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return extra + 1;
}

char *rf_utf8_clip_arena(rf_arena *a, const char *s, size_t max)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *out = rf_arena_alloc(a, (n < max ? n : max) + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t len = utf8_char(p);
		if (o + (len ? len : 1) > max)
			break;
		if (len) {
			memcpy(out + o, p, len);
			o += len;
			p += len;
		} else {
			out[o++] = '?';
			p++;
		}
	}
	out[o] = '\0';
	return out;
}

bool rf_text_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		size_t extra;
		unsigned cp;
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return false;
			p++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			extra = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			extra = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			extra = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (size_t i = 1; i <= extra; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		/* Refuse overlong forms, surrogates and code points past Unicode's range. */
		if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		p += extra + 1;
	}
	return true;
}

char *rf_trim_arena(rf_arena *a, const char *s)
{
	if (!s)
		return NULL;
	while (is_space(*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		n--;
	return rf_arena_strndup(a, s, n);
}

char *rf_lower_arena(rf_arena *a, const char *s)
{
	char *p = rf_arena_strdup(a, s);
	for (char *q = p; q && *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	return p;
}

bool rf_buf_room(char **buf, size_t *len, size_t *cap, size_t need)
{
	if (*len + need < *cap)
		return true;
	size_t ncap = (*cap + need) * 2;
	char *nb = realloc(*buf, ncap);
	if (!nb)
		return false;
	*buf = nb;
	*cap = ncap;
	return true;
}

size_t rf_json_escape(char *buf, size_t len, const char *s)
{
	size_t o = 0;
	for (; s && *s && o + 7 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(buf + o, len - o, "\\u%04x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o] = '\0';
	return o;
}
