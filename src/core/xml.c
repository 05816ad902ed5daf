/* SPDX-License-Identifier: Apache-2.0 */
/* The bounded XML reader for SOAP messages (see xml.h): recursive descent over the input, depth-capped, building
 * the tree in the arena. */
#include "xml.h"

#include <string.h>

/* The longest text one element may hold. */
#define MAX_TEXT (256u * 1024u)

typedef struct {
	const char *s;
	size_t i, len;
	rf_arena *a;
	size_t nodes;
	rf_err *err;
} parser;

static rf_status fail(parser *p, const char *what)
{
	return rf_err_set(p->err, RF_EINVAL, "body", "the body is not XML refd reads: %s (at byte %zu)", what, p->i);
}

static bool starts(const parser *p, const char *lit)
{
	size_t n = strlen(lit);
	return p->len - p->i >= n && memcmp(p->s + p->i, lit, n) == 0;
}

static bool ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(parser *p)
{
	while (p->i < p->len && ws(p->s[p->i]))
		p->i++;
}

static bool name_char(unsigned char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || c >= 0x80)
		return true;
	return !first && ((c >= '0' && c <= '9') || c == '-' || c == '.');
}

/* A name, split at its first ':' into prefix and local name. */
static rf_status read_name(parser *p, char **prefix, char **local, char **full)
{
	size_t start = p->i;
	while (p->i < p->len && name_char((unsigned char)p->s[p->i], p->i == start))
		p->i++;
	size_t n = p->i - start;
	if (n == 0 || n > 256)
		return fail(p, "a name was expected");
	const char *colon = memchr(p->s + start, ':', n);
	*full = rf_arena_strndup(p->a, p->s + start, n);
	if (colon && (colon == p->s + start || colon == p->s + start + n - 1 ||
		      memchr(colon + 1, ':', (size_t)(p->s + start + n - (colon + 1)))))
		return fail(p, "a name with an empty prefix or local part, or more than one ':'");
	*prefix = colon ? rf_arena_strndup(p->a, p->s + start, (size_t)(colon - (p->s + start))) : NULL;
	*local = colon ? rf_arena_strndup(p->a, colon + 1, (size_t)(p->s + start + n - (colon + 1))) : *full;
	if (!*full || !*local || (colon && !*prefix))
		return rf_err_set(p->err, RF_ENOMEM, NULL, "out of memory");
	return RF_OK;
}

/* Appends code point cp as UTF-8. */
static bool put_utf8(char *out, size_t *o, unsigned long cp)
{
	if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return false;
	if (cp < 0x80) {
		out[(*o)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*o)++] = (char)(0xC0 | (cp >> 6));
		out[(*o)++] = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		out[(*o)++] = (char)(0xE0 | (cp >> 12));
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[(*o)++] = (char)(0x80 | (cp & 0x3F));
	} else {
		out[(*o)++] = (char)(0xF0 | (cp >> 18));
		out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[(*o)++] = (char)(0x80 | (cp & 0x3F));
	}
	return true;
}

/* Decodes raw[0..n) (character data or an attribute value) into out, which holds n + 1 bytes: a reference never
 * takes more room decoded than written. *o is the length written. */
static rf_status decode(parser *p, const char *raw, size_t n, char *out, size_t *o)
{
	*o = 0;
	for (size_t i = 0; i < n;) {
		if (raw[i] != '&') {
			out[(*o)++] = raw[i++];
			continue;
		}
		const char *semi = memchr(raw + i, ';', n - i < 12 ? n - i : 12);
		if (!semi)
			return fail(p, "a reference without its ';'");
		size_t rl = (size_t)(semi - (raw + i)) + 1;
		static const struct {
			const char *name;
			char c;
		} named[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
		bool done = false;
		for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
			if (strlen(named[k].name) == rl && memcmp(raw + i, named[k].name, rl) == 0) {
				out[(*o)++] = named[k].c;
				done = true;
				break;
			}
		}
		if (!done) {
			if (rl < 4 || raw[i + 1] != '#')
				return fail(p, "an entity other than the five XML defines");
			bool hex = raw[i + 2] == 'x';
			unsigned long cp = 0;
			size_t digits = 0;
			for (size_t k = i + (hex ? 3 : 2); k < i + rl - 1; k++, digits++) {
				char c = raw[k];
				int v = c >= '0' && c <= '9'          ? c - '0'
					: hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
					: hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
								      : -1;
				if (v < 0 || digits >= 8)
					return fail(p, "a malformed character reference");
				cp = cp * (hex ? 16 : 10) + (unsigned long)v;
			}
			if (digits == 0 || !put_utf8(out, o, cp))
				return fail(p, "a character reference to no character");
		}
		i += rl;
	}
	out[*o] = '\0';
	return RF_OK;
}

