// SPDX-License-Identifier: Apache-2.0
// The dashboard: the program's figures for a period from /api/v1/reports/summary, /breakdown and /queues, with
// a period selector, charts of revenue and commissions over time (uPlot) and the queues that wait for an admin.
// Every widget has a stable id (#dash-…) and its raw figure in data-value, which the browser tests compare with the
// API's answer.
import uPlot from './vendor/uplot.mjs';
import { api, currencyDecimals, el, money } from './api.js';
import { announce, fmtDuration, fmtNum, fmtPct, isoDay, moneyList, nextId, pageHeader, partnerLink, select, table } from './admin-ui.js';

const PERIODS = [
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
  ['90d', 'Last 90 days'],
  ['month', 'This month'],
  ['lastmonth', 'Last month'],
  ['ytd', 'This year'],
  ['custom', 'Custom dates'],
];

// Kept across visits of the screen (not across reloads).
const state = { period: '30d', from: null, to: null, group: 'auto', program: null };

function range() {
  const now = new Date();
  const today = isoDay(0, now);
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  switch (state.period) {
    case '7d':
      return [isoDay(-6, now), today];
    case '90d':
      return [isoDay(-89, now), today];
    case 'month':
      return [new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10), today];
    case 'lastmonth':
      return [new Date(Date.UTC(y, m - 1, 1)).toISOString().slice(0, 10), new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10)];
    case 'ytd':
      return [`${y}-01-01`, today];
    case 'custom':
      return [state.from || isoDay(-29, now), state.to || today];
    default:
      return [isoDay(-29, now), today];
  }
}

function groupFor(from, to) {
  if (state.group !== 'auto') return state.group;
  const days = (Date.parse(to) - Date.parse(from)) / 86400000 + 1;
  return days > 120 ? 'month' : days > 45 ? 'week' : 'day';
}

// A figure card: the id carries the widget, data-value the raw figure.
function stat(id, label, value, raw, extra) {
  return el(
    'div',
    { class: 'stat', id, 'data-value': raw === undefined || raw === null ? null : typeof raw === 'object' ? JSON.stringify(raw) : String(raw) },
    el('span', { class: 'label' }, label),
    el('span', { class: 'value' }, value),
    extra ? el('span', { class: 'sub' }, extra) : null,
  );
}

function queueCard(id, label, n, href, linkText) {
  return el(
    'a',
    { class: `stat queue${n ? ' attention' : ''}`, id, href, 'data-value': String(n) },
    el('span', { class: 'label' }, label),
    el('span', { class: 'value' }, fmtNum(n)),
    el('span', { class: 'sub' }, linkText),
  );
}

function funnel(sum) {
  const steps = [
    ['Clicks', sum.clicks, null],
    ['Leads', sum.leads, sum.click_to_lead],
    ['Customers', sum.customers, sum.lead_to_customer],
  ];
  const max = Math.max(1, ...steps.map((s) => s[1]));
  return el(
    'ol',
    { class: 'funnel', id: 'dash-funnel', 'aria-label': 'Clicks to leads to customers' },
    ...steps.map(([label, n, rate]) =>
      el(
        'li',
        { 'data-step': label.toLowerCase(), 'data-value': String(n) },
        el('span', { class: 'funnel-label' }, label),
        el('span', { class: 'funnel-bar', style: `width:${Math.max(2, Math.round((n / max) * 100))}%`, 'aria-hidden': 'true' }),
        el('span', { class: 'funnel-n' }, fmtNum(n)),
        rate !== null ? el('span', { class: 'funnel-rate' }, `${fmtPct(rate)} of the step before`) : null,
      ),
    ),
  );
}

function commissionsEarned(list) {
  return (list || []).map((c) => c.earned);
}

