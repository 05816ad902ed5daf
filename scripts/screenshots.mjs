// SPDX-License-Identifier: Apache-2.0
// Takes the README's screenshots of the admin dashboard: starts build/refd (REFD_BIN overrides) with its demo data on
// a free loopback port and a temporary database, logs in as the demo admin through the login form in Debian's
// /usr/bin/chromium (CHROMIUM overrides), and saves docs/screenshots/dashboard.png (1280x900) and
// docs/screenshots/dashboard-phone.png (360x740). Run with `node scripts/screenshots.mjs` after `make`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REFD = process.env.REFD_BIN || join(ROOT, 'build', 'refd');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OUT = join(ROOT, 'docs', 'screenshots');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars'];

function freePort() {
  return new Promise((ok, fail) => {
    const s = net.createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

// Resolves with the process and the demo admin's password once refd listens.
function startRefd(dir, port) {
  const proc = spawn(REFD, ['serve', '--listen', `127.0.0.1:${port}`, '--db', join(dir, 'refd.db'), '--threads', '2', '--quiet'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); fail(new Error(`refd did not start: ${err}`)); }, 20000);
    const check = () => {
      const m = /admin login: admin@example\.com with password (\S+)/.exec(err);
      if (m && /"msg":"listening"/.test(out)) {
        clearTimeout(timer);
        ok({ proc, port, password: m[1] });
      }
    };
    proc.stderr.on('data', (d) => { err += d; check(); });
    proc.stdout.on('data', (d) => { out += d; check(); });
    proc.on('exit', (code) => { clearTimeout(timer); fail(new Error(`refd exited (${code}): ${err}`)); });
  });
}

async function shoot(browser, base, password, viewport, file) {
  const ctx = await browser.newContext({ viewport, deviceScaleFactor: 1, isMobile: viewport.width < 500, hasTouch: viewport.width < 500 });
  const page = await ctx.newPage();
  await page.goto(`${base}/app`);
  await page.fill('#login-form input[type=email]', 'admin@example.com');
  await page.fill('#login-form input[type=password]', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#dash-chart canvas', { timeout: 15000 });
  // The heading has focus after the login; a screenshot shows the page as it reads, without the focus ring.
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(OUT, file) });
  await ctx.close();
  console.log(`wrote docs/screenshots/${file}`);
}

if (!existsSync(REFD)) throw new Error(`${REFD} is missing: run make first`);
mkdirSync(OUT, { recursive: true });
// A fresh database per attempt (the demo data only goes into an empty one); another attempt when the port was taken
// between freePort() and refd's bind.
let dir;
let refd;
for (let attempt = 1; !refd; attempt++) {
  dir = mkdtempSync(join(tmpdir(), 'refd-shots-'));
  try {
    refd = await startRefd(dir, await freePort());
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    if (attempt >= 3) throw e;
  }
}
const base = `http://127.0.0.1:${refd.port}`;
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
try {
  await shoot(browser, base, refd.password, { width: 1280, height: 900 }, 'dashboard.png');
  await shoot(browser, base, refd.password, { width: 360, height: 740 }, 'dashboard-phone.png');
} finally {
  await browser.close();
  const exited = new Promise((ok) => refd.proc.once('exit', ok));
  refd.proc.kill('SIGTERM');
  await exited;
  rmSync(dir, { recursive: true, force: true });
}
