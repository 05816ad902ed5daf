/* SPDX-License-Identifier: Apache-2.0 */
/* The PostgreSQL driver, over libpq: statements prepared once per connection under generated names (with the
 * store's ?N markers rewritten as $N and each parameter's type taken from its first binding), executed with text
 * parameters and results, rows read from the whole result, SQLSTATEs mapped to the driver's failure kinds, a lost
 * connection re-established on the next call, and LISTEN/NOTIFY. */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "pg_driver.h"

#define STMT_CACHE 256
/* PostgreSQL takes at most 65535 parameters in one statement. */
#define MAX_PARAMS 65535
#define MAX_CHANNELS 8

/* Type oids of PostgreSQL's built-in types (pg_type.h), for the parameters' declared types. */
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25

typedef struct pg_db pg_db;

typedef struct {
	char *val; /* NULL for SQL NULL; text form (a blob's bytes as they are, sent in binary) */
	size_t len;
	unsigned type; /* OID_INT8, OID_TEXT, OID_BYTEA, or 0 for NULL */
} param;

typedef struct pg_stmt {
	rf_db_stmt base;
	char name[16];
	char *sql; /* as the store wrote it (the cache's key) */
	char *pgsql;
	int nparams; /* the highest marker number */
	bool prepared;
	unsigned *types; /* as prepared, one per parameter */
	param *params;
	/* What one execution hands libpq, one per parameter (kept with the statement rather than remade). */
	const char **values;
	int *lengths, *formats;
	PGresult *res;
	int row, nrows; /* the current row (-1 before the first) */
	bool ran;
	/* Decoded bytea columns of the current row. */
	struct {
		unsigned char *p;
		size_t cap;
	} blobs[4];
} pg_stmt;

struct pg_db {
	rf_db base;
	PGconn *conn;
	char *location;
	struct {
		uint64_t hash;
		pg_stmt *st;
	} cache[STMT_CACHE];
	int ncache;
	unsigned next_name;
	int64_t changes;
	rf_db_errkind kind;
	char message[320];
	char listening[MAX_CHANNELS][64];
	int nlistening;
	bool tx; /* between a BEGIN that succeeded and its COMMIT or ROLLBACK */
};

static uint64_t sql_hash(const char *sql)
{
	/* Eight bytes a step: a statement's text is hundreds of bytes, and it is hashed at every lookup. */
	size_t n = strlen(sql), i = 0;
	uint64_t h = 1469598103934665603ULL ^ n, w;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, sql + i, 8);
		h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, sql + i, n - i);
	h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
	return h ^ h >> 32;
}

/* The failure kind of a SQLSTATE: unique violations are conflicts, serialization failures and deadlocks retries,
 * lost connections, shutdowns, full disks and cancelled (timed out) statements "unavailable". */
static rf_db_errkind kind_of(const char *state)
{
	if (!state)
		return RF_DB_ERR_UNAVAIL; /* no SQLSTATE: the connection itself failed */
	if (strcmp(state, "23505") == 0)
		return RF_DB_ERR_UNIQUE;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
		return RF_DB_ERR_RETRY;
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
	    strcmp(state, "57014") == 0 || strncmp(state, "58", 2) == 0)
		return RF_DB_ERR_UNAVAIL;
	return RF_DB_ERR_OTHER;
}

static void note_result(pg_db *p, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : NULL;
	if (!msg || !*msg)
		msg = PQerrorMessage(p->conn);
	p->kind = PQstatus(p->conn) == CONNECTION_BAD ? RF_DB_ERR_UNAVAIL : kind_of(state);
	snprintf(p->message, sizeof p->message, "%s", msg && *msg ? msg : "unknown failure");
	/* libpq's messages end with a newline, which has no place in a JSON error. */
	size_t n = strlen(p->message);
	while (n && (p->message[n - 1] == '\n' || p->message[n - 1] == ' '))
		p->message[--n] = '\0';
	for (char *c = p->message; *c; c++)
		if (*c == '\n' || *c == '\t')
			*c = ' ';
}

