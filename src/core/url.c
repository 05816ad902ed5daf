/* SPDX-License-Identifier: Apache-2.0 */
/* Destination URL checks and query-string editing for links and redirects. */
#include "url.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define RF_DNS_NAME_MAX 253
#define RF_DNS_LABEL_MAX 63

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool unreserved(unsigned char c)
{
	return is_alpha((char)c) || is_digit((char)c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Browsers (WHATWG URL) read a host whose last label is a number ("1.2.3.4", "0x7f.1", "2130706433") as an IPv4
 * address in any of several notations, so such a host must be a plain dotted quad or it is refused: otherwise
 * refd and the browser would disagree about where the link goes. */
static bool ends_in_number(const char *h, size_t n)
{
	size_t start = n;
	while (start > 0 && h[start - 1] != '.')
		start--;
	const char *l = h + start;
	size_t ll = n - start;
	if (ll == 0)
		return false;
	size_t i = 0;
	if (ll >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X')) {
		for (i = 2; i < ll; i++)
			if (hex_value(l[i]) < 0)
				return false;
		return true;
	}
	for (i = 0; i < ll; i++)
		if (!is_digit(l[i]))
			return false;
	return true;
}

static bool ipv4_literal(const char *h, size_t n)
{
	char buf[INET_ADDRSTRLEN];
	unsigned char addr[4];
	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, h, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, addr) == 1;
}

static bool ipv6_literal(const char *h, size_t n)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned char addr[16];
	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, h, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, addr) == 1;
}

/* Checks a host that is not bracketed; a trailing dot has already been removed. */
static rf_status check_name(const char *h, size_t n, rf_err *err)
{
	if (n > RF_DNS_NAME_MAX)
		return rf_err_set(err, RF_EINVAL, NULL, "the host name is longer than %d characters", RF_DNS_NAME_MAX);
	size_t label = 0;
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? h[i] : '.';
		if (c == '.') {
			if (label == 0)
				return rf_err_set(err, RF_EINVAL, NULL, "the host '%.*s' has an empty label", (int)n,
						  h);
			if (h[i - 1] == '-')
				return rf_err_set(err, RF_EINVAL, NULL, "a label of the host '%.*s' ends with '-'",
						  (int)n, h);
			label = 0;
			continue;
		}
		if (!is_alpha(c) && !is_digit(c) && c != '-')
			return rf_err_set(err, RF_EINVAL, NULL,
					  "the host '%.*s' may only contain letters, digits, '-' and '.' (use punycode "
					  "for international names)",
					  (int)n, h);
		if (label == 0 && c == '-')
			return rf_err_set(err, RF_EINVAL, NULL, "a label of the host '%.*s' starts with '-'", (int)n,
					  h);
		if (++label > RF_DNS_LABEL_MAX)
			return rf_err_set(err, RF_EINVAL, NULL, "a label of the host is longer than %d characters",
					  RF_DNS_LABEL_MAX);
	}
	if (ends_in_number(h, n) && !ipv4_literal(h, n))
		return rf_err_set(err, RF_EINVAL, NULL, "the host '%.*s' is not a valid IPv4 address", (int)n, h);
	return RF_OK;
}

static rf_status check_port(const char *p, size_t n, rf_err *err)
{
	long port = 0;
	if (n == 0 || n > 5)
		return rf_err_set(err, RF_EINVAL, NULL, "the port must be a number from 1 to 65535");
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return rf_err_set(err, RF_EINVAL, NULL, "the port must be a number from 1 to 65535");
		port = port * 10 + (p[i] - '0');
	}
	if (port < 1 || port > 65535)
		return rf_err_set(err, RF_EINVAL, NULL, "the port must be a number from 1 to 65535");
	return RF_OK;
}

