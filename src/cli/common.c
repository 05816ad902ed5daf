/* SPDX-License-Identifier: Apache-2.0 */
/* What the subcommands share: numbers from options, opening the database, the instance key, passwords. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/secret.h"
#include "../core/text.h"
#include "cli.h"

long rf_cli_long(const char *s, const char *name, long min, long max, int *bad)
{
	char *end = NULL;
	errno = 0;
	long v = s ? strtol(s, &end, 10) : 0;
	if (!s || errno || !end || *end || end == s || v < min || v > max) {
		fprintf(stderr, "refd: --%s must be a whole number from %ld to %ld\n", name, min, max);
		*bad = 1;
	}
	return v;
}

rf_store *rf_cli_open(const char *db)
{
	rf_store *s = NULL;
	rf_err err = {0};
	if (rf_store_open(db, &s, &err) != RF_OK) {
		fprintf(stderr, "refd: %s\n", err.message);
		return NULL;
	}
	return s;
}

rf_store *rf_cli_open_migrated(const char *db, int *applied)
{
	rf_store *s = rf_cli_open(db);
	rf_err err = {0};
	if (s && rf_store_migrate(s, applied, &err) != RF_OK) {
		fprintf(stderr, "refd: %s\n", err.message);
		rf_store_close(s);
		return NULL;
	}
	return s;
}

int rf_cli_load_secret(const char *path, unsigned char key[32])
{
	const char *hex = getenv("REFD_SECRET_KEY");
	size_t got = 0;
	if (hex && *hex) {
		if (sodium_hex2bin(key, 32, hex, strlen(hex), NULL, &got, NULL) != 0 || got != 32) {
			fprintf(stderr, "refd: REFD_SECRET_KEY must be 64 hex digits\n");
			return -1;
		}
		return 0;
	}
	char buf[80];
	FILE *f = fopen(path, "r");
	if (f) {
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = '\0';
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
			buf[--n] = '\0';
		if (sodium_hex2bin(key, 32, buf, n, NULL, &got, NULL) != 0 || got != 32) {
			fprintf(stderr, "refd: %s must hold 64 hex digits\n", path);
			return -1;
		}
		return 0;
	}
	randombytes_buf(key, 32);
	sodium_bin2hex(buf, sizeof buf, key, 32);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, buf, 64) != 64 || write(fd, "\n", 1) != 1) {
		fprintf(stderr, "refd: cannot write the secret key file %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	fprintf(stderr,
		"refd: created the instance secret key %s (keep it with your backups, apart from the "
		"database)\n",
		path);
	return 0;
}

int rf_cli_read_password(char *out, size_t len, bool *generated)
{
	*generated = false;
	out[0] = '\0';
	if (!isatty(STDIN_FILENO) && fgets(out, (int)len, stdin)) {
		size_t n = strlen(out);
		while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
			out[--n] = '\0';
	}
	if (!out[0]) {
		rf_random_token(15, out, len);
		*generated = true;
		return 0;
	}
	if (strlen(out) < 10) {
		fprintf(stderr, "refd: the password needs at least 10 characters\n");
		return -1;
	}
	return 0;
}
