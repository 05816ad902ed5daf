// SPDX-License-Identifier: Apache-2.0
// Commissions: the ledger with filters, an entry with its explanation (the event, the rule, the rate, the FX rate,
// the level) and its history, approved, held or rejected with a reason.
import { api, el, money } from './api.js';
import {
  alertError,
  announce,
  badge,
  confirmDialog,
  facts,
  fmtBps,
  fmtDate,
  fmtDateTime,
  go,
  link,
  pageHeader,
  pagedTable,
  partnerLink,
  partnerPicker,
  section,
  select,
  table,
} from './admin-ui.js';

const STATUSES = ['pending', 'held', 'approved', 'paid', 'rejected'];

export async function render(ctx) {
  if (ctx.arg) return entryPage(ctx, ctx.arg);
  const q = ctx.query;
  const status = select('status', [['', 'Any status'], ...STATUSES.map((s) => [s, s])], q.get('status') || '', { id: 'com-status' });
  const picker = partnerPicker({ name: 'partner_id', label: 'Partner', value: q.get('partner_id'), hint: 'Empty for every partner.' });
  const fixed = {};
  for (const k of ['sale_id', 'lead_id', 'plan_id', 'program_id']) if (q.get(k)) fixed[k] = q.get(k);
  const results = el('div', { id: 'commissions-results' });
  const filters = el(
    'form',
    { class: 'toolbar', role: 'search', 'aria-label': 'Filter commissions', id: 'com-filters' },
    el('div', { class: 'field' }, el('label', { for: 'com-status' }, 'Status'), status),
    picker,
    el('button', { type: 'submit' }, 'Filter'),
  );
  function load() {
    const params = { ...fixed, status: status.value, partner_id: picker.hidden_.value };
    const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v));
    history.replaceState(null, '', `#commissions${qs.toString() ? `?${qs}` : ''}`);
    results.replaceChildren(
      pagedTable({
        path: '/api/v1/commissions',
        params,
        id: 'commissions-table',
        caption: 'Commission entries',
        empty: 'No commissions match.',
        columns: [
          { label: 'Entry', render: (c) => link(`#commissions/${c.id}`, `${c.rule} ${c.event.type}`) },
          { label: 'Event', render: (c) => fmtDate(c.event.at) },
          { label: 'Partner', render: (c) => partnerLink(c.partner_id) },
          { label: 'Role', render: (c) => `${c.role}${c.level ? ` L${c.level}` : ''}` },
          { label: 'Earned', num: true, render: (c) => money(c.earned) },
          { label: 'Amount', num: true, render: (c) => (c.amount ? money(c.amount) : 'waiting for FX') },
          { label: 'Status', render: (c) => badge(c.status) },
          { label: 'Until', render: (c) => (c.status === 'pending' ? fmtDate(c.hold_until) : '') },
        ],
      }),
    );
  }
  status.addEventListener('change', load);
  picker.hidden_.addEventListener('change', load);
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load();
  });
  load();
  const fixedNote = Object.keys(fixed).length ? el('p', { class: 'muted' }, `Only ${Object.entries(fixed).map(([k, v]) => `${k} ${v}`).join(', ')}. `, link('#commissions', 'Show all')) : null;
  return el('section', {}, pageHeader('Commissions'), filters, fixedNote, results);
}

