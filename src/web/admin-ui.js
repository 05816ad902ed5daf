// SPDX-License-Identifier: Apache-2.0
// Shared pieces of the admin UI: formatting, tables, forms whose API errors land next to the named field, dialogs
// that close with Escape, busy states for long actions, announcements for screen readers, the partner combobox.
import { api, apiFetch, ApiError, currencyDecimals, el, money, moneyParts } from './api.js';

export { api, el, money };

// ---- announcements ----

// Results go to a polite live region, errors to an assertive one; both are visible at the top of the page.
export function announce(message) {
  const live = document.getElementById('live');
  if (!live) return;
  live.textContent = '';
  // A fresh text node after a tick makes screen readers speak a message equal to the previous one too.
  setTimeout(() => {
    live.textContent = message;
  }, 30);
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => {
    if (live.textContent === message) live.textContent = '';
  }, 12000);
}

export function alertError(e) {
  const box = document.getElementById('alert');
  const message = e instanceof Error ? e.message : String(e);
  if (!box) return;
  box.replaceChildren(
    el('span', {}, message),
    el('button', { type: 'button', class: 'link', onclick: () => box.replaceChildren() }, 'Dismiss'),
  );
}

export function clearAlert() {
  const box = document.getElementById('alert');
  if (box) box.replaceChildren();
}

// ---- formatting ----

export const fmtNum = (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US'));

// A ratio from the API (0.3636) as a percentage with one decimal.
export function fmtPct(r) {
  if (r === null || r === undefined) return '—';
  return `${(Math.round(r * 1000) / 10).toFixed(1)} %`;
}

// Seconds as days, hours and minutes (the two largest parts).
export function fmtDuration(s) {
  if (s === null || s === undefined) return '—';
  const neg = s < 0;
  let v = Math.abs(Math.round(s));
  const d = Math.floor(v / 86400);
  v -= d * 86400;
  const h = Math.floor(v / 3600);
  v -= h * 3600;
  const m = Math.floor(v / 60);
  const parts = [];
  if (d) parts.push(`${d} d`);
  if (h) parts.push(`${h} h`);
  if (m && parts.length < 2) parts.push(`${m} min`);
  if (!parts.length) parts.push(`${v} s`);
  return (neg ? '−' : '') + parts.slice(0, 2).join(' ');
}

export const fmtDate = (iso) => (iso ? String(iso).slice(0, 10) : '—');
export const fmtDateTime = (iso) => (iso ? `${String(iso).slice(0, 10)} ${String(iso).slice(11, 16)}` : '—');

// Basis points as a percentage ("2000" → "20 %", "1250" → "12.5 %").
export function fmtBps(bps) {
  if (bps === null || bps === undefined) return '—';
  const whole = Math.trunc(bps / 100);
  const frac = String(Math.abs(bps % 100)).padStart(2, '0').replace(/0+$/, '');
  return `${whole}${frac ? '.' + frac : ''} %`;
}

// A percentage typed by a person ("12.5") as basis points (1250), without floating point; NaN when malformed.
export function parseBps(text) {
  const t = String(text).trim().replace(',', '.').replace(/\s*%$/, '');
  const m = /^(\d{1,5})(?:\.(\d{0,2}))?$/.exec(t);
  if (!m) return NaN;
  return Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0'));
}

// An amount typed by a person ("1,234.5") in a currency's minor units (123450), without floating point, with the
// currency's exponent from the server's table; NaN when malformed, with more decimals than the currency has, or in
// a currency the table does not have.
export function parseMoney(text, currency) {
  const d = currencyDecimals(currency);
  if (d === null) return NaN;
  const t = String(text).trim().replace(/[\s,]/g, '');
  const m = /^(-?)(\d{1,15})(?:\.(\d*))?$/.exec(t);
  if (!m || (m[3] && m[3].length > d)) return NaN;
  const minor = BigInt(m[2]) * 10n ** BigInt(d) + BigInt((m[3] || '').padEnd(d, '0') || '0');
  const n = Number(minor);
  return m[1] ? -n : n;
}

// Minor units as the plain decimal a person would type (12345 USD → "123.45", 1000 ISK → "1000").
export function moneyText(m) {
  if (!m) return '';
  return moneyParts(m).join('');
}

// A whole amount written with the currency's decimals, as the example in an empty amount field (49 → "49.00" in
// USD, "49" in JPY, "49.000" in BHD); null for a code the server's table does not have.
export function amountExample(whole, currency) {
  const d = currencyDecimals(currency);
  if (d === null) return null;
  return d ? `${whole}.${'0'.repeat(d)}` : String(whole);
}

// Keeps the example in the amount field `name` in step with the currency the form will send it in (currencyOf(form),
// which may depend on other fields: a currency typed, a program chosen). A code being typed keeps the last example.
export function followCurrency(formEl, name, whole, currencyOf) {
  const control = formEl.elements.namedItem(name);
  const update = () => {
    const example = amountExample(whole, currencyOf(formEl));
    if (example !== null) control.placeholder = example;
  };
  formEl.addEventListener('input', update);
  formEl.addEventListener('change', update);
  update();
}

export const moneyList = (list) => (list && list.length ? list.map(money).join(' · ') : '—');

export function badge(status) {
  return el('span', { class: `badge badge-${status}` }, String(status).replace(/_/g, ' '));
}

// The UTC date n days before today, as YYYY-MM-DD.
export function isoDay(offsetDays = 0, from = new Date()) {
  const d = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()) + offsetDays * 86400000);
  return d.toISOString().slice(0, 10);
}

