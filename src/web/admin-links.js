// SPDX-License-Identifier: Apache-2.0
// Links and codes: the list (by partner, campaign, archived or not), a new link for a partner, archiving, the
// link's URL to copy and its QR code, and the coupon (a billing system's discount code) that credits its partner.
import qrcode from './vendor/qrcode.mjs';
import { api, el } from './api.js';
import {
  alertError,
  announce,
  confirmDialog,
  field,
  fmtDate,
  form,
  go,
  infoDialog,
  input,
  nextId,
  pageHeader,
  pagedTable,
  partnerLink,
  partnerPicker,
  section,
  val,
} from './admin-ui.js';

export async function render(ctx) {
  const q = ctx.query;
  const results = el('div', { id: 'links-results' });
  const picker = partnerPicker({ name: 'partner_id', label: 'Partner', value: q.get('partner_id'), hint: 'Leave empty for every partner.' });
  const campaign = input('campaign', { id: 'links-campaign', value: q.get('campaign') || '' });
  const archived = el('input', { type: 'checkbox', id: 'links-archived', name: 'include_archived', checked: q.get('include_archived') === 'true' });
  const filters = el(
    'form',
    { class: 'toolbar', role: 'search', 'aria-label': 'Filter links', id: 'links-filters' },
    picker,
    el('div', { class: 'field' }, el('label', { for: 'links-campaign' }, 'Campaign'), campaign),
    el('div', { class: 'field check' }, el('label', { for: 'links-archived' }, archived, ' Show archived links')),
    el('button', { type: 'submit' }, 'Filter'),
  );
  function load() {
    const params = { partner_id: picker.hidden_.value, campaign: campaign.value.trim(), include_archived: archived.checked ? 'true' : '' };
    const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v));
    history.replaceState(null, '', `#links${qs.toString() ? `?${qs}` : ''}`);
    results.replaceChildren(
      pagedTable({
        path: '/api/v1/links',
        params,
        id: 'links-table',
        caption: 'Links',
        empty: 'No links match.',
        columns: [
          { label: 'Code', render: (l) => el('code', {}, l.code) },
          { label: 'Partner', render: (l) => partnerLink(l.partner_id) },
          { label: 'Link', render: (l) => urlCell(l) },
          { label: 'Destination', render: (l) => el('span', { class: 'break' }, l.destination_url) },
          { label: 'Campaign', render: (l) => l.campaign || '' },
          { label: 'Coupon', render: (l) => couponCell(l) },
          { label: 'Created', render: (l) => fmtDate(l.created_at) },
          { label: 'Status', render: (l) => archiveButton(l) },
        ],
      }),
    );
  }
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load();
  });
  archived.addEventListener('change', load);
  picker.hidden_.addEventListener('change', load);
  load();
  return el('section', {}, pageHeader('Links'), filters, results, section('New link', newLinkForm(q.get('partner_id'))));
}

function urlCell(l) {
  const copy = el('button', { type: 'button', class: 'link', 'aria-label': `Copy the link ${l.code}` }, 'Copy');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(l.url);
      announce(`Copied ${l.url}.`);
    } catch {
      announce(`Copy this link: ${l.url}`);
    }
  });
  const qr = el('button', { type: 'button', class: 'link', 'aria-label': `QR code of ${l.code}` }, 'QR');
  qr.addEventListener('click', () => {
    const code = qrcode(0, 'M');
    code.addData(l.url);
    code.make();
    infoDialog(`QR code for ${l.code}`, el('img', { src: code.createDataURL(6, 2), alt: `QR code that opens ${l.url}`, class: 'qr' }), el('p', { class: 'break' }, l.url));
  });
  return el('span', { class: 'url-cell' }, el('a', { href: l.url, class: 'break', target: '_blank', rel: 'noopener' }, l.url), ' ', copy, ' ', qr);
}

// The link's coupon with a button that sets, changes or clears it.
function couponCell(l) {
  const b = el('button', { type: 'button', class: 'link', 'data-coupon-of': l.id, 'aria-label': `${l.coupon ? 'Change' : 'Set'} the coupon of ${l.code}` }, l.coupon ? 'Change' : 'Set');
  b.addEventListener('click', async () => {
    const saved = await couponDialog(l);
    if (!saved) return;
    announce(saved.coupon ? `Link ${saved.code} now carries the coupon ${saved.coupon}.` : `Link ${saved.code} has no coupon now.`);
    go(location.hash);
  });
  return el('span', { class: 'coupon-cell' }, l.coupon ? el('code', { class: 'coupon' }, l.coupon) : el('span', { class: 'muted' }, 'none'), ' ', b);
}

