// SPDX-License-Identifier: Apache-2.0
// Money in the web UI, in a real headless Chromium: the page takes every currency's exponent from the server's
// ISO 4217 table (GET /api/v1/currencies, fetched once before the first screen), formats and parses an amount in
// every currency of that table with the UI's own code, follows a doctored table (so it keeps no copy of its own),
// an admin who types amounts in zero-, three- and four-decimal currencies into the real forms (a program's payout
// threshold, a partner's cost per lead, a sale and its refund) sends the right minor units, and a partner of a
// zero-decimal program sees its earnings without decimals in the portal.
// Self-contained: starts build/refd (REFD_BIN overrides) on an empty database with one admin, and drives Debian's
// /usr/bin/chromium (CHROMIUM overrides) with playwright-core. Run with `sh tests/browser/run.sh` or
// `node --test tests/browser/money.test.mjs`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, REFD, freePort, startRefd, stopRefd } from './refd.mjs';

const CASE = { timeout: 30000 };
const EMAIL = 'money.admin@example.com';
const PASSWORD = 'a money admin password';

let tmp;
let refd;
let base;
let browser;
let ctx;
let page;
let currencies; // the server's table: [{code, exponent}], read over HTTP at test time
let krona; // the ISK program the cases create, and its partner
let sigrun;
const pageErrors = [];

// ---- what the UI should show, from the exponent alone ----

const pow10 = (e) => 10n ** BigInt(e);

// Minor units as a person reads them: grouped whole units, then exactly `exponent` decimals, then the code.
function expectedText(amount, exponent, code) {
  const mag = BigInt(Math.abs(amount));
  const whole = (mag / pow10(exponent)).toLocaleString('en-US');
  const frac = exponent ? `.${(mag % pow10(exponent)).toString().padStart(exponent, '0')}` : '';
  return `${amount < 0 ? '-' : ''}${whole}${frac} ${code.toUpperCase()}`;
}

// ---- helpers ----

function pageApi(p, method, path, body) {
  return p.evaluate(async ([m, u, b]) => {
    const { api } = await import('/assets/api.js');
    return api(m, u, b);
  }, [method, path, body]);
}

async function goto(p, hash) {
  await p.evaluate((h) => { location.hash = h; }, hash);
  await p.waitForFunction((h) => location.hash.startsWith(h) && !document.getElementById('main').hasAttribute('aria-busy'), hash);
}

async function liveText(p, re) {
  await p.waitForFunction((src) => new RegExp(src).test(document.getElementById('live').textContent), re.source, { timeout: 10000 });
  return p.textContent('#live');
}

// The text of a fact (<dt>label</dt><dd>value</dd>) on the current screen.
function fact(p, label) {
  return p.evaluate((l) => {
    const dt = [...document.querySelectorAll('main dl.facts dt')].find((x) => x.textContent === l);
    return dt ? dt.nextElementSibling.textContent : null;
  }, label);
}

// Submits a form and returns the JSON body of the API request it sends (method and path given).
async function submitAndCapture(p, formSel, method, path) {
  const [req] = await Promise.all([
    p.waitForRequest((r) => r.method() === method && new URL(r.url()).pathname === path, { timeout: 10000 }),
    p.click(`${formSel} button[type=submit]`),
  ]);
  return req.postDataJSON();
}

// The admin's page, logged in (once: the cases share it, as a person's tab would be).
async function loggedIn() {
  if (!page.url().startsWith(`${base}/app`)) await login(page);
}

async function login(p) {
  await p.goto(`${base}/app`);
  await p.waitForSelector('#login-form');
  await p.fill('#login-form input[type=email]', EMAIL);
  await p.fill('#login-form input[type=password]', PASSWORD);
  await p.click('#login-form button[type=submit]');
  await p.waitForSelector('#nav a[data-page=dashboard]', { timeout: 15000 });
  await p.waitForFunction(() => !document.getElementById('main').hasAttribute('aria-busy'));
}

// ---- setup ----