// Revenue (bars) and commissions earned per currency (lines) over time; a table with the same figures for
// screen readers and keyboard users sits below it.
function chart(report, currency) {
  const box = el('div', { class: 'chart', id: 'dash-chart', 'aria-hidden': 'true' });
  const rows = report.data;
  const currencies = [...new Set(rows.flatMap((r) => r.commissions.map((c) => c.currency)))].sort();
  // Major units for the drawing only; the figures themselves stay integers (see the table).
  const scale = (m, cur) => (m ? m.amount / 10 ** (currencyDecimals(cur) ?? 0) : 0);
  const xs = rows.map((r) => Date.parse(r.key.length === 7 ? `${r.key}-01T00:00:00Z` : `${r.key}T00:00:00Z`) / 1000);
  const data = [xs, rows.map((r) => scale(r.revenue, currency))];
  const colors = ['#c2410c', '#7c3aed', '#0f766e', '#be185d'];
  const series = [
    {},
    { label: `Revenue (${currency.toUpperCase()})`, stroke: '#1f5fbf', fill: 'rgba(31,95,191,0.35)', paths: uPlot.paths.bars({ size: [0.6, 40] }), points: { show: false } },
  ];
  currencies.forEach((c, i) => {
    data.push(rows.map((r) => scale(r.commissions.find((x) => x.currency === c)?.earned, c)));
    series.push({ label: `Commissions earned (${c.toUpperCase()})`, stroke: colors[i % colors.length], width: 2, points: { size: 5 } });
  });
  let plot = null;
  const draw = () => {
    const w = Math.max(240, Math.floor(box.clientWidth));
    if (plot) {
      plot.setSize({ width: w, height: 240 });
      return;
    }
    plot = new uPlot(
      {
        width: w,
        height: 240,
        series,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        axes: [{}, { size: 60, values: (u, vals) => vals.map((v) => v.toLocaleString('en-US')) }],
        scales: { x: { time: true } },
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
      },
      data,
      box,
    );
  };
  // Drawn once the box is in the page (it needs a width), then kept to the box's width.
  const ro = new ResizeObserver(() => {
    if (!box.isConnected) {
      ro.disconnect();
      return;
    }
    if (box.clientWidth > 0) draw();
  });
  ro.observe(box);
  const tableRows = rows.filter((r) => r.revenue.amount || r.commissions.some((c) => c.earned.amount) || r.leads || r.customers);
  const details = el(
    'details',
    { class: 'chart-table' },
    el('summary', {}, 'Show the figures as a table'),
    table({
      caption: `Revenue and commissions by ${report.group_by}`,
      rows: tableRows,
      empty: 'No revenue or commissions in this period.',
      columns: [
        { label: report.group_by === 'week' ? 'Week of' : report.group_by === 'month' ? 'Month' : 'Day', render: (r) => r.key },
        { label: 'Leads', num: true, render: (r) => fmtNum(r.leads) },
        { label: 'Customers', num: true, render: (r) => fmtNum(r.customers) },
        { label: 'Revenue', num: true, render: (r) => money(r.revenue) },
        { label: 'Commissions earned', num: true, render: (r) => moneyList(commissionsEarned(r.commissions)) },
      ],
    }),
  );
  return [box, details];
}

function partnerTable(id, caption, report, { showClicks = true, compact = false } = {}) {
  return table({
    id,
    caption,
    captionHidden: true,
    rows: report.data,
    empty: 'No activity in this period.',
    columns: [
      { label: 'Name', render: (r) => (r.key.startsWith('ptn_') ? nameLink(r) : r.key) },
      showClicks ? { label: 'Clicks', num: true, render: (r) => fmtNum(r.clicks) } : null,
      { label: 'Leads', num: true, render: (r) => el('span', { 'data-col': 'leads' }, fmtNum(r.leads)) },
      { label: 'Customers', num: true, render: (r) => fmtNum(r.customers) },
      compact ? null : { label: 'Lead → customer', num: true, render: (r) => fmtPct(r.lead_to_customer) },
      { label: 'Revenue', num: true, render: (r) => money(r.revenue) },
      { label: 'Commissions', num: true, render: (r) => moneyList(commissionsEarned(r.commissions)) },
    ].filter(Boolean),
  });
}

function nameLink(r) {
  if (r.name) return el('a', { href: `#partners/${r.key}`, 'data-key': r.key }, r.name);
  return partnerLink(r.key);
}

function card(title, id, ...content) {
  const hid = nextId('h');
  const full = id === 'dash-leads-by-partner-card';
  return el('section', { class: `card widget${full ? ' full' : ''}`, 'aria-labelledby': hid, id }, el('h2', { id: hid }, title), ...content);
}