static void forget_statements(pg_db *p)
{
	for (int i = 0; i < p->ncache; i++)
		p->cache[i].st->prepared = false;
}

/* A connection found broken is opened again before the next statement; its prepared statements are gone with it,
 * so they are prepared again when next used. Inside a transaction nothing can be saved: the caller sees the failure
 * (RF_EUNAVAIL) and the transaction runner starts over. */
static bool connected(pg_db *p)
{
	if (PQstatus(p->conn) == CONNECTION_OK)
		return true;
	if (p->tx) {
		/* The transaction died with its connection: a new one would run the rest of it statement by statement,
		 * each committed on its own. Only the rollback ends it. */
		p->kind = RF_DB_ERR_UNAVAIL;
		snprintf(p->message, sizeof p->message, "the connection to PostgreSQL was lost during the transaction");
		return false;
	}
	PQreset(p->conn);
	forget_statements(p);
	p->nlistening = 0;
	if (PQstatus(p->conn) == CONNECTION_OK)
		return true;
	note_result(p, NULL);
	return false;
}

static rf_status pg_exec(rf_db *d, const char *sql)
{
	pg_db *p = (pg_db *)d;
	if (!connected(p))
		return RF_EUNAVAIL;
	PGresult *res = PQexec(p->conn, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
		/* The rows changed are those of the last statement: a script (a savepoint released after it) leaves
		 * them as they were. */
		PQclear(res);
		return RF_OK;
	}
	note_result(p, res);
	PQclear(res);
	return RF_EIO;
}

static void pg_close(rf_db *d)
{
	pg_db *p = (pg_db *)d;
	for (int i = 0; i < p->ncache; i++) {
		pg_stmt *q = p->cache[i].st;
		PQclear(q->res);
		for (size_t k = 0; k < sizeof q->blobs / sizeof q->blobs[0]; k++)
			free(q->blobs[k].p);
		for (int k = 0; k < q->nparams; k++)
			free(q->params[k].val);
		free(q->params);
		free(q->types);
		free(q->values);
		free(q->lengths);
		free(q->formats);
		free(q->sql);
		free(q->pgsql);
		free(q);
	}
	PQfinish(p->conn);
	free(p->location);
	free(p);
}

static rf_status pg_open(const char *location, rf_db **out, rf_err *err)
{
	pg_db *p = calloc(1, sizeof *p);
	if (!p)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	p->base.drv = &rf_db_postgres;
	p->conn = PQconnectdb(location);
	if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
		const char *m = p->conn ? PQerrorMessage(p->conn) : "out of memory";
		char msg[256];
		snprintf(msg, sizeof msg, "%s", m);
		size_t n = strlen(msg);
		while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			msg[--n] = '\0';
		rf_err_set(err, RF_EUNAVAIL, "db", "cannot connect to PostgreSQL: %s", msg);
		PQfinish(p->conn);
		free(p);
		return RF_EUNAVAIL;
	}
	p->location = strdup(location);
	/* Times are integers of milliseconds and text is UTF-8 everywhere; the session says so rather than trust the
	 * server's defaults. A commit waits for its WAL to be flushed (the default, stated because refd counts on
	 * it: a click is acknowledged only once its commit returns). */
	if (!p->location || pg_exec(&p->base, "SET client_encoding = 'UTF8'; SET synchronous_commit = on; "
					      "SET application_name = 'refd'; "
					      "SET client_min_messages = warning") != RF_OK) {
		rf_err_set(err, RF_EIO, "db", "cannot set up the PostgreSQL session: %s", p->message);
		pg_close(&p->base);
		return RF_EIO;
	}
	*out = &p->base;
	return RF_OK;
}

