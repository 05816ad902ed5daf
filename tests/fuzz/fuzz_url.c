/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for URL rules: checking, allowed domains, adding the click parameter and reading parameters
 * back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *url = malloc(size + 1);
	if (!url)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	rf_arena a;
	rf_arena_init(&a, 1 << 20);
	rf_err err = {0};
	char host[RF_URL_HOST_MAX];
	if (rf_url_check(url, host, sizeof host, &err) == RF_OK) {
		/* An accepted URL has a host, and stays acceptable with the click id added, which reads back. */
		if (!host[0])
			abort();
		char *with = rf_url_add_param(&a, url, "refd_click", "clk_0123456789abcdefABCDEF");
		if (with && strlen(with) <= RF_URL_MAX) {
			char host2[RF_URL_HOST_MAX];
			if (rf_url_check(with, host2, sizeof host2, &err) != RF_OK || strcmp(host, host2) != 0)
				abort();
			const char *v = rf_url_query_get(&a, with, "refd_click");
			if (!v || strcmp(v, "clk_0123456789abcdefABCDEF") != 0)
				abort();
		}
		const char *domains[] = {host};
		if (!rf_url_host_allowed(host, domains, 1))
			abort();
	}
	if (rf_url_check_domain(url, &err) == RF_OK) {
		/* An accepted allowed domain is the host of the URLs it allows, and allows them. */
		char *probe = rf_arena_printf(&a, "https://%s/", url);
		char host3[RF_URL_HOST_MAX];
		const char *domains[] = {url};
		if (probe && (rf_url_check(probe, host3, sizeof host3, &err) != RF_OK || strcasecmp(host3, url) != 0 ||
			      !rf_url_host_allowed(host3, domains, 1)))
			abort();
	}
	rf_url_query_get(&a, url, "via");
	rf_url_encode(&a, url);
	rf_arena_reset(&a);
	free(url);
	return 0;
}
