/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark server: libmicrohttpd (epoll or poll, internal thread pool) answering GET /r/<code> with refd's 302
 * redirect shape. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char LOCATION[] = "https://example.com/landing?refd_click=clk_0123456789abcdef";
static const char COOKIE[] = "refd_click=clk_0123456789abcdef; Max-Age=7776000; Path=/; SameSite=Lax";

/* Build a fresh response per request, as refd will with a per-click id. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	static int seen;
	(void)cls, (void)version, (void)upload_data;
	/* MHD's documented two-call pattern: answering on the first call (headers only,
	   body state unknown) makes MHD send "Connection: close" and drop keep-alive. */
	if (*req_cls == NULL) {
		*req_cls = &seen;
		return MHD_YES;
	}
	if (*upload_data_size != 0)
		return MHD_NO; /* GET-only server: a body is a protocol error here */
	unsigned int status = MHD_HTTP_FOUND;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
	else if (strncmp(url, "/r/", 3) != 0)
		status = MHD_HTTP_NOT_FOUND;

	struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	if (status == MHD_HTTP_FOUND && (MHD_add_response_header(resp, "Location", LOCATION) != MHD_YES ||
					 MHD_add_response_header(resp, "Set-Cookie", COOKIE) != MHD_YES)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	enum MHD_Result r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static long parse_num(const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "bad number: %s\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	int threads = 1, port = 0, opt;
	unsigned int poller = MHD_USE_EPOLL;
	while ((opt = getopt(argc, argv, "t:p:P")) != -1) {
		if (opt == 't')
			threads = (int)parse_num(optarg, 1, 64);
		else if (opt == 'P')
			poller = MHD_USE_POLL; /* comparison mode: poll() instead of epoll */
		else if (opt == 'p')
			port = (int)parse_num(optarg, 0, 65535);
		else {
			fprintf(stderr, "usage: %s [-t threads] [-p port] [-P]\n", argv[0]);
			return 2;
		}
	}

	/* Pool threads inherit a mask with SIGINT/SIGTERM blocked; main waits for them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct MHD_Daemon *d =
	    MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | poller, (uint16_t)port, NULL, NULL, on_request, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
			     (unsigned int)threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)4096,
			     MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			     (size_t)16384, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "MHD_start_daemon failed\n");
		return 1;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("port %d\n", info ? (int)info->port : port);
	fflush(stdout);

	int sig;
	sigwait(&stop, &sig);
	MHD_stop_daemon(d);
	return 0;
}
