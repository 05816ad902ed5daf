// SPDX-License-Identifier: Apache-2.0
// Settings: the signed-in account (a new password), year-end tax totals against the reporting threshold (with
// their CSV), and what integrations need (the API description, the tracking script, the portal and Stripe URLs).
import { api, el, money } from './api.js';
import { announce, busy, download, facts, field, FieldError, form, input, link, moneyText, pageHeader, partnerLink, section, table, val } from './admin-ui.js';

export async function render(ctx) {
  const s = ctx.session;
  const pw = form(
    {
      id: 'password-change',
      label: 'Change my password',
      submit: 'Change password',
      onSubmit: async (fm) => {
        const a = val(fm, 'password');
        if (!a || a.length < 10) throw new FieldError('password', 'At least 10 characters.');
        if (a !== val(fm, 'password2')) throw new FieldError('password2', 'The two passwords differ.');
        await api('PATCH', `/api/v1/users/${s.user_id}`, { password: a });
        announce('Password changed: every session of this account has ended; log in again.');
        setTimeout(() => location.reload(), 2500);
      },
    },
    el('p', { class: 'muted' }, 'A new password ends every session of this account, this one too.'),
    el(
      'div',
      { class: 'grid' },
      field('New password', input('password', { type: 'password', autocomplete: 'new-password', minlength: '10' }), { hint: 'At least 10 characters.' }),
      field('Repeat it', input('password2', { type: 'password', autocomplete: 'new-password' })),
    ),
  );

  const taxResult = el('div', { id: 'tax-result' });
  const year = new Date().getUTCFullYear();
  const tax = form(
    {
      id: 'tax-totals',
      label: 'Year-end tax totals',
      submit: 'Show totals',
      busyText: 'Adding up the payouts…',
      onSubmit: async (fm) => {
        const q = new URLSearchParams({ year: val(fm, 'year') || String(year) });
        if (val(fm, 'threshold')) q.set('threshold', val(fm, 'threshold'));
        if (ctx.programs.length > 1) q.set('program_id', ctx.programs[0].id);
        const t = await api('GET', `/api/v1/tax-totals?${q}`);
        const csv = el('button', { type: 'button', class: 'secondary', id: 'tax-csv' }, 'Download CSV');
        csv.addEventListener('click', () => {
          q.set('format', 'csv');
          busy({ region: taxResult, button: csv, message: 'Preparing the CSV…', done: (r) => `Downloaded ${r.name}.` }, () => download(`/api/v1/tax-totals?${q}`, `tax-totals-${t.year}.csv`));
        });
        taxResult.replaceChildren(
          el('p', {}, `${t.year}: threshold ${money(t.threshold)}; ${t.partners.filter((p) => p.reportable).length} reportable partner(s); ${t.missing_tax_profiles.length} without a complete tax profile.`),
          table({
            id: 'tax-table',
            caption: `Paid in ${t.year}`,
            captionHidden: true,
            rows: t.partners,
            empty: 'No payouts were paid in this year.',
            columns: [
              { label: 'Partner', render: (p) => partnerLink(p.partner_id) },
              { label: 'Total (USD)', num: true, render: (p) => money(p.total_paid_usd) },
              { label: 'Unconverted', render: (p) => p.unconverted.map(money).join(', ') },
              { label: 'Reportable', render: (p) => (p.reportable ? 'yes' : '') },
              { label: 'Tax profile', render: (p) => (p.missing_tax_profile ? 'incomplete' : 'complete') },
            ],
          }),
          csv,
        );
        announce('Tax totals ready.');
      },
    },
    el(
      'div',
      { class: 'grid' },
      field('Tax year', input('year', { type: 'number', min: '2000', max: '2100', value: String(year - (new Date().getUTCMonth() < 3 ? 1 : 0)) })),
      field('Threshold in USD', input('threshold', { inputmode: 'decimal', placeholder: `default (${moneyText({ amount: 60000, currency: 'usd' })} up to 2025, ${moneyText({ amount: 200000, currency: 'usd' })} from 2026)` }), { hint: 'Empty for the US 1099-NEC threshold of the year.' }),
    ),
  );

  const origin = location.origin;
  return el(
    'section',
    {},
    pageHeader('Settings'),
    section('My account', facts([['Email', s.email], ['Role', s.role], ['User id', el('code', {}, s.user_id)]]), pw),
    section('Year-end tax totals', tax, taxResult),
    section(
      'Integrations',
      facts([
        ['API description', link('/api/openapi.json', `${origin}/api/openapi.json`)],
        ['Tracking script', el('code', { class: 'break' }, `<script src="${origin}/t.js" async></script>`)],
        ['Partner portal', link('/portal', `${origin}/portal`)],
        ['Stripe webhook', el('code', { class: 'break' }, `${origin}/api/v1/integrations/stripe/webhook`)],
        ['Other systems', link('#integrations', 'Paddle, Chargebee and CRMs: connections, webhook URLs and the events they sent')],
        ['Programs', link('#programs', 'Program settings, payout schedule and partner sign-up')],
        ['People', link('#users', 'Users and API keys')],
      ]),
    ),
  );
}