// A day (YYYY-MM-DD) as the RFC 3339 time it starts at, and as the start of the next day (an exclusive end).
export const dayStart = (d) => (d ? `${d}T00:00:00Z` : '');
export const dayAfter = (d) => (d ? new Date(Date.parse(`${d}T00:00:00Z`) + 86400000).toISOString() : '');

// A datetime-local control's value (taken as UTC) as an RFC 3339 time, or undefined when empty.
export function localToIso(v) {
  if (!v) return undefined;
  const d = new Date(`${v.length === 16 ? `${v}:00` : v}Z`);
  return Number.isNaN(d.getTime()) ? v : d.toISOString();
}

// ---- navigation ----

export function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

export function link(hash, text, attrs = {}) {
  return el('a', { href: hash, ...attrs }, text);
}

// ---- partner names (ids are shown as names, fetched once) ----

const partnerCache = new Map();

export function rememberPartners(list) {
  for (const p of list || []) partnerCache.set(p.id, Promise.resolve(p));
}

export function getPartner(id) {
  if (!partnerCache.has(id)) {
    const p = api('GET', `/api/v1/partners/${encodeURIComponent(id)}`).catch(() => null);
    partnerCache.set(id, p);
  }
  return partnerCache.get(id);
}

export function forgetPartner(id) {
  partnerCache.delete(id);
}

// A link to a partner that shows its id at once and its name when known.
export function partnerLink(id) {
  if (!id) return el('span', { class: 'muted' }, '—');
  const a = el('a', { href: `#partners/${id}`, class: 'partner-ref' }, id);
  getPartner(id).then((p) => {
    if (p) {
      a.textContent = p.name;
      a.title = `${p.email} (${id})`;
    }
  });
  return a;
}

// ---- tables ----

let uid = 0;
export const nextId = (prefix) => `${prefix}-${++uid}`;

