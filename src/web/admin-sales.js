// SPDX-License-Identifier: Apache-2.0
// Sales and refunds: the list (by partner and period), recording a sale (idempotent on its invoice id), a sale with
// the commissions it created, and a refund or dispute that reverses them in proportion.
import { api, el, money } from './api.js';
import {
  announce,
  badge,
  dayAfter,
  dayStart,
  facts,
  field,
  FieldError,
  fmtDateTime,
  followCurrency,
  form,
  go,
  input,
  link,
  localToIso,
  moneyFromForm,
  moneyText,
  pageHeader,
  pagedTable,
  partnerLink,
  partnerPicker,
  programField,
  programName,
  section,
  select,
  table,
  val,
} from './admin-ui.js';

export async function render(ctx) {
  if (ctx.arg) return salePage(ctx, ctx.arg);
  const q = ctx.query;
  const picker = partnerPicker({ name: 'partner_id', label: 'Partner', value: q.get('partner_id'), hint: 'Empty for every partner.' });
  const from = input('from', { type: 'date', id: 'sales-from', value: q.get('from') || '' });
  const to = input('to', { type: 'date', id: 'sales-to', value: q.get('to') || '' });
  const results = el('div', { id: 'sales-results' });
  const filters = el(
    'form',
    { class: 'toolbar', role: 'search', 'aria-label': 'Filter sales', id: 'sales-filters' },
    picker,
    el('div', { class: 'field' }, el('label', { for: 'sales-from' }, 'From'), from),
    el('div', { class: 'field' }, el('label', { for: 'sales-to' }, 'To'), to),
    el('button', { type: 'submit' }, 'Filter'),
  );
  function load() {
    const shown = { partner_id: picker.hidden_.value, from: from.value, to: to.value };
    const qs = new URLSearchParams(Object.entries(shown).filter(([, v]) => v));
    history.replaceState(null, '', `#sales${qs.toString() ? `?${qs}` : ''}`);
    // The API takes times: whole days in UTC, the last one included.
    const params = { partner_id: shown.partner_id, from: dayStart(shown.from), to: dayAfter(shown.to) };
    results.replaceChildren(
      pagedTable({
        path: '/api/v1/sales',
        params,
        id: 'sales-table',
        caption: 'Sales',
        empty: 'No sales match.',
        columns: [
          { label: 'When', render: (s) => fmtDateTime(s.occurred_at) },
          { label: 'Invoice', render: (s) => link(`#sales/${s.id}`, s.external_id) },
          { label: 'Lead', render: (s) => link(`#leads/${s.lead_id}`, s.lead_id) },
          { label: 'Partner', render: (s) => partnerLink(s.partner_id) },
          { label: 'Kind', render: (s) => s.kind },
          { label: 'Amount', num: true, render: (s) => money(s.amount) },
          { label: 'Refunded', num: true, render: (s) => (s.refunded.amount || s.disputed.amount ? money({ amount: s.refunded.amount + s.disputed.amount, currency: s.amount.currency }) : '') },
        ],
      }),
    );
  }
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load();
  });
  picker.hidden_.addEventListener('change', load);
  load();
  return el('section', {}, pageHeader('Sales'), filters, results, section('Record a sale', saleForm(ctx)));
}

function saleForm(ctx) {
  const partner = partnerPicker({ name: 'partner_id', label: 'Credit partner (optional)', status: 'active', hint: 'Only for a customer refd has not seen: otherwise the lead’s attribution counts.' });
  // The sale is in the currency typed, else in its program's.
  const currencyOf = (fm) => {
    const program = ctx.programs.find((p) => p.id === val(fm, 'program_id')) || ctx.programs[0];
    return (val(fm, 'currency') || program?.currency || 'usd').toLowerCase();
  };
  const f = form(
    {
      id: 'sale-create',
      label: 'Record a sale',
      aliases: { email: 'customer', lead_id: 'customer', customer_external_id: 'customer' },
      submit: 'Record sale',
      onSubmit: async (fm) => {
        const programId = val(fm, 'program_id');
        const amount = moneyFromForm(fm, 'amount', currencyOf(fm));
        if (!amount) throw new FieldError('amount', 'Give the amount of the sale.');
        const body = { program_id: programId, amount, external_id: val(fm, 'external_id') || '' };
        const who = val(fm, 'customer');
        if (!who) throw new FieldError('customer', 'Give the customer: an email, a lead id or its external id.');
        if (who.startsWith('lead_')) body.lead_id = who;
        else if (who.includes('@')) body.email = who;
        else body.customer_external_id = who;
        for (const k of ['kind', 'code', 'partner_id']) if (val(fm, k)) body[k] = val(fm, k);
        const at = localToIso(val(fm, 'occurred_at'));
        if (at) body.occurred_at = at;
        const sale = await api('POST', '/api/v1/sales', body);
        announce(sale.duplicate ? `This invoice was already recorded (${sale.id}).` : `Sale recorded with ${sale.commissions.length} commission${sale.commissions.length === 1 ? '' : 's'}.${sale.note ? ` ${sale.note}` : ''}`);
        go(`#sales/${sale.id}`);
      },
    },
    el(
      'div',
      { class: 'grid' },
      programField(ctx.programs),
      field('Customer', input('customer', { autocomplete: 'off' }), { hint: 'Email, lead id (lead_…) or the customer’s id in your billing system.' }),
      field('Invoice id', input('external_id', { required: true, maxlength: '200', autocomplete: 'off' }), { hint: 'Makes the sale idempotent.' }),
      field('Amount', input('amount', { inputmode: 'decimal', required: true })),
      field('Currency', input('currency', { maxlength: '3', placeholder: ctx.programs[0]?.currency || 'usd', autocomplete: 'off' })),
      field('Kind', select('kind', [['', 'Automatic'], ['first', 'First sale'], ['recurring', 'Renewal']], '')),
      field('When (UTC)', input('occurred_at', { type: 'datetime-local' }), { hint: 'Empty for now.' }),
      field('Referral code', input('code', { maxlength: '64', autocomplete: 'off' })),
    ),
    partner,
  );
  followCurrency(f, 'amount', 49, currencyOf);
  return f;
}