/* The store's ?N (and bare ?) markers as PostgreSQL's $N, outside quoted text; *n gets the highest number. */
static char *translate(const char *sql, int *n)
{
	size_t len = strlen(sql);
	char *out = malloc(len * 2 + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	int next = 0;
	*n = 0;
	char quote = 0;
	for (size_t i = 0; i < len; i++) {
		char c = sql[i];
		if (quote) {
			out[o++] = c;
			if (c == quote)
				quote = 0;
			continue;
		}
		if (c == '\'' || c == '"') {
			quote = c;
			out[o++] = c;
			continue;
		}
		if (c != '?') {
			out[o++] = c;
			continue;
		}
		int num = 0;
		size_t j = i + 1;
		while (j < len && sql[j] >= '0' && sql[j] <= '9' && num < 100000)
			num = num * 10 + (sql[j++] - '0');
		if (j == i + 1)
			num = next + 1;
		next = num;
		if (num > *n)
			*n = num;
		o += (size_t)snprintf(out + o, 12, "$%d", num);
		i = j - 1;
	}
	out[o] = '\0';
	return out;
}

static void stmt_clear_params(pg_stmt *q)
{
	for (int k = 0; k < q->nparams; k++) {
		free(q->params[k].val);
		q->params[k].val = NULL;
		q->params[k].len = 0;
		q->params[k].type = 0;
	}
}

static void stmt_clear_result(pg_stmt *q)
{
	PQclear(q->res);
	q->res = NULL;
	q->row = -1;
	q->nrows = 0;
	q->ran = false;
}

static rf_db_stmt *pg_prepare(rf_db *d, const char *sql)
{
	pg_db *p = (pg_db *)d;
	uint64_t h = sql_hash(sql);
	for (int i = p->ncache - 1; i >= 0; i--) {
		if (p->cache[i].hash == h && strcmp(p->cache[i].st->sql, sql) == 0) {
			pg_stmt *q = p->cache[i].st;
			stmt_clear_result(q);
			stmt_clear_params(q);
			return &q->base;
		}
	}
	pg_stmt *q = calloc(1, sizeof *q);
	if (!q)
		goto nomem;
	q->base.db = d;
	q->sql = strdup(sql);
	q->pgsql = translate(sql, &q->nparams);
	if (!q->sql || !q->pgsql || q->nparams > MAX_PARAMS)
		goto nomem;
	size_t np = (size_t)(q->nparams ? q->nparams : 1);
	q->params = calloc(np, sizeof *q->params);
	q->types = calloc(np, sizeof *q->types);
	q->values = calloc(np, sizeof *q->values);
	q->lengths = calloc(np, sizeof *q->lengths);
	q->formats = calloc(np, sizeof *q->formats);
	if (!q->params || !q->types || !q->values || !q->lengths || !q->formats)
		goto nomem;
	q->row = -1;
	snprintf(q->name, sizeof q->name, "rf%u", p->next_name++);
	if (p->ncache == STMT_CACHE) {
		/* Evict the oldest; its server-side statement is deallocated so the connection does not accumulate
		 * them. */
		pg_stmt *old = p->cache[0].st;
		if (old->prepared && PQstatus(p->conn) == CONNECTION_OK) {
			char dealloc[40];
			snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", old->name);
			PQclear(PQexec(p->conn, dealloc));
		}
		stmt_clear_result(old);
		stmt_clear_params(old);
		for (size_t k = 0; k < sizeof old->blobs / sizeof old->blobs[0]; k++)
			free(old->blobs[k].p);
		free(old->params);
		free(old->types);
		free(old->values);
		free(old->lengths);
		free(old->formats);
		free(old->sql);
		free(old->pgsql);
		free(old);
		memmove(&p->cache[0], &p->cache[1], sizeof p->cache[0] * (STMT_CACHE - 1));
		p->ncache--;
	}
	p->cache[p->ncache].hash = h;
	p->cache[p->ncache].st = q;
	p->ncache++;
	return &q->base;
nomem:
	if (q) {
		free(q->sql);
		free(q->pgsql);
		free(q->params);
		free(q->types);
		free(q->values);
		free(q->lengths);
		free(q->formats);
		free(q);
	}
	p->kind = RF_DB_ERR_UNAVAIL;
	snprintf(p->message, sizeof p->message, "out of memory");
	return NULL;
}

static void set_param(rf_db_stmt *st, int i, const void *v, size_t len, unsigned type)
{
	pg_stmt *q = (pg_stmt *)st;
	if (i < 1 || i > q->nparams)
		return;
	param *pa = &q->params[i - 1];
	free(pa->val);
	pa->val = NULL;
	pa->len = 0;
	pa->type = 0;
	if (!v)
		return;
	pa->val = malloc(len + 1);
	if (!pa->val)
		return; /* sent as NULL: the statement then fails its NOT NULL check rather than store a wrong value */
	memcpy(pa->val, v, len);
	pa->val[len] = '\0';
	pa->len = len;
	pa->type = type;
}

static void pg_bind_int(rf_db_stmt *st, int i, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
	set_param(st, i, buf, (size_t)n, OID_INT8);
}

static void pg_bind_text(rf_db_stmt *st, int i, const char *v, size_t len)
{
	set_param(st, i, v, len, OID_TEXT);
}

static void pg_bind_blob(rf_db_stmt *st, int i, const void *v, size_t len)
{
	set_param(st, i, v, len, v ? OID_BYTEA : 0);
}

static void pg_bind_null(rf_db_stmt *st, int i)
{
	set_param(st, i, NULL, 0, 0);
}

static bool tx_open(pg_db *p)
{
	PGTransactionStatusType t = PQtransactionStatus(p->conn);
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
}

static int run_once(pg_stmt *q)
{
	pg_db *p = (pg_db *)q->base.db;
	if (!connected(p))
		return RF_DB_FAIL;
	if (!q->prepared) {
		/* Each parameter is declared with the type of its first binding, so PostgreSQL need not guess (a
		 * bare ?1 in a SELECT list would otherwise be text); a NULL leaves the choice to the server. */
		for (int k = 0; k < q->nparams; k++)
			q->types[k] = q->params[k].type;
		/* A parameter first bound to NULL has no type to declare. The server infers one from its context,
		 * except where the context says nothing (?2 IS NULL OR …): then the unknown parameters are tried as
		 * text, and if the statement does not type-check that way, as integers. Either way a statement once
		 * prepared type-checks, so later executions cannot meet a type clash. */
		/* Inside a transaction a failed prepare would abort it, so each attempt is fenced by a savepoint
		 * (only the first time a statement is prepared on a connection). */
		bool fenced = tx_open(p);
		PGresult *res = NULL;
		for (int attempt = 0; attempt < 3; attempt++) {
			if (attempt)
				for (int k = 0; k < q->nparams; k++)
					if (!q->params[k].type)
						q->types[k] = attempt == 1 ? OID_TEXT : OID_INT8;
			if (fenced)
				PQclear(PQexec(p->conn, "SAVEPOINT rf_prepare"));
			res = PQprepare(p->conn, q->name, q->pgsql, q->nparams, q->types);
			bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
			if (fenced)
				PQclear(PQexec(p->conn,
					       ok ? "RELEASE SAVEPOINT rf_prepare"
						  : "ROLLBACK TO SAVEPOINT rf_prepare; RELEASE SAVEPOINT rf_prepare"));
			if (ok)
				break;
			const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			if (getenv("REFD_DEBUG_PG"))
				fprintf(stderr, "DEBUG prepare attempt %d %s: %s [%s]\n", attempt, state ? state : "-",
					PQresultErrorMessage(res), q->pgsql);
			bool retype = state && (strcmp(state, "42P18") == 0 || strcmp(state, "42P08") == 0 ||
						strcmp(state, "42883") == 0 || strcmp(state, "42804") == 0);
			if (!retype || attempt == 2) {
				note_result(p, res);
				PQclear(res);
				return RF_DB_FAIL;
			}
			PQclear(res);
		}
		PQclear(res);
		q->prepared = true;
	}
	for (int k = 0; k < q->nparams; k++) {
		q->values[k] = q->params[k].val;
		q->lengths[k] = (int)q->params[k].len;
		/* Blobs go in binary, as their bytes; everything else as text. */
		q->formats[k] = q->params[k].type == OID_BYTEA ? 1 : 0;
	}
	q->res = PQexecPrepared(p->conn, q->name, q->nparams, q->values, q->lengths, q->formats, 0);
	ExecStatusType st = PQresultStatus(q->res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		const char *ct = PQcmdTuples(q->res);
		p->changes = ct && *ct ? strtoll(ct, NULL, 10) : 0;
		q->nrows = st == PGRES_TUPLES_OK ? PQntuples(q->res) : 0;
		q->ran = true;
		q->row = -1;
		return RF_DB_DONE;
	}
	note_result(p, q->res);
	/* A statement prepared on a connection since lost must be prepared again next time. */
	if (PQstatus(p->conn) == CONNECTION_BAD)
		forget_statements(p);
	PQclear(q->res);
	q->res = NULL;
	return RF_DB_FAIL;
}

/* Runs the statement. A connection the server closed (a restart, an idle timeout) is found out only by using it:
 * a read outside a transaction is then run again once on a new connection, as nothing was done. A write is not (it
 * may have been done before the connection broke), nor anything inside a transaction (the runner starts over). */
static int run(pg_stmt *q)
{
	pg_db *p = (pg_db *)q->base.db;
	bool again = !tx_open(p) && strncasecmp(q->sql, "SELECT", 6) == 0;
	int rc = run_once(q);
	if (rc == RF_DB_FAIL && again && PQstatus(p->conn) == CONNECTION_BAD)
		rc = run_once(q);
	return rc;
}

static int pg_step(rf_db_stmt *st)
{
	pg_stmt *q = (pg_stmt *)st;
	if (!q->ran && run(q) != RF_DB_DONE)
		return RF_DB_FAIL;
	if (q->row + 1 < q->nrows) {
		q->row++;
		return RF_DB_ROW;
	}
	q->row = q->nrows;
	return RF_DB_DONE;
}

static void pg_reset(rf_db_stmt *st)
{
	stmt_clear_result((pg_stmt *)st);
}

static bool pg_col_null(rf_db_stmt *st, int i)
{
	pg_stmt *q = (pg_stmt *)st;
	return !q->res || q->row < 0 || q->row >= q->nrows || i >= PQnfields(q->res) || PQgetisnull(q->res, q->row, i);
}

static const char *cell(pg_stmt *q, int i)
{
	if (pg_col_null(&q->base, i))
		return NULL;
	return PQgetvalue(q->res, q->row, i);
}

static int64_t pg_col_int(rf_db_stmt *st, int i)
{
	const char *v = cell((pg_stmt *)st, i);
	if (!v)
		return 0;
	/* Booleans come as t and f. */
	if (v[0] == 't' && !v[1])
		return 1;
	if (v[0] == 'f' && !v[1])
		return 0;
	errno = 0;
	long long n = strtoll(v, NULL, 10);
	return errno == ERANGE ? 0 : (int64_t)n;
}

static double pg_col_double(rf_db_stmt *st, int i)
{
	const char *v = cell((pg_stmt *)st, i);
	return v ? strtod(v, NULL) : 0;
}

static const char *pg_col_text(rf_db_stmt *st, int i, size_t *len)
{
	pg_stmt *q = (pg_stmt *)st;
	const char *v = cell(q, i);
	if (len)
		*len = v ? (size_t)PQgetlength(q->res, q->row, i) : 0;
	return v;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* bytea arrives in PostgreSQL's hex text form (\x0a1b...). */
static const void *pg_col_blob(rf_db_stmt *st, int i, size_t *len)
{
	pg_stmt *q = (pg_stmt *)st;
	const char *v = cell(q, i);
	if (len)
		*len = 0;
	if (!v)
		return NULL;
	size_t n = strlen(v);
	if (n < 2 || v[0] != '\\' || v[1] != 'x' || (n - 2) % 2)
		return NULL;
	size_t slot = (size_t)i % (sizeof q->blobs / sizeof q->blobs[0]);
	size_t out = (n - 2) / 2;
	if (q->blobs[slot].cap < out + 1) {
		unsigned char *nb = realloc(q->blobs[slot].p, out + 1);
		if (!nb)
			return NULL;
		q->blobs[slot].p = nb;
		q->blobs[slot].cap = out + 1;
	}
	for (size_t k = 0; k < out; k++) {
		int hi = hexval(v[2 + 2 * k]), lo = hexval(v[3 + 2 * k]);
		if (hi < 0 || lo < 0)
			return NULL;
		q->blobs[slot].p[k] = (unsigned char)(hi * 16 + lo);
	}
	if (len)
		*len = out;
	return q->blobs[slot].p;
}

static int pg_col_count(rf_db_stmt *st)
{
	pg_stmt *q = (pg_stmt *)st;
	return q->res ? PQnfields(q->res) : 0;
}

static const char *pg_col_name(rf_db_stmt *st, int i)
{
	pg_stmt *q = (pg_stmt *)st;
	return q->res && i < PQnfields(q->res) ? PQfname(q->res, i) : NULL;
}

/* Type oids of the built-in types a refd column can have (pg_type.h). */
static rf_db_type pg_col_type(rf_db_stmt *st, int i)
{
	pg_stmt *q = (pg_stmt *)st;
	if (pg_col_null(st, i))
		return RF_DB_T_NULL;
	switch (PQftype(q->res, i)) {
	case 16: /* bool */
	case 20: /* int8 */
	case 21: /* int2 */
	case 23: /* int4 */
		return RF_DB_T_INT;
	case 700:  /* float4 */
	case 701:  /* float8 */
	case 1700: /* numeric */
		return RF_DB_T_FLOAT;
	case OID_BYTEA:
		return RF_DB_T_BLOB;
	default:
		return RF_DB_T_TEXT;
	}
}

static int64_t pg_changes(rf_db *d)
{
	return ((pg_db *)d)->changes;
}

static bool pg_in_tx(rf_db *d)
{
	PGTransactionStatusType t = PQtransactionStatus(((pg_db *)d)->conn);
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static rf_status pg_begin(rf_db *d, bool write)
{
	(void)write; /* READ COMMITTED either way: writers lock the rows they change */
	pg_db *p = (pg_db *)d;
	p->tx = false;
	rf_status rc = pg_exec(d, "BEGIN");
	/* A connection closed while idle fails its first command: nothing was begun, so begin on a new one. */
	if (rc != RF_OK && PQstatus(p->conn) == CONNECTION_BAD)
		rc = pg_exec(d, "BEGIN");
	p->tx = rc == RF_OK;
	return rc;
}

/* Reads COMMIT's answer (and frees it). */
static rf_status commit_result(pg_db *p, PGresult *res)
{
	/* COMMIT of a transaction that failed earlier answers "ROLLBACK": it did not commit. */
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(res), "COMMIT") == 0;
	if (!ok) {
		note_result(p, res);
		if (PQresultStatus(res) == PGRES_COMMAND_OK) {
			p->kind = RF_DB_ERR_OTHER;
			snprintf(p->message, sizeof p->message, "the transaction had failed and was rolled back");
		}
	}
	PQclear(res);
	return ok ? RF_OK : RF_EIO;
}

static rf_status pg_commit(rf_db *d)
{
	pg_db *p = (pg_db *)d;
	if (!connected(p))
		return RF_EUNAVAIL;
	p->tx = false;
	return commit_result(p, PQexec(p->conn, "COMMIT"));
}

rf_status rf_db_pg_commit_send(rf_db *d)
{
	pg_db *p = (pg_db *)d;
	if (d->drv != &rf_db_postgres)
		return RF_EINVAL;
	if (!connected(p))
		return RF_EUNAVAIL;
	p->tx = false;
	if (!PQsendQuery(p->conn, "COMMIT")) {
		note_result(p, NULL);
		return RF_EIO;
	}
	return RF_OK;
}

rf_status rf_db_pg_commit_wait(rf_db *d)
{
	pg_db *p = (pg_db *)d;
	if (d->drv != &rf_db_postgres)
		return RF_EINVAL;
	/* The answer, then the NULL that says the command is over (anything between would be a protocol surprise). */
	PGresult *res = PQgetResult(p->conn), *more;
	while ((more = PQgetResult(p->conn)) != NULL)
		PQclear(more);
	if (!res) {
		note_result(p, NULL);
		return RF_EIO;
	}
	return commit_result(p, res);
}

static void pg_rollback(rf_db *d)
{
	pg_db *p = (pg_db *)d;
	p->tx = false;
	if (PQstatus(p->conn) == CONNECTION_OK && pg_in_tx(d))
		PQclear(PQexec(p->conn, "ROLLBACK"));
}

static rf_db_errkind pg_last_error(rf_db *d, const char **message)
{
	pg_db *p = (pg_db *)d;
	if (message)
		*message = p->message[0] ? p->message : NULL;
	return p->kind;
}

static void pg_idle(rf_db *d)
{
	/* A transaction left open by a failure must not hold its locks into the next request. */
	pg_rollback(d);
}

static rf_status pg_notify(rf_db *d, const char *channel)
{
	pg_db *p = (pg_db *)d;
	if (!connected(p))
		return RF_EUNAVAIL;
	const char *vals[1] = {channel};
	PGresult *res = PQexecParams(p->conn, "SELECT pg_notify($1, '')", 1, NULL, vals, NULL, NULL, 0);
	rf_status st = PQresultStatus(res) == PGRES_TUPLES_OK ? RF_OK : RF_EIO;
	if (st != RF_OK)
		note_result(p, res);
	PQclear(res);
	return st;
}

static int pg_poll_notice(rf_db *d, const char *channel, int timeout_ms)
{
	pg_db *p = (pg_db *)d;
	if (!connected(p))
		return -1;
	bool listening = false;
	for (int i = 0; i < p->nlistening; i++)
		listening |= strcmp(p->listening[i], channel) == 0;
	if (!listening) {
		if (p->nlistening == MAX_CHANNELS || strlen(channel) >= sizeof p->listening[0])
			return -1;
		char *quoted = PQescapeIdentifier(p->conn, channel, strlen(channel));
		char sql[128];
		snprintf(sql, sizeof sql, "LISTEN %s", quoted ? quoted : "refd");
		PQfreemem(quoted);
		if (pg_exec(d, sql) != RF_OK)
			return -1;
		snprintf(p->listening[p->nlistening++], sizeof p->listening[0], "%s", channel);
	}
	int got = 0;
	for (int round = 0; round < 2; round++) {
		if (!PQconsumeInput(p->conn)) {
			note_result(p, NULL);
			return -1;
		}
		PGnotify *n;
		while ((n = PQnotifies(p->conn)) != NULL) {
			got |= strcmp(n->relname, channel) == 0;
			PQfreemem(n);
		}
		if (got || round == 1)
			break;
		struct pollfd pfd = {PQsocket(p->conn), POLLIN, 0};
		if (poll(&pfd, 1, timeout_ms) <= 0)
			break;
	}
	return got;
}

const rf_db_driver rf_db_postgres = {
    .name = "postgres",
    .dialect = RF_DB_POSTGRES,
    .caps = RF_DB_CAP_CONCURRENT_WRITES | RF_DB_CAP_SKIP_LOCKED | RF_DB_CAP_NOTIFY | RF_DB_CAP_FAILURE_ABORTS_TX,
    .open = pg_open,
    .close = pg_close,
    .prepare = pg_prepare,
    .bind_int = pg_bind_int,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .reset = pg_reset,
    .col_null = pg_col_null,
    .col_int = pg_col_int,
    .col_double = pg_col_double,
    .col_text = pg_col_text,
    .col_blob = pg_col_blob,
    .col_count = pg_col_count,
    .col_name = pg_col_name,
    .col_type = pg_col_type,
    .changes = pg_changes,
    .exec = pg_exec,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .in_tx = pg_in_tx,
    .last_error = pg_last_error,
    .idle = pg_idle,
    .notify = pg_notify,
    .poll_notice = pg_poll_notice,
};
