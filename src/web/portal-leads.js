// SPDX-License-Identifier: Apache-2.0
// "My leads" (GET /leads: the partner's and its team's, with their status and registration state), a lead's
// history, and deal registration (POST /leads as the partner), whose answer names conflicts without saying whose.
import { api, ApiError, el } from './api.js';
import { announce, badge, clearErrors, field, formError, onSubmit, pagedList, appendRows, section, showErrors, table, timeEl } from './portal-ui.js';

const STATUSES = [
  ['', 'Any status'],
  ['pending_review', 'Pending review'],
  ['new', 'New'],
  ['contacted', 'Contacted'],
  ['qualified', 'Qualified'],
  ['converted', 'Converted'],
  ['lost', 'Lost'],
  ['rejected', 'Rejected'],
];

function registration(l) {
  const r = l.registration;
  if (!r) return '—';
  const parts = [badge(`reg-${r.state}`)];
  parts[0].textContent = r.state;
  if (r.protected_until) parts.push(el('span', { class: 'muted small' }, ' protected until ', timeEl(r.protected_until)));
  if (r.reason) parts.push(el('span', { class: 'muted small' }, ` (${r.reason})`));
  return el('span', {}, ...parts);
}

function cols(me) {
  const c = [
    { label: 'Prospect', cell: (l) => el('a', { href: `#lead/${l.id}` }, l.name || l.email || l.external_id || l.id) },
    { label: 'Email', cell: (l) => el('span', { class: 'break' }, l.email || '—') },
    { label: 'Company', cell: (l) => l.company || '—' },
    { label: 'Status', cell: (l) => badge(l.status) },
    { label: 'Registration', cell: registration },
    { label: 'Source', cell: (l) => l.source },
  ];
  if (me.team.length) c.push({ label: 'Agent', cell: (l) => (l.attribution.agent_id ? me.names.get(l.attribution.agent_id) || l.attribution.agent_id : '—') });
  c.push({ label: 'Created', cell: (l) => timeEl(l.created_at) });
  return c;
}

export async function leadsPage(me, params) {
  const status = params.get('status') || '';
  const regOnly = params.get('registration') === 'true';
  const st = field('status', 'Status', { options: STATUSES, value: status });
  const reg = el('input', { type: 'checkbox', id: 'f-reg', name: 'registration', checked: regOnly });
  const form = el(
    'form',
    { class: 'inline-form', 'aria-label': 'Filter leads' },
    st,
    el('div', { class: 'field check' }, reg, el('label', { for: 'f-reg' }, 'Deal registrations only')),
    el('button', { type: 'submit' }, 'Filter'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    if (st.control.value) p.set('status', st.control.value);
    if (reg.checked) p.set('registration', 'true');
    location.hash = `leads${p.toString() ? `?${p}` : ''}`;
  });
  const qs = new URLSearchParams();
  if (status) qs.set('status', status);
  if (regOnly) qs.set('registration', 'true');
  const c = cols(me);
  const list = await pagedList(
    `/api/v1/leads${qs.toString() ? `?${qs}` : ''}`,
    (rows) => table({ text: 'Leads' }, c, rows, 'No leads match.'),
    (wrap, rows) => appendRows(wrap, c, rows),
  );
  return el(
    'div',
    { class: 'page' },
    el('h1', { id: 'h-page' }, 'My leads'),
    el('p', {}, el('a', { class: 'button', href: '#register' }, 'Register a deal')),
    form,
    el('div', { id: 'leads' }, list),
  );
}

