/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for what the CRMs send, read without I/O: HubSpot's v3 signature (vectors from the fixtures' sign.js,
 * which HubSpot's own SDK accepts), its URI decoding, its batches, Pipedrive's events and Basic authentication, and
 * CRM amounts in exact minor units; the bounded XML reader and Salesforce's Outbound Messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../src/core/crm.h"
#include "../../src/core/money.h"
#include "../../src/core/secret.h"
#include "../../src/core/xml.h"

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static char buf[8192];
	*len = fread(buf, 1, sizeof buf - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void signature_vectors(void **state)
{
	(void)state;
	rf_arena a;
	rf_arena_init(&a, 1 << 20);
	size_t len = 0;
	const char *body = read_file("tests/fixtures/hubspot/03_webhook_deal_propertychange_closedwon.json", &len);
	const char *url = "https://refd.example.com/api/v1/integrations/hubspot/webhook?connection=conn_1%3Ab";
	char sig[RF_HUBSPOT_SIG_LEN];
	rf_hubspot_sign_v3("test-secret", "POST", url, body, len, "1767571200789", &a, sig);
	assert_string_equal(sig, "KIMA0oxMgglbjkMkv+oiKs4wWgSQZgAqp3Iqw9QrdVo=");
	/* %2F and %40 are decoded before signing, %7E is not. */
	rf_hubspot_sign_v3("s", "POST", "https://a.example/p?q=%2F%40%7E", "x", 1, "1", &a, sig);
	assert_string_equal(sig, "KgqSHmMAda3ihW03Au/Dv9RHbev4VZBjroySSQV/wVk=");
	bool stale = false;
	int64_t now = 1767571200789LL + 1000;
	assert_true(rf_hubspot_verify_v3("test-secret", "POST", url, body, len, "1767571200789",
					 "KIMA0oxMgglbjkMkv+oiKs4wWgSQZgAqp3Iqw9QrdVo=", now, &a, &stale));
	/* A byte changed, another secret, another URL, a stale or malformed timestamp. */
	assert_false(rf_hubspot_verify_v3("test-secret", "POST", url, body, len - 1, "1767571200789",
					  "KIMA0oxMgglbjkMkv+oiKs4wWgSQZgAqp3Iqw9QrdVo=", now, &a, &stale));
	assert_false(stale);
	assert_false(rf_hubspot_verify_v3("other", "POST", url, body, len, "1767571200789",
					  "KIMA0oxMgglbjkMkv+oiKs4wWgSQZgAqp3Iqw9QrdVo=", now, &a, &stale));
	assert_false(rf_hubspot_verify_v3("test-secret", "POST", "https://refd.example.com/", body, len,
					  "1767571200789", "KIMA0oxMgglbjkMkv+oiKs4wWgSQZgAqp3Iqw9QrdVo=", now, &a,
					  &stale));
	assert_false(rf_hubspot_verify_v3("test-secret", "POST", url, body, len, "1767571200789",
					  "KIMA0oxMgglbjkMkv+oiKs4wWgSQZgAqp3Iqw9QrdVo=", now + RF_HUBSPOT_WINDOW_MS,
					  &a, &stale));
	assert_true(stale);
	assert_false(
	    rf_hubspot_verify_v3("test-secret", "POST", url, body, len, "17675712007x9", "x", now, &a, &stale));
	assert_false(rf_hubspot_verify_v3("test-secret", "POST", url, body, len, "", "x", now, &a, &stale));
	rf_arena_reset(&a);
}

static void uri_decoding(void **state)
{
	(void)state;
	rf_arena a;
	rf_arena_init(&a, 1 << 20);
	assert_string_equal(rf_hubspot_uri_decode(&a, "http://h/a%3ab%2F%3F%40%21%24%27%28%29%2A%2C%3B%20%"),
			    "http://h/a:b/?@!$'()*,;%20%");
	assert_string_equal(rf_hubspot_uri_decode(&a, "%2"), "%2");
	rf_arena_reset(&a);
}

static void batches(void **state)
{
	(void)state;
	rf_arena a;
	rf_arena_init(&a, 1 << 20);
	rf_err err = {0};
	size_t len = 0, n = 0;
	rf_hubspot_event *ev = NULL;
	const char *body = read_file("tests/fixtures/hubspot/04_webhook_batch_with_retry.json", &len);
	assert_int_equal(rf_hubspot_parse(body, len, &a, &ev, &n, &err), RF_OK);
	assert_int_equal(n, 2);
	assert_string_equal(ev[0].type, "deal.propertyChange");
	assert_string_equal(ev[0].object_id, "39571234567");
	assert_string_equal(ev[0].property, "dealstage");
	assert_string_equal(ev[0].value, "closedwon");
	assert_int_equal(ev[0].attempt, 1);
	assert_string_equal(ev[0].dedupe_key, "24681357:2601003:4120000003:39571234567:1767571200789");
	assert_string_equal(ev[1].type, "contact.creation");
	assert_null(ev[1].property);
	/* The older name of the type, and ids sent as strings of digits. */
	const char *old = "[{\"objectId\":\"7\",\"eventId\":8,\"eventType\":\"contact.creation\"}]";
	assert_int_equal(rf_hubspot_parse(old, strlen(old), &a, &ev, &n, &err), RF_OK);
	assert_string_equal(ev[0].type, "contact.creation");
	assert_string_equal(ev[0].dedupe_key, "::8:7:0");
	const char *bad[] = {"",
			     "{}",
			     "[]",
			     "[1]",
			     "[{\"objectId\":1}]",
			     "[{\"eventId\":1}]",
			     "[{\"objectId\":\"x1\",\"eventId\":1}]",
			     "[{\"objectId\":1.5,\"eventId\":1}]",
			     "[{\"objectId\":1,\"eventId\":1,\"objectId\":2}]"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&err, 0, sizeof err);
		assert_int_equal(rf_hubspot_parse(bad[i], strlen(bad[i]), &a, &ev, &n, &err), RF_EINVAL);
		assert_true(err.field[0] != '\0');
	}
	rf_arena_reset(&a);
}