static rf_status check_url(const char *url, const char **host_out, size_t *host_n, rf_err *err)
{
	if (!url || !*url)
		return rf_err_set(err, RF_EINVAL, NULL, "a URL is required");
	size_t n = strnlen(url, RF_URL_MAX + 1);
	if (n > RF_URL_MAX)
		return rf_err_set(err, RF_EINVAL, NULL, "the URL is longer than %d bytes", RF_URL_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c >= 0x80)
			return rf_err_set(
			    err, RF_EINVAL, NULL,
			    "the URL contains non-ASCII characters; percent-encode them (and use punycode "
			    "for international host names)");
		if (c <= ' ' || c == 0x7f)
			return rf_err_set(err, RF_EINVAL, NULL, "the URL contains white space or control characters");
		if (c == '\\')
			return rf_err_set(err, RF_EINVAL, NULL, "the URL contains a backslash");
	}

	/* Only the exact "scheme://" form: "https:evil.com", "https:/evil.com" and "//evil.com" are read
	 * differently by different clients, so they are refused rather than guessed at. */
	size_t skip;
	if (n >= 7 && strncasecmp(url, "http://", 7) == 0)
		skip = 7;
	else if (n >= 8 && strncasecmp(url, "https://", 8) == 0)
		skip = 8;
	else
		return rf_err_set(err, RF_EINVAL, NULL, "the URL must be absolute and start with http:// or https://");

	const char *a = url + skip;
	size_t an = strcspn(a, "/?#");
	if (an == 0)
		return rf_err_set(err, RF_EINVAL, NULL, "the URL has no host after the scheme");
	if (memchr(a, '@', an))
		return rf_err_set(err, RF_EINVAL, NULL, "the URL must not contain a user name or password (user@host)");

	const char *h = a, *port = NULL;
	size_t hn;
	if (a[0] == '[') {
		const char *rb = memchr(a, ']', an);
		if (!rb)
			return rf_err_set(err, RF_EINVAL, NULL, "the IPv6 address in the URL has no closing ']'");
		h = a + 1;
		hn = (size_t)(rb - h);
		if (!ipv6_literal(h, hn))
			return rf_err_set(err, RF_EINVAL, NULL, "'%.*s' is not a valid IPv6 address", (int)hn, h);
		const char *after = rb + 1;
		if (after < a + an) {
			if (*after != ':')
				return rf_err_set(err, RF_EINVAL, NULL, "unexpected characters after the IPv6 address");
			port = after + 1;
		}
	} else {
		if (ipv6_literal(a, an))
			return rf_err_set(err, RF_EINVAL, NULL, "an IPv6 address in a URL must be in brackets");
		const char *colon = memchr(a, ':', an);
		hn = colon ? (size_t)(colon - a) : an;
		if (colon)
			port = colon + 1;
		if (hn > 0 && h[hn - 1] == '.')
			hn--;
		if (hn == 0)
			return rf_err_set(err, RF_EINVAL, NULL, "the URL has no host after the scheme");
		rf_status st = check_name(h, hn, err);
		if (st != RF_OK)
			return st;
	}
	if (port) {
		rf_status st = check_port(port, (size_t)(a + an - port), err);
		if (st != RF_OK)
			return st;
	}
	*host_out = h;
	*host_n = hn;
	return RF_OK;
}

rf_status rf_url_check(const char *url, char *host, size_t host_len, rf_err *err)
{
	if (host && host_len > 0)
		host[0] = '\0';
	const char *h = NULL;
	size_t hn = 0;
	rf_status st = check_url(url, &h, &hn, err);
	if (st != RF_OK || !host)
		return st;
	if (host_len <= hn)
		return rf_err_set(err, RF_EINVAL, NULL, "the host does not fit in %zu bytes", host_len);
	for (size_t i = 0; i < hn; i++)
		host[i] = lower(h[i]);
	host[hn] = '\0';
	return RF_OK;
}

/* True for the last label of a domain name: a top-level domain's letters, or xn-- and a punycode name. */
static bool tld_label(const char *l, size_t n)
{
	if (n > 4 && strncasecmp(l, "xn--", 4) == 0)
		return true;
	if (n < 2)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alpha(l[i]))
			return false;
	return true;
}