export async function leadPage(me, id) {
  const [l, h] = await Promise.all([api('GET', `/api/v1/leads/${encodeURIComponent(id)}`), api('GET', `/api/v1/leads/${encodeURIComponent(id)}/history`)]);
  const dl = (pairs) => el('dl', { class: 'meta' }, ...pairs.filter(([, v]) => v !== null && v !== undefined).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  return el(
    'div',
    { class: 'page' },
    el('p', {}, el('a', { href: '#leads' }, '← My leads')),
    el('h1', { id: 'h-page' }, l.name || l.email || l.id),
    el(
      'div',
      { class: 'card' },
      dl([
        ['Email', l.email],
        ['Company', l.company],
        ['Phone', l.phone],
        ['Status', badge(l.status)],
        ['Registration', l.registration ? registration(l) : null],
        ['Source', l.source],
        ['Agent', l.attribution.agent_id ? me.names.get(l.attribution.agent_id) || l.attribution.agent_id : null],
        ['Created', timeEl(l.created_at, true)],
        ['Converted', l.converted_at ? timeEl(l.converted_at, true) : null],
      ]),
      l.conflicts && l.conflicts.length ? conflictList(l.conflicts, l.email) : null,
    ),
    section(
      'h-hist',
      'History',
      table(
        { text: 'Status changes' },
        [
          { label: 'When', cell: (e) => timeEl(e.at, true) },
          { label: 'From', cell: (e) => (e.from ? badge(e.from) : '—') },
          { label: 'To', cell: (e) => badge(e.to) },
          { label: 'Reason', wrap: true, cell: (e) => e.reason || '—' },
        ],
        h.data,
      ),
    ),
  );
}

// Conflicts as people read them. The API says what kind of record conflicts (email or company domain; an open
// lead or a customer), never whose it is.
function conflictText(c, email) {
  const domain = email && email.includes('@') ? email.split('@').pop() : 'this company';
  const who = c.status === 'customer' ? 'is already a customer' : 'is already an open lead';
  if (c.reason === 'email') return `Someone with this email address ${who}.`;
  return `A contact at the same company domain (${domain}) ${who}.`;
}

export function conflictList(conflicts, email) {
  // The same reason and status can come several times (several contacts): count them instead of repeating.
  const counts = new Map();
  for (const c of conflicts) {
    const k = `${c.reason}/${c.status}`;
    counts.set(k, { c, n: (counts.get(k)?.n || 0) + 1 });
  }
  return el(
    'div',
    { class: 'conflicts', id: 'conflicts' },
    el('h3', {}, conflicts.length === 1 ? 'Possible conflict' : `${conflicts.length} possible conflicts`),
    el(
      'ul',
      {},
      ...[...counts.values()].map(({ c, n }) => el('li', { 'data-reason': c.reason, 'data-status': c.status }, conflictText(c, email), n > 1 ? ` (${n} records)` : '')),
    ),
    el('p', { class: 'small' }, 'The program team looks at conflicts when it reviews the registration, and decides who gets the deal.'),
  );
}

export function registerPage() {
  const f = {
    email: field('email', 'Prospect’s email', { type: 'email', required: true, autocomplete: 'off', maxlength: 254, hint: 'A work address lets us check the company domain for conflicts.' }),
    name: field('name', 'Name', { autocomplete: 'off', maxlength: 200 }),
    company: field('company', 'Company', { autocomplete: 'off', maxlength: 200 }),
    phone: field('phone', 'Phone', { type: 'tel', autocomplete: 'off', maxlength: 40 }),
  };
  const result = el('div', { id: 'register-result', class: 'result', tabindex: '-1' });
  const form = el(
    'form',
    { class: 'card', 'aria-labelledby': 'h-page', novalidate: true },
    ...Object.values(f),
    formError(),
    el('button', { type: 'submit' }, 'Register the deal'),
  );
  const show = (kind, title, ...body) => {
    result.className = `result card ${kind}`;
    result.replaceChildren(el('h2', {}, title), ...body);
    result.focus();
  };
  onSubmit(form, async () => {
    result.replaceChildren();
    result.className = 'result';
    const email = f.email.control.value.trim();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) return showErrors(form, { email: 'Enter the prospect’s email address.' });
    const body = { email };
    for (const k of ['name', 'company', 'phone']) if (f[k].control.value.trim()) body[k] = f[k].control.value.trim();
    let lead;
    try {
      lead = await api('POST', '/api/v1/leads', body);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        show('bad', 'This prospect is already someone’s lead', el('p', {}, `${email} is already a lead in the program, credited to another partner, so it cannot be registered for you. If you think this is wrong, contact the program team.`));
        showErrors(form, { email: e.message });
        result.focus();
        result.scrollIntoView({ block: 'nearest' });
        announce('Not registered: this prospect is already someone’s lead.');
        return;
      }
      throw e;
    }
    const conflicts = lead.conflicts || [];
    const link = el('p', {}, el('a', { href: `#lead/${lead.id}` }, 'See the registration'), ' · ', el('a', { href: '#leads?registration=true' }, 'All my registrations'));
    if (lead.duplicate) {
      show('warn', 'You already registered this prospect', el('p', {}, `Its status: ${String(lead.status).replace(/_/g, ' ')}.`), conflicts.length ? conflictList(conflicts, email) : null, link);
    } else if (conflicts.length) {
      show('warn', 'Registered, with possible conflicts', el('p', {}, 'Your registration is waiting for review.'), conflictList(conflicts, email), link);
    } else {
      show('ok', 'Registered', el('p', {}, 'Your registration is waiting for review. No other lead or customer with this email or company domain was found.'), link);
    }
    announce(conflicts.length ? `Registered with ${conflicts.length} possible conflicts.` : 'Deal registered.');
    clearErrors(form);
    if (!lead.duplicate) form.reset();
  });
  return el(
    'div',
    { class: 'page' },
    el('h1', { id: 'h-page' }, 'Register a deal'),
    el('p', { class: 'muted' }, 'Tell us about a prospect you are working with. Once the program team approves the registration, the deal is protected for you for the program’s protection period.'),
    form,
    result,
  );
}