static void amounts(void **state)
{
	(void)state;
	int64_t v = 0;
	char cur[4];
	assert_int_equal(rf_crm_amount("12000.00", "usd", &v, cur), RF_OK);
	assert_int_equal(v, 1200000);
	assert_string_equal(cur, "USD");
	assert_int_equal(rf_crm_amount("12000.0", "EUR", &v, cur), RF_OK);
	assert_int_equal(v, 1200000);
	assert_int_equal(rf_crm_amount("12000.0", "JPY", &v, cur), RF_OK);
	assert_int_equal(v, 12000);
	assert_int_equal(rf_crm_amount("4900.5", "usd", &v, cur), RF_OK);
	assert_int_equal(v, 490050);
	assert_int_equal(rf_crm_amount("1.234", "BHD", &v, cur), RF_OK);
	assert_int_equal(v, 1234);
	/* No rounding, no sign, nothing that is not a positive decimal, a known currency, a bound. */
	const char *bad[] = {"12000.005", "-5", "+5", "0", "0.00", "", "1e3", "12,000", "abc", "."};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(rf_crm_amount(bad[i], "usd", &v, cur), RF_EINVAL);
	assert_int_equal(rf_crm_amount("1", "XYZ", &v, cur), RF_EINVAL);
	assert_int_equal(rf_crm_amount(NULL, "usd", &v, cur), RF_EINVAL);
	assert_int_equal(rf_crm_amount("99999999999999999999", "usd", &v, cur), RF_EOVERFLOW);
	assert_int_equal(rf_crm_amount("23058430092136939.52", "usd", &v, cur), RF_EOVERFLOW);
	assert_int_equal(rf_crm_amount("23058430092136939.51", "usd", &v, cur), RF_OK);
	assert_int_equal(v, RF_MONEY_MAX);
}