async function entryPage(ctx, id) {
  const c = await api('GET', `/api/v1/commissions/${encodeURIComponent(id)}`);
  const x = c.explanation || {};
  const act = (label, path, { reasonRequired, danger } = {}) => {
    const b = el('button', { type: 'button', class: danger ? 'danger' : null, 'data-action': path }, label);
    b.addEventListener('click', async () => {
      const r = await confirmDialog({ title: `${label} this commission?`, message: `${money(c.amount || c.earned)} for the partner.`, reason: 'Reason', reasonRequired, confirm: label, danger });
      if (!r) return;
      try {
        await api('POST', `/api/v1/commissions/${c.id}/${path}`, r.reason ? { reason: r.reason } : {});
        announce(`Commission ${path === 'approve' ? 'approved' : path === 'hold' ? 'held' : 'rejected'}.`);
        go(location.hash);
      } catch (e) {
        alertError(e);
      }
    });
    return b;
  };
  const actions = [];
  if (c.status === 'pending' || c.status === 'held') actions.push(act('Approve', 'approve'));
  if (c.status === 'pending' || c.status === 'approved') actions.push(act('Hold', 'hold', { reasonRequired: true }));
  if (c.status !== 'paid' && c.status !== 'rejected') actions.push(act('Reject', 'reject', { reasonRequired: true, danger: true }));
  return el(
    'section',
    {},
    el('p', { class: 'crumbs' }, link('#commissions', 'Commissions'), ' / ', c.id),
    el('div', { class: 'page-head' }, el('h1', { class: 'page-title', tabindex: '-1' }, `Commission ${money(c.amount || c.earned)} `, badge(c.status)), el('div', { class: 'page-actions' }, ...actions)),
    c.status_reason ? el('p', { class: 'warning' }, c.status_reason) : null,
    el('blockquote', { class: 'explanation', id: 'commission-explanation' }, x.text || 'No explanation.'),
    facts([
      ['Partner', partnerLink(c.partner_id)],
      ['Role', `${c.role}${c.level ? `, level ${c.level}` : ''}`],
      ['Rule', c.rule],
      ['Event', [c.event.type, ' ', c.sale_id ? link(`#sales/${c.sale_id}`, c.event.id) : c.lead_id && c.event.type === 'lead' ? link(`#leads/${c.lead_id}`, c.event.id) : c.event.id, ` on ${fmtDateTime(c.event.at)}`]],
      ['Lead', c.lead_id ? link(`#leads/${c.lead_id}`, c.lead_id) : null],
      ['Plan', c.plan_id ? [link(`#plans/${c.plan_id}`, c.plan_id), ` version ${c.plan_version}`] : null],
      ['Basis', x.basis ? `${x.basis}${x.base ? ` of ${money(x.base)}` : ''}${x.rate_bps !== null && x.rate_bps !== undefined ? ` at ${fmtBps(x.rate_bps)}` : ''}` : null],
      x.tier ? ['Tier', `step ${x.tier.index + 1} (from ${x.tier.from}), volume ${x.tier.volume} by ${x.tier.metric} in ${fmtDate(x.tier.period_start)}–${fmtDate(x.tier.period_end)}`] : null,
      x.of_commission_id ? ['Override of', link(`#commissions/${x.of_commission_id}`, x.of_commission_id)] : null,
      c.reverses_id ? ['Reverses', link(`#commissions/${c.reverses_id}`, c.reverses_id)] : null,
      ['Earned', money(c.earned)],
      ['Amount', c.amount ? money(c.amount) : 'waiting for an FX rate'],
      ['FX rate', x.fx ? `1 ${x.fx.from.toUpperCase()} = ${x.fx.rate} ${x.fx.to.toUpperCase()}${x.fx.inverse ? ' (inverse)' : ''}` : c.fx_rate || 'none needed'],
      ['Rounding', x.rounding ? `${x.rounding.mode.replace('_', ' ')}, ${x.rounding.decimals} decimals` : null],
      ['Pending until', fmtDateTime(c.hold_until)],
      ['Id', el('code', {}, c.id)],
    ]),
    section(
      'History',
      table({
        id: 'commission-history',
        caption: 'Status changes',
        captionHidden: true,
        rows: c.history || [],
        columns: [
          { label: 'When', render: (h) => fmtDateTime(h.at) },
          { label: 'From', render: (h) => h.from || 'created' },
          { label: 'To', render: (h) => h.to },
          { label: 'By', render: (h) => h.actor },
          { label: 'Reason', render: (h) => h.reason || '' },
        ],
      }),
    ),
  );
}
