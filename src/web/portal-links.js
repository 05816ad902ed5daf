// SPDX-License-Identifier: Apache-2.0
// "My links and codes": each link's /r/{code} address with a Copy button and a QR code (qrcode-generator, drawn as
// an <img> with a data: URL, which the CSP allows), plus the code people can type or add as ?via=.
import { api, el } from './api.js';
import qrcode from './vendor/qrcode.mjs';
import { announce, day, pagedList } from './portal-ui.js';

// A GIF data URL of the QR code for text; the smallest version that holds it, error correction M.
export function qrDataUrl(text, cell = 4) {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  return qr.createDataURL(cell, cell * 4);
}

// Copies text and says so next to the button. The clipboard API needs a secure context (https, or localhost);
// elsewhere the text is selected on the page and copied the old way, or left selected for Ctrl+C.
export async function copyText(text, node, status) {
  let ok = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      ok = true;
    }
  } catch {
    ok = false;
  }
  if (!ok && node) {
    const range = document.createRange();
    range.selectNodeContents(node);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
  }
  status.textContent = ok ? 'Copied' : 'Press Ctrl+C (⌘C) to copy the selected text';
  status.classList.toggle('ok', ok);
  announce(ok ? `Copied ${text}` : 'Could not copy: the text is selected, press Ctrl+C to copy it.');
  clearTimeout(status.timer);
  status.timer = setTimeout(() => {
    status.textContent = '';
    status.classList.remove('ok');
  }, 6000);
  return ok;
}

// A label, the text itself (all of it, wrapped: a phone shows the whole link) and its Copy button.
export function copyRow(label, text, id) {
  const value = el('code', { id, class: 'copy-value' }, text);
  const status = el('span', { class: 'copy-status', id: `${id}-status` });
  const btn = el('button', { type: 'button', class: 'copy', 'aria-label': `Copy the ${label.toLowerCase()} ${text}` }, 'Copy');
  btn.addEventListener('click', () => copyText(text, value, status));
  return el('div', { class: 'copy-row' }, el('p', { class: 'copy-label', id: `${id}-label` }, label), el('div', { class: 'copy-line' }, value, btn), status);
}

function linkCard(link, me) {
  const owner = link.partner_id === me.partner.id ? null : me.names.get(link.partner_id) || 'an agent of your team';
  const src = qrDataUrl(link.url);
  const alt = `QR code for ${link.url}`;
  const dl = `${link.code}-qr.gif`;
  return el(
    'article',
    { class: 'card link-card', 'data-link-id': link.id, 'data-code': link.code, 'aria-labelledby': `h-${link.id}` },
    el(
      'div',
      { class: 'link-text' },
      el('h2', { id: `h-${link.id}` }, el('span', { class: 'code' }, link.code), link.archived ? el('span', { class: 'badge badge-archived' }, 'archived') : null),
      owner ? el('p', { class: 'muted' }, `Link of ${owner}`) : null,
      copyRow('Link', link.url, `url-${link.id}`),
      copyRow('Code', link.code, `code-${link.id}`),
      el(
        'dl',
        { class: 'meta' },
        el('dt', {}, 'Goes to'),
        el('dd', {}, el('span', { class: 'break' }, link.target_url || link.destination_url)),
        link.campaign ? [el('dt', {}, 'Campaign'), el('dd', {}, link.campaign)] : null,
        el('dt', {}, 'Created'),
        el('dd', {}, day(link.created_at)),
      ),
      el('p', { class: 'muted small' }, 'People can also type the code at checkout, or you can add ', el('code', {}, `?via=${link.code}`), ' to any page of the site.'),
    ),
    el(
      'figure',
      { class: 'qr' },
      el('img', { src, alt, width: 164, height: 164, class: 'qr-img' }),
      el('figcaption', {}, el('a', { href: src, download: dl }, 'Download the QR code')),
    ),
  );
}

// The partner's own links before its agents' (the API lists them newest first; the order is otherwise kept).
function ownFirst(rows, me) {
  return [...rows.filter((l) => l.partner_id === me.partner.id), ...rows.filter((l) => l.partner_id !== me.partner.id)];
}

export async function linksPage(me) {
  const list = await pagedList(
    '/api/v1/links',
    (rows) => el('div', { class: 'links', id: 'links' }, ...(rows.length ? ownFirst(rows, me).map((l) => linkCard(l, me)) : [el('p', { class: 'muted empty' }, 'You have no links yet. Ask your partner manager for one.')])),
    (box, rows) => box.append(...rows.map((l) => linkCard(l, me))),
    50,
  );
  return el(
    'div',
    { class: 'page' },
    el('h1', { id: 'h-page' }, 'My links and codes'),
    el('p', { class: 'muted' }, 'Share a link, its code or its QR code. Every visit through it is counted for you, and people who sign up or buy later are still yours for the program’s cookie window.'),
    list,
  );
}