// columns: [{label, render(row) → Node|string, num?}]; the table scrolls inside its own wrapper on small screens.
export function table({ columns, rows, caption, empty = 'Nothing here yet.', id, captionHidden = false }) {
  if (!rows.length) return el('p', { class: 'muted empty', id }, empty);
  const t = el(
    'table',
    {},
    caption ? el('caption', { class: captionHidden ? 'sr-only' : null }, caption) : null,
    el('thead', {}, el('tr', {}, ...columns.map((c) => el('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
    el(
      'tbody',
      {},
      ...rows.map((r) =>
        el('tr', {}, ...columns.map((c) => el('td', { class: c.num ? 'num' : null, 'data-label': c.label }, c.render(r) ?? '—'))),
      ),
    ),
  );
  // A focusable region lets keyboard users scroll a wide table.
  return el('div', { class: 'table-wrap', id, role: 'region', tabindex: '0', 'aria-label': caption || 'Table' }, t);
}

// A list that pages with the API's cursor: loads the first page at once and a "Load more" button for the rest.
export function pagedTable({ path, params = {}, columns, caption, empty, id, limit = 25, onRows }) {
  const box = el('div', { class: 'paged', id });
  const more = el('button', { type: 'button', class: 'secondary' }, 'Load more');
  const status = el('p', { class: 'muted', role: 'status' });
  let rows = [];
  let last = null;
  async function load() {
    more.disabled = true;
    box.setAttribute('aria-busy', 'true');
    try {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
      q.set('limit', String(limit));
      if (last) q.set('starting_after', last);
      const page = await api('GET', `${path}?${q}`);
      rows = rows.concat(page.data);
      if (onRows) onRows(page.data);
      last = page.data.length ? page.data[page.data.length - 1].id : last;
      const shown = table({ columns, rows, caption, empty });
      box.replaceChildren(shown, page.has_more ? more : '', status);
      status.textContent = rows.length ? `${rows.length} shown${page.has_more ? ', more available' : ''}.` : '';
    } catch (e) {
      box.replaceChildren(el('p', { class: 'error', role: 'alert' }, e.message));
    } finally {
      more.disabled = false;
      box.removeAttribute('aria-busy');
    }
  }
  more.addEventListener('click', load);
  box.append(el('p', { class: 'loading' }, 'Loading…'));
  box.ready = load();
  return box;
}

// ---- forms ----

// A labelled control with room for a hint and for the API's error about it. control must have a name (the API's
// field name, e.g. "email" or "rules.sale_bps"), which is how an ApiError finds it.
export function field(label, control, { hint, wide = false } = {}) {
  if (!control.id) control.id = nextId('f');
  const hintEl = hint ? el('span', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  const errEl = el('span', { class: 'field-error', id: `${control.id}-error` });
  control.setAttribute('aria-describedby', [hintEl ? hintEl.id : null, errEl.id].filter(Boolean).join(' '));
  if (control.type === 'checkbox') {
    return el('div', { class: `field check${wide ? ' wide' : ''}` }, el('label', { for: control.id }, control, ' ', label), hintEl, errEl);
  }
  return el('div', { class: `field${wide ? ' wide' : ''}` }, el('label', { for: control.id }, label), control, hintEl, errEl);
}

export function input(name, attrs = {}) {
  return el('input', { name, type: 'text', ...attrs });
}

export function select(name, options, value, attrs = {}) {
  return el(
    'select',
    { name, ...attrs },
    ...options.map((o) => {
      const [v, t] = Array.isArray(o) ? o : [o, o];
      return el('option', { value: v, selected: String(v) === String(value ?? '') }, t);
    }),
  );
}

export function clearErrors(form) {
  for (const e of form.querySelectorAll('.field-error')) e.textContent = '';
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  const s = form.querySelector('.form-error');
  if (s) s.textContent = '';
}

// Shows err next to the control it names (its name attribute, or data-field), else at the form's foot.
export function showError(form, err, fallbackField) {
  const name = ((err instanceof ApiError || err instanceof FieldError) && err.field) || fallbackField || null;
  let control = null;
  if (name) {
    const candidates = [form.aliases && form.aliases[name], name, name.replace(/\.(amount|currency)$/, ''), name.split('.')[0]].filter(Boolean);
    for (const n of candidates) {
      control = form.querySelector(`[name="${CSS.escape(n)}"], [data-field="${CSS.escape(n)}"]`);
      if (control) break;
    }
  }
  const summary = form.querySelector('.form-error');
  if (control) {
    control.setAttribute('aria-invalid', 'true');
    const errEl = document.getElementById(`${control.id}-error`);
    if (errEl) errEl.textContent = err.message;
    if (summary) summary.textContent = err.message;
    control.focus();
  } else if (summary) {
    summary.textContent = err.message;
  }
}

// A form with a submit button that shows a busy state while onSubmit runs and puts any error where it belongs.
// onSubmit(form) may throw an ApiError (shown next to its field) or a FieldError (a check made here).
export class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

export function form({ id, label, submit = 'Save', onSubmit, busyText = 'Saving…', cls = 'card form', aliases = null }, ...children) {
  const button = el('button', { type: 'submit' }, submit);
  const f = el(
    'form',
    { id, class: cls, 'aria-label': label, novalidate: true },
    ...children,
    el('p', { class: 'form-error error', role: 'alert' }),
    el('div', { class: 'actions' }, button, el('span', { class: 'busy-msg', role: 'status' })),
  );
  f.aliases = aliases;
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(f);
    const msg = f.querySelector('.busy-msg');
    button.disabled = true;
    f.setAttribute('aria-busy', 'true');
    msg.textContent = busyText;
    try {
      await onSubmit(f);
    } catch (e) {
      if (e instanceof ApiError || e instanceof FieldError) showError(f, e);
      else showError(f, e);
    } finally {
      button.disabled = false;
      f.removeAttribute('aria-busy');
      msg.textContent = '';
    }
  });
  return f;
}

// The value of a form control by its name, trimmed; null when empty.
export function val(formEl, name) {
  const c = formEl.elements.namedItem(name);
  if (!c) return null;
  if (c.type === 'checkbox') return c.checked;
  const v = String(c.value).trim();
  return v === '' ? null : v;
}

// The amount typed in the field `name` as money in currency ({amount, currency} in minor units), null when empty.
// A currency the server's table does not have is reported on the form's currency field when it has one (that is
// where the mistake is), else on the amount's.
export function moneyFromForm(formEl, name, currency) {
  const t = val(formEl, name);
  if (t === null) return null;
  if (currencyDecimals(currency) === null) {
    throw new FieldError(formEl.elements.namedItem('currency') ? 'currency' : name, `${currency} is not an ISO 4217 currency code`);
  }
  const amount = parseMoney(t, currency);
  if (Number.isNaN(amount)) throw new FieldError(name, `${t} is not an amount in ${currency.toUpperCase()}`);
  return { amount, currency };
}

export function bpsFromForm(formEl, name) {
  const t = val(formEl, name);
  if (t === null) return null;
  const b = parseBps(t);
  if (Number.isNaN(b) || b > 10000) throw new FieldError(name, `${t} is not a percentage between 0 and 100 (two decimals at most)`);
  return b;
}

export function intFromForm(formEl, name) {
  const t = val(formEl, name);
  if (t === null) return null;
  if (!/^-?\d+$/.test(t)) throw new FieldError(name, `${t} is not a whole number`);
  return Number(t);
}

// ---- dialogs ----

// A modal dialog asking to confirm an action, optionally with a reason (or another text input). Resolves with
// {reason} or null when cancelled (the Cancel button or Escape). Focus returns to where it was.
export function confirmDialog({ title, message, confirm = 'Confirm', reason = null, reasonRequired = false, danger = false, input: extra }) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = nextId('dlg');
    const reasonCtl = reason
      ? el('textarea', { name: 'reason', rows: '2', required: reasonRequired || null, maxlength: '500' })
      : null;
    const err = el('p', { class: 'error', role: 'alert' });
    const ok = el('button', { type: 'submit', class: danger ? 'danger' : null }, confirm);
    const cancel = el('button', { type: 'button', class: 'secondary', value: 'cancel' }, 'Cancel');
    const d = el(
      'dialog',
      { 'aria-labelledby': titleId, class: 'dialog' },
      el(
        'form',
        { method: 'dialog' },
        el('h2', { id: titleId }, title),
        message ? el('p', {}, message) : null,
        reasonCtl ? field(reason, reasonCtl, { hint: reasonRequired ? 'Required.' : 'Optional.' }) : null,
        extra || null,
        err,
        el('div', { class: 'actions' }, ok, cancel),
      ),
    );
    let result = null;
    d.querySelector('form').addEventListener('submit', (ev) => {
      const text = reasonCtl ? reasonCtl.value.trim() : '';
      if (reasonRequired && !text) {
        ev.preventDefault();
        err.textContent = `${reason} is required.`;
        reasonCtl.setAttribute('aria-invalid', 'true');
        reasonCtl.focus();
        return;
      }
      result = { reason: text || null, form: d.querySelector('form') };
    });
    cancel.addEventListener('click', () => d.close());
    d.addEventListener('close', () => {
      d.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(result);
    });
    document.body.append(d);
    d.showModal();
    (reasonCtl || d.querySelector('input, textarea, select') || ok).focus();
  });
}