before(async () => {
  assert.ok(existsSync(REFD), `${REFD} is missing: run make first`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/bootstrap.sh`);
  tmp = mkdtempSync(join(tmpdir(), 'refd-money-'));
  for (let attempt = 1; ; attempt++) {
    try {
      refd = await startRefd(tmp, `127.0.0.1:${await freePort()}`, { quiet: true, clock: false });
      break;
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
  base = `http://127.0.0.1:${refd.port}`;
  execFileSync(REFD, ['user', 'add', '--email', EMAIL, '--role', 'admin', '--db', refd.db],
    { input: PASSWORD + '\n', encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  const res = await fetch(`${base}/api/v1/currencies`);
  assert.equal(res.status, 200, 'GET /api/v1/currencies');
  currencies = (await res.json()).data;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30000 });
  ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

after(async () => {
  if (browser) await browser.close();
  await stopRefd(refd);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ---- cases ----

test('the page fetches the currency table once, before its first screen, and keeps it', CASE, async () => {
  const seen = [];
  // The table arrives late: the UI must wait for it rather than render with guesses.
  await ctx.route('**/api/v1/currencies', async (route) => {
    seen.push(route.request().url());
    await new Promise((ok) => setTimeout(ok, 400));
    await route.continue();
  });
  try {
    await login(page);
    for (const hash of ['#programs', '#partners', '#sales', '#commissions', '#dashboard']) await goto(page, hash);
    assert.equal(seen.length, 1, `one request for the table per page load: ${JSON.stringify(seen)}`);
  } finally {
    await ctx.unroute('**/api/v1/currencies');
  }
});

test('an amount in every currency of the server table is formatted and parsed with its exponent', CASE, async () => {
  const odd = currencies.filter((c) => c.exponent !== 2);
  // The cases the UI got wrong: zero decimals beyond JPY and KRW, three, and four.
  for (const code of ['isk', 'vnd', 'clp', 'xof', 'bhd', 'kwd', 'clf', 'uyw']) assert.ok(odd.some((c) => c.code === code), code);
  for (const e of [0, 3, 4]) assert.ok(odd.some((c) => c.exponent === e), `a currency with ${e} decimals`);
  await loggedIn();

  const got = await page.evaluate(async (list) => {
    const { money, moneyParts } = await import('/assets/api.js');
    const { moneyText, parseMoney } = await import('/assets/admin-ui.js');
    return list.map(({ code, exponent }) => ({
      code,
      big: money({ amount: 123456789, currency: code }),
      negative: money({ amount: -5, currency: code }),
      upper: money({ amount: 1000, currency: code.toUpperCase() }),
      parts: moneyParts({ amount: 1000, currency: code }),
      text: moneyText({ amount: 123456789, currency: code }),
      thousand: parseMoney('1000', code),
      grouped: parseMoney('1,234', code),
      decimals: exponent ? parseMoney(`7.${'9'.repeat(exponent)}`, code) : null,
      tooMany: parseMoney(`7.${'9'.repeat(exponent + 1)}`, code),
      roundTrip: parseMoney(moneyText({ amount: -123456789, currency: code }), code),
    }));
  }, currencies);

  const problems = [];
  for (const [i, { code, exponent }] of currencies.entries()) {
    const g = got[i];
    const scale = Number(pow10(exponent));
    const want = {
      code,
      big: expectedText(123456789, exponent, code),
      negative: expectedText(-5, exponent, code),
      upper: expectedText(1000, exponent, code),
      parts: ['', exponent ? String(Math.trunc(1000 / scale)) : '1000', exponent ? `.${String(1000 % scale).padStart(exponent, '0')}` : ''],
      text: expectedText(123456789, exponent, code).replace(/,/g, '').replace(/ [A-Z]{3}$/, ''),
      thousand: 1000 * scale,
      grouped: 1234 * scale,
      decimals: exponent ? 8 * scale - 1 : null,
      tooMany: NaN,
      roundTrip: -123456789,
    };
    try {
      assert.deepEqual(g, want);
    } catch {
      problems.push(`${code} (${exponent} decimals): got ${JSON.stringify(g)}, want ${JSON.stringify(want)}`);
    }
  }
  assert.deepEqual(problems, []);
  // Spelled out, for the reader: the currencies of the defect.
  const shown = Object.fromEntries(got.filter((g) => ['isk', 'bhd', 'clf'].includes(g.code)).map((g) => [g.code, [g.upper, g.thousand]]));
  assert.deepEqual(shown, { isk: ['1,000 ISK', 1000], bhd: ['1.000 BHD', 1000000], clf: ['0.1000 CLF', 10000000] });
});

test('the UI follows the table the server sends: it keeps no exponents of its own', CASE, async () => {
  // The same table with three exponents changed; a UI with its own copy would not notice.
  const doctored = currencies.map((c) => ({ ...c, exponent: { usd: 3, isk: 2, clf: 0 }[c.code] ?? c.exponent }));
  const p = await ctx.newPage();
  p.on('pageerror', (e) => pageErrors.push(e.message));
  await p.route('**/api/v1/currencies', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ object: 'list', data: doctored, has_more: false }) }));
  await p.goto(`${base}/app#dashboard`);
  await p.waitForSelector('#nav a[data-page=dashboard]', { timeout: 15000 });
  const got = await p.evaluate(async () => {
    const { money } = await import('/assets/api.js');
    const { parseMoney } = await import('/assets/admin-ui.js');
    return [money({ amount: 1000, currency: 'usd' }), money({ amount: 1000, currency: 'isk' }), money({ amount: 1000, currency: 'clf' }),
      parseMoney('1', 'usd'), parseMoney('1', 'isk'), parseMoney('1', 'clf')];
  });
  assert.deepEqual(got, ['1.000 USD', '10.00 ISK', '1,000 CLF', 1000, 100, 1]);
  await p.close();
});

test('a zero-decimal program: its payout threshold is typed in whole krónur and sent as such', CASE, async () => {
  await loggedIn();
  await goto(page, '#programs');
  await page.click('#program-new >> xpath=ancestor::details/summary');
  await page.fill('#program-new [name=name]', 'Krona referrals');
  await page.fill('#program-new [name=currency]', 'isk');
  await page.click('#program-new button[type=submit]');
  await page.waitForFunction(() => /^#programs\/prg_/.test(location.hash));
  await page.waitForSelector('#program-settings');
  const id = (await page.evaluate(() => location.hash)).split('/')[1];
  krona = id;

  const f = '#program-settings';
  // More decimals than ISK has is refused next to the field, and nothing is sent.
  let sent = 0;
  const count = (r) => { if (r.method() === 'PATCH') sent++; };
  page.on('request', count);
  await page.fill(`${f} [name=payout_threshold]`, '10.5');
  await page.click(`${f} button[type=submit]`);
  await page.waitForFunction(() => document.querySelector('#program-settings [name=payout_threshold]').getAttribute('aria-invalid') === 'true');
  assert.match(await page.textContent(`${f} .form-error`), /10\.5 is not an amount in ISK/);
  page.off('request', count);
  assert.equal(sent, 0);

  await page.fill(`${f} [name=payout_threshold]`, '1,000');
  const body = await submitAndCapture(page, f, 'PATCH', `/api/v1/programs/${id}`);
  assert.deepEqual(body.payout_threshold, { amount: 1000, currency: 'isk' });
  await liveText(page, /Settings of Krona referrals saved/);
  assert.deepEqual((await pageApi(page, 'GET', `/api/v1/programs/${id}`)).payout_threshold, { amount: 1000, currency: 'isk' });
  // Shown in the list as money, and in the form again as a person types it (no decimals).
  await goto(page, '#programs?all');
  await page.waitForSelector('#programs-table');
  assert.match(await page.textContent('#programs-table tbody'), /1,000 ISK/);
  await goto(page, `#programs/${id}`);
  await page.waitForSelector(f);
  assert.equal(await page.inputValue(`${f} [name=payout_threshold]`), '1000');
});

test("a partner's cost per lead in the krona program is sent in whole krónur and shown without decimals", CASE, async () => {
  await goto(page, '#partners/new');
  const f = '#partner-create';
  await page.waitForSelector(f);
  // The example in the field has ISK's decimals (none).
  assert.equal(await page.getAttribute(`${f} [name=cost_per_lead]`, 'placeholder'), '0');
  await page.fill(`${f} [name=name]`, 'Sigrun Jonsdottir');
  await page.fill(`${f} [name=email]`, 'sigrun@example.is');
  await page.fill(`${f} [name=cost_per_lead]`, '2,500');
  const body = await submitAndCapture(page, f, 'POST', '/api/v1/partners');
  assert.deepEqual(body.cost_per_lead, { amount: 2500, currency: 'isk' });
  await page.waitForFunction(() => /^#partners\/ptn_/.test(location.hash));
  await page.waitForSelector('main dl.facts');
  const id = (await page.evaluate(() => location.hash)).split('/')[1];
  sigrun = id;
  assert.deepEqual((await pageApi(page, 'GET', `/api/v1/partners/${id}`)).cost_per_lead, { amount: 2500, currency: 'isk' });
  assert.equal(await fact(page, 'Cost per lead'), '2,500 ISK');
});

test('sales in ISK, BHD and CLF are typed with their own decimals; an ISK refund too', CASE, async () => {
  const cases = [
    { currency: '', typed: '1,000', want: { amount: 1000, currency: 'isk' }, shown: '1,000 ISK', placeholder: '49' },
    { currency: 'BHD', typed: '12.345', want: { amount: 12345, currency: 'bhd' }, shown: '12.345 BHD', placeholder: '49.000' },
    { currency: 'clf', typed: '1.2345', want: { amount: 12345, currency: 'clf' }, shown: '1.2345 CLF', placeholder: '49.0000' },
  ];
  // A code the server's table does not have is reported on the currency field, and nothing is sent.
  await goto(page, '#sales');
  await page.waitForSelector('#sale-create');
  let sent = 0;
  const count = (r) => { if (r.method() === 'POST') sent++; };
  page.on('request', count);
  await page.fill('#sale-create [name=customer]', 'gold@example.is');
  await page.fill('#sale-create [name=external_id]', 'inv-money-gold');
  await page.fill('#sale-create [name=currency]', 'xau');
  await page.fill('#sale-create [name=amount]', '1');
  await page.click('#sale-create button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#sale-create [name=currency]').getAttribute('aria-invalid') === 'true');
  assert.match(await page.textContent('#sale-create .form-error'), /xau is not an ISO 4217 currency code/);
  page.off('request', count);
  assert.equal(sent, 0);

  const sales = [];
  for (const [i, c] of cases.entries()) {
    await goto(page, '#sales');
    const f = '#sale-create';
    await page.waitForSelector(f);
    await page.fill(`${f} [name=customer]`, `buyer${i}@example.is`);
    await page.fill(`${f} [name=external_id]`, `inv-money-${i}`);
    await page.fill(`${f} [name=currency]`, c.currency);
    // The example amount follows the currency the sale will be in.
    assert.equal(await page.getAttribute(`${f} [name=amount]`, 'placeholder'), c.placeholder, c.currency);
    await page.fill(`${f} [name=amount]`, c.typed);
    const body = await submitAndCapture(page, f, 'POST', '/api/v1/sales');
    assert.deepEqual(body.amount, c.want);
    await page.waitForFunction(() => /^#sales\/sale_/.test(location.hash));
    await page.waitForSelector('#refund-create');
    const id = (await page.evaluate(() => location.hash)).split('/')[1];
    assert.deepEqual((await pageApi(page, 'GET', `/api/v1/sales/${id}`)).amount, c.want);
    assert.equal(await fact(page, 'Amount'), c.shown);
    sales.push(id);
  }

  // The refund form of the ISK sale offers what is left in whole krónur; 250 of it is refunded.
  await goto(page, `#sales/${sales[0]}`);
  await page.waitForSelector('#refund-create');
  assert.equal(await page.inputValue('#refund-create [name=amount]'), '1000');
  await page.fill('#refund-create [name=amount]', '250');
  const body = await submitAndCapture(page, '#refund-create', 'POST', '/api/v1/refunds');
  assert.deepEqual(body.amount, { amount: 250, currency: 'isk' });
  await liveText(page, /Refund of 250 ISK recorded/);
  assert.equal((await pageApi(page, 'GET', `/api/v1/sales/${sales[0]}`)).refunded.amount, 250);
  await page.waitForSelector('#refund-create');
  assert.equal(await fact(page, 'Refunded'), '250 ISK');
});

test('in the partner portal, a partner of the krona program sees its earnings in whole krónur', CASE, async () => {
  assert.ok(krona && sigrun, 'the program and partner of the cases above');
  // 10 % of a 12,340 ISK sale credited to the partner: 1,234 ISK, pending.
  await pageApi(page, 'POST', '/api/v1/plans', { program_id: krona, name: 'Krona standard', default: true, rules: { sale_bps: 1000 } });
  const sale = await pageApi(page, 'POST', '/api/v1/sales', {
    program_id: krona, amount: { amount: 12340, currency: 'isk' }, external_id: 'inv-money-portal', email: 'portal.buyer@example.is', partner_id: sigrun,
  });
  assert.deepEqual(sale.commissions.map((c) => c.amount), [{ amount: 1234, currency: 'isk' }]);
  execFileSync(REFD, ['user', 'add', '--email', 'sigrun@example.is', '--role', 'partner', '--partner', sigrun, '--db', refd.db],
    { input: 'sigrun portal password\n', encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });

  const portal = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const seen = [];
    await portal.route('**/api/v1/currencies', async (route) => {
      seen.push(route.request().url());
      await new Promise((ok) => setTimeout(ok, 300));
      await route.continue();
    });
    const p = await portal.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.goto(`${base}/portal`);
    await p.fill('#login-email', 'sigrun@example.is');
    await p.fill('#login-password', 'sigrun portal password');
    await p.click('form[aria-labelledby="h-login"] button[type="submit"]');
    await p.waitForSelector('#balance [data-currency=isk]');
    const shown = await p.evaluate(() => Object.fromEntries([...document.querySelectorAll('#balance [data-currency=isk] [data-status]')]
      .map((x) => [x.dataset.status, x.querySelector('.value').textContent])));
    assert.deepEqual(shown, { pending: '1,234 ISK', approved: '0 ISK', paid: '0 ISK', total: '1,234 ISK' });
    assert.equal(seen.length, 1, 'the portal fetches the table once');
  } finally {
    await portal.close();
  }
});

test('no page raised a script error', () => {
  assert.deepEqual(pageErrors, []);
});
