// SPDX-License-Identifier: Apache-2.0
// The portal's home: what the partner has earned by status, the next payout (date and amount), and the last 30
// days at a glance.
import { api, el, money } from './api.js';
import { badge, day, section, timeEl } from './portal-ui.js';

function stat(label, value, attrs = {}) {
  return el('div', { class: 'stat', ...attrs }, el('span', { class: 'label' }, label), el('span', { class: 'value' }, value));
}

export function balanceCards(bal) {
  if (!bal.balances.length) return el('p', { class: 'muted empty', id: 'balance-empty' }, 'No earnings yet. They appear here as soon as a lead or sale you referred earns a commission.');
  return el(
    'div',
    { class: 'balances' },
    ...bal.balances.map((b) =>
      el(
        'div',
        { class: 'stats', 'data-currency': b.currency, role: 'group', 'aria-label': `Earnings in ${b.currency.toUpperCase()}` },
        stat('Pending', money(b.pending), { 'data-status': 'pending', title: 'Inside the holding period' }),
        b.held.amount ? stat('On hold', money(b.held), { 'data-status': 'held' }) : null,
        stat('Approved', money(b.approved), { 'data-status': 'approved', title: 'Ready for the next payout' }),
        stat('Paid', money(b.paid), { 'data-status': 'paid' }),
        stat('Total', money(b.total), { 'data-status': 'total', class: 'stat total' }),
      ),
    ),
  );
}

export function forecastBlock(fc) {
  const items = [];
  if (fc.held) items.push(el('p', { class: 'notice warn', role: 'note' }, `Your payouts are on hold: ${fc.held}`));
  if (!fc.expected.length) {
    items.push(el('p', {}, 'Next payout date: ', el('strong', {}, timeEl(fc.next_payout_date)), '. Nothing is due on it yet.'));
  }
  for (const x of fc.expected) {
    items.push(
      el(
        'div',
        { class: 'payout', 'data-currency': x.currency },
        el('p', { class: 'payout-main' }, el('span', { class: 'payout-amount' }, money(x.amount)), el('span', {}, ' on ', el('strong', {}, timeEl(fc.next_payout_date)))),
        x.meets_threshold
          ? el('p', { class: 'muted' }, x.pending.amount ? `${money(x.approved)} of it is approved; ${money(x.pending)} finishes its holding period before the date.` : 'All of it is approved.')
          : el('p', { class: 'notice' }, `This is under the payout threshold of ${money(x.threshold)}: it is carried over until your balance reaches it.`),
        x.later && x.later.amount ? el('p', { class: 'muted' }, `${money(x.later)} more is expected on a later payout date.`) : null,
      ),
    );
  }
  items.push(el('p', { class: 'muted small' }, `Payouts are made on day ${fc.payout_day} of the month, for earnings whose holding period ended at least ${fc.terms_days} days before.`));
  return el('div', { class: 'card', id: 'forecast' }, ...items);
}

export async function homePage(me) {
  const id = me.partner.id;
  const [bal, fc, sum] = await Promise.all([
    api('GET', `/api/v1/partners/${id}/balance`),
    api('GET', `/api/v1/partners/${id}/payout-forecast`),
    api('GET', `/api/v1/reports/summary?program_id=${encodeURIComponent(me.partner.program_id)}`).catch(() => null),
  ]);
  return el(
    'div',
    { class: 'page' },
    el('h1', { id: 'h-page' }, `Welcome, ${me.partner.name}`),
    me.program ? el('p', { class: 'muted' }, `${me.program.name} · partner since ${day(me.partner.created_at)} · `, badge(me.partner.status)) : null,
    section('h-earn', 'My earnings', el('div', { id: 'balance' }, balanceCards(bal)), el('p', {}, el('a', { href: '#commissions' }, 'See every commission'), ' · ', el('a', { href: '#statements' }, 'Statements'))),
    section('h-next', 'Next payout', forecastBlock(fc)),
    sum
      ? section(
          'h-30',
          'Last 30 days',
          el(
            'div',
            { class: 'stats', id: 'summary' },
            stat('Clicks', sum.clicks),
            stat('Leads', sum.leads),
            stat('Customers', sum.customers),
            stat('Sales', sum.sales),
            stat('Revenue', money(sum.revenue)),
          ),
          el('p', {}, el('a', { href: '#results' }, 'Results over time')),
        )
      : null,
  );
}