// A dialog that only shows something (a secret shown once, a QR code) and closes with its button or Escape.
export function infoDialog(title, ...content) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = nextId('dlg');
    const close = el('button', { type: 'submit' }, 'Close');
    const d = el(
      'dialog',
      { 'aria-labelledby': titleId, class: 'dialog' },
      el('form', { method: 'dialog' }, el('h2', { id: titleId }, title), ...content, el('div', { class: 'actions' }, close)),
    );
    d.addEventListener('close', () => {
      d.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve();
    });
    document.body.append(d);
    d.showModal();
    close.focus();
  });
}

// A secret shown once, with a button that copies it.
export function secretBox(id, label, secret, note) {
  const out = el('input', { type: 'text', readonly: true, value: secret, id: `${id}-value`, class: 'secret', 'aria-describedby': `${id}-note` });
  const copy = el('button', { type: 'button', class: 'secondary' }, 'Copy');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(secret);
      announce('Copied.');
    } catch {
      out.select();
      announce('Select and copy it by hand.');
    }
  });
  const box = el('div', { class: 'secret-box', id, role: 'group', 'aria-label': label }, el('label', { for: `${id}-value` }, label), el('div', { class: 'row' }, out, copy), el('p', { class: 'warning', id: `${id}-note` }, note));
  setTimeout(() => out.focus(), 0);
  return box;
}

