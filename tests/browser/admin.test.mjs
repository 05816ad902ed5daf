// SPDX-License-Identifier: Apache-2.0
// The admin UI (/app) in a real headless Chromium, against refd with its demo data: an admin logs in through the
// form, the dashboard shows what the reports API says, a partner is created through the form (an API error lands
// next to its field), an application and the demo's deal registration are approved, a lead's agent is picked with
// the combobox, a payout run is created, approved, exported (the CSV checked against the run's items) and marked
// paid, the main screens are reached with the keyboard alone, and a phone-sized dashboard has no horizontal scroll.
// Self-contained: starts build/refd (REFD_BIN overrides) and drives Debian's /usr/bin/chromium (CHROMIUM overrides)
// with playwright-core. Run with `sh tests/browser/run.sh` or `node --test tests/browser/admin.test.mjs`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, REFD, startRefd, stopRefd } from './refd.mjs';

const CASE = { timeout: 30000 };

let tmp;
let refd; // { proc, port, password }
let browser;
let ctx; // the logged-in admin's browser context
let page;
let base;
const pageErrors = []; // uncaught exceptions in any page, checked by the last case

// ---- refd ----

// ---- helpers ----

// The API, called from the page with the admin's own session (and its CSRF token for writes).
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

// A CSV line's cells (quoted cells may hold commas and doubled quotes).
function csvRows(text) {
  const rows = [];
  for (const line of text.split(/\r?\n/).filter((l) => l.length)) {
    const cells = [];
    let i = 0;
    while (i <= line.length) {
      if (line[i] === '"') {
        let v = '';
        i++;
        while (i < line.length) {
          if (line[i] === '"' && line[i + 1] === '"') { v += '"'; i += 2; } else if (line[i] === '"') { i++; break; } else v += line[i++];
        }
        cells.push(v);
        i++; // the comma
      } else {
        const j = line.indexOf(',', i);
        const end = j < 0 ? line.length : j;
        cells.push(line.slice(i, end));
        i = end + 1;
      }
    }
    rows.push(cells);
  }
  return rows;
}

// Each currency's exponent, from the server's table (GET /api/v1/currencies), read in before().
let EXP = {};
function decimal(m) {
  const d = EXP[m.currency];
  assert.ok(d !== undefined, `${m.currency} is in the server's currency table`);
  const s = String(Math.abs(m.amount)).padStart(d + 1, '0');
  return (m.amount < 0 ? '-' : '') + (d ? `${s.slice(0, -d)}.${s.slice(-d)}` : s);
}

async function login(p) {
  await p.goto(`${base}/app`);
  await p.waitForSelector('#login-form');
  await p.fill('#login-form input[type=email]', 'admin@example.com');
  await p.fill('#login-form input[type=password]', refd.password);
  await p.click('#login-form button[type=submit]');
  await p.waitForSelector('#dash-leads', { timeout: 15000 });
}

// ---- setup ----

