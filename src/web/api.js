// SPDX-License-Identifier: Apache-2.0
// The API client shared by the admin UI and the portal: a cookie session with its CSRF token, JSON in and out,
// and errors that carry the field the server named.
let csrf = null;

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.field = e.field || null;
    this.type = e.type || null;
  }
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export async function session() {
  try {
    const s = await api('GET', '/api/v1/auth/session');
    csrf = s.csrf_token || csrf;
    return s;
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

export async function login(email, password) {
  const s = await api('POST', '/api/v1/auth/login', { email, password });
  csrf = s.csrf_token;
  return s;
}

export async function logout() {
  try {
    await api('POST', '/api/v1/auth/logout');
  } finally {
    csrf = null;
  }
}

// The server's ISO 4217 table (GET /api/v1/currencies): each currency's minor-unit exponent. The UI keeps no
// copy of its own; app.js and portal.js wait for loadCurrencies() before their first screen, so every money
// helper below can read the table synchronously.
let exponents = null;
let loadingCurrencies = null;

// Fetches the table once per page; later calls (a second start after a login) get the same promise. A failed
// fetch is forgotten, so that the next call tries again.
export function loadCurrencies() {
  if (!loadingCurrencies) {
    loadingCurrencies = api('GET', '/api/v1/currencies').then(
      (res) => {
        exponents = new Map(res.data.map((c) => [c.code, c.exponent]));
        return exponents;
      },
      (e) => {
        loadingCurrencies = null;
        throw e;
      },
    );
  }
  return loadingCurrencies;
}

// The number of decimals of a currency's minor unit, from the server's table; null for a code the table does not
// have (the server refuses such a currency, so no amount of it can come from the API).
export function currencyDecimals(currency) {
  if (!exponents) throw new Error('the currency table is not loaded yet (loadCurrencies() comes before any money)');
  return exponents.get(String(currency || '').toLowerCase()) ?? null;
}

// Like api(), for what is not JSON: a CSV upload (body sent as is with its Content-Type) or a file to download.
// Resolves with the Response, body unread, when its status is a success; otherwise throws the ApiError it carries.
export async function apiFetch(method, path, { body, type, accept } = {}) {
  const headers = { Accept: accept || '*/*' };
  if (body !== undefined) headers['Content-Type'] = type || 'text/plain';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body });
  if (!res.ok) {
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    throw new ApiError(res.status, data);
  }
  return res;
}

// Minor units split at the currency's decimals: the sign, the whole part and the fraction ('' when none, or '.' and
// its digits). A code the table does not have shows its minor units as they are, as the server writes them.
export function moneyParts(m) {
  const d = currencyDecimals(m.currency) ?? 0;
  const digits = String(Math.abs(m.amount)).padStart(d + 1, '0');
  return [m.amount < 0 ? '-' : '', d ? digits.slice(0, -d) : digits, d ? `.${digits.slice(-d)}` : ''];
}

// Money as the API writes it ({amount, currency}) as a person reads it: "1,234.50 USD", "1,000 ISK", "1.000 BHD".
export function money(m) {
  if (!m) return '—';
  const [sign, whole, frac] = moneyParts(m);
  return `${sign}${whole.replace(/\B(?=(\d{3})+$)/g, ',')}${frac} ${m.currency.toUpperCase()}`;
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function loginForm(title, onDone) {
  const err = el('p', { class: 'error', role: 'alert' });
  const form = el(
    'form',
    { class: 'card narrow', 'aria-labelledby': 'login-title' },
    el('h1', { id: 'login-title' }, title),
    el('label', { for: 'email' }, 'Email'),
    el('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true }),
    el('label', { for: 'password' }, 'Password'),
    el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    err,
    el('button', { type: 'submit' }, 'Log in'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    try {
      await login(form.email.value, form.password.value);
      onDone();
    } catch (e) {
      err.textContent = e.message;
    }
  });
  return form;
}
