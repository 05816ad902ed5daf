/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark server: libevent evhttp answering GET /r/<code> with refd's 302 redirect shape, one event loop per thread
 * on a SO_REUSEPORT port. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_THREADS 64

static const char LOCATION[] = "https://example.com/landing?refd_click=clk_0123456789abcdef";
static const char COOKIE[] = "refd_click=clk_0123456789abcdef; Max-Age=7776000; Path=/; SameSite=Lax";

/* Answer /r/... with the redirect and anything else with 404. */
static void on_request(struct evhttp_request *req, void *arg)
{
	(void)arg;
	const char *uri = evhttp_request_get_uri(req);
	if (strncmp(uri, "/r/", 3) != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	evhttp_add_header(out, "Location", LOCATION);
	evhttp_add_header(out, "Set-Cookie", COOKIE);
	evhttp_send_reply(req, 302, "Found", NULL);
}

/* Make a listening loopback socket with SO_REUSEPORT on port (0 picks one). */
static int listen_socket(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1024) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int bound_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	return ntohs(sa.sin_port);
}

/* One worker: its own event_base and evhttp on its own listening socket. */
static void *worker(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct event_base *base = event_base_new();
	struct evhttp *http = base ? evhttp_new(base) : NULL;
	if (!http || !evhttp_accept_socket_with_handle(http, fd)) {
		fprintf(stderr, "evhttp setup failed\n");
		exit(1);
	}
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(http, 8192);
	evhttp_set_max_body_size(http, 1 << 20);
	evhttp_set_timeout(http, 30);
	evhttp_set_default_content_type(http, NULL);
	evhttp_set_gencb(http, on_request, NULL);
	event_base_dispatch(base);
	return NULL;
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
	while ((opt = getopt(argc, argv, "t:p:")) != -1) {
		if (opt == 't')
			threads = (int)parse_num(optarg, 1, MAX_THREADS);
		else if (opt == 'p')
			port = (int)parse_num(optarg, 0, 65535);
		else {
			fprintf(stderr, "usage: %s [-t threads] [-p port]\n", argv[0]);
			return 2;
		}
	}

	int fds[MAX_THREADS];
	for (int i = 0; i < threads; i++) {
		fds[i] = listen_socket(port);
		if (fds[i] < 0 || (i == 0 && (port = bound_port(fds[0])) < 0)) {
			perror("listen socket");
			return 1;
		}
	}

	/* Workers inherit a mask with SIGINT/SIGTERM blocked; main waits for them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	pthread_t tid[MAX_THREADS];
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&tid[i], NULL, worker, (void *)(intptr_t)fds[i]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
	}
	printf("port %d\n", port);
	fflush(stdout);

	int sig;
	sigwait(&stop, &sig);
	return 0;
}