// A button that copies text to the clipboard and says so; where the clipboard is refused, it says what to copy.
export function copyButton(text, label, attrs = {}) {
  const b = el('button', { type: 'button', class: 'secondary small', 'aria-label': label, ...attrs }, 'Copy');
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      announce(`Copied ${text}.`);
    } catch {
      announce(`Copy it by hand: ${text}`);
    }
  });
  return b;
}

// ---- long actions ----

// Runs fn while region shows it is busy (aria-busy and a visible message) and button is disabled; announces the
// outcome. Returns fn's result, or undefined after an error (shown in the alert region, and in errorEl if given).
export async function busy({ region, button, message, done, errorEl }, fn) {
  const note = el('p', { class: 'busy-note', role: 'status' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', message);
  region.setAttribute('aria-busy', 'true');
  region.prepend(note);
  if (button) button.disabled = true;
  if (errorEl) errorEl.textContent = '';
  try {
    const r = await fn();
    if (done) announce(typeof done === 'function' ? done(r) : done);
    return r;
  } catch (e) {
    if (errorEl) errorEl.textContent = e.message;
    alertError(e);
    return undefined;
  } finally {
    note.remove();
    region.removeAttribute('aria-busy');
    if (button) button.disabled = false;
  }
}

// Fetches a file from the API (with the session) and hands it to the browser as a download. Resolves with the
// file's name and text.
export async function download(path, fallbackName) {
  const res = await apiFetch('GET', path, { accept: 'text/csv, */*' });
  const cd = res.headers.get('Content-Disposition') || '';
  const m = /filename="?([^";]+)"?/.exec(cd);
  const name = m ? m[1] : fallbackName;
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return { name, size: blob.size };
}

// ---- the partner combobox ----

