/* SPDX-License-Identifier: Apache-2.0 */
/* A small, bounded XML reader for the SOAP messages refd takes (Salesforce's Outbound Messaging): elements with
 * their attributes and text, namespace prefixes kept apart from local names, the five predefined entities and
 * character references, comments, CDATA and the XML declaration. No DTD is read (a DOCTYPE is refused), so no
 * entity expands and nothing is fetched; depth, element count and text sizes are capped. */
#ifndef RF_XML_H
#define RF_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "status.h"

#define RF_XML_MAX_DEPTH 32
#define RF_XML_MAX_NODES 20000
#define RF_XML_MAX_ATTRS 16
#define RF_XML_MAX_INPUT (4u << 20)

typedef struct {
	char *prefix; /* "xsi", or NULL */
	char *name;   /* the local name: "nil" */
	char *value;  /* with references resolved */
} rf_xml_attr;

typedef struct rf_xml_node rf_xml_node;
struct rf_xml_node {
	char *prefix;
	char *name;
	rf_xml_attr attrs[RF_XML_MAX_ATTRS];
	size_t nattrs;
	char *text; /* the element's own character data, concatenated ("" when none) */
	rf_xml_node **children;
	size_t n;
};

/* Reads a document into a tree in the arena: *root is its one element. RF_EINVAL (err's field "body") for
 * anything that is not well-formed in the subset above or goes beyond a cap. */
rf_status rf_xml_parse(const char *text, size_t len, rf_arena *a, rf_xml_node **root, rf_err *err);

/* The first child of n whose local name is name, or NULL. */
const rf_xml_node *rf_xml_child(const rf_xml_node *n, const char *name);

/* The value of n's attribute with this local name, or NULL. */
const char *rf_xml_attr_get(const rf_xml_node *n, const char *name);

#endif