static void pipedrive_events(void **state)
{
	(void)state;
	rf_arena a;
	rf_arena_init(&a, 1 << 20);
	rf_err err = {0};
	size_t len = 0;
	rf_pipedrive_event ev;
	const char *key = "a4f1c2e3b5d6978812ab34cd56ef7890a1b2c3d4";
	const char *body = read_file("tests/fixtures/pipedrive/01_webhook_person_create.json", &len);
	assert_int_equal(rf_pipedrive_parse(body, len, key, NULL, &a, &ev, &err), RF_OK);
	assert_string_equal(ev.id, "5b9e2c3a-1f4d-4e6a-8b7c-000000000101");
	assert_string_equal(ev.entity, "person");
	assert_string_equal(ev.action, "create");
	assert_string_equal(ev.object_id, "1201");
	assert_string_equal(ev.email, "pat@example.com");
	assert_string_equal(ev.code, "ACME10");
	assert_null(ev.click);
	assert_int_equal(ev.attempt, 1);
	assert_int_equal(ev.at, 1767225600412LL);
	body = read_file("tests/fixtures/pipedrive/04_webhook_deal_change_won_attempt2.json", &len);
	assert_int_equal(rf_pipedrive_parse(body, len, NULL, NULL, &a, &ev, &err), RF_OK);
	assert_string_equal(ev.status, "won");
	assert_string_equal(ev.amount, "12000");
	assert_string_equal(ev.currency, "EUR");
	assert_string_equal(ev.person_id, "1201");
	assert_string_equal(ev.stage, "2");
	assert_int_equal(ev.attempt, 2);
	assert_null(ev.code);
	/* A fraction reads as its shortest decimal; what is no plain amount is left out. */
	const char *frac =
	    "{\"meta\":{\"id\":\"1\",\"action\":\"change\",\"entity\":\"deal\",\"timestamp\":1767225600},"
	    "\"data\":{\"id\":5,\"value\":4900.5}}";
	assert_int_equal(rf_pipedrive_parse(frac, strlen(frac), NULL, NULL, &a, &ev, &err), RF_OK);
	assert_string_equal(ev.amount, "4900.5");
	assert_int_equal(ev.at, 1767225600000LL);
	const char *huge =
	    "{\"meta\":{\"id\":\"1\",\"action\":\"change\",\"entity\":\"deal\"},\"data\":{\"value\":1e30}}";
	assert_int_equal(rf_pipedrive_parse(huge, strlen(huge), NULL, NULL, &a, &ev, &err), RF_OK);
	assert_null(ev.amount);
	const char *bad[] = {"",
			     "[]",
			     "{}",
			     "{\"meta\":{}}",
			     "{\"meta\":{\"id\":\"1\",\"action\":\"x\"}}",
			     "{\"meta\":{\"id\":\"1\",\"action\":\"x\",\"entity\":\"deal\"},\"data\":[]}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&err, 0, sizeof err);
		assert_int_equal(rf_pipedrive_parse(bad[i], strlen(bad[i]), NULL, NULL, &a, &ev, &err), RF_EINVAL);
		assert_true(err.field[0] != '\0');
	}
	rf_arena_reset(&a);
}

static void basic_auth(void **state)
{
	(void)state;
	/* base64("refd-hook:pw") */
	assert_true(rf_basic_auth_ok("Basic cmVmZC1ob29rOnB3", "refd-hook", "pw"));
	assert_true(rf_basic_auth_ok("basic cmVmZC1ob29rOnB3", "refd-hook", "pw"));
	assert_false(rf_basic_auth_ok("Basic cmVmZC1ob29rOnB3", "refd-hook", "pw2"));
	assert_false(rf_basic_auth_ok("Basic cmVmZC1ob29rOnB3", "refd-hoo", "pw"));
	assert_false(rf_basic_auth_ok("Bearer cmVmZC1ob29rOnB3", "refd-hook", "pw"));
	assert_false(rf_basic_auth_ok("Basic !!!", "refd-hook", "pw"));
	assert_false(rf_basic_auth_ok("Basic cmVmZC1ob29r", "refd-hook", ""));
	assert_false(rf_basic_auth_ok(NULL, "refd-hook", "pw"));
	assert_false(rf_basic_auth_ok("Basic ", "refd-hook", "pw"));
}

