// SPDX-License-Identifier: Apache-2.0
// The partner's money in detail: the commission ledger with each entry's explanation (GET /commissions and
// /commissions/{id}), and statements for a chosen period as a page, a printable HTML page or CSV.
import { api, el, money } from './api.js';
import { addDays, announce, appendRows, badge, field, formError, onSubmit, pagedList, section, table, timeEl, ymd } from './portal-ui.js';

const STATUSES = [
  ['', 'Any status'],
  ['pending', 'Pending'],
  ['held', 'On hold'],
  ['approved', 'Approved'],
  ['paid', 'Paid'],
  ['rejected', 'Rejected'],
];

// What an entry is for, in words: "Sale", "Renewal", "Qualified lead", "Override, level 2", "Reversal (refund)".
export function what(c) {
  const base = { lead: 'Qualified lead', sale: 'Sale', recurring: 'Renewal', override: 'Override', reversal: 'Reversal' }[c.rule] || c.rule;
  if (c.rule === 'reversal') return `Reversal (${c.event.type})`;
  if (c.role === 'override') return `Override, level ${c.level}${c.event ? ` (${c.event.type})` : ''}`;
  const role = { agent: ' as agent', team: ' for your team' }[c.role] || '';
  return `${base}${role}`;
}

export function commissionCols(me, showWho) {
  const c = [
    { label: 'Date', cell: (x) => timeEl(x.event.at) },
    { label: 'For', cell: (x) => el('a', { href: `#commission/${x.id}`, 'aria-label': `${what(x)} on ${x.event.at.slice(0, 10)}: details` }, what(x)) },
  ];
  if (showWho) c.push({ label: 'Partner', cell: (x) => me.names.get(x.partner_id) || x.partner_id });
  c.push(
    { label: 'Amount', num: true, cell: (x) => (x.amount ? money(x.amount) : el('span', { title: 'Waiting for an exchange rate' }, `${money(x.earned)} (not converted yet)`)) },
    { label: 'Status', cell: (x) => badge(x.status) },
    { label: 'Available', cell: (x) => (x.status === 'pending' ? el('span', {}, 'from ', timeEl(x.hold_until)) : '—') },
  );
  return c;
}

export async function commissionsPage(me, params) {
  const status = params.get('status') || '';
  const who = params.get('who') || me.partner.id;
  const st = field('status', 'Status', { options: STATUSES, value: status });
  const whoOptions = [[me.partner.id, 'Mine']];
  for (const a of me.team) whoOptions.push([a.id, a.name]);
  if (me.team.length) whoOptions.push(['team', 'Everyone in my team']);
  const whoField = me.team.length ? field('who', 'Whose', { options: whoOptions, value: who }) : null;
  const form = el('form', { class: 'inline-form', 'aria-label': 'Filter commissions' }, st, whoField, el('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    if (st.control.value) p.set('status', st.control.value);
    if (whoField && whoField.control.value !== me.partner.id) p.set('who', whoField.control.value);
    location.hash = `commissions${p.toString() ? `?${p}` : ''}`;
  });
  const qs = new URLSearchParams();
  if (who !== 'team') qs.set('partner_id', who);
  if (status) qs.set('status', status);
  const cols = commissionCols(me, who === 'team');
  const list = await pagedList(
    `/api/v1/commissions?${qs}`,
    (rows) => table({ text: 'Commission entries' }, cols, rows, 'No commissions match.'),
    (wrap, rows) => appendRows(wrap, cols, rows),
  );
  return el(
    'div',
    { class: 'page' },
    el('h1', { id: 'h-page' }, 'My commissions'),
    el('p', { class: 'muted' }, 'Every entry of your ledger, newest first. An entry stays pending for the holding period, then it is approved and paid with the next payout. Open one to see how it was computed.'),
    form,
    el('div', { id: 'commissions' }, list),
  );
}

export async function commissionPage(me, id) {
  const c = await api('GET', `/api/v1/commissions/${encodeURIComponent(id)}`);
  const x = c.explanation || {};
  const pairs = [
    ['Amount', c.amount ? money(c.amount) : 'not converted yet'],
    ['Earned', c.amount && c.earned.currency === c.amount.currency ? null : money(c.earned)],
    ['Exchange rate', c.fx_rate],
    ['Status', el('span', {}, badge(c.status), c.status_reason ? ` ${c.status_reason}` : '')],
    ['Available from', c.status === 'pending' ? timeEl(c.hold_until) : null],
    ['Event', el('span', {}, `${c.event.type} `, el('code', {}, c.event.id), ' on ', timeEl(c.event.at, true))],
    ['Partner', c.partner_id === me.partner.id ? null : me.names.get(c.partner_id) || c.partner_id],
    ['Plan', c.plan_id ? `${c.plan_id}, version ${c.plan_version}` : null],
    ['Level', c.role === 'override' ? String(c.level) : null],
    ['Corrects', c.reverses_id ? el('a', { href: `#commission/${c.reverses_id}` }, c.reverses_id) : null],
  ].filter(([, v]) => v !== null && v !== undefined);
  return el(
    'div',
    { class: 'page' },
    el('p', {}, el('a', { href: '#commissions' }, '← My commissions')),
    el('h1', { id: 'h-page' }, `${what(c)}: ${c.amount ? money(c.amount) : money(c.earned)}`),
    el('div', { class: 'card explanation', id: 'explanation' }, el('h2', {}, 'How it was computed'), el('p', {}, x.text || 'No explanation was recorded.')),
    el('div', { class: 'card' }, el('dl', { class: 'meta' }, ...pairs.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]))),
    section(
      'h-hist',
      'History',
      table(
        { text: 'Status changes' },
        [
          { label: 'When', cell: (e) => timeEl(e.at, true) },
          { label: 'From', cell: (e) => (e.from ? badge(e.from) : '—') },
          { label: 'To', cell: (e) => badge(e.to) },
          { label: 'Reason', wrap: true, cell: (e) => e.reason || '—' },
        ],
        c.history || [],
      ),
    ),
  );
}

