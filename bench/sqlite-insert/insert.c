/* SPDX-License-Identifier: Apache-2.0 */
/* CPU per click row for SQLite alone: inserts rows shaped like refd's clicks (the same table) in transactions of
 * GROUP rows, PER rows per INSERT, in WAL mode with synchronous=NORMAL (the click writer's settings; the flush is
 * left out), and prints the process's CPU time per row. Usage: insert DB GROUP PER [ROWS]. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define ROW "(?,?,?,?,?,?,?,?,?,?,?,?,?)"

static double cpu_us(int user_only)
{
	struct rusage r;
	getrusage(RUSAGE_SELF, &r);
	double u = r.ru_utime.tv_sec * 1e6 + r.ru_utime.tv_usec;
	return user_only ? u : u + r.ru_stime.tv_sec * 1e6 + r.ru_stime.tv_usec;
}

static int run(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	fprintf(stderr, "%s: %s\n", sql, msg ? msg : "error");
	sqlite3_free(msg);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s DB GROUP PER [ROWS]\n", argv[0]);
		return 2;
	}
	const char *path = argv[1];
	int group = atoi(argv[2]), per = atoi(argv[3]);
	long total = argc > 4 ? atol(argv[4]) : 200000;
	if (group < 1 || per < 1 || per > 64 || group % per != 0) {
		fprintf(stderr, "GROUP must be a multiple of PER, PER from 1 to 64\n");
		return 2;
	}
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return 1;
	if (run(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-262144;"
		    "CREATE TABLE clicks (id TEXT PRIMARY KEY, program_id TEXT NOT NULL, link_id TEXT, partner_id TEXT,"
		    " prev_click_id TEXT, at INTEGER NOT NULL, ip_hash TEXT, ip_prefix TEXT, user_agent TEXT,"
		    " referer TEXT, landing_url TEXT, source TEXT NOT NULL CHECK (source IN ('redirect', 'script')),"
		    " status TEXT NOT NULL CHECK (status IN ('counted', 'bot', 'repeat', 'uncredited')))"
		    " STRICT, WITHOUT ROWID;"))
		return 1;
	char sql[64 * sizeof ROW + 64] = "INSERT INTO clicks VALUES " ROW;
	for (int i = 1; i < per; i++)
		strcat(sql, "," ROW);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return 1;
	const char *ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 "
			 "Safari/537.36";
	double c0 = cpu_us(0), u0 = cpu_us(1);
	long n = 0;
	while (n < total) {
		if (run(db, "BEGIN IMMEDIATE"))
			return 1;
		for (int g = 0; g < group; g += per) {
			sqlite3_reset(st);
			for (int r = 0; r < per; r++, n++) {
				/* Ids that grow with time, as refd's do, so rows append. */
				char id[40];
				snprintf(id, sizeof id, "clk_%012ld7fQ2mZxk9RbWp", n);
				int b = r * 13;
				sqlite3_bind_text(st, b + 1, id, -1, SQLITE_TRANSIENT);
				sqlite3_bind_text(st, b + 2, "prg_5Jk2mQ8xWn4Rb7Tc1Yd3", -1, SQLITE_STATIC);
				sqlite3_bind_text(st, b + 3, "lnk_8Hn3pR6vYc2Kd9Wm4Tq1", -1, SQLITE_STATIC);
				sqlite3_bind_text(st, b + 4, "ptn_2Vb7kM4nQx8Rc1Tw6Yh9", -1, SQLITE_STATIC);
				sqlite3_bind_null(st, b + 5);
				sqlite3_bind_int64(st, b + 6, 1790000000000 + n);
				sqlite3_bind_text(st, b + 7, "4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a", -1, SQLITE_STATIC);
				sqlite3_bind_text(st, b + 8, "127.0.0.0/24", -1, SQLITE_STATIC);
				sqlite3_bind_text(st, b + 9, ua, -1, SQLITE_STATIC);
				sqlite3_bind_null(st, b + 10);
				sqlite3_bind_text(st, b + 11, "https://example.com/landing", -1, SQLITE_STATIC);
				sqlite3_bind_text(st, b + 12, "redirect", -1, SQLITE_STATIC);
				sqlite3_bind_text(st, b + 13, "repeat", -1, SQLITE_STATIC);
			}
			if (sqlite3_step(st) != SQLITE_DONE) {
				fprintf(stderr, "insert: %s\n", sqlite3_errmsg(db));
				return 1;
			}
		}
		if (run(db, "COMMIT"))
			return 1;
	}
	printf("| %d | %d | %.2f µs | %.2f µs |\n", group, per, (cpu_us(0) - c0) / n, (cpu_us(1) - u0) / n);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return 0;
}