rf_status rf_url_check_domain(const char *name, rf_err *err)
{
	if (!name || !*name)
		return rf_err_set(err, RF_EINVAL, NULL, "a domain name is required");
	size_t n = strnlen(name, RF_DNS_NAME_MAX + 1);
	if (n > RF_DNS_NAME_MAX)
		return rf_err_set(err, RF_EINVAL, NULL, "a domain name has at most %d characters", RF_DNS_NAME_MAX);
	if (memchr(name, ':', n))
		return rf_err_set(err, RF_EINVAL, NULL,
				  "a port or an IPv6 address is not a domain name (IPv4 addresses are accepted)");
	if (ipv4_literal(name, n))
		return RF_OK;
	rf_status st = check_name(name, n, err);
	if (st != RF_OK)
		return st;
	size_t last = n;
	while (last > 0 && name[last - 1] != '.')
		last--;
	if (last == 0)
		return rf_err_set(err, RF_EINVAL, NULL,
				  "a single label is no domain a link goes to; give one such as example.com");
	if (!tld_label(name + last, n - last))
		return rf_err_set(err, RF_EINVAL, NULL,
				  "'%.63s' is not a top-level domain (letters only, or xn-- for punycode)",
				  name + last);
	return RF_OK;
}

bool rf_url_host_allowed(const char *host, const char *const *domains, size_t n)
{
	if (n == 0)
		return true;
	if (!host || !domains)
		return false;
	size_t hl = strnlen(host, RF_URL_HOST_MAX + 1);
	if (hl > RF_URL_HOST_MAX)
		return false;
	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	if (hl == 0)
		return false;
	/* "1.2.3.4" is not a subdomain of "3.4", nor is an IPv6 address of anything. */
	bool literal = memchr(host, ':', hl) != NULL || ends_in_number(host, hl);
	for (size_t i = 0; i < n; i++) {
		const char *d = domains[i];
		if (!d)
			continue;
		if (*d == '.')
			d++;
		size_t dl = strnlen(d, RF_URL_HOST_MAX + 1);
		if (dl > RF_URL_HOST_MAX)
			continue;
		if (dl > 0 && d[dl - 1] == '.')
			dl--;
		if (dl == 0)
			continue;
		if (hl == dl && strncasecmp(host, d, dl) == 0)
			return true;
		if (!literal && hl > dl && host[hl - dl - 1] == '.' && strncasecmp(host + hl - dl, d, dl) == 0)
			return true;
	}
	return false;
}

char *rf_url_encode(rf_arena *a, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	if (!a || !s)
		return NULL;
	size_t n = strlen(s), extra = 0;
	for (size_t i = 0; i < n; i++)
		if (!unreserved((unsigned char)s[i]))
			extra += 2;
	if (n > SIZE_MAX / 4)
		return NULL;
	char *out = rf_arena_alloc(a, n + extra + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0x0f];
		}
	}
	out[o] = '\0';
	return out;
}

char *rf_url_decode(rf_arena *a, const char *s, size_t n, bool plus, size_t *len)
{
	char *d = rf_arena_alloc(a, n + 1);
	if (!d)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = hex_value(s[i + 1])) >= 0 && (lo = hex_value(s[i + 2])) >= 0) {
			d[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			d[o++] = plus && s[i] == '+' ? ' ' : s[i];
		}
	}
	d[o] = '\0';
	if (len)
		*len = o;
	return d;
}

/* Decodes one character of a query component at *i: '+' is a space, %XX a byte. Returns -1 for a malformed
 * escape. */
static int decode_next(const char *s, size_t n, size_t *i)
{
	char c = s[*i];
	if (c == '+') {
		(*i)++;
		return ' ';
	}
	if (c != '%') {
		(*i)++;
		return (unsigned char)c;
	}
	if (n - *i < 3)
		return -1;
	int hi = hex_value(s[*i + 1]), lo = hex_value(s[*i + 2]);
	if (hi < 0 || lo < 0)
		return -1;
	*i += 3;
	return hi * 16 + lo;
}