async function widgets(ctx) {
  const [from, to] = range();
  const prg = state.program || ctx.programs[0]?.id;
  const q = (extra) => {
    const p = new URLSearchParams({ from, to, ...extra });
    if (prg) p.set('program_id', prg);
    return p;
  };
  const group = groupFor(from, to);
  const [sum, queues, byLeads, byRevenue, agents, sources, series] = await Promise.all([
    api('GET', `/api/v1/reports/summary?${q({})}`),
    api('GET', `/api/v1/reports/queues?${prg ? new URLSearchParams({ program_id: prg }) : ''}`),
    api('GET', `/api/v1/reports/breakdown?${q({ group_by: 'partner', sort: 'leads', limit: '10' })}`),
    api('GET', `/api/v1/reports/breakdown?${q({ group_by: 'partner', sort: 'revenue', limit: '5' })}`),
    api('GET', `/api/v1/reports/breakdown?${q({ group_by: 'agent', sort: 'revenue', limit: '5' })}`),
    api('GET', `/api/v1/reports/breakdown?${q({ group_by: 'source', sort: 'leads' })}`),
    api('GET', `/api/v1/reports/breakdown?${q({ group_by: group })}`),
  ]);
  const ttc = sum.time_to_conversion || { conversions: 0, mean_seconds: null, median_seconds: null };
  const earned = commissionsEarned(sum.commissions);
  const paidMonth = sum.paid_this_month || [];
  const monthName = new Date().toLocaleString('en-US', { month: 'long', timeZone: 'UTC' });

  return el(
    'div',
    { class: 'dash', id: 'dash-widgets', 'data-from': sum.from, 'data-to': sum.to, 'data-program': sum.program_id },
    el('p', { class: 'muted', id: 'dash-period', 'data-from': sum.from, 'data-to': sum.to }, `${sum.from} to ${sum.to} (UTC), amounts in ${sum.currency.toUpperCase()} unless marked`),
    card(
      'Waiting for you',
      'dash-queues',
      el(
        'div',
        { class: 'stats' },
        queueCard('dash-queue-partners', 'Partners awaiting approval', queues.partners_awaiting_approval, '#partners?status=applied', 'Review applications'),
        queueCard('dash-queue-deals', 'Deals awaiting review', queues.deals_awaiting_review, '#deals', 'Review deal registrations'),
        queueCard('dash-queue-held', 'Commissions on hold', queues.commissions_on_hold, '#commissions?status=held', 'Review held commissions'),
      ),
    ),
    card(
      'Key figures',
      'dash-figures',
      el(
        'div',
        { class: 'stats' },
        stat(
          'dash-paid-this-month',
          `Paid to partners in ${monthName}`,
          paidMonth.length ? el('span', {}, ...paidMonth.map((m, i) => [i ? el('br') : null, el('span', { 'data-currency': m.currency, 'data-amount': String(m.amount) }, money(m))])) : money({ amount: 0, currency: sum.currency }),
          paidMonth,
        ),
        stat('dash-clicks', 'Clicks', fmtNum(sum.clicks), sum.clicks),
        stat('dash-leads', 'Leads', fmtNum(sum.leads), sum.leads, `${fmtNum(sum.qualified)} qualified`),
        stat('dash-customers', 'Customers', fmtNum(sum.customers), sum.customers, `${fmtNum(sum.sales)} sales`),
        stat('dash-revenue', 'Revenue', money(sum.revenue), sum.revenue.amount, sum.refunds.amount ? `${money(sum.refunds)} refunded` : 'no refunds'),
        stat('dash-net-revenue', 'Net revenue', money(sum.net_revenue), sum.net_revenue.amount),
        stat('dash-commissions', 'Commissions earned', moneyList(earned), earned),
        stat('dash-click-to-lead', 'Click → lead', fmtPct(sum.click_to_lead), sum.click_to_lead),
        stat('dash-lead-to-customer', 'Lead → customer', fmtPct(sum.lead_to_customer), sum.lead_to_customer),
        stat('dash-avg-deal', 'Average deal size', money(sum.average_deal_size), sum.average_deal_size ? sum.average_deal_size.amount : null),
        stat('dash-ttc-mean', 'Time to conversion (mean)', fmtDuration(ttc.mean_seconds), ttc.mean_seconds, `${fmtNum(ttc.conversions)} conversions`),
        stat('dash-ttc-median', 'Time to conversion (median)', fmtDuration(ttc.median_seconds), ttc.median_seconds),
      ),
    ),
    el(
      'div',
      { class: 'dash-grid' },
      card('Funnel', 'dash-funnel-card', funnel(sum)),
      card(`Revenue and commissions by ${group}`, 'dash-chart-card', ...chart(series, sum.currency)),
      card('Leads per partner', 'dash-leads-by-partner-card', partnerTable('dash-leads-by-partner', 'Leads per partner, most leads first', byLeads)),
      card('Top partners by revenue', 'dash-top-partners-card', partnerTable('dash-top-partners', 'Top partners by revenue', byRevenue, { showClicks: false, compact: true })),
      card('Top agents by revenue', 'dash-top-agents-card', partnerTable('dash-top-agents', 'Top agents by revenue', agents, { showClicks: false, compact: true })),
      card(
        'Lead sources',
        'dash-sources-card',
        table({
          id: 'dash-sources',
          caption: 'Leads by source',
          captionHidden: true,
          rows: sources.data,
          empty: 'No leads in this period.',
          columns: [
            { label: 'Source', render: (r) => r.key },
            { label: 'Leads', num: true, render: (r) => fmtNum(r.leads) },
            { label: 'Qualified', num: true, render: (r) => fmtNum(r.qualified) },
            { label: 'Customers', num: true, render: (r) => fmtNum(r.customers) },
            { label: 'Revenue', num: true, render: (r) => money(r.revenue) },
          ],
        }),
      ),
    ),
  );
}