/* Skips a comment or processing instruction at the cursor; false when there is none. */
static rf_status skip_misc(parser *p, bool *skipped)
{
	*skipped = false;
	const char *end = NULL;
	if (starts(p, "<!--"))
		end = "-->";
	else if (starts(p, "<?"))
		end = "?>";
	else if (starts(p, "<!"))
		return fail(p, "a DOCTYPE or declaration (refused: no DTD is read)");
	else
		return RF_OK;
	const char *at = memmem(p->s + p->i + 2, p->len - p->i - 2, end, strlen(end));
	if (!at)
		return fail(p, "an unclosed comment or processing instruction");
	p->i = (size_t)(at - p->s) + strlen(end);
	*skipped = true;
	return RF_OK;
}

typedef struct {
	char *buf;
	size_t len, cap;
} text_buf;

static rf_status add_text(parser *p, text_buf *t, const char *s, size_t n)
{
	if (t->len + n > MAX_TEXT)
		return fail(p, "an element's text is too long");
	while (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char *grown = rf_arena_alloc(p->a, cap);
		if (!grown)
			return rf_err_set(p->err, RF_ENOMEM, NULL, "out of memory");
		if (t->len)
			memcpy(grown, t->buf, t->len);
		t->buf = grown;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return RF_OK;
}

static rf_status element(parser *p, int depth, rf_xml_node **out);

static rf_status content(parser *p, int depth, rf_xml_node *node, const char *full)
{
	text_buf t = {0};
	size_t cap = 0;
	for (;;) {
		if (p->i >= p->len)
			return fail(p, "an element without its end tag");
		if (starts(p, "</")) {
			p->i += 2;
			char *prefix, *local, *name;
			if (read_name(p, &prefix, &local, &name) != RF_OK)
				return p->err->status;
			if (strcmp(name, full) != 0)
				return fail(p, "an end tag that does not match its start tag");
			skip_ws(p);
			if (p->i >= p->len || p->s[p->i] != '>')
				return fail(p, "an end tag without its '>'");
			p->i++;
			node->text = t.buf ? t.buf : rf_arena_strdup(p->a, "");
			return node->text ? RF_OK : rf_err_set(p->err, RF_ENOMEM, NULL, "out of memory");
		}
		if (starts(p, "<![CDATA[")) {
			const char *at = memmem(p->s + p->i + 9, p->len - p->i - 9, "]]>", 3);
			if (!at)
				return fail(p, "an unclosed CDATA section");
			if (add_text(p, &t, p->s + p->i + 9, (size_t)(at - (p->s + p->i + 9))) != RF_OK)
				return p->err->status;
			p->i = (size_t)(at - p->s) + 3;
			continue;
		}
		bool skipped = false;
		if (skip_misc(p, &skipped) != RF_OK)
			return p->err->status;
		if (skipped)
			continue;
		if (p->s[p->i] == '<') {
			rf_xml_node *child = NULL;
			if (element(p, depth + 1, &child) != RF_OK)
				return p->err->status;
			rf_xml_node **grown =
			    rf_arena_grow(p->a, node->children, node->n, &cap, sizeof *node->children, 8);
			if (!grown)
				return rf_err_set(p->err, RF_ENOMEM, NULL, "out of memory");
			node->children = grown;
			node->children[node->n++] = child;
			continue;
		}
		const char *lt = memchr(p->s + p->i, '<', p->len - p->i);
		size_t n = lt ? (size_t)(lt - (p->s + p->i)) : p->len - p->i;
		char *dec = rf_arena_alloc(p->a, n + 1);
		size_t o = 0;
		if (!dec)
			return rf_err_set(p->err, RF_ENOMEM, NULL, "out of memory");
		if (memchr(p->s + p->i, '>', n) && memmem(p->s + p->i, n, "]]>", 3))
			return fail(p, "']]>' in text");
		if (decode(p, p->s + p->i, n, dec, &o) != RF_OK || add_text(p, &t, dec, o) != RF_OK)
			return p->err->status;
		p->i += n;
	}
}

static rf_status element(parser *p, int depth, rf_xml_node **out)
{
	if (depth > RF_XML_MAX_DEPTH)
		return fail(p, "elements nested too deep");
	if (++p->nodes > RF_XML_MAX_NODES)
		return fail(p, "too many elements");
	rf_xml_node *node = rf_arena_alloc(p->a, sizeof *node);
	if (!node)
		return rf_err_set(p->err, RF_ENOMEM, NULL, "out of memory");
	p->i++; /* '<' */
	char *full;
	if (read_name(p, &node->prefix, &node->name, &full) != RF_OK)
		return p->err->status;
	for (;;) {
		size_t before = p->i;
		skip_ws(p);
		if (p->i >= p->len)
			return fail(p, "an unclosed start tag");
		if (starts(p, "/>")) {
			p->i += 2;
			node->text = rf_arena_strdup(p->a, "");
			*out = node;
			return node->text ? RF_OK : rf_err_set(p->err, RF_ENOMEM, NULL, "out of memory");
		}
		if (p->s[p->i] == '>') {
			p->i++;
			*out = node;
			return content(p, depth, node, full);
		}
		if (p->i == before)
			return fail(p, "attributes without space between them");
		if (node->nattrs == RF_XML_MAX_ATTRS)
			return fail(p, "too many attributes");
		rf_xml_attr *at = &node->attrs[node->nattrs];
		char *afull;
		if (read_name(p, &at->prefix, &at->name, &afull) != RF_OK)
			return p->err->status;
		for (size_t k = 0; k < node->nattrs; k++)
			if (strcmp(node->attrs[k].name, at->name) == 0 &&
			    ((!node->attrs[k].prefix && !at->prefix) ||
			     (node->attrs[k].prefix && at->prefix && strcmp(node->attrs[k].prefix, at->prefix) == 0)))
				return fail(p, "an attribute given twice");
		skip_ws(p);
		if (p->i >= p->len || p->s[p->i] != '=')
			return fail(p, "an attribute without '='");
		p->i++;
		skip_ws(p);
		if (p->i >= p->len || (p->s[p->i] != '"' && p->s[p->i] != '\''))
			return fail(p, "an attribute value without quotes");
		char q = p->s[p->i++];
		const char *end = memchr(p->s + p->i, q, p->len - p->i);
		if (!end)
			return fail(p, "an unclosed attribute value");
		size_t n = (size_t)(end - (p->s + p->i));
		if (memchr(p->s + p->i, '<', n))
			return fail(p, "'<' in an attribute value");
		at->value = rf_arena_alloc(p->a, n + 1);
		size_t o = 0;
		if (!at->value)
			return rf_err_set(p->err, RF_ENOMEM, NULL, "out of memory");
		if (decode(p, p->s + p->i, n, at->value, &o) != RF_OK)
			return p->err->status;
		p->i += n + 1;
		node->nattrs++;
	}
}

rf_status rf_xml_parse(const char *text, size_t len, rf_arena *a, rf_xml_node **root, rf_err *err)
{
	*root = NULL;
	parser p = {text ? text : "", 0, text ? len : 0, a, 0, err};
	if (p.len > RF_XML_MAX_INPUT)
		return fail(&p, "the document is too large");
	if (memchr(p.s, '\0', p.len))
		return fail(&p, "a NUL byte");
	if (starts(&p, "\xEF\xBB\xBF"))
		p.i += 3;
	for (;;) {
		skip_ws(&p);
		bool skipped = false;
		if (skip_misc(&p, &skipped) != RF_OK)
			return err->status;
		if (!skipped)
			break;
	}
	if (p.i >= p.len || p.s[p.i] != '<')
		return fail(&p, "no root element");
	if (element(&p, 1, root) != RF_OK) {
		*root = NULL;
		return err->status;
	}
	for (;;) {
		skip_ws(&p);
		if (p.i >= p.len)
			return RF_OK;
		bool skipped = false;
		rf_status rc = skip_misc(&p, &skipped);
		if (rc == RF_OK && !skipped)
			rc = fail(&p, "content after the root element");
		if (rc != RF_OK) {
			*root = NULL;
			return rc;
		}
	}
}

const rf_xml_node *rf_xml_child(const rf_xml_node *n, const char *name)
{
	for (size_t i = 0; n && i < n->n; i++)
		if (strcmp(n->children[i]->name, name) == 0)
			return n->children[i];
	return NULL;
}

const char *rf_xml_attr_get(const rf_xml_node *n, const char *name)
{
	for (size_t i = 0; n && i < n->nattrs; i++)
		if (strcmp(n->attrs[i].name, name) == 0)
			return n->attrs[i].value;
	return NULL;
}
