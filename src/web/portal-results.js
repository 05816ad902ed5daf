// SPDX-License-Identifier: Apache-2.0
// Clicks and results: the figures of a chosen period (GET /reports/summary and /breakdown, which answer a partner
// with its own figures), and the same over the last 12 weeks or months as a chart (uPlot) with its table.
// Partners may not break reports down by day, week or month, so the series is one summary per period.
import { api, el, money } from './api.js';
import uPlot from './vendor/uplot.mjs';
import { addDays, announce, field, formError, onSubmit, pct, section, table, ymd } from './portal-ui.js';

export const FIGURES = [
  { label: 'Clicks', cell: (r) => r.clicks, num: true },
  { label: 'Leads', cell: (r) => r.leads, num: true },
  { label: 'Qualified', cell: (r) => r.qualified, num: true },
  { label: 'Customers', cell: (r) => r.customers, num: true },
  { label: 'Sales', cell: (r) => r.sales, num: true },
  { label: 'Net revenue', cell: (r) => money(r.net_revenue || r.revenue), num: true },
  { label: 'Click → lead', cell: (r) => pct(r.click_to_lead), num: true },
  { label: 'Lead → customer', cell: (r) => pct(r.lead_to_customer), num: true },
  { label: 'Earned', cell: (r) => earned(r), num: true },
];

export function earned(r) {
  if (!r.commissions || !r.commissions.length) return '—';
  return r.commissions.map((c) => money(c.earned)).join(', ');
}

function q(params) {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');
}

// The periods of the chart: the last 12 ISO weeks (Monday to Sunday) or calendar months, in UTC, oldest first.
function periods(unit) {
  const now = new Date();
  const out = [];
  if (unit === 'month') {
    for (let i = 11; i >= 0; i--) {
      const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1));
      const end = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 0));
      out.push({ start, from: ymd(start), to: ymd(end), label: start.toLocaleDateString(undefined, { month: 'short', year: 'numeric', timeZone: 'UTC' }) });
    }
  } else {
    const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const monday = addDays(today, -((today.getUTCDay() + 6) % 7));
    for (let i = 11; i >= 0; i--) {
      const start = addDays(monday, -7 * i);
      out.push({ start, from: ymd(start), to: ymd(addDays(start, 6)), label: `Week of ${start.toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' })}` });
    }
  }
  return out;
}

function chart(host, ps, rows) {
  const xs = ps.map((p) => p.start.getTime() / 1000);
  const width = () => Math.max(280, Math.min(host.clientWidth || 600, 1100));
  const opts = {
    width: width(),
    height: 260,
    scales: { x: { time: true }, n: { auto: true, range: (u, lo, hi) => [0, Math.max(4, hi)] }, c: { range: (u, lo, hi) => [0, Math.max(10, hi)] } },
    axes: [
      {},
      { scale: 'c', label: 'Clicks', size: 50 },
      { scale: 'n', side: 1, label: 'Leads, customers', grid: { show: false }, size: 50 },
    ],
    series: [
      { label: 'Period start' },
      { label: 'Clicks', scale: 'c', stroke: '#1f5fbf', width: 2, fill: 'rgba(31,95,191,0.08)' },
      { label: 'Leads', scale: 'n', stroke: '#b35c00', width: 2, dash: [6, 4] },
      { label: 'Customers', scale: 'n', stroke: '#187a3c', width: 2, dash: [2, 3] },
    ],
  };
  const data = [xs, rows.map((r) => r.clicks), rows.map((r) => r.leads), rows.map((r) => r.customers)];
  host.replaceChildren();
  const plot = new uPlot(opts, data, host);
  const ro = new ResizeObserver(() => plot.setSize({ width: width(), height: 260 }));
  ro.observe(host);
  return plot;
}

async function overTime(me, unit, box) {
  const ps = periods(unit);
  box.replaceChildren(el('p', { class: 'loading' }, 'Loading…'));
  const rows = await Promise.all(ps.map((p) => api('GET', `/api/v1/reports/summary?${q({ program_id: me.partner.program_id, from: p.from, to: p.to })}`)));
  const total = rows.reduce((a, r) => ({ clicks: a.clicks + r.clicks, leads: a.leads + r.leads, customers: a.customers + r.customers }), { clicks: 0, leads: 0, customers: 0 });
  const host = el('div', {
    class: 'chart',
    role: 'img',
    'aria-label': `Chart of clicks, leads and customers over the last 12 ${unit}s: ${total.clicks} clicks, ${total.leads} leads and ${total.customers} customers in all. The table below has every figure.`,
  });
  const tbl = table(
    { text: `Results per ${unit}` },
    [{ label: unit === 'month' ? 'Month' : 'Week', cell: (r) => r.period.label }, ...FIGURES],
    rows.map((r, i) => ({ ...r, period: ps[i] })).reverse(),
  );
  box.replaceChildren(host, tbl);
  // The chart is drawn once the box is on the page, so it knows its width.
  requestAnimationFrame(() => chart(host, ps, rows));
}

export async function resultsPage(me) {
  const today = new Date();
  const from = field('from', 'From', { type: 'date', value: ymd(addDays(today, -29)), required: true });
  const to = field('to', 'To', { type: 'date', value: ymd(today), required: true });
  const summaryBox = el('div', { id: 'period-results' });
  const form = el('form', { class: 'inline-form', 'aria-label': 'Period' }, from, to, el('button', { type: 'submit' }, 'Show'), formError());
  const load = async () => {
    const params = { program_id: me.partner.program_id, from: from.control.value, to: to.control.value };
    const [sum, bd] = await Promise.all([
      api('GET', `/api/v1/reports/summary?${q(params)}`),
      api('GET', `/api/v1/reports/breakdown?${q({ ...params, group_by: 'partner', limit: 100 })}`),
    ]);
    summaryBox.replaceChildren(
      el('p', { class: 'muted' }, `From ${sum.from} to ${sum.to} (UTC days, both included).`),
      el(
        'div',
        { class: 'stats' },
        ...FIGURES.map((f) => el('div', { class: 'stat' }, el('span', { class: 'label' }, f.label), el('span', { class: 'value' }, f.cell(sum)))),
      ),
      table({ text: 'By partner', visible: true }, [{ label: 'Partner', cell: (r) => r.name || r.key }, ...FIGURES], bd.data, 'No figures for this period.'),
    );
  };
  onSubmit(form, async () => {
    await load();
    announce('Results updated.');
  });
  await load();

  const unit = field('unit', 'Show', { options: [['week', 'the last 12 weeks'], ['month', 'the last 12 months']], value: 'week' });
  const timeBox = el('div', { id: 'over-time' });
  unit.control.addEventListener('change', () => overTime(me, unit.control.value, timeBox).catch((e) => timeBox.replaceChildren(el('p', { class: 'error' }, e.message))));
  const page = el(
    'div',
    { class: 'page' },
    el('h1', { id: 'h-page' }, 'Clicks and results'),
    section('h-period', 'A period', form, summaryBox),
    section('h-time', 'Over time', el('div', { class: 'inline-form' }, unit), timeBox),
  );
  overTime(me, 'week', timeBox).catch((e) => timeBox.replaceChildren(el('p', { class: 'error' }, e.message)));
  return page;
}
