// SPDX-License-Identifier: Apache-2.0
// FX rates: the rates refd converts commissions with (one unit of base is worth rate units of quote, from
// valid_from on), a new rate, and a CSV import that releases the commissions held for a missing rate.
import { api, apiFetch, el } from './api.js';
import { announce, field, FieldError, fmtDateTime, form, go, input, localToIso, pageHeader, section, table, val } from './admin-ui.js';

export async function render(ctx) {
  const base = ctx.query.get('base') || '';
  const quote = ctx.query.get('quote') || '';
  const q = new URLSearchParams({ limit: '100' });
  if (base) q.set('base', base);
  if (quote) q.set('quote', quote);
  const ratesBox = el('div', { id: 'fx-rates' });
  const rateTable = (rates) => [
    table({
      id: 'fx-table',
      caption: 'Exchange rates, newest first',
      rows: rates.data,
      empty: 'No rates yet: commissions in another currency than the partner’s wait for one.',
      columns: [
        { label: 'From', render: (r) => r.base.toUpperCase() },
        { label: 'To', render: (r) => r.quote.toUpperCase() },
        { label: 'Rate', num: true, render: (r) => r.rate },
        { label: 'Valid from', render: (r) => fmtDateTime(r.valid_from) },
        { label: 'Added', render: (r) => fmtDateTime(r.created_at) },
      ],
    }),
    rates.has_more ? el('p', { class: 'muted' }, 'Showing the first 100: filter by currency to see others.') : '',
  ];
  // Redrawn in place after an import, so the page stays where the person is.
  async function refreshTable() {
    ratesBox.replaceChildren(...rateTable(await api('GET', `/api/v1/fx-rates?${q}`)));
  }
  await refreshTable();
  const filters = el(
    'form',
    { class: 'toolbar', role: 'search', 'aria-label': 'Filter FX rates', id: 'fx-filters' },
    el('span', { class: 'ctl' }, el('label', { for: 'fx-base' }, 'From'), input('base', { id: 'fx-base', value: base, maxlength: '3', size: '4', autocomplete: 'off' })),
    el('span', { class: 'ctl' }, el('label', { for: 'fx-quote' }, 'To'), input('quote', { id: 'fx-quote', value: quote, maxlength: '3', size: '4', autocomplete: 'off' })),
    el('button', { type: 'submit' }, 'Filter'),
  );
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    if (filters.base.value.trim()) p.set('base', filters.base.value.trim().toLowerCase());
    if (filters.quote.value.trim()) p.set('quote', filters.quote.value.trim().toLowerCase());
    go(`#fx${p.toString() ? `?${p}` : ''}`);
  });

  const add = form(
    {
      id: 'fx-add',
      label: 'Add a rate',
      submit: 'Add rate',
      onSubmit: async (fm) => {
        const body = {
          base: val(fm, 'base') || '',
          quote: val(fm, 'quote') || '',
          rate: (val(fm, 'rate') || '').replace(',', '.'),
          valid_from: localToIso(val(fm, 'valid_from')) || new Date().toISOString(),
        };
        const r = await api('POST', '/api/v1/fx-rates', body);
        announce(`Rate stored${r.released ? `; ${r.released} held commission${r.released === 1 ? '' : 's'} released` : ''}.`);
        go('#fx');
      },
    },
    el(
      'div',
      { class: 'grid' },
      field('From currency', input('base', { maxlength: '3', placeholder: 'usd', autocomplete: 'off' })),
      field('To currency', input('quote', { maxlength: '3', placeholder: 'eur', autocomplete: 'off' })),
      field('Rate', input('rate', { inputmode: 'decimal', placeholder: '0.92' }), { hint: 'One unit of the first is worth this many of the second (up to 9 decimals).' }),
      field('Valid from (UTC)', input('valid_from', { type: 'datetime-local' }), { hint: 'Empty for now.' }),
    ),
  );

  const file = el('input', { type: 'file', name: 'file', accept: '.csv,text/csv,text/plain' });
  const text = el('textarea', { name: 'csv', rows: '4', placeholder: 'base,quote,rate,valid_from\nusd,eur,0.92,2026-01-01T00:00:00Z' });
  const result = el('div', { id: 'fx-import-result', 'aria-live': 'polite' });
  const imp = form(
    {
      id: 'fx-import',
      label: 'Import rates from CSV',
      submit: 'Import',
      busyText: 'Importing the rates…',
      aliases: { base: 'csv', quote: 'csv', rate: 'csv', valid_from: 'csv' },
      onSubmit: async (fm) => {
        let body = val(fm, 'csv');
        if (file.files && file.files[0]) body = await file.files[0].text();
        if (!body) throw new FieldError('csv', 'Choose a CSV file or paste its lines.');
        // The form shows its busy state (aria-busy and a visible message) until the answer is in.
        const res = await apiFetch('POST', '/api/v1/fx-rates/import', { body, type: 'text/csv', accept: 'application/json' });
        const r = await res.json();
        const msg = `Imported ${r.imported} rate${r.imported === 1 ? '' : 's'}${r.released ? `; ${r.released} held commission${r.released === 1 ? '' : 's'} released` : ''}.`;
        result.replaceChildren(el('p', { class: 'ok' }, msg));
        announce(msg);
        text.value = '';
        file.value = '';
        await refreshTable();
      },
    },
    el('p', { class: 'muted' }, 'A header line with base, quote, rate and valid_from, then one rate per line; all or none are stored. A rate with the same pair and time replaces the stored one.'),
    el('div', { class: 'grid' }, field('CSV file', file), field('Or paste the lines', text, { wide: true })),
    result,
  );

  return el(
    'section',
    {},
    pageHeader('FX rates'),
    filters,
    ratesBox,
    section('Add a rate', add),
    section('Import a CSV', imp),
  );
}