// A dialog with the coupon's field: saved through the API, whose error stays next to the field; resolves with the
// saved link, or null when cancelled.
function couponDialog(l) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = nextId('dlg');
    let saved = null;
    const cancel = el('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const f = form(
      {
        id: 'link-coupon',
        label: `Coupon of ${l.code}`,
        submit: 'Save coupon',
        cls: 'form',
        onSubmit: async (fm) => {
          saved = await api('PATCH', `/api/v1/links/${l.id}`, { coupon: val(fm, 'coupon') });
          d.close();
        },
      },
      el('h2', { id: titleId }, `Coupon of ${l.code}`),
      field('Coupon code', input('coupon', { value: l.coupon || '', maxlength: '64', autocomplete: 'off', spellcheck: 'false' }), {
        hint: "The discount code customers type at checkout in Stripe, Paddle or Chargebee; a sale that used it credits this link's partner. Empty removes it.",
      }),
    );
    f.querySelector('.actions').append(cancel);
    const d = el('dialog', { 'aria-labelledby': titleId, class: 'dialog' }, f);
    cancel.addEventListener('click', () => d.close());
    d.addEventListener('close', () => {
      d.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(saved);
    });
    document.body.append(d);
    d.showModal();
    d.querySelector('input').focus();
  });
}

function archiveButton(l) {
  const b = el('button', { type: 'button', class: 'secondary small', 'data-link': l.id }, l.archived ? 'Restore' : 'Archive');
  b.addEventListener('click', async () => {
    if (!l.archived) {
      const ok = await confirmDialog({ title: `Archive ${l.code}?`, message: 'The code stops resolving (a fallback URL or a 404 takes over); it is kept for the records.', confirm: 'Archive' });
      if (!ok) return;
    }
    try {
      const saved = await api('PATCH', `/api/v1/links/${l.id}`, { archived: !l.archived });
      announce(`Link ${saved.code} ${saved.archived ? 'archived' : 'restored'}.`);
      go(location.hash);
    } catch (e) {
      alertError(e);
    }
  });
  return el('span', {}, l.archived ? `archived ${fmtDate(l.archived_at)} ` : 'live ', b);
}

function newLinkForm(partnerId) {
  const picker = partnerPicker({ name: 'partner_id', label: 'Partner', value: partnerId, status: 'active' });
  const f = form(
    {
      id: 'link-create',
      label: 'New link',
      submit: 'Create link',
      onSubmit: async (fm) => {
        const body = {
          partner_id: val(fm, 'partner_id') || '',
          destination_url: val(fm, 'destination_url') || '',
          code: val(fm, 'code') || undefined,
          campaign: val(fm, 'campaign'),
        };
        if (val(fm, 'coupon')) body.coupon = val(fm, 'coupon');
        for (const k of ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content']) if (val(fm, k)) body[k] = val(fm, k);
        if (!body.partner_id) delete body.partner_id;
        const l = await api('POST', '/api/v1/links', body);
        announce(`Link ${l.code} created: ${l.url}`);
        go(`#links?partner_id=${l.partner_id}`);
      },
    },
    el(
      'div',
      { class: 'grid' },
      picker,
      field('Destination URL', input('destination_url', { type: 'url', required: true, placeholder: 'https://' })),
      field('Code', input('code', { maxlength: '64', autocomplete: 'off' }), { hint: 'Letters, digits, - and _; empty for a random one.' }),
      field('Campaign', input('campaign', { maxlength: '100' })),
      field('Coupon', input('coupon', { maxlength: '64', autocomplete: 'off', spellcheck: 'false' }), { hint: "Optional: a billing system's discount code that credits this partner." }),
    ),
    el(
      'details',
      {},
      el('summary', {}, 'UTM parameters'),
      el('div', { class: 'grid' }, ...['source', 'medium', 'campaign', 'term', 'content'].map((k) => field(`utm_${k}`, input(`utm_${k}`)))),
    ),
  );
  return f;
}
