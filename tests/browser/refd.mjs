// SPDX-License-Identifier: Apache-2.0
// What the browser tests share: where refd and Chromium are, a free loopback port, and starting and stopping a
// refd server of one's own (with or without the demo data) that reports its JSON log lines.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const REFD = process.env.REFD_BIN || join(ROOT, 'build', 'refd');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// Without the background-networking flags Chromium keeps trying to reach Google's services on a closed network.
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// The database the servers use: SQLite files (the default), or with REFD_TEST_DB=postgres a new database per
// directory on the PostgreSQL server that REFD_TEST_PG_URL names (a connection string for a role that may create
// databases, such as a throwaway cluster's from tests/pgcluster.py), dropped when the run ends.
export const DB_KIND = process.env.REFD_TEST_DB || 'sqlite';
const PG_URL = process.env.REFD_TEST_PG_URL || '';
if (DB_KIND === 'postgres') {
  if (!PG_URL) throw new Error('REFD_TEST_DB=postgres needs REFD_TEST_PG_URL');
  // Every refd process and command of the run seals with one instance key (a PostgreSQL database has no file
  // beside it for one).
  process.env.REFD_SECRET_KEY = randomBytes(32).toString('hex');
}

// The installation's psql (Debian's /usr/bin/psql is a slow Perl wrapper).
function psql() {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => b - a) : [];
  for (const v of versions) if (existsSync(join(base, v, 'bin', 'psql'))) return join(base, v, 'bin', 'psql');
  return 'psql';
}

function pgUrl(dbname) {
  return PG_URL.replace(/^(postgres(?:ql)?:\/\/[^/?]*\/)([^?]*)/, `$1${dbname}`);
}

function pgRun(sql, url = PG_URL) {
  return execFileSync(psql(), ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', url, '-c', sql],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const pgDatabases = new Map(); // directory -> database name
process.on('exit', () => {
  for (const name of pgDatabases.values()) {
    try { pgRun(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`); } catch { /* the cluster goes with the run */ }
  }
});

// The database of a server whose files live in dir: a SQLite file there, or a PostgreSQL database made for it
// (the same one again for a server started again on dir).
function databaseFor(dir) {
  if (DB_KIND !== 'postgres') return join(dir, 'refd.db');
  let name = pgDatabases.get(dir);
  if (!name) {
    name = 'refd_b_' + randomBytes(6).toString('hex');
    pgRun(`CREATE DATABASE "${name}"`);
    pgDatabases.set(dir, name);
  }
  return pgUrl(name);
}

// Rows of a query on a server's database, read-only, as objects (refd commits before it answers).
export function dbRows(r, sql) {
  if (DB_KIND === 'postgres') {
    const out = pgRun(`BEGIN TRANSACTION READ ONLY; SELECT coalesce(json_agg(t), '[]') FROM (${sql}) AS t; COMMIT`,
      r.db);
    return JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('[')).pop());
  }
  const out = execFileSync('sqlite3', ['-readonly', '-json', r.db, sql],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.trim() ? JSON.parse(out) : [];
}

// refd's worker threads: each has a listening socket of its own on the port (SO_REUSEPORT).
export const THREADS = 2;

// A free loopback port, for a test that must give refd a port of its own choosing (port 0 is safer: the kernel
// then picks one nobody uses at the moment of the bind).
export function freePort() {
  return new Promise((ok, fail) => {
    const s = net.createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

// How many sockets listen on the loopback TCP port, read from /proc/net/tcp. SO_REUSEPORT lets another process
// of the same user listen on a port refd listens on; the connections are then shared between the two.
export function listenersOn(port) {
  const hex = ':' + port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1).filter((line) => {
    const f = line.trim().split(/\s+/);
    return f.length > 3 && f[1].endsWith(hex) && f[3] === '0A';
  }).length;
}

// Starts `refd serve` on listen (host:port) with the database of dir (databaseFor). Options: demo (seed the demo data and wait
// for the admin password it prints), quiet (no request log), clock (a test clock file in dir), args (more options of
// `refd serve`). Resolves with { proc, db, port, lines (every JSON line refd printed), password, stderr() } once refd
// listens.
export function startRefd(dir, listen, { demo = false, quiet = false, clock = true, args: more = [] } = {}) {
  const db = databaseFor(dir);
  const args = ['serve', '--listen', listen, '--db', db, '--threads', String(THREADS), ...more];
  if (!demo) args.push('--no-demo');
  if (quiet) args.push('--quiet');
  if (clock) args.push('--test-clock-file', join(dir, 'clock'));
  const proc = spawn(REFD, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  let err = '';
  let port = null;
  let password = null;
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); fail(new Error('refd did not start: ' + err)); }, 20000);
    const ready = () => {
      if (port && (!demo || password)) {
        clearTimeout(timer);
        ok({ proc, db, lines, port, password, stderr: () => err });
      }
    };
    proc.stderr.on('data', (d) => {
      err += d;
      const m = /admin login: admin@example\.com with password (\S+)/.exec(err);
      if (m) password = m[1];
      ready();
    });
    let buf = '';
    proc.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let rec;
        try { rec = JSON.parse(line); } catch { continue; }
        lines.push(rec);
        if (rec.msg === 'listening') port = Number(rec.addr.split(':').pop());
      }
      ready();
    });
    proc.on('exit', (code) => { clearTimeout(timer); fail(new Error(`refd exited (${code}): ${err}`)); });
  });
}

export async function stopRefd(r) {
  if (!r || r.proc.exitCode !== null) return;
  const exited = new Promise((ok) => r.proc.once('exit', ok));
  r.proc.kill('SIGTERM');
  const t = setTimeout(() => r.proc.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(t);
}
