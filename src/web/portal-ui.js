// SPDX-License-Identifier: Apache-2.0
// Small building blocks the partner portal's pages share: the live status line, forms that show each error next
// to its field, tables that scroll inside themselves on a phone, dates, periods and "load more" lists.
import { api, el } from './api.js';

// One polite live region for the whole portal (in portal.html): what just happened, read out by screen readers.
export function announce(text) {
  const s = document.getElementById('status');
  if (!s) return;
  s.textContent = '';
  // A fresh text node after a tick makes screen readers announce the same message twice in a row too.
  setTimeout(() => {
    s.textContent = text;
  }, 30);
}

// A labelled field with a place for its error. opts: {type, required, autocomplete, hint, value, rows, readonly,
// options: [[value, label]]}. Returns the wrapper; the control is wrapper.control.
let fieldSeq = 0;
export function field(name, label, opts = {}) {
  const id = opts.id || `f-${name}-${++fieldSeq}`;
  const hintId = opts.hint ? `${id}-hint` : null;
  const errId = `${id}-error`;
  const attrs = {
    id,
    name,
    required: opts.required || false,
    autocomplete: opts.autocomplete,
    readonly: opts.readonly || false,
    'aria-describedby': [hintId, errId].filter(Boolean).join(' '),
    inputmode: opts.inputmode,
    maxlength: opts.maxlength,
    min: opts.min,
    max: opts.max,
  };
  let control;
  if (opts.options) {
    control = el('select', attrs, ...opts.options.map(([v, l]) => el('option', { value: v, selected: v === opts.value }, l)));
  } else if (opts.rows) {
    control = el('textarea', { ...attrs, rows: opts.rows });
    if (opts.value) control.value = opts.value;
  } else {
    control = el('input', { ...attrs, type: opts.type || 'text', value: opts.value });
  }
  const wrap = el(
    'div',
    { class: 'field' },
    el('label', { for: id }, label, opts.required ? el('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    opts.hint ? el('p', { class: 'hint', id: hintId }, opts.hint) : null,
    control,
    el('p', { class: 'field-error', id: errId }),
  );
  wrap.control = control;
  wrap.dataset.field = name;
  return wrap;
}

// Shows errors on a form's fields: {name: message}. Unknown names go to the form's general error line. Focuses
// the first field in error so a keyboard user lands on it.
export function showErrors(form, errors) {
  clearErrors(form);
  let first = null;
  const general = [];
  for (const [name, msg] of Object.entries(errors)) {
    const wrap = form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
    if (!wrap || wrap.hidden) {
      general.push(msg);
      continue;
    }
    wrap.classList.add('invalid');
    wrap.control.setAttribute('aria-invalid', 'true');
    wrap.querySelector('.field-error').textContent = msg;
    if (!first) first = wrap.control;
  }
  const g = form.querySelector('.form-error');
  if (g) g.textContent = general.join(' ');
  if (first) first.focus();
  else if (g && general.length) g.focus();
}

export function clearErrors(form) {
  for (const wrap of form.querySelectorAll('.field.invalid')) {
    wrap.classList.remove('invalid');
    wrap.control.removeAttribute('aria-invalid');
    wrap.querySelector('.field-error').textContent = '';
  }
  const g = form.querySelector('.form-error');
  if (g) g.textContent = '';
}

// The general error line of a form (errors that belong to no field), focusable so it can take the focus.
export function formError() {
  return el('p', { class: 'form-error error', role: 'alert', tabindex: '-1' });
}

// Turns an API error into {field: message}; errors without a field land on '_'.
export function errorsOf(e) {
  return { [e.field || '_']: e.message };
}

// Runs an async submit handler with the button disabled and aria-busy set, so a double click sends once.
export function onSubmit(form, handler) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = form.querySelector('button[type="submit"]');
    if (form.getAttribute('aria-busy') === 'true') return;
    form.setAttribute('aria-busy', 'true');
    if (btn) btn.disabled = true;
    clearErrors(form);
    try {
      await handler();
    } catch (e) {
      showErrors(form, errorsOf(e));
    } finally {
      form.removeAttribute('aria-busy');
      if (btn) btn.disabled = false;
    }
  });
}

// Cells keep to one line (the table scrolls in its box on a phone) unless the column holds prose (`wrap`).
function cellClass(c) {
  return [c.num ? 'num' : null, c.wrap ? 'wrap' : null].filter(Boolean).join(' ') || null;
}

// A table with a caption, inside a wrapper that scrolls sideways by itself (never the page). cols: [{label, num,
// cell(row) -> node|string}]. An empty list shows `empty`.
export function table(caption, cols, rows, empty = 'Nothing yet.') {
  if (!rows.length) return el('p', { class: 'muted empty' }, empty);
  const t = el(
    'table',
    {},
    el('caption', { class: caption.visible ? '' : 'sr-only' }, caption.text || caption),
    el('thead', {}, el('tr', {}, ...cols.map((c) => el('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
    el(
      'tbody',
      {},
      ...rows.map((r) => el('tr', {}, ...cols.map((c) => el('td', { class: cellClass(c) }, c.cell(r))))),
    ),
  );
  return el('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption.text || caption }, t);
}

// Appends rows to a table made by table() (for "Load more").
export function appendRows(wrap, cols, rows) {
  const tbody = wrap.querySelector('tbody');
  for (const r of rows) tbody.append(el('tr', {}, ...cols.map((c) => el('td', { class: cellClass(c) }, c.cell(r)))));
}

// A paged list: fetches `path` (with its own query) page after page, `limit` at a time; renders the first page
// with render(rows) and adds the next ones with more(rows). Returns a container with a "Load more" button.
export async function pagedList(path, render, more, limit = 25) {
  const sep = path.includes('?') ? '&' : '?';
  const first = await api('GET', `${path}${sep}limit=${limit}`);
  const box = el('div', { class: 'paged' });
  const body = render(first.data);
  box.append(body);
  let last = first.data.length ? first.data[first.data.length - 1].id : null;
  if (first.has_more && last) {
    const btn = el('button', { type: 'button', class: 'secondary' }, 'Load more');
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      try {
        const page = await api('GET', `${path}${sep}limit=${limit}&starting_after=${encodeURIComponent(last)}`);
        more(body, page.data);
        announce(`${page.data.length} more loaded.`);
        last = page.data.length ? page.data[page.data.length - 1].id : null;
        if (!page.has_more || !last) btn.remove();
      } catch (e) {
        announce(e.message);
      } finally {
        btn.disabled = false;
      }
    });
    box.append(btn);
  }
  return box;
}

// Dates: the API speaks UTC; days are shown as UTC days so a payout "on the 1st" is the 1st everywhere.
const dayFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });
const timeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function day(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dayFmt.format(d);
}
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : timeFmt.format(d);
}
export function timeEl(iso, withTime = false) {
  return iso ? el('time', { datetime: iso }, withTime ? when(iso) : day(iso)) : '—';
}

// YYYY-MM-DD of a Date in UTC.
export function ymd(d) {
  return d.toISOString().slice(0, 10);
}

export function addDays(d, n) {
  return new Date(d.getTime() + n * 86400000);
}

// A status word as a small badge (the word itself is the text: colour only adds to it).
export function badge(status) {
  const s = String(status || '').replace(/_/g, ' ');
  return el('span', { class: `badge badge-${status}` }, s);
}

export function pct(x) {
  return x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)} %`;
}

export function section(id, title, ...children) {
  return el('section', { 'aria-labelledby': id, class: 'block' }, el('h2', { id }, title), ...children);
}
