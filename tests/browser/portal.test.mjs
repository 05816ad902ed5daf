// SPDX-License-Identifier: Apache-2.0
// The partner portal (/portal) in a real headless Chromium, against refd started WITH its demo data (partners
// with links, leads, sales and commissions): partners see exactly their own numbers, links with a working Copy
// button and a QR code, deal registration reports conflicts, sign-up ends on "waiting for approval", a partner's
// recruitment link (copy, QR) opens the sign-up and records the partner as the recruiter, a password
// is reset through the link refd logs, login works with the keyboard alone, and a 360 px screen never scrolls
// sideways. Self-contained like tracking.test.mjs: starts build/refd (REFD_BIN overrides) and drives
// /usr/bin/chromium (CHROMIUM overrides) with playwright-core. Run with `sh tests/browser/run.sh` or
// `node --test tests/browser/portal.test.mjs`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, REFD, startRefd, stopRefd } from './refd.mjs';

const CASE = { timeout: 30000 };

let tmp;
let refd; // { proc, port, db, lines }
let key; // an admin API key
let browser;
let base; // http://127.0.0.1:PORT
let partners; // every demo partner, by name
const users = {}; // name → {email, password, partner}

// ---- refd ----

async function admin(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function addUser(name, email, password, role = 'partner', as = name) {
  const p = partners[name];
  assert.ok(p, `demo partner ${name}`);
  execFileSync(REFD, ['user', 'add', '--email', email, '--role', role, '--partner', p.id, '--db', refd.db],
    { input: password + '\n', encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  users[as] = { email, password, partner: p };
}

// The API's money as the portal shows it (api.js money()): "1,234.50 USD", with each currency's exponent from the
// server's table (GET /api/v1/currencies, read in before()).
let decimals = {};
function money(m) {
  const d = decimals[m.currency];
  assert.ok(d !== undefined, `${m.currency} is in the server's currency table`);
  const digits = String(Math.abs(m.amount)).padStart(d + 1, '0');
  const whole = d ? digits.slice(0, -d) : digits;
  const frac = d ? `.${digits.slice(-d)}` : '';
  return `${m.amount < 0 ? '-' : ''}${whole.replace(/\B(?=(\d{3})+$)/g, ',')}${frac} ${m.currency.toUpperCase()}`;
}

// ---- the browser ----

async function newPage(opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...opts });
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  return page;
}

async function loginAs(page, name) {
  const u = users[name];
  await page.goto(base + '/portal');
  await page.fill('#login-email', u.email);
  await page.fill('#login-password', u.password);
  await page.click('form[aria-labelledby="h-login"] button[type="submit"]');
  await page.waitForSelector('#balance');
}

// Opens a portal page by its hash and waits for its heading.
async function go(page, hash, ready = 'main h1') {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForFunction((h) => location.hash === '#' + h && !document.getElementById('main').hasAttribute('aria-busy'), hash);
  await page.waitForSelector(ready);
}

// What the page's own session gets from the API (the partner's own answers, not an admin's).
function ownApi(page, path) {
  return page.evaluate(async (p) => {
    const r = await fetch(p, { credentials: 'same-origin' });
    return { status: r.status, json: await r.json() };
  }, path);
}

const mainText = (page) => page.evaluate(() => document.getElementById('main').innerText);
const pageHtml = (page) => page.evaluate(() => document.documentElement.outerHTML);

// ---- setup ----

before(async () => {
  assert.ok(existsSync(REFD), `${REFD} is missing: run make first`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/bootstrap.sh`);
  tmp = mkdtempSync(join(tmpdir(), 'refd-portal-'));
  // Port 0: the kernel gives refd a port no other server has (a port chosen here could be taken meanwhile).
  refd = await startRefd(tmp, '127.0.0.1:0', { demo: true });
  base = `http://127.0.0.1:${refd.port}`;
  decimals = Object.fromEntries((await (await fetch(`${base}/api/v1/currencies`)).json()).data.map((c) => [c.code, c.exponent]));
  key = execFileSync(REFD, ['apikey', 'create', '--db', refd.db, '--name', 't', '--role', 'admin'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const list = await admin('GET', '/api/v1/partners?limit=100');
  partners = Object.fromEntries(list.data.map((p) => [p.name, p]));
  addUser('Northwind Traders', 'partners@northwind.example', 'northwind portal pass');
  addUser('Carla Gomez', 'carla@gomez-reviews.example', 'carla portal pass');
  addUser('Eve Laurent', 'eve@laurent.example', 'eve old password');
  addUser('Northwind Traders', 'sales.manager@northwind.example', 'manager portal pass', 'manager', 'Northwind manager');
  addUser('Karl Fischer', 'karl@fischer-it.example', 'karl portal pass');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30000 });
});

after(async () => {
  if (browser) await browser.close();
  await stopRefd(refd);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// The ids, link codes and amounts that belong to partners outside `name`'s own team (itself and its agents).
async function foreign(name) {
  const me = partners[name];
  const mine = new Set([me.id, ...Object.values(partners).filter((p) => p.team_parent_id === me.id).map((p) => p.id)]);
  const others = Object.values(partners).filter((p) => !mine.has(p.id));
  const links = (await admin('GET', '/api/v1/links?limit=100')).data;
  return {
    ids: others.map((p) => p.id),
    emails: others.map((p) => p.email),
    codes: links.filter((l) => !mine.has(l.partner_id)).map((l) => l.code),
  };
}

// A partner's balance figures as shown on its home page.
async function balanceShown(page) {
  return page.evaluate(() => [...document.querySelectorAll('#balance [data-currency]')].map((g) => ({
    currency: g.dataset.currency,
    figures: Object.fromEntries([...g.querySelectorAll('[data-status]')].map((s) => [s.dataset.status, s.querySelector('.value').textContent])),
  })));
}

// ---- cases ----

async function checkOwnNumbers(name, otherName) {
  const page = await newPage({ permissions: ['clipboard-read', 'clipboard-write'] });
  try {
    await loginAs(page, name);
    const me = partners[name];
    // The session is the partner's, and the home page shows its balance exactly as its own API answers it.
    const s = await ownApi(page, '/api/v1/auth/session');
    assert.equal(s.json.partner_id, me.id);
    const bal = (await ownApi(page, `/api/v1/partners/${me.id}/balance`)).json;
    assert.ok(bal.balances.length > 0, `${name} has earnings in the demo`);
    assert.deepEqual(await balanceShown(page), bal.balances.map((b) => ({
      currency: b.currency,
      figures: { pending: money(b.pending), ...(b.held.amount ? { held: money(b.held) } : {}), approved: money(b.approved), paid: money(b.paid), total: money(b.total) },
    })));
    // The next payout: its date and amount.
    const fc = (await ownApi(page, `/api/v1/partners/${me.id}/payout-forecast`)).json;
    const forecast = await page.locator('#forecast').innerText();
    for (const x of fc.expected) assert.ok(forecast.includes(money(x.amount)), `forecast shows ${money(x.amount)}: ${forecast}`);
    const date = await page.locator('#forecast time').first().getAttribute('datetime');
    assert.equal(date, fc.next_payout_date);

    // Another partner's figures are nowhere on the home page (only amounts that are not also the partner's own).
    const other = (await admin('GET', `/api/v1/partners/${partners[otherName].id}/balance`)).balances;
    const ownFigures = new Set(bal.balances.flatMap((b) => ['pending', 'held', 'approved', 'paid', 'total'].map((k) => money(b[k]))));
    const homeText = await mainText(page);
    for (const b of other) {
      for (const k of ['pending', 'approved', 'total']) {
        if (b[k].amount && !ownFigures.has(money(b[k]))) assert.ok(!homeText.includes(money(b[k])), `${otherName}'s ${k} ${money(b[k])} is not shown to ${name}`);
      }
    }

    // Links: exactly the partner's own (and its team's), each with its /r/ URL, a Copy button and a QR code.
    await go(page, 'links', '#links');
    const links = (await ownApi(page, '/api/v1/links?limit=100')).json.data;
    assert.ok(links.length > 0);
    const cards = await page.evaluate(() => [...document.querySelectorAll('.link-card')].map((c) => ({
      id: c.dataset.linkId,
      code: c.dataset.code,
      text: c.innerText,
      copy: c.querySelectorAll('button.copy').length,
      qr: (() => {
        const img = c.querySelector('img.qr-img');
        return img && { alt: img.alt, src: img.src.slice(0, 22), ok: img.complete && img.naturalWidth > 40 };
      })(),
    })));
    assert.deepEqual(cards.map((c) => c.id).sort(), links.map((l) => l.id).sort());
    for (const l of links) {
      const c = cards.find((x) => x.id === l.id);
      assert.match(l.url, /\/r\//);
      assert.ok(c.text.includes(l.url), `card shows ${l.url}`);
      assert.ok(c.copy >= 1, 'a Copy button');
      assert.deepEqual(c.qr, { alt: `QR code for ${l.url}`, src: 'data:image/gif;base64,', ok: true });
    }
    // Copy puts the link on the clipboard and says so, visibly and to screen readers.
    const first = page.locator('.link-card').first();
    const url = links.find((l) => l.id === (cards[0].id)).url;
    await first.locator('button.copy').first().click();
    await page.waitForFunction(() => document.querySelector('.link-card .copy-status').textContent === 'Copied');
    assert.ok(await first.locator('.copy-status').first().isVisible());
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url);
    await page.waitForFunction((u) => document.getElementById('status').textContent.includes(u), url);

    // Leads and commissions: visit them too, then look for anything of another team in every page seen.
    const f = await foreign(name);
    let seen = await pageHtml(page);
    for (const [hash, ready] of [['home', '#balance'], ['leads', '#leads'], ['commissions', '#commissions'], ['results', '#over-time table'], ['statements', '#statement']]) {
      await go(page, hash, ready);
      seen += await pageHtml(page);
    }
    for (const id of f.ids) assert.ok(!seen.includes(id), `${name} sees no foreign partner id ${id}`);
    for (const e of f.emails) assert.ok(!seen.includes(e), `${name} sees no foreign partner email ${e}`);
    for (const c of f.codes) assert.ok(!seen.includes(`/r/${c}`) && !seen.includes(`data-code="${c}"`), `${name} sees no foreign code ${c}`);
    assert.deepEqual(page.errors, []);
    return page;
  } catch (e) {
    await page.context().close();
    throw e;
  }
}

test('Northwind sees its own balance, payout, links (copy + QR) and nothing of another partner', CASE, async () => {
  const page = await checkOwnNumbers('Northwind Traders', 'Carla Gomez');
  try {
    const me = partners['Northwind Traders'];
    // A commission's detail page shows the explanation the API gives for it.
    await go(page, 'commissions', '#commissions table');
    const href = await page.locator('#commissions tbody a').first().getAttribute('href');
    const id = href.split('/').pop();
    await go(page, href.slice(1), '#explanation');
    const c = (await ownApi(page, `/api/v1/commissions/${id}`)).json;
    assert.equal(c.partner_id, me.id);
    assert.ok(c.explanation.text.length > 20);
    assert.equal((await page.locator('#explanation p').innerText()).trim(), c.explanation.text);

    // Statements: the printable page and the CSV for the chosen period, from the partner's own session.
    await go(page, 'statements', '#statement-html');
    const html = await page.locator('#statement-html').getAttribute('href');
    const csv = await page.locator('#statement-csv').getAttribute('href');
    assert.match(html, new RegExp(`^/api/v1/partners/${me.id}/statement\\?from=.*&format=html$`));
    assert.match(csv, /format=csv$/);
    const got = await page.evaluate(async (urls) => Promise.all(urls.map(async (u) => {
      const r = await fetch(u);
      return [r.status, r.headers.get('content-type'), (await r.text()).slice(0, 80)];
    })), [html, csv]);
    assert.equal(got[0][0], 200);
    assert.match(got[0][1], /text\/html/);
    assert.equal(got[1][0], 200);
    assert.match(got[1][2], /^"date","kind"/);

    // The team: its agents and their results.
    await go(page, 'team', '#agent-results');
    const team = await mainText(page);
    for (const n of ['Ava Martin', 'Ben Okafor']) assert.ok(team.includes(n), `team page names ${n}`);
    const bd = (await ownApi(page, `/api/v1/reports/breakdown?group_by=agent&program_id=${me.program_id}`)).json;
    assert.ok(bd.data.length >= 1);
    const rows = await page.locator('#agent-results tbody tr').count();
    assert.equal(rows, bd.data.length);
    assert.deepEqual(page.errors, []);
  } finally {
    await page.context().close();
  }
});

test('Carla (an affiliate) sees her own balance and link, none of Northwind\'s, and her overrides', CASE, async () => {
  const page = await checkOwnNumbers('Carla Gomez', 'Northwind Traders');
  try {
    assert.equal(await page.locator('#nav a[data-page="team"]').count(), 0, 'no team page for a partner without agents');
    // Her network page sums her override entries by level.
    await go(page, 'network', '#h-overrides');
    const all = (await ownApi(page, `/api/v1/commissions?partner_id=${partners['Carla Gomez'].id}&limit=100`)).json.data;
    const over = all.filter((c) => c.role === 'override' && c.status !== 'rejected');
    assert.ok(over.length > 0, 'Carla earns overrides in the demo');
    const total = over.reduce((a, c) => a + c.amount.amount, 0);
    assert.ok((await mainText(page)).includes(money({ amount: total, currency: over[0].amount.currency })));
    assert.deepEqual(page.errors, []);
  } finally {
    await page.context().close();
  }
});

test('deal registration shows conflicts, and a 409 when the prospect is already someone\'s lead', CASE, async () => {
  const page = await newPage();
  try {
    await loginAs(page, 'Carla Gomez');
    // The demo has leads on customer03.example (Northwind's): a new contact on that domain conflicts.
    const existing = (await admin('GET', `/api/v1/leads?partner_id=${partners['Northwind Traders'].id}&limit=100`)).data;
    assert.ok(existing.some((l) => l.email.endsWith('@customer03.example')), 'the demo has a lead at customer03.example');
    await go(page, 'register', 'form');
    await page.fill('input[name="email"]', 'someone@customer03.example');
    await page.fill('input[name="name"]', 'Some One');
    await page.fill('input[name="company"]', 'Customer 03 Ltd');
    await page.click('main button[type="submit"]');
    await page.waitForSelector('#register-result #conflicts li');
    const result = await page.locator('#register-result').innerText();
    assert.match(result, /Registered, with possible conflicts/);
    assert.match(result, /same company domain \(customer03\.example\)/);
    assert.ok(await page.evaluate(() => document.activeElement.id === 'register-result'), 'the result takes the focus');
    for (const p of Object.values(partners)) assert.ok(!result.includes(p.id) && !result.includes(p.name), 'a conflict does not say whose it is');
    // The registration is in her leads, pending review.
    const mine = (await ownApi(page, '/api/v1/leads?registration=true&limit=100')).json.data;
    const reg = mine.find((l) => l.email === 'someone@customer03.example');
    assert.equal(reg.status, 'pending_review');

    // A prospect that already is another partner's lead: 409, said plainly, next to the email field too.
    const taken = existing.find((l) => l.email);
    await page.fill('input[name="email"]', taken.email);
    await page.click('main button[type="submit"]');
    await page.waitForSelector('#register-result.bad');
    assert.match(await page.locator('#register-result').innerText(), /already someone’s lead/);
    assert.match(await page.locator('.field[data-field="email"] .field-error').innerText(), /already a lead/);
    assert.equal(await page.locator('input[name="email"]').getAttribute('aria-invalid'), 'true');
    assert.deepEqual(page.errors, []);
  } finally {
    await page.context().close();
  }
});

test('sign-up from a program link: field errors from the server, then "waiting for approval"', CASE, async () => {
  const prg = partners['Northwind Traders'].program_id;
  const page = await newPage();
  try {
    await page.goto(`${base}/portal?program=${prg}`);
    await page.waitForSelector('#h-signup');
    // An email that already has an account: the server's error lands next to the email field.
    await page.fill('input[name="name"]', 'Nora New');
    await page.fill('input[name="email"]', 'partners@northwind.example');
    await page.fill('input[name="password"]', 'a good long password');
    await page.click('main button[type="submit"]');
    await page.waitForSelector('.field[data-field="email"].invalid');
    assert.match(await page.locator('.field[data-field="email"] .field-error').innerText(), /already has an account/);
    assert.ok(await page.evaluate(() => document.activeElement.name === 'email'), 'focus moves to the field in error');

    await page.fill('input[name="email"]', 'nora@new-partner.example');
    await page.fill('input[name="company"]', 'Nora Media');
    await page.fill('input[name="website"]', 'https://nora.example');
    await page.click('main button[type="submit"]');
    await page.waitForSelector('#h-wait');
    assert.match(await mainText(page), /your application is waiting for approval/i);
    assert.ok(await page.locator('#nav').isHidden(), 'no portal menu before approval');
    const s = await ownApi(page, '/api/v1/auth/session');
    const p = (await ownApi(page, `/api/v1/partners/${s.json.partner_id}`)).json;
    assert.equal(p.status, 'applied');
    assert.equal(p.program_id, prg);
    assert.equal(p.company, 'Nora Media');
    // Reloading keeps the session and the waiting page.
    await page.reload();
    await page.waitForSelector('#h-wait');
    assert.deepEqual(page.errors, []);
  } finally {
    await page.context().close();
  }
});

test('a partner\'s recruitment link (copy + QR) opens the sign-up, which records the partner as recruiter', CASE, async () => {
  const carla = partners['Carla Gomez'];
  const page = await newPage({ permissions: ['clipboard-read', 'clipboard-write'] });
  const visitor = await newPage();
  try {
    await loginAs(page, 'Carla Gomez');
    await go(page, 'network', '#recruit-link');
    const me = (await ownApi(page, `/api/v1/partners/${carla.id}`)).json;
    assert.match(me.recruitment_url, new RegExp(`^${base}/portal\\?recruiter=${me.recruitment_code}$`));
    // The link and the code, each with its Copy button, and the link's QR code.
    const card = page.locator('#recruit-link');
    assert.equal(await card.locator('#recruit-url').innerText(), me.recruitment_url);
    assert.equal(await card.locator('#recruit-code').innerText(), me.recruitment_code);
    assert.equal(await card.locator('button.copy').count(), 2);
    const qr = await card.evaluate((c) => {
      const img = c.querySelector('img.qr-img');
      return { alt: img.alt, src: img.src.slice(0, 22), ok: img.complete && img.naturalWidth > 40, dl: c.querySelector('figcaption a[download]').getAttribute('href') === img.getAttribute('src') };
    });
    assert.deepEqual(qr, { alt: `QR code for ${me.recruitment_url}`, src: 'data:image/gif;base64,', ok: true, dl: true });
    await card.locator('button.copy').first().click();
    await page.waitForFunction(() => document.getElementById('recruit-url-status').textContent === 'Copied');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, me.recruitment_url);

    // A code that is nobody's: the server's refusal lands next to the recruitment code field.
    await visitor.goto(`${base}/portal?recruiter=zzzzzzzzzzzz`);
    await visitor.waitForSelector('#h-signup');
    await visitor.fill('input[name="name"]', 'Rita Recruit');
    await visitor.fill('input[name="email"]', 'rita@recruit.example');
    await visitor.fill('input[name="password"]', 'a good long password');
    await visitor.click('main button[type="submit"]');
    await visitor.waitForSelector('.field[data-field="recruitment_code"].invalid');
    assert.match(await visitor.locator('.field[data-field="recruitment_code"] .field-error').innerText(), /no such recruitment code/);

    // The copied link, opened by someone else: the sign-up page, with Carla's code filled in.
    await visitor.goto(copied);
    await visitor.waitForSelector('#h-signup');
    assert.equal(await visitor.inputValue('input[name="recruitment_code"]'), me.recruitment_code);
    assert.match(await visitor.locator('#recruited-notice').innerText(), /invited you/);
    await visitor.fill('input[name="name"]', 'Rita Recruit');
    await visitor.fill('input[name="email"]', 'rita@recruit.example');
    await visitor.fill('input[name="password"]', 'a good long password');
    await visitor.click('main button[type="submit"]');
    await visitor.waitForSelector('#h-wait');
    const s = await ownApi(visitor, '/api/v1/auth/session');
    const rita = (await ownApi(visitor, `/api/v1/partners/${s.json.partner_id}`)).json;
    assert.equal(rita.recruited_by_id, carla.id);
    assert.equal(rita.status, 'applied');
    assert.equal(rita.program_id, carla.program_id);

    // Carla's network lists her new recruit.
    await go(page, 'home', '#balance');
    await go(page, 'network', '#h-recruits');
    const recruits = await page.locator('section[aria-labelledby="h-recruits"]').innerText();
    assert.match(recruits, /Rita Recruit/);
    assert.match(recruits, /applied/);
    assert.deepEqual(page.errors, []);
    assert.deepEqual(visitor.errors, []);
  } finally {
    await page.context().close();
    await visitor.context().close();
  }
});

test('password reset through the link refd logs', CASE, async () => {
  const u = users['Eve Laurent'];
  const page = await newPage();
  try {
    await page.goto(base + '/portal');
    await page.click('a[href="#forgot"]');
    await page.waitForSelector('#h-forgot');
    const from = refd.lines.length;
    await page.fill('input[name="email"]', u.email);
    await page.click('main button[type="submit"]');
    await page.waitForSelector('.notice:not([hidden])');
    const neutral = await page.locator('.notice').innerText();
    assert.match(neutral, /if this email has an account/i);
    // An unknown address gets the very same answer.
    await page.fill('input[name="email"]', 'nobody@nowhere.example');
    await page.click('main button[type="submit"]');
    await page.waitForFunction((n) => document.querySelector('.notice').textContent === n, neutral);

    let rec;
    for (let i = 0; i < 100 && !rec; i++) {
      rec = refd.lines.slice(from).find((l) => l.msg === 'password reset link' && l.email === u.email);
      if (!rec) await new Promise((ok) => setTimeout(ok, 50));
    }
    assert.ok(rec, 'refd logged the reset link');
    assert.equal(refd.lines.slice(from).filter((l) => l.msg === 'password reset link').length, 1, 'no link for an unknown address');
    assert.match(rec.url, /\/portal#reset=/);

    await page.goto(rec.url);
    await page.waitForSelector('#h-reset');
    await page.fill('input[name="password"]', 'eve new password');
    await page.fill('input[name="password_again"]', 'eve new password!');
    await page.click('main button[type="submit"]');
    assert.match(await page.locator('.field[data-field="password_again"] .field-error').innerText(), /differ/);
    await page.fill('input[name="password_again"]', 'eve new password');
    await page.click('main button[type="submit"]');
    await page.waitForSelector('#h-login');
    assert.match(await mainText(page), /Your password is set/);
    assert.ok(!page.url().includes('reset='), 'the spent token leaves the address bar');
    assert.equal(await page.inputValue('#login-email'), u.email);

    // The old password is refused, the new one works.
    const old = await fetch(base + '/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: u.email, password: u.password }) });
    assert.equal(old.status, 401);
    await page.fill('#login-password', 'eve new password');
    await page.click('form[aria-labelledby="h-login"] button[type="submit"]');
    await page.waitForSelector('#balance');
    u.password = 'eve new password';

    // The link works once.
    const again = await fetch(base + '/api/v1/auth/password-reset/confirm', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: rec.url.split('#reset=')[1], password: 'yet another password' }) });
    assert.equal(again.status, 400);
    assert.deepEqual(page.errors, []);
  } finally {
    await page.context().close();
  }
});

test('keyboard only: skip link, login, menu and pages', CASE, async () => {
  const page = await newPage();
  try {
    await page.goto(base + '/portal');
    await page.waitForSelector('#login-email');
    const active = () => page.evaluate(() => {
      const a = document.activeElement;
      return { id: a.id, cls: a.className, text: a.textContent.trim().slice(0, 40), outline: getComputedStyle(a).outlineStyle };
    });
    await page.keyboard.press('Tab');
    assert.equal((await active()).cls, 'skip', 'the first Tab reaches the skip link');
    await page.keyboard.press('Tab');
    const email = await active();
    assert.equal(email.id, 'login-email', 'then the email field');
    assert.notEqual(email.outline, 'none', 'the focus is visible');
    await page.keyboard.type(users['Northwind Traders'].email);
    await page.keyboard.press('Tab');
    assert.equal((await active()).id, 'login-password');
    await page.keyboard.type(users['Northwind Traders'].password);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#balance');

    // The focus lands on the home page's heading; the menu is just before it: Enter on "Links" opens that page
    // and puts the focus on its heading.
    await page.waitForFunction(() => document.activeElement.tagName === 'H1');
    let found = false;
    for (let i = 0; i < 15 && !found; i++) {
      await page.keyboard.press('Shift+Tab');
      found = (await active()).text === 'Links';
    }
    assert.ok(found, 'Tab reaches the Links menu item');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#links');
    await page.waitForFunction(() => document.activeElement.tagName === 'H1');
    assert.equal((await active()).text, 'My links and codes');
    // The skip link moves the focus into the page without leaving it.
    await page.focus('.skip');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
    assert.equal(await page.evaluate(() => location.hash), '#links');
    assert.deepEqual(page.errors, []);
  } finally {
    await page.context().close();
  }
});

test('360 px wide: every page fits without sideways scrolling, the menu folds', CASE, async () => {
  const page = await newPage({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  try {
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
    await page.goto(base + '/portal');
    await page.waitForSelector('#login-email');
    assert.ok(await fits(), 'login fits');
    await page.goto(base + '/portal#signup');
    await page.waitForSelector('#h-signup');
    assert.ok(await fits(), 'sign-up fits');
    await loginAs(page, 'Northwind Traders');
    assert.ok(await page.locator('#nav').isHidden(), 'the menu is folded');
    await page.click('#menu-button');
    assert.ok(await page.locator('#nav').isVisible(), 'Menu opens it');
    assert.equal(await page.getAttribute('#menu-button', 'aria-expanded'), 'true');
    await page.click('#nav a[data-page="links"]');
    await page.waitForSelector('#links');
    assert.ok(await page.locator('#nav').isHidden(), 'choosing a page folds it again');
    for (const [hash, ready] of [['home', '#balance'], ['links', '#links'], ['results', '#over-time .chart'], ['leads', '#leads'],
      ['register', 'main form'], ['commissions', '#commissions'], ['statements', '#statement'], ['network', '#h-overrides'], ['team', '#agent-results']]) {
      await go(page, hash, ready);
      assert.ok(await fits(), `#${hash} fits in 360 px`);
    }
    assert.deepEqual(page.errors, []);
  } finally {
    await page.context().close();
  }
});

test('a manager sees its organisation\'s portal; a suspended partner is told why', CASE, async () => {
  const page = await newPage();
  try {
    await loginAs(page, 'Northwind manager');
    const nw = partners['Northwind Traders'];
    assert.equal((await ownApi(page, '/api/v1/auth/session')).json.role, 'manager');
    const bal = (await admin('GET', `/api/v1/partners/${nw.id}/balance`)).balances;
    const shown = await balanceShown(page);
    assert.deepEqual(shown.map((b) => b.figures.total), bal.map((b) => money(b.total)));
    assert.equal(await page.locator('#nav a[data-page="team"]').count(), 1, 'the team page is there');
    await page.click('#logout');
    await page.waitForSelector('#login-email');
    assert.ok(await page.locator('#nav').isHidden());

    const karl = partners['Karl Fischer'];
    assert.equal(karl.status, 'suspended');
    await loginAs(page, 'Karl Fischer');
    const banner = await page.locator('#banner').innerText();
    assert.match(banner, /suspended/);
    if (karl.status_reason) assert.ok(banner.includes(karl.status_reason));
    assert.deepEqual(page.errors, []);
  } finally {
    await page.context().close();
  }
});
