// SPDX-License-Identifier: Apache-2.0
// Links and codes: the list (by partner, campaign, archived or not), a new link for a partner, archiving, the
// link's URL to copy and its QR code.
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