before(async () => {
  assert.ok(existsSync(REFD), `${REFD} is missing: run make first`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/bootstrap.sh`);
  tmp = mkdtempSync(join(tmpdir(), 'refd-admin-'));
  // Port 0: the kernel gives refd a port no other server has (a port chosen here could be taken meanwhile).
  refd = await startRefd(tmp, '127.0.0.1:0', { demo: true, quiet: true, clock: false });
  base = `http://127.0.0.1:${refd.port}`;
  EXP = Object.fromEntries((await (await fetch(`${base}/api/v1/currencies`)).json()).data.map((c) => [c.code, c.exponent]));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30000 });
  ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

after(async () => {
  if (browser) await browser.close();
  await stopRefd(refd);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ---- cases ----

test('an admin logs in through the form and lands on the dashboard', CASE, async () => {
  await page.goto(`${base}/app`);
  await page.waitForSelector('#login-form');
  // A wrong password is refused with a message, and the form stays.
  await page.fill('#login-form input[type=email]', 'admin@example.com');
  await page.fill('#login-form input[type=password]', 'not the password');
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#login-form [role=alert]').textContent.length > 0);
  await page.fill('#login-form input[type=password]', refd.password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#dash-leads', { timeout: 15000 });
  assert.equal(await page.textContent('main h1'), 'Dashboard');
  assert.equal(await page.getAttribute('#nav a[data-page=dashboard]', 'aria-current'), 'page');
  assert.match(await page.textContent('#who'), /admin@example\.com/);
});

test('the dashboard shows the figures of the reports API', CASE, async () => {
  await page.waitForSelector('#dash-chart canvas');
  const from = await page.getAttribute('#dash-period', 'data-from');
  const to = await page.getAttribute('#dash-period', 'data-to');
  // The default period is the last 30 days, today included (UTC).
  const today = new Date();
  const want = (off) => new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) + off * 86400000).toISOString().slice(0, 10);
  assert.equal(to, want(0));
  assert.equal(from, want(-29));

  // The same session, from the page: the API's own answers, and the UI's formatting of them.
  const got = await page.evaluate(async () => {
    const { api, money } = await import('/assets/api.js');
    const sum = await api('GET', '/api/v1/reports/summary');
    const queues = await api('GET', '/api/v1/reports/queues');
    const byLeads = await api('GET', '/api/v1/reports/breakdown?group_by=partner&sort=leads&limit=10');
    const text = (id) => document.querySelector(`#${id} .value`).textContent;
    const value = (id) => document.getElementById(id).dataset.value ?? null;
    return {
      sum,
      queues,
      byLeads,
      money: { revenue: money(sum.revenue), net: money(sum.net_revenue), avg: sum.average_deal_size ? money(sum.average_deal_size) : '—', paid: sum.paid_this_month.map(money) },
      shown: {
        clicks: text('dash-clicks'), leads: text('dash-leads'), customers: text('dash-customers'), revenue: text('dash-revenue'),
        net: text('dash-net-revenue'), avg: text('dash-avg-deal'), c2l: text('dash-click-to-lead'), l2c: text('dash-lead-to-customer'),
      },
      values: Object.fromEntries(['dash-clicks', 'dash-leads', 'dash-customers', 'dash-revenue', 'dash-net-revenue', 'dash-avg-deal',
        'dash-click-to-lead', 'dash-lead-to-customer', 'dash-ttc-mean', 'dash-ttc-median', 'dash-queue-partners', 'dash-queue-deals',
        'dash-queue-held'].map((id) => [id, value(id)])),
      paid: [...document.querySelectorAll('#dash-paid-this-month [data-currency]')].map((e) => ({ currency: e.dataset.currency, amount: Number(e.dataset.amount), text: e.textContent })),
      funnel: [...document.querySelectorAll('#dash-funnel li')].map((li) => [li.dataset.step, Number(li.dataset.value)]),
      leadsRows: [...document.querySelectorAll('#dash-leads-by-partner tbody tr')].map((tr) => [tr.querySelector('a').dataset.key, Number(tr.querySelector('[data-col=leads]').textContent.replace(/,/g, ''))]),
    };
  });
  const { sum, queues } = got;
  assert.equal(sum.from, from);
  assert.equal(sum.to, to);
  assert.ok(sum.leads > 0 && sum.clicks > 0, 'the demo data has activity in the last 30 days');
  const n = (x) => x.toLocaleString('en-US');
  assert.equal(got.shown.clicks, n(sum.clicks));
  assert.equal(got.shown.leads, n(sum.leads));
  assert.equal(got.shown.customers, n(sum.customers));
  assert.equal(got.shown.revenue, got.money.revenue);
  assert.equal(got.shown.net, got.money.net);
  assert.equal(got.shown.avg, got.money.avg);
  assert.equal(got.shown.c2l, `${(Math.round(sum.click_to_lead * 1000) / 10).toFixed(1)} %`);
  assert.equal(got.shown.l2c, `${(Math.round(sum.lead_to_customer * 1000) / 10).toFixed(1)} %`);
  assert.deepEqual(got.values, {
    'dash-clicks': String(sum.clicks),
    'dash-leads': String(sum.leads),
    'dash-customers': String(sum.customers),
    'dash-revenue': String(sum.revenue.amount),
    'dash-net-revenue': String(sum.net_revenue.amount),
    'dash-avg-deal': sum.average_deal_size ? String(sum.average_deal_size.amount) : null,
    'dash-click-to-lead': String(sum.click_to_lead),
    'dash-lead-to-customer': String(sum.lead_to_customer),
    'dash-ttc-mean': sum.time_to_conversion.mean_seconds === null ? null : String(sum.time_to_conversion.mean_seconds),
    'dash-ttc-median': sum.time_to_conversion.median_seconds === null ? null : String(sum.time_to_conversion.median_seconds),
    'dash-queue-partners': String(queues.partners_awaiting_approval),
    'dash-queue-deals': String(queues.deals_awaiting_review),
    'dash-queue-held': String(queues.commissions_on_hold),
  });
  assert.deepEqual(got.paid.map(({ currency, amount }) => ({ currency, amount })), sum.paid_this_month);
  assert.deepEqual(got.paid.map((p) => p.text), got.money.paid);
  assert.deepEqual(got.funnel, [['clicks', sum.clicks], ['leads', sum.leads], ['customers', sum.customers]]);
  assert.deepEqual(got.leadsRows, got.byLeads.data.map((r) => [r.key, r.leads]));
  // The demo waits for an admin: one application and one deal registration, each linked to its screen.
  assert.equal(queues.partners_awaiting_approval, 1);
  assert.equal(queues.deals_awaiting_review, 1);
  assert.equal(await page.getAttribute('#dash-queue-deals', 'href'), '#deals');

  // Another period reloads the figures from the API for it.
  await page.selectOption('#dash-period-select', '7d');
  await page.waitForFunction((f) => document.getElementById('dash-period')?.dataset.from === f, want(-6));
  const week = await pageApi(page, 'GET', `/api/v1/reports/summary?from=${want(-6)}&to=${want(0)}`);
  assert.equal(await page.getAttribute('#dash-leads', 'data-value'), String(week.leads));
  await page.selectOption('#dash-period-select', '30d');
  await page.waitForFunction((f) => document.getElementById('dash-period')?.dataset.from === f, want(-29));
});

test('a partner is created through the form; an API error shows next to its field', CASE, async () => {
  await goto(page, '#partners/new');
  const form = page.locator('#partner-create');
  await form.locator('[name=name]').fill('Zoe Agent');
  // Taken: the demo's Northwind already has this email, and the server names the field.
  await form.locator('[name=email]').fill('partners@northwind.example');
  await form.locator('[name=kind]').selectOption('agent');
  // The team parent is picked by typing, then with the arrow keys and Enter.
  const combo = form.locator('input[role=combobox][data-field=team_parent_id]');
  await combo.fill('northwind');
  await page.waitForSelector('#partner-create [role=listbox]:not([hidden]) [role=option]');
  await combo.press('ArrowDown');
  await combo.press('Enter');
  assert.match(await combo.inputValue(), /^Northwind Traders </);
  await form.locator('button[type=submit]').click();
  const emailInput = form.locator('[name=email]');
  await page.waitForFunction(() => document.querySelector('#partner-create [name=email]').getAttribute('aria-invalid') === 'true');
  const errId = (await emailInput.getAttribute('aria-describedby')).split(' ').find((x) => x.endsWith('-error'));
  assert.ok((await page.textContent(`#${errId}`)).length > 0, 'the message sits next to the email field');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'email');

  await emailInput.fill('zoe.agent@northwind.example');
  await form.locator('button[type=submit]').click();
  await page.waitForFunction(() => /^#partners\/ptn_/.test(location.hash));
  await page.waitForSelector('#team-tree');
  const id = (await page.evaluate(() => location.hash)).split('/')[1];
  assert.match(await page.textContent('main h1'), /Zoe Agent/);
  await liveText(page, /Partner Zoe Agent created/);
  const p = await pageApi(page, 'GET', `/api/v1/partners/${id}`);
  const nw = await pageApi(page, 'GET', '/api/v1/partners?q=northwind&kind=partner');
  assert.equal(p.kind, 'agent');
  assert.equal(p.email, 'zoe.agent@northwind.example');
  assert.equal(p.team_parent_id, nw.data[0].id);
  assert.match(await page.textContent('#team-tree'), /Northwind Traders[\s\S]*Zoe Agent/);
  // Its statement: a printable page, and a CSV.
  assert.equal(await page.evaluate(async () => (await fetch(document.getElementById('statement-link').href)).status), 200);
  const [stmt] = await Promise.all([page.waitForEvent('download'), page.click('#statement-csv')]);
  assert.match(stmt.suggestedFilename(), /\.csv$/);

  // The search finds it by name and by email.
  await goto(page, '#partners');
  await page.fill('#partner-search', 'zoe.agent@');
  await page.waitForFunction(() => [...document.querySelectorAll('#partners-table tbody tr')].length === 1);
  assert.match(await page.textContent('#partners-table tbody'), /Zoe Agent/);
});

test('an applied partner is approved from its page', CASE, async () => {
  await goto(page, '#partners?status=applied');
  await page.waitForSelector('#partners-table tbody tr');
  await page.click('#partners-table tbody tr a');
  await page.waitForSelector('#partner-actions button[data-action=activate]');
  const id = (await page.evaluate(() => location.hash)).split('/')[1];
  await page.click('#partner-actions button[data-action=activate]');
  await page.waitForSelector('dialog[open]');
  await page.fill('dialog[open] textarea', 'checked the company');
  await page.click('dialog[open] button[type=submit]');
  await liveText(page, /Approve: done/);
  await page.waitForFunction(() => !document.querySelector('#partner-actions button[data-action=activate]'));
  const p = await pageApi(page, 'GET', `/api/v1/partners/${id}`);
  assert.equal(p.status, 'active');
  assert.equal(p.status_reason, 'checked the company');
  // Approved, it recruits: its page shows the recruitment link it can share.
  await page.waitForSelector('#recruitment-url');
  assert.equal(await page.textContent('#recruitment-url'), p.recruitment_url);
});

test('a partner recruited through a recruitment link shows its recruiter and its place in the tree', CASE, async () => {
  const list = await pageApi(page, 'GET', '/api/v1/partners?status=active&kind=affiliate&limit=1');
  const recruiter = list.data[0];
  const res = await fetch(`${base}/api/v1/portal/signup`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'Rory Recruit', email: 'rory@recruit.example', password: 'a good long password', recruitment_code: recruiter.recruitment_code }),
  });
  assert.equal(res.status, 201);
  const rory = (await res.json()).partner;
  await goto(page, `#partners/${rory.id}`);
  await page.waitForSelector('#recruit-tree');
  // The recruiter's name replaces its id once the partner is fetched.
  await page.waitForFunction((n) => [...document.querySelectorAll('dl.facts a.partner-ref')].some((a) => a.textContent === n), recruiter.name);
  const facts = await page.textContent('dl.facts');
  assert.match(facts, new RegExp(`Recruited by\\s*${recruiter.name}`));
  assert.match(facts, /Recruitment link\s*code [a-z0-9]{12}; the link works while the partner is active/);
  assert.match(await page.textContent('#recruit-tree'), new RegExp(`${recruiter.name}[\\s\\S]*Rory Recruit`));
});