static void xml_reader(void **state)
{
	(void)state;
	rf_arena a;
	rf_arena_init(&a, 1 << 20);
	rf_err err = {0};
	rf_xml_node *root = NULL;
	const char *doc =
	    "\xEF\xBB\xBF<?xml version=\"1.0\"?><!-- c --><p:a x='1' p:y=\"&lt;&amp;&#65;&#x42;&#x20AC;\">"
	    "t&gt;<b/><![CDATA[<raw>]]><c>z</c></p:a>\n";
	assert_int_equal(rf_xml_parse(doc, strlen(doc), &a, &root, &err), RF_OK);
	assert_string_equal(root->name, "a");
	assert_string_equal(root->prefix, "p");
	assert_string_equal(rf_xml_attr_get(root, "x"), "1");
	assert_string_equal(rf_xml_attr_get(root, "y"), "<&AB\xE2\x82\xAC");
	assert_string_equal(root->text, "t><raw>");
	assert_int_equal(root->n, 2);
	assert_string_equal(rf_xml_child(root, "c")->text, "z");
	assert_null(rf_xml_child(root, "d"));
	/* No DTD, no unknown entity, nothing malformed, and the caps. */
	const char *bad[] = {"",
			     "<a>",
			     "<a></b>",
			     "<a x=1/>",
			     "<a x='1' x='2'/>",
			     "<a>&bogus;</a>",
			     "<a>&#0;</a>",
			     "<a>&#xD800;</a>",
			     "<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>",
			     "<a/><b/>",
			     "<a:b:c/>",
			     "<:a/>",
			     "<a x='<'/>",
			     "<a><!-- open </a>",
			     "text"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&err, 0, sizeof err);
		assert_int_equal(rf_xml_parse(bad[i], strlen(bad[i]), &a, &root, &err), RF_EINVAL);
		assert_null(root);
	}
	char deep[3 * (RF_XML_MAX_DEPTH + 1) + 1];
	for (int i = 0; i < RF_XML_MAX_DEPTH + 1; i++)
		memcpy(deep + 3 * i, "<a>", 3);
	deep[3 * (RF_XML_MAX_DEPTH + 1)] = '\0';
	assert_int_equal(rf_xml_parse(deep, strlen(deep), &a, &root, &err), RF_EINVAL);
	rf_arena_reset(&a);
}

static void salesforce_messages(void **state)
{
	(void)state;
	rf_arena a;
	rf_arena_init(&a, 1 << 20);
	rf_err err = {0};
	size_t len = 0;
	rf_salesforce_message m;
	const char *body =
	    read_file("tests/fixtures/salesforce/03_outbound_opportunity_batch_two_notifications.xml", &len);
	assert_int_equal(rf_salesforce_parse(body, len, &a, &m, &err), RF_OK);
	assert_string_equal(m.organization_id, "00D5g000004XyZ1EAK");
	assert_int_equal(m.n, 2);
	assert_string_equal(m.items[0].id, "04l5g00000AbCdGAAV");
	assert_string_equal(m.items[0].type, "Opportunity");
	assert_string_equal(rf_salesforce_value(&m.items[0], "Amount"), "4900.0");
	assert_string_equal(rf_salesforce_value(&m.items[0], "Referral_Code__c"), "BETA-PARTNER");
	assert_null(rf_salesforce_value(&m.items[1], "Referral_Code__c"));
	assert_null(rf_salesforce_value(&m.items[1], "Nothing"));
	assert_true(rf_salesforce_same_org("00D5g000004XyZ1", m.organization_id));
	assert_false(rf_salesforce_same_org("00D5g000004XyZ2EAK", m.organization_id));
	assert_false(rf_salesforce_same_org("00d5g000004XyZ1EAK", m.organization_id));
	assert_false(rf_salesforce_same_org("00D5g", m.organization_id));
	/* The acknowledgement is the fixture's, byte for byte. */
	body = read_file("tests/fixtures/salesforce/04_outbound_ack_response.xml", &len);
	assert_int_equal(len, rf_salesforce_ack_len);
	assert_memory_equal(body, rf_salesforce_ack, len);
	const char *none = "<e:Envelope xmlns:e='x'><e:Body><notifications><OrganizationId>00D5g000004XyZ1EAK"
			   "</OrganizationId></notifications></e:Body></e:Envelope>";
	assert_int_equal(rf_salesforce_parse(none, strlen(none), &a, &m, &err), RF_EINVAL);
	assert_string_equal(err.field, "Notification");
	rf_arena_reset(&a);
}

int main(void)
{
	if (rf_secret_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(signature_vectors), cmocka_unit_test(uri_decoding),        cmocka_unit_test(batches),
	    cmocka_unit_test(amounts),           cmocka_unit_test(pipedrive_events),    cmocka_unit_test(basic_auth),
	    cmocka_unit_test(xml_reader),        cmocka_unit_test(salesforce_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
