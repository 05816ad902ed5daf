// SPDX-License-Identifier: Apache-2.0
// Payout runs: the list, a new run with a cut-off, a run's items, totals and the partners left out; approving,
// cancelling, the three export layouts (generic, PayPal per currency, Wise), each item paid or failed, the run paid.
import { api, el, money } from './api.js';
import {
  alertError,
  announce,
  badge,
  busy,
  confirmDialog,
  download,
  facts,
  field,
  fmtDateTime,
  form,
  go,
  input,
  link,
  localToIso,
  moneyList,
  pageHeader,
  pagedTable,
  partnerLink,
  programField,
  programName,
  section,
  table,
  val,
} from './admin-ui.js';

export async function render(ctx) {
  if (ctx.arg) return runPage(ctx, ctx.arg);
  const create = form(
    {
      id: 'payout-create',
      label: 'New payout run',
      submit: 'Create payout run',
      busyText: 'Collecting the approved commissions…',
      onSubmit: async (fm) => {
        const body = {};
        if (val(fm, 'program_id')) body.program_id = val(fm, 'program_id');
        const cutoff = localToIso(val(fm, 'cutoff'));
        if (cutoff) body.cutoff = cutoff;
        const run = await api('POST', '/api/v1/payout-runs', body);
        announce(`Payout run created as a draft: ${run.items.length} item${run.items.length === 1 ? '' : 's'}, ${run.left_out.length} left out.`);
        go(`#payouts/${run.id}`);
      },
    },
    el('p', { class: 'muted' }, 'Collects the approved commissions up to the cut-off, one item per partner and currency, and leaves out partners under the threshold, suspended or held. It stays a draft until approved.'),
    el('div', { class: 'grid' }, programField(ctx.programs), field('Cut-off (UTC)', input('cutoff', { type: 'datetime-local' }), { hint: 'Empty for now.' })),
  );
  return el(
    'section',
    {},
    pageHeader('Payout runs'),
    section('New run', create),
    section(
      'Runs',
      pagedTable({
        path: '/api/v1/payout-runs',
        id: 'payouts-table',
        caption: 'Payout runs',
        captionHidden: true,
        empty: 'No payout runs yet.',
        columns: [
          { label: 'Run', render: (r) => link(`#payouts/${r.id}`, fmtDateTime(r.created_at)) },
          { label: 'Status', render: (r) => badge(r.status) },
          { label: 'Cut-off', render: (r) => fmtDateTime(r.cutoff) },
          { label: 'Items', num: true, render: (r) => String(r.items.length) },
          { label: 'Total', num: true, render: (r) => moneyList(r.totals.map((t) => t.amount)) },
          ...(ctx.programs.length > 1 ? [{ label: 'Program', render: (r) => programName(ctx.programs, r.program_id) }] : []),
        ],
      }),
    ),
  );
}