// An ARIA 1.2 combobox that searches partners as one types (/api/v1/partners?q=, optionally of one kind). The chosen
// partner's id is the value of a hidden input named name (the API's field), so a form reads it like any other
// control and an ApiError about it lands next to the text box.
export function partnerPicker({ name, label, kind, programId, value = null, hint, status }) {
  const id = nextId('combo');
  const listId = `${id}-list`;
  const hidden = el('input', { type: 'hidden', name: `${name}` });
  const box = el('input', {
    id,
    type: 'text',
    role: 'combobox',
    'aria-autocomplete': 'list',
    'aria-expanded': 'false',
    'aria-controls': listId,
    autocomplete: 'off',
    'data-field': name,
    placeholder: 'Type a name or email',
  });
  const list = el('ul', { id: listId, role: 'listbox', class: 'listbox', hidden: true, 'aria-label': `${label}: matches` });
  const count = el('span', { class: 'sr-only', role: 'status', 'aria-live': 'polite' });
  let options = [];
  let active = -1;
  let timer = null;
  let seq = 0;

  function setValue(p) {
    hidden.value = p ? p.id : '';
    box.value = p ? `${p.name} <${p.email}>` : '';
    box.dataset.value = hidden.value;
    hidden.dispatchEvent(new Event('change', { bubbles: true }));
  }
  function close() {
    list.hidden = true;
    box.setAttribute('aria-expanded', 'false');
    box.removeAttribute('aria-activedescendant');
    active = -1;
  }
  function highlight(i) {
    active = i;
    for (const [j, li] of [...list.children].entries()) li.setAttribute('aria-selected', String(j === i));
    if (i >= 0 && list.children[i]) {
      box.setAttribute('aria-activedescendant', list.children[i].id);
      list.children[i].scrollIntoView({ block: 'nearest' });
    } else box.removeAttribute('aria-activedescendant');
  }
  function choose(i) {
    const p = options[i];
    if (!p) return;
    setValue(p);
    close();
    count.textContent = `${p.name} chosen.`;
  }
  async function search() {
    const q = box.value.trim();
    const mine = ++seq;
    if (!q) {
      options = [];
      list.replaceChildren();
      close();
      return;
    }
    const params = new URLSearchParams({ q, limit: '10' });
    if (kind) params.set('kind', kind);
    if (programId) params.set('program_id', programId);
    if (status) params.set('status', status);
    let res;
    try {
      res = await api('GET', `/api/v1/partners?${params}`);
    } catch (e) {
      count.textContent = e.message;
      return;
    }
    if (mine !== seq) return; // a newer search is under way
    options = res.data;
    rememberPartners(options);
    list.replaceChildren(
      ...options.map((p, i) => {
        const li = el(
          'li',
          { id: `${id}-opt-${i}`, role: 'option', 'aria-selected': 'false', 'data-id': p.id },
          el('span', { class: 'opt-name' }, p.name),
          ' ',
          el('span', { class: 'muted' }, `${p.email} · ${p.kind}${p.status !== 'active' ? ` · ${p.status}` : ''}`),
        );
        // mousedown, not click: it comes before the text box loses focus.
        li.addEventListener('mousedown', (ev) => {
          ev.preventDefault();
          choose(i);
        });
        return li;
      }),
    );
    if (!options.length) list.append(el('li', { class: 'muted', role: 'presentation' }, 'No match'));
    list.hidden = false;
    box.setAttribute('aria-expanded', 'true');
    highlight(-1);
    count.textContent = options.length ? `${options.length} match${options.length === 1 ? '' : 'es'}; use the arrow keys.` : 'No match.';
  }
  box.addEventListener('input', () => {
    hidden.value = '';
    box.dataset.value = '';
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });
  box.addEventListener('keydown', (ev) => {
    const open = !list.hidden;
    if (ev.key === 'ArrowDown') {
      ev.preventDefault();
      if (!open) search();
      else highlight(Math.min(active + 1, options.length - 1));
    } else if (ev.key === 'ArrowUp') {
      ev.preventDefault();
      if (open) highlight(Math.max(active - 1, 0));
    } else if (ev.key === 'Enter') {
      if (open && active >= 0) {
        ev.preventDefault();
        choose(active);
      }
    } else if (ev.key === 'Escape') {
      if (open) {
        ev.preventDefault();
        ev.stopPropagation();
        close();
      } else if (box.value) {
        ev.preventDefault();
        setValue(null);
      }
    } else if (ev.key === 'Tab' && open && active >= 0) {
      choose(active);
    }
  });
  box.addEventListener('blur', () => setTimeout(close, 150));
  if (value) {
    hidden.value = value;
    box.dataset.value = value;
    getPartner(value).then((p) => {
      if (p && hidden.value === value) box.value = `${p.name} <${p.email}>`;
    });
  }
  const wrap = field(label, box, { hint: hint || 'Type to search, then pick with the arrow keys and Enter.' });
  wrap.classList.add('combo');
  wrap.append(list, hidden, count);
  wrap.input = box;
  wrap.hidden_ = hidden;
  return wrap;
}

// A section with a heading, for the parts of a screen.
export function section(title, ...children) {
  const id = nextId('sec');
  return el('section', { class: 'block', 'aria-labelledby': id }, el('h2', { id }, title), ...children);
}

export function pageHeader(title, ...actions) {
  return el('div', { class: 'page-head' }, el('h1', { tabindex: '-1', class: 'page-title' }, title), actions.length ? el('div', { class: 'page-actions' }, ...actions) : null);
}

// Definition list of label/value pairs.
export function facts(pairs) {
  return el('dl', { class: 'facts' }, ...pairs.filter(Boolean).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v ?? '—')]));
}

// The program select of a form: hidden (with the only program's id) when there is one program.
export function programField(programs, value, attrs = {}) {
  if (programs.length === 1) return el('input', { type: 'hidden', name: 'program_id', value: programs[0].id });
  return field('Program', select('program_id', programs.map((p) => [p.id, p.name]), value || programs[0]?.id, attrs));
}

export function programName(programs, id) {
  const p = programs.find((x) => x.id === id);
  return p ? p.name : id;
}