/* True when the raw query component s[0..n) decodes to exactly name. */
static bool key_equals(const char *s, size_t n, const char *name)
{
	size_t i = 0, j = 0;
	while (i < n) {
		int c = decode_next(s, n, &i);
		if (c <= 0 || name[j] == '\0' || (unsigned char)name[j] != (unsigned)c)
			return false;
		j++;
	}
	return name[j] == '\0';
}

/* Locates the query of url: between the first '?' and the '#' that starts the fragment. */
static bool find_query(const char *url, const char **q, size_t *qn)
{
	size_t end = strcspn(url, "#");
	const char *mark = memchr(url, '?', end);
	if (!mark)
		return false;
	*q = mark + 1;
	*qn = end - (size_t)(mark + 1 - url);
	return true;
}

const char *rf_url_query_get(rf_arena *a, const char *url, const char *name)
{
	const char *q;
	size_t qn;
	if (!a || !url || !name || !*name || !find_query(url, &q, &qn))
		return NULL;
	size_t pos = 0;
	while (pos < qn) {
		const char *seg = q + pos;
		const char *amp = memchr(seg, '&', qn - pos);
		size_t sn = amp ? (size_t)(amp - seg) : qn - pos;
		pos += sn + 1;
		const char *eq = memchr(seg, '=', sn);
		size_t kn = eq ? (size_t)(eq - seg) : sn;
		if (sn == 0 || !key_equals(seg, kn, name))
			continue;
		const char *v = eq ? eq + 1 : seg + sn;
		size_t vn = (size_t)(seg + sn - v);
		char *out = rf_arena_alloc(a, vn + 1);
		if (!out)
			return NULL;
		size_t i = 0, o = 0;
		while (i < vn) {
			int c = decode_next(v, vn, &i);
			if (c <= 0)
				return NULL;
			out[o++] = (char)c;
		}
		out[o] = '\0';
		return out;
	}
	return NULL;
}

static void put(char *out, size_t *o, const char *s, size_t n)
{
	memcpy(out + *o, s, n);
	*o += n;
}

char *rf_url_add_param(rf_arena *a, const char *url, const char *name, const char *value)
{
	if (!a || !url || !name || !*name || !value)
		return NULL;
	char *enc = rf_url_encode(a, value);
	if (!enc)
		return NULL;
	size_t ul = strlen(url), nl = strlen(name), el = strlen(enc);
	if (ul > SIZE_MAX / 4 || nl > SIZE_MAX / 4 || el > SIZE_MAX / 4)
		return NULL;
	/* Replacing a parameter never makes the result longer than appending one. */
	char *out = rf_arena_alloc(a, ul + nl + el + 3);
	if (!out)
		return NULL;

	size_t end = strcspn(url, "#");
	const char *mark = memchr(url, '?', end);
	size_t base = mark ? (size_t)(mark - url) : end;
	size_t o = 0;
	put(out, &o, url, base);
	char sep = '?';
	bool done = false;
	if (mark) {
		const char *q = mark + 1;
		size_t qn = end - base - 1, pos = 0;
		while (pos < qn) {
			const char *seg = q + pos;
			const char *amp = memchr(seg, '&', qn - pos);
			size_t sn = amp ? (size_t)(amp - seg) : qn - pos;
			pos += sn + 1;
			if (sn == 0)
				continue;
			const char *eq = memchr(seg, '=', sn);
			size_t kn = eq ? (size_t)(eq - seg) : sn;
			if (key_equals(seg, kn, name)) {
				if (done)
					continue;
				done = true;
				out[o++] = sep;
				put(out, &o, name, nl);
				out[o++] = '=';
				put(out, &o, enc, el);
			} else {
				out[o++] = sep;
				put(out, &o, seg, sn);
			}
			sep = '&';
		}
	}
	if (!done) {
		out[o++] = sep;
		put(out, &o, name, nl);
		out[o++] = '=';
		put(out, &o, enc, el);
	}
	put(out, &o, url + end, ul - end);
	out[o] = '\0';
	return out;
}