test("the demo's pending deal registration is approved, with its conflicts shown", CASE, async () => {
  await goto(page, '#deals');
  const card = page.locator('#deals-pending article.deal').first();
  await card.waitFor();
  const leadId = (await card.getAttribute('id')).replace(/^deal-/, '');
  assert.match(await card.textContent(), /Conflicts/);
  await card.locator('button.approve').click();
  await page.waitForSelector('dialog[open]');
  await page.fill('dialog[open] textarea', 'welcome aboard');
  await page.click('dialog[open] button[type=submit]');
  await liveText(page, /Deal registration of .* approved/);
  await page.waitForSelector('#deals-pending.muted');
  const lead = await pageApi(page, 'GET', `/api/v1/leads/${leadId}`);
  assert.equal(lead.registration.state, 'approved');
  assert.equal(lead.registration.reason, 'welcome aboard');
  const queues = await pageApi(page, 'GET', '/api/v1/reports/queues');
  assert.equal(queues.deals_awaiting_review, 0);
});

test('a lead is created with its referral agent picked by a live search', CASE, async () => {
  await goto(page, '#leads/new');
  const form = page.locator('#lead-create');
  await form.locator('[name=email]').fill('kim@newbuyer.example');
  await form.locator('[name=name]').fill('Kim Buyer');
  const combo = form.locator('input[role=combobox][data-field=agent_id]');
  await combo.focus();
  await page.keyboard.type('ava.mar', { delay: 20 });
  await page.waitForSelector('#lead-create [role=listbox]:not([hidden]) [role=option]');
  assert.equal(await combo.getAttribute('aria-expanded'), 'true');
  await page.keyboard.press('ArrowDown');
  assert.ok(await combo.getAttribute('aria-activedescendant'));
  await page.keyboard.press('Enter');
  assert.equal(await combo.getAttribute('aria-expanded'), 'false');
  await form.locator('button[type=submit]').click();
  await page.waitForFunction(() => /^#leads\/lead_/.test(location.hash));
  const id = (await page.evaluate(() => location.hash)).split('/')[1];
  const lead = await pageApi(page, 'GET', `/api/v1/leads/${id}`);
  const ava = await pageApi(page, 'GET', '/api/v1/partners?q=ava.martin&kind=agent');
  assert.equal(lead.attribution.agent_id, ava.data[0].id);
  assert.equal(lead.attribution.method, 'explicit');
  // The pipeline counts it among the new leads; moving it to contacted moves the count.
  await goto(page, '#leads?status=new');
  const before = Number(await page.getAttribute('#pipeline-new', 'data-count'));
  await page.selectOption(`#move-${id}`, 'contacted');
  await page.click(`#move-${id} + button`);
  await liveText(page, /moved to Contacted/);
  await page.waitForFunction((n) => Number(document.getElementById('pipeline-new')?.dataset.count) === n, before - 1);
  assert.equal((await pageApi(page, 'GET', `/api/v1/leads/${id}`)).status, 'contacted');
});

test('a payout run is created, approved, exported (the CSV matches its items), one item failed and the run paid', CASE, async () => {
  await goto(page, '#payouts');
  await page.click('#payout-create button[type=submit]');
  await page.waitForFunction(() => /^#payouts\/po_/.test(location.hash));
  await page.waitForSelector('#run-body[data-status=draft]');
  const runId = (await page.evaluate(() => location.hash)).split('/')[1];
  let run = await pageApi(page, 'GET', `/api/v1/payout-runs/${runId}`);
  assert.ok(run.items.length > 0, 'the demo has approved commissions to pay');
  assert.equal(await page.locator('#run-items tbody tr').count(), run.items.length);

  await page.click('#run-approve');
  await page.waitForSelector('dialog[open]');
  await page.click('dialog[open] button[type=submit]');
  await page.waitForSelector('#run-body[data-status=approved]');
  await liveText(page, /Payout run approved/);

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#run-exports button[data-format=generic]')]);
  const csv = readFileSync(await download.path(), 'utf8');
  assert.match(download.suggestedFilename(), new RegExp(`^${runId}-generic\\.csv$`));
  await liveText(page, /Downloaded/);
  assert.equal(await page.getAttribute('#run-exports', 'aria-busy'), null, 'the busy state ends with the download');
  const rows = csvRows(csv);
  assert.deepEqual(rows[0], ['partner_id', 'name', 'email', 'amount', 'currency', 'reference', 'status']);
  run = await pageApi(page, 'GET', `/api/v1/payout-runs/${runId}`);
  const want = run.items.map((i) => [i.partner_id, i.name, i.email, decimal(i.amount), i.amount.currency.toUpperCase(), i.id, 'pending']);
  const sort = (a) => [...a].sort((x, y) => x[5].localeCompare(y[5]));
  assert.deepEqual(sort(rows.slice(1)), sort(want));

  // The other layouts download too (PayPal once per currency when the run has several).
  const [wise] = await Promise.all([page.waitForEvent('download'), page.click('#run-exports button[data-format=wise]')]);
  assert.equal(csvRows(readFileSync(await wise.path(), 'utf8')).length, run.items.length + 1);
  const paypal = page.locator('#run-exports button[data-format=paypal]').first();
  const [pp] = await Promise.all([page.waitForEvent('download'), paypal.click()]);
  assert.ok(csvRows(readFileSync(await pp.path(), 'utf8')).length >= 1);

  // One payment failed (its commissions go back to the balance), then the rest of the run is paid.
  const failed = run.items[run.items.length - 1];
  await page.click(`button[data-item="${failed.id}"][data-action=mark-failed]`);
  await page.waitForSelector('dialog[open]');
  await page.fill('dialog[open] textarea', 'wrong IBAN');
  await page.click('dialog[open] button[type=submit]');
  await liveText(page, /: failed\./);
  await page.waitForFunction((id) => !document.querySelector(`button[data-item="${id}"]`), failed.id);
  const paid = run.items.filter((i) => i.id !== failed.id);
  if (paid.length) {
    await page.click('#run-mark-paid');
    await page.waitForSelector('dialog[open]');
    await page.fill('dialog[open] textarea', 'BANK-2026-11');
    await page.click('dialog[open] button[type=submit]');
  }
  await page.waitForSelector('#run-body[data-status=paid]');
  run = await pageApi(page, 'GET', `/api/v1/payout-runs/${runId}`);
  assert.equal(run.status, 'paid');
  for (const i of run.items) {
    if (i.id === failed.id) assert.deepEqual([i.status, i.failure_reason], ['failed', 'wrong IBAN']);
    else assert.deepEqual([i.status, i.reference], ['paid', 'BANK-2026-11']);
  }
});

test('program settings and a plan are saved through their forms; a simulation compares proposed with actual', CASE, async () => {
  await goto(page, '#programs');
  const f = page.locator('#program-settings');
  await f.locator('[name=partner_signup]').selectOption('open');
  await f.locator('[name=payout_day]').fill('15');
  await f.locator('[name=payout_threshold]').fill('75');
  await f.locator('button[type=submit]').click();
  await liveText(page, /Settings of .* saved/);
  const prog = (await pageApi(page, 'GET', '/api/v1/programs')).data[0];
  assert.equal(prog.partner_signup, 'open');
  assert.equal(prog.payout_schedule.day, 15);
  assert.deepEqual(prog.payout_threshold, { amount: 7500, currency: prog.currency });
  // A value the server refuses shows its message next to the field.
  await f.locator('[name=payout_day]').fill('31');
  await f.locator('button[type=submit]').click();
  await page.waitForFunction(() => document.querySelector('#program-settings [name=payout_day]').getAttribute('aria-invalid') === 'true');

  await page.click('#plans-table a');
  await page.waitForSelector('#plan-form');
  const plan = page.locator('#plan-form');
  await plan.locator('[name="rules.sale_bps"]').fill('25');
  await plan.locator('button[type=submit]').click();
  await liveText(page, /Plan saved as version 2/);
  const planId = (await page.evaluate(() => location.hash)).split('/')[1];
  const saved = await pageApi(page, 'GET', `/api/v1/plans/${planId}`);
  assert.equal(saved.rules.sale_bps, 2500);
  assert.equal(saved.version, 2);
  await page.waitForSelector('#plan-simulate');
  await page.locator('#plan-form [name="rules.sale_bps"]').fill('30');
  await page.click('#plan-simulate button[type=submit]');
  await page.waitForSelector('#simulation-totals');
  assert.match(await page.textContent('#simulation-result'), /events from/);
  assert.match(await page.textContent('#simulation-totals thead'), /Actual[\s\S]*Proposed[\s\S]*Difference/);
});

test('FX rates are imported from CSV with a busy state; an API key is shown once', CASE, async () => {
  await goto(page, '#fx');
  await page.fill('#fx-import [name=csv]', 'base,quote,rate,valid_from\nusd,jpy,150.5,2026-01-01T00:00:00Z\n');
  // The busy state (aria-busy and a visible message) is recorded as it happens, however short.
  await page.evaluate(() => {
    const f = document.getElementById('fx-import');
    window.__busy = [];
    new MutationObserver(() => window.__busy.push([f.getAttribute('aria-busy'), f.querySelector('.busy-msg').textContent]))
      .observe(f, { attributes: true, attributeFilter: ['aria-busy'] });
  });
  await page.click('#fx-import button[type=submit]');
  await liveText(page, /Imported 1 rate/);
  assert.deepEqual((await page.evaluate(() => window.__busy))[0], ['true', 'Importing the rates…']);
  assert.equal(await page.getAttribute('#fx-import', 'aria-busy'), null);
  const rates = await pageApi(page, 'GET', '/api/v1/fx-rates?base=usd&quote=jpy');
  assert.equal(rates.data[0].rate, '150.5');
  await page.fill('#fx-import [name=csv]', 'base,quote,rate,valid_from\nusd,jpy,abc,2026-01-01T00:00:00Z\n');
  await page.click('#fx-import button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#fx-import [name=csv]').getAttribute('aria-invalid') === 'true');

  await goto(page, '#users');
  await page.click('#api-key-create >> xpath=ancestor::details/summary');
  await page.fill('#api-key-create [name=name]', 'browser test');
  await page.click('#api-key-create button[type=submit]');
  await page.waitForSelector('#api-key-secret-value');
  const key = await page.inputValue('#api-key-secret-value');
  assert.match(key, /^rk_/);
  const res = await fetch(`${base}/api/v1/programs`, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(res.status, 200);
  const keys = await pageApi(page, 'GET', '/api/v1/api-keys');
  assert.ok(keys.data.some((k) => k.name === 'browser test' && !('key' in k)), 'the list never shows the key again');
});

test('a sale is recorded and refunded; a commission is held with a reason', CASE, async () => {
  await goto(page, '#sales');
  const f = page.locator('#sale-create');
  await f.locator('[name=customer]').fill('kim@newbuyer.example');
  await f.locator('[name=external_id]').fill('inv-browser-1');
  await f.locator('[name=amount]').fill('120.00');
  await f.locator('button[type=submit]').click();
  await page.waitForFunction(() => /^#sales\/sale_/.test(location.hash));
  await page.waitForSelector('#refund-create');
  const saleId = (await page.evaluate(() => location.hash)).split('/')[1];
  const sale = await pageApi(page, 'GET', `/api/v1/sales/${saleId}`);
  assert.equal(sale.amount.amount, 12000);
  assert.ok(sale.commissions.length > 0, 'the agent and its team earn on it');
  await page.fill('#refund-create [name=amount]', '30');
  await page.fill('#refund-create [name=reason]', 'one seat');
  await page.click('#refund-create button[type=submit]');
  await liveText(page, /Refund of 30\.00 USD recorded/);
  assert.equal((await pageApi(page, 'GET', `/api/v1/sales/${saleId}`)).refunded.amount, 3000);
  // The list filtered to today (whole UTC days) has it.
  const today = new Date().toISOString().slice(0, 10);
  await goto(page, `#sales?from=${today}&to=${today}`);
  await page.waitForSelector('#sales-table tbody tr');
  assert.match(await page.textContent('#sales-table'), /inv-browser-1/);

  const com = sale.commissions[0];
  await goto(page, `#commissions/${com.id}`);
  assert.match(await page.textContent('#commission-explanation'), /\S/);
  await page.click('button[data-action=hold]');
  await page.waitForSelector('dialog[open]');
  // The reason is required: an empty one keeps the dialog open with a message.
  await page.click('dialog[open] button[type=submit]');
  assert.ok(await page.isVisible('dialog[open]'));
  await page.fill('dialog[open] textarea', 'checking the invoice');
  await page.click('dialog[open] button[type=submit]');
  await liveText(page, /Commission held/);
  const held = await pageApi(page, 'GET', `/api/v1/commissions/${com.id}`);
  assert.equal(held.status, 'held');
  assert.equal(held.history[held.history.length - 1].reason, 'checking the invoice');
});

test('the main screens are reached with the keyboard alone; dialogs close with Escape', CASE, async () => {
  const p = await ctx.newPage();
  p.on('pageerror', (e) => pageErrors.push(e.message));
  await p.goto(`${base}/app#dashboard`);
  await p.waitForSelector('#dash-leads');
  // The first Tab reaches the skip link, which moves focus to the content.
  await p.evaluate(() => document.activeElement && document.activeElement.blur());
  await p.keyboard.press('Tab');
  assert.equal(await p.evaluate(() => document.activeElement.id), 'skip');
  await p.keyboard.press('Enter');
  assert.ok(await p.evaluate(() => document.getElementById('main').contains(document.activeElement)));
  assert.equal(await p.evaluate(() => location.hash), '#dashboard');

  // Each screen of the menu: from the screen's heading, Shift+Tab back to the menu's link, Enter, and focus lands on
  // the new screen's heading.
  for (const [name, heading] of [['partners', /Partners/], ['leads', /Leads/], ['deals', /Deal registrations/], ['commissions', /Commissions/],
    ['payouts', /Payout runs/], ['programs', /Program/], ['fx', /FX rates/], ['users', /Users/], ['settings', /Settings/], ['dashboard', /Dashboard/]]) {
    let found = false;
    for (let i = 0; i < 25 && !found; i++) {
      await p.keyboard.press('Shift+Tab');
      found = await p.evaluate((n) => document.activeElement?.dataset?.page === n, name);
    }
    assert.ok(found, `Tab reaches the ${name} link`);
    // Focus is visible: the focused link has an outline.
    assert.notEqual(await p.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), 'none');
    await p.keyboard.press('Enter');
    await p.waitForFunction((n) => location.hash === `#${n}` && !document.getElementById('main').hasAttribute('aria-busy'), name);
    await p.waitForFunction(() => document.activeElement?.classList.contains('page-title'));
    assert.match(await p.evaluate(() => document.activeElement.textContent), heading);
    // Every control of the screen has a name: a label, aria-label(ledby) or, for a button, its text.
    await p.waitForFunction(() => !document.querySelector('main [aria-busy=true]'));
    const unnamed = await p.evaluate(() => [...document.querySelectorAll('main input:not([type=hidden]), main select, main textarea, main button')]
      .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label') && !c.getAttribute('aria-labelledby') &&
        !(c.tagName === 'BUTTON' && c.textContent.trim()))
      .map((c) => c.outerHTML.slice(0, 120)));
    assert.deepEqual(unnamed, [], `unlabelled controls on #${name}`);
  }

  // A confirmation opened from the keyboard closes with Escape and gives focus back to its button.
  await goto(p, '#partners');
  await p.waitForSelector('#partners-table tbody tr a');
  await p.click('#partners-table tbody tr a');
  await p.waitForSelector('#partner-actions button[data-action=hold-payouts]');
  await p.focus('#partner-actions button[data-action=hold-payouts]');
  await p.keyboard.press('Enter');
  await p.waitForSelector('dialog[open]');
  assert.equal(await p.evaluate(() => document.activeElement.tagName), 'TEXTAREA');
  await p.keyboard.press('Escape');
  await p.waitForFunction(() => !document.querySelector('dialog'));
  assert.equal(await p.evaluate(() => document.activeElement.dataset.action), 'hold-payouts');
  await p.close();
});

test('at 360x740 the dashboard fits the screen: no horizontal scroll, tables scroll in their own box', CASE, async () => {
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, storageState: await ctx.storageState(), isMobile: true, hasTouch: true });
  const p = await phone.newPage();
  p.on('pageerror', (e) => pageErrors.push(e.message));
  await p.goto(`${base}/app#dashboard`);
  await p.waitForSelector('#dash-chart canvas');
  const m = await p.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
    body: document.body.scrollWidth,
    chart: document.querySelector('#dash-chart').getBoundingClientRect().right,
    navShown: getComputedStyle(document.getElementById('nav')).display !== 'none',
    menu: getComputedStyle(document.getElementById('menu-toggle')).display !== 'none',
  }));
  assert.equal(m.client, 360);
  assert.ok(m.scroll <= 360 && m.body <= 360, `no horizontal scroll: ${JSON.stringify(m)}`);
  assert.ok(m.chart <= 360, 'the chart fits');
  assert.ok(m.menu && !m.navShown, 'the menu folds behind its button');
  await p.click('#menu-toggle');
  assert.equal(await p.getAttribute('#menu-toggle', 'aria-expanded'), 'true');
  await p.click('#nav a[data-page=leads]');
  await p.waitForSelector('#leads-table');
  assert.ok(await p.evaluate(() => document.documentElement.scrollWidth <= 360), 'the leads screen does not scroll sideways either');
  await phone.close();
});

test('no page raised a script error', () => {
  assert.deepEqual(pageErrors, []);
});
