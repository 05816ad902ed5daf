/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the SOAP XML refd reads (Salesforce's Outbound Messaging): the bounded XML reader (a tree it
 * returns keeps its caps: depth, attributes, names without ':' in the local part) and the message reader on top
 * (1 to 100 notifications, each with an Id and a type, every field named). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/crm.h"
#include "core/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const rf_xml_node *n, int depth)
{
	if (depth > RF_XML_MAX_DEPTH || !n->name || !*n->name || strchr(n->name, ':') || !n->text ||
	    n->nattrs > RF_XML_MAX_ATTRS)
		abort();
	for (size_t i = 0; i < n->nattrs; i++)
		if (!n->attrs[i].name || !n->attrs[i].value || strchr(n->attrs[i].name, ':'))
			abort();
	for (size_t i = 0; i < n->n; i++)
		check(n->children[i], depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 262144)
		return 0;
	rf_arena a;
	rf_arena_init(&a, 64 << 20);
	rf_err err = {0};
	rf_xml_node *root = NULL;
	if (rf_xml_parse((const char *)data, size, &a, &root, &err) == RF_OK) {
		if (!root)
			abort();
		check(root, 1);
	} else if (root || !err.message[0]) {
		abort();
	}
	rf_salesforce_message m;
	memset(&err, 0, sizeof err);
	if (rf_salesforce_parse((const char *)data, size, &a, &m, &err) == RF_OK) {
		if (m.n == 0 || m.n > RF_SALESFORCE_MAX_NOTIFICATIONS || !m.organization_id)
			abort();
		for (size_t i = 0; i < m.n; i++) {
			if (!m.items[i].id || !m.items[i].type)
				abort();
			for (size_t k = 0; k < m.items[i].n; k++)
				if (!m.items[i].fields[k].name || !m.items[i].fields[k].value)
					abort();
		}
	}
	rf_arena_reset(&a);
	return 0;
}