export async function render(ctx) {
  if (!state.program && ctx.programs.length) state.program = ctx.programs[0].id;
  const body = el('div', { id: 'dash-body' });
  const period = select('period', PERIODS, state.period, { id: 'dash-period-select' });
  const group = select('group', [['auto', 'Automatic'], ['day', 'Day'], ['week', 'Week'], ['month', 'Month']], state.group, { id: 'dash-group-select' });
  const [f0, t0] = range();
  const from = el('input', { type: 'date', id: 'dash-from', name: 'from', value: f0 });
  const to = el('input', { type: 'date', id: 'dash-to', name: 'to', value: t0 });
  const custom = el(
    'span',
    { class: 'custom-range', hidden: state.period !== 'custom' },
    el('label', { for: 'dash-from' }, 'From'),
    from,
    el('label', { for: 'dash-to' }, 'To'),
    to,
    el('button', { type: 'submit' }, 'Show'),
  );
  const programSel =
    ctx.programs.length > 1
      ? [el('label', { for: 'dash-program' }, 'Program'), select('program', ctx.programs.map((p) => [p.id, p.name]), state.program, { id: 'dash-program' })]
      : [];
  const controls = el(
    'form',
    { class: 'toolbar', 'aria-label': 'Period', id: 'dash-controls' },
    programSel.length ? el('span', { class: 'ctl' }, ...programSel) : null,
    el('span', { class: 'ctl' }, el('label', { for: 'dash-period-select' }, 'Period'), period),
    custom,
    el('span', { class: 'ctl' }, el('label', { for: 'dash-group-select' }, 'Chart by'), group),
  );

  async function reload(message) {
    body.setAttribute('aria-busy', 'true');
    const note = el('p', { class: 'busy-note', role: 'status' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Loading the figures…');
    body.prepend(note);
    try {
      const w = await widgets(ctx);
      body.replaceChildren(w);
      if (message) announce(`Dashboard updated: ${w.dataset.from} to ${w.dataset.to}.`);
    } catch (e) {
      body.replaceChildren(el('p', { class: 'error', role: 'alert' }, e.message));
    } finally {
      body.removeAttribute('aria-busy');
    }
  }

  period.addEventListener('change', () => {
    state.period = period.value;
    custom.hidden = state.period !== 'custom';
    if (state.period !== 'custom') reload(true);
    else {
      [from.value, to.value] = range();
      from.focus();
    }
  });
  group.addEventListener('change', () => {
    state.group = group.value;
    reload(true);
  });
  if (programSel.length)
    programSel[1].addEventListener('change', () => {
      state.program = programSel[1].value;
      reload(true);
    });
  controls.addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.from = from.value || null;
    state.to = to.value || null;
    reload(true);
  });

  await reload(false);
  return el('section', { class: 'dashboard' }, pageHeader('Dashboard', controls), body);
}
