// SPDX-License-Identifier: Apache-2.0
// Takes the partner portal's screenshots for the docs: a logged-in partner's home page (the demo's Northwind
// Traders) at 1280x900 (docs/screenshots/portal.png) and at 360x740 (docs/screenshots/portal-phone.png).
// Starts build/refd (REFD_BIN overrides) with its demo data in a temporary directory and drives Debian's
// /usr/bin/chromium (CHROMIUM overrides) with playwright-core. Run: `make && node scripts/screenshots-portal.mjs`.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REFD = process.env.REFD_BIN || join(ROOT, 'build', 'refd');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OUT = join(ROOT, 'docs', 'screenshots');
const EMAIL = 'partners@northwind.example';
const PASSWORD = 'screenshot password';

function startRefd(dir) {
  const db = join(dir, 'refd.db');
  const proc = spawn(REFD, ['serve', '--listen', '127.0.0.1:0', '--db', db, '--threads', '2', '--quiet'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); fail(new Error('refd did not start: ' + err)); }, 20000);
    let buf = '';
    proc.stdout.on('data', (d) => {
      buf += d;
      for (const line of buf.split('\n')) {
        try {
          const rec = JSON.parse(line);
          if (rec.msg === 'listening') {
            clearTimeout(timer);
            ok({ proc, db, base: `http://${rec.addr}` });
          }
        } catch { /* not a whole JSON line yet */ }
      }
    });
    proc.on('exit', (code) => { clearTimeout(timer); fail(new Error(`refd exited (${code}): ${err}`)); });
  });
}

async function shoot(browser, base, viewport, file) {
  const ctx = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  await page.goto(`${base}/portal`);
  await page.fill('#login-email', EMAIL);
  await page.fill('#login-password', PASSWORD);
  await page.click('form[aria-labelledby="h-login"] button[type="submit"]');
  await page.waitForSelector('#balance');
  await page.waitForSelector('#summary');
  // The heading has the focus after logging in; the picture shows the page, not a focus ring.
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.screenshot({ path: join(OUT, file) });
  await ctx.close();
  console.log(`wrote docs/screenshots/${file}`);
}

if (!existsSync(REFD)) throw new Error(`${REFD} is missing: run make first`);
const dir = mkdtempSync(join(tmpdir(), 'refd-shots-'));
let refd;
let browser;
try {
  refd = await startRefd(dir);
  const key = execFileSync(REFD, ['apikey', 'create', '--db', refd.db, '--name', 'shots', '--role', 'admin'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const res = await fetch(`${refd.base}/api/v1/partners?q=northwind&kind=partner`, { headers: { Authorization: `Bearer ${key}` } });
  const northwind = (await res.json()).data[0];
  execFileSync(REFD, ['user', 'add', '--email', EMAIL, '--role', 'partner', '--partner', northwind.id, '--db', refd.db],
    { input: PASSWORD + '\n', stdio: ['pipe', 'pipe', 'pipe'] });
  mkdirSync(OUT, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  await shoot(browser, refd.base, { width: 1280, height: 900 }, 'portal.png');
  await shoot(browser, refd.base, { width: 360, height: 740 }, 'portal-phone.png');
} finally {
  if (browser) await browser.close();
  if (refd) {
    const exited = new Promise((ok) => refd.proc.once('exit', ok));
    refd.proc.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}