// Statement links for [from, to] (days, both included); the API's `to` is exclusive, so it gets the next day.
export function statementUrl(id, from, to, format) {
  const p = new URLSearchParams({ from: `${from}T00:00:00Z`, to: `${ymd(addDays(new Date(`${to}T00:00:00Z`), 1))}T00:00:00Z`, format });
  return `/api/v1/partners/${encodeURIComponent(id)}/statement?${p}`;
}

// #statements?from=2026-03-01&to=2026-03-14 (a payout's email links to the statement of its month) opens that period.
export async function statementsPage(me, params) {
  const now = new Date();
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const asked = (k) => {
    const v = params instanceof URLSearchParams ? params.get(k) : null;
    return v && /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : null;
  };
  const from = field('from', 'From', { type: 'date', value: asked('from') || ymd(first), required: true });
  const to = field('to', 'To (included)', { type: 'date', value: asked('to') || ymd(now), required: true });
  const quick = el(
    'div',
    { class: 'quick', role: 'group', 'aria-label': 'Quick periods' },
    ...[
      ['This month', ymd(first), ymd(now)],
      ['Last month', ymd(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1))), ymd(addDays(first, -1))],
      ['This year', `${now.getUTCFullYear()}-01-01`, ymd(now)],
      ['Last year', `${now.getUTCFullYear() - 1}-01-01`, `${now.getUTCFullYear() - 1}-12-31`],
    ].map(([label, f, t]) =>
      el('button', {
        type: 'button',
        class: 'secondary',
        onclick: () => {
          from.control.value = f;
          to.control.value = t;
          form.requestSubmit();
        },
      }, label),
    ),
  );
  const out = el('div', { id: 'statement' });
  const form = el('form', { class: 'inline-form', 'aria-label': 'Statement period' }, from, to, el('button', { type: 'submit' }, 'Show'), formError());
  const load = async () => {
    const f = from.control.value;
    const t = to.control.value;
    if (!f || !t || t < f) throw Object.assign(new Error('Choose a start day on or before the end day.'), { field: 'to' });
    const st = await api('GET', statementUrl(me.partner.id, f, t, 'json'));
    out.replaceChildren(
      el(
        'p',
        { class: 'actions' },
        el('a', { class: 'button', href: statementUrl(me.partner.id, f, t, 'html'), target: '_blank', rel: 'noopener', id: 'statement-html' }, 'Printable statement (HTML)'),
        el('a', { class: 'button secondary', href: statementUrl(me.partner.id, f, t, 'csv'), download: `statement-${f}-${t}.csv`, id: 'statement-csv' }, 'Download CSV'),
      ),
      st.balances.length
        ? table(
            { text: 'Balances', visible: true },
            [
              { label: 'Currency', cell: (b) => b.currency.toUpperCase() },
              { label: 'Opening', num: true, cell: (b) => money(b.opening) },
              { label: 'Earned', num: true, cell: (b) => money(b.earned) },
              { label: 'Paid out', num: true, cell: (b) => money(b.paid_out) },
              { label: 'Closing', num: true, cell: (b) => money(b.closing) },
            ],
            st.balances,
          )
        : el('p', { class: 'muted empty' }, 'Nothing in this period.'),
      st.lines.length
        ? table(
            { text: 'Entries and payouts', visible: true },
            [
              { label: 'Date', cell: (l) => timeEl(l.at) },
              { label: 'Entry', cell: (l) => (l.kind === 'commission' ? el('a', { href: `#commission/${l.id}` }, l.id) : l.id || l.kind) },
              { label: 'Description', wrap: true, cell: (l) => l.description },
              { label: 'Status', cell: (l) => (l.status ? badge(l.status) : '—') },
              { label: 'Amount', num: true, cell: (l) => money(l.amount) },
            ],
            st.lines,
          )
        : null,
    );
  };
  onSubmit(form, async () => {
    await load();
    announce('Statement updated.');
  });
  await load();
  return el('div', { class: 'page' }, el('h1', { id: 'h-page' }, 'Statements'), el('p', { class: 'muted' }, 'Your opening balance, every entry and payout of the period, and the closing balance. Days are UTC days.'), form, quick, out);
}