async function salePage(ctx, id) {
  const s = await api('GET', `/api/v1/sales/${encodeURIComponent(id)}`);
  const left = s.amount.amount - s.refunded.amount - s.disputed.amount;
  const refund = form(
    {
      id: 'refund-create',
      label: 'Refund',
      submit: 'Record refund',
      busyText: 'Reversing commissions…',
      onSubmit: async (fm) => {
        const body = { sale_id: s.id, kind: val(fm, 'kind') || 'refund' };
        const amount = moneyFromForm(fm, 'amount', s.amount.currency);
        if (amount) body.amount = amount;
        if (val(fm, 'reason')) body.reason = val(fm, 'reason');
        if (val(fm, 'external_id')) body.external_id = val(fm, 'external_id');
        const r = await api('POST', '/api/v1/refunds', body);
        announce(`${r.kind === 'dispute' ? 'Dispute' : 'Refund'} of ${money(r.amount)} recorded; ${r.commissions.length} commission${r.commissions.length === 1 ? '' : 's'} reversed.`);
        go(`#sales/${s.id}`);
      },
    },
    el(
      'div',
      { class: 'grid' },
      field(`Amount (${s.amount.currency.toUpperCase()})`, input('amount', { inputmode: 'decimal', value: moneyText({ amount: left, currency: s.amount.currency }) }), { hint: `Up to ${money({ amount: left, currency: s.amount.currency })}; empty for all that is left.` }),
      field('Kind', select('kind', [['refund', 'Refund'], ['dispute', 'Dispute (chargeback)']], 'refund')),
      field('Reason', input('reason', { maxlength: '500' })),
      field('Refund id', input('external_id', { maxlength: '200' }), { hint: 'Optional: makes it idempotent.' }),
    ),
  );
  return el(
    'section',
    {},
    el('p', { class: 'crumbs' }, link('#sales', 'Sales'), ' / ', s.external_id),
    pageHeader(`Sale ${s.external_id}`),
    facts([
      ['Amount', money(s.amount)],
      ['Refunded', money(s.refunded)],
      ['Disputed', money(s.disputed)],
      ['Kind', s.kind],
      ['When', fmtDateTime(s.occurred_at)],
      ['Program', programName(ctx.programs, s.program_id)],
      ['Lead', link(`#leads/${s.lead_id}`, s.lead_id)],
      ['Customer', s.customer_id],
      ['Partner', partnerLink(s.partner_id)],
      ['Agent', s.agent_id ? partnerLink(s.agent_id) : null],
      ['Recorded from', s.source],
      s.note ? ['Note', s.note] : null,
      ['Id', el('code', {}, s.id)],
    ]),
    section(
      'Commissions',
      table({
        id: 'sale-commissions',
        caption: 'Commissions of the sale',
        captionHidden: true,
        rows: s.commissions || [],
        empty: 'This sale earned no commission.',
        columns: [
          { label: 'Entry', render: (c) => link(`#commissions/${c.id}`, c.id) },
          { label: 'Partner', render: (c) => partnerLink(c.partner_id) },
          { label: 'Role', render: (c) => `${c.role}${c.level ? ` ${c.level}` : ''}` },
          { label: 'Rule', render: (c) => c.rule },
          { label: 'Amount', num: true, render: (c) => money(c.amount || c.earned) },
          { label: 'Status', render: (c) => badge(c.status) },
        ],
      }),
    ),
    left > 0 ? section('Refund or dispute', refund) : el('p', { class: 'muted' }, 'Fully refunded.'),
  );
}