async function runPage(ctx, id) {
  const run = await api('GET', `/api/v1/payout-runs/${encodeURIComponent(id)}`);
  const reload = () => go(`#payouts/${run.id}`);
  const act = (label, path, opts = {}) => {
    const b = el('button', { type: 'button', class: opts.danger ? 'danger' : opts.secondary ? 'secondary' : null, id: `run-${path}` }, label);
    b.addEventListener('click', async () => {
      const r = await confirmDialog({ title: opts.title || `${label}?`, message: opts.message, reason: opts.reason || null, reasonRequired: !!opts.required, confirm: label, danger: opts.danger });
      if (!r) return;
      await busy({ region: document.getElementById('run-body') || document.body, button: b, message: opts.busy || `${label}…`, done: opts.done }, async () => {
        await api('POST', `/api/v1/payout-runs/${run.id}/${path}`, opts.body ? opts.body(r) : {});
        reload();
      });
    });
    return b;
  };
  const actions = [];
  if (run.status === 'draft')
    actions.push(
      act('Approve', 'approve', {
        title: 'Approve this payout run?',
        message: `It locks ${run.items.reduce((n, i) => n + i.entries, 0)} commission entries to it: ${moneyList(run.totals.map((t) => t.amount))}.`,
        busy: 'Approving the run…',
        done: 'Payout run approved: export it for the bank or provider.',
      }),
    );
  if (run.status === 'approved')
    actions.push(
      act('Mark run paid', 'mark-paid', {
        title: 'Mark every pending item paid?',
        reason: 'Payment reference',
        busy: 'Marking the run paid…',
        done: 'Payout run marked paid.',
        body: (r) => (r.reason ? { reference: r.reason } : {}),
      }),
    );
  if (run.status === 'draft' || (run.status === 'approved' && !run.items.some((i) => i.status === 'paid')))
    actions.push(act('Cancel run', 'cancel', { danger: true, title: 'Cancel this payout run?', message: 'Its pending items become failed and their commissions return to the balances.', busy: 'Cancelling…', done: 'Payout run cancelled.' }));

  const exportsBox = el('div', { class: 'exports', id: 'run-exports' });
  const exportErr = el('p', { class: 'error', role: 'alert' });
  if (run.status === 'approved' || run.status === 'paid') {
    const currencies = run.totals.map((t) => t.currency);
    const exp = (label, format, currency) => {
      const b = el('button', { type: 'button', class: 'secondary', 'data-format': format, 'data-currency': currency || null }, label);
      b.addEventListener('click', () => {
        const q = new URLSearchParams({ format });
        if (currency) q.set('currency', currency);
        busy({ region: exportsBox, button: b, message: `Preparing the ${label} file…`, errorEl: exportErr, done: (r) => `Downloaded ${r.name}.` }, () =>
          download(`/api/v1/payout-runs/${run.id}/export?${q}`, `${run.id}-${format}${currency ? `-${currency}` : ''}.csv`),
        );
      });
      return b;
    };
    exportsBox.append(
      el(
        'div',
        { class: 'actions' },
        exp('Generic CSV', 'generic'),
        exp('Wise batch CSV', 'wise'),
        ...(currencies.length > 1 ? currencies.map((c) => exp(`PayPal CSV (${c.toUpperCase()})`, 'paypal', c)) : [exp('PayPal Payouts CSV', 'paypal')]),
      ),
      exportErr,
    );
  } else {
    exportsBox.append(el('p', { class: 'muted' }, run.status === 'draft' ? 'Approve the run to export it.' : 'A cancelled run is not exported.'));
  }

  const itemAction = (item, label, path, opts) => {
    const b = el('button', { type: 'button', class: `small ${opts.danger ? 'danger' : 'secondary'}`, 'data-item': item.id, 'data-action': path }, label);
    b.addEventListener('click', async () => {
      const r = await confirmDialog({ title: `${label}: ${item.name || item.partner_id}, ${money(item.amount)}`, reason: opts.reason, reasonRequired: opts.required, confirm: label, danger: opts.danger, message: opts.message });
      if (!r) return;
      try {
        await api('POST', `/api/v1/payout-runs/${run.id}/items/${item.id}/${path}`, opts.body(r));
        announce(`${item.name || item.partner_id}: ${path === 'mark-paid' ? 'paid' : 'failed'}.`);
        reload();
      } catch (e) {
        alertError(e);
      }
    });
    return b;
  };

  return el(
    'section',
    {},
    el('p', { class: 'crumbs' }, link('#payouts', 'Payout runs'), ' / ', run.id),
    el(
      'div',
      { class: 'page-head' },
      el('h1', { class: 'page-title', tabindex: '-1' }, `Payout run of ${fmtDateTime(run.created_at)} `, badge(run.status)),
      el('div', { class: 'page-actions', id: 'run-actions' }, ...actions),
    ),
    el(
      'div',
      { id: 'run-body', 'data-status': run.status },
      facts([
        ['Program', programName(ctx.programs, run.program_id)],
        ['Cut-off', fmtDateTime(run.cutoff)],
        ['Created by', run.created_by],
        ['Approved', run.approved_at ? `${fmtDateTime(run.approved_at)} by ${run.approved_by}` : null],
        ['Id', el('code', {}, run.id)],
      ]),
      section(
        'Totals',
        table({
          id: 'run-totals',
          caption: 'Totals per currency',
          captionHidden: true,
          rows: run.totals,
          empty: 'Nothing to pay.',
          columns: [
            { label: 'Currency', render: (t) => t.currency.toUpperCase() },
            { label: 'Items', num: true, render: (t) => String(t.items) },
            { label: 'Amount', num: true, render: (t) => money(t.amount) },
          ],
        }),
      ),
      section('Export', exportsBox),
      section(
        'Items',
        table({
          id: 'run-items',
          caption: 'One payment per partner and currency',
          captionHidden: true,
          rows: run.items,
          empty: 'No partner is owed anything up to the cut-off.',
          columns: [
            { label: 'Partner', render: (i) => el('a', { href: `#partners/${i.partner_id}` }, i.name || i.partner_id) },
            { label: 'Email', render: (i) => i.email || '' },
            { label: 'Amount', num: true, render: (i) => el('span', { 'data-amount': String(i.amount.amount), 'data-currency': i.amount.currency }, money(i.amount)) },
            { label: 'Entries', num: true, render: (i) => String(i.entries) },
            { label: 'Status', render: (i) => badge(i.status) },
            { label: 'Reference', render: (i) => i.reference || i.failure_reason || '' },
            {
              label: 'Actions',
              render: (i) =>
                run.status === 'approved' && i.status === 'pending'
                  ? el(
                      'span',
                      { class: 'row-actions' },
                      itemAction(i, 'Mark paid', 'mark-paid', { reason: 'Payment reference', body: (r) => (r.reason ? { reference: r.reason } : {}) }),
                      ' ',
                      itemAction(i, 'Mark failed', 'mark-failed', { reason: 'Why it failed', required: true, danger: true, message: 'Its commissions return to the partner’s balance for the next run.', body: (r) => ({ reason: r.reason }) }),
                    )
                  : '',
            },
          ],
        }),
      ),
      section(
        'Left out',
        table({
          id: 'run-left-out',
          caption: 'Partners left out, with the reason',
          captionHidden: true,
          rows: run.left_out,
          empty: 'Nobody was left out.',
          columns: [
            { label: 'Partner', render: (x) => partnerLink(x.partner_id) },
            { label: 'Balance', num: true, render: (x) => money(x.amount) },
            { label: 'Reason', render: (x) => x.reason },
          ],
        }),
      ),
    ),
  );
}
