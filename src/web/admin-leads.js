// SPDX-License-Identifier: Apache-2.0
// Leads and deal registrations: the pipeline by status with counts, a new lead whose referral agent is picked by a
// live search, moving a lead through its lifecycle, its history; pending deal registrations with their conflicts,
// approved or rejected with a reason.
import { api, el } from './api.js';
import {
  alertError,
  announce,
  badge,
  busy,
  confirmDialog,
  download,
  facts,
  field,
  fmtDate,
  fmtDateTime,
  fmtDuration,
  form,
  go,
  input,
  link,
  pageHeader,
  pagedTable,
  partnerLink,
  partnerPicker,
  programField,
  programName,
  section,
  select,
  table,
  val,
} from './admin-ui.js';

const PIPELINE = ['new', 'contacted', 'qualified', 'converted', 'lost'];
const REVIEW = ['pending_review', 'rejected'];
const MOVES = ['new', 'contacted', 'qualified', 'converted', 'lost'];
const SOURCES = ['partner', 'referral', 'direct', 'organic', 'paid', 'campaign', 'other'];
const label = (s) => s.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

// How many leads have each status, in one request.
async function countLeads(params) {
  const res = await api('GET', `/api/v1/leads/counts?${new URLSearchParams(params)}`);
  return res.counts;
}

export async function render(ctx) {
  if (ctx.arg === 'new') return newLead(ctx);
  if (ctx.arg) return leadPage(ctx, ctx.arg);
  const status = ctx.query.get('status') || 'new';
  const filters = {};
  for (const k of ['partner_id', 'agent_id', 'program_id', 'source']) if (ctx.query.get(k)) filters[k] = ctx.query.get(k);
  const all = await countLeads(filters);
  const countOf = Object.fromEntries([...PIPELINE, ...REVIEW].map((s) => [s, String(all[s] ?? 0)]));
  const extra = new URLSearchParams(filters).toString();
  const stage = (s) =>
    el(
      'li',
      {},
      el(
        'a',
        { href: `#leads?status=${s}${extra ? `&${extra}` : ''}`, 'aria-current': s === status ? 'true' : null, id: `pipeline-${s}`, 'data-count': countOf[s] },
        el('span', { class: 'stage-name' }, label(s)),
        el('span', { class: 'stage-count' }, countOf[s]),
      ),
    );
  const pipeline = el(
    'nav',
    { class: 'pipeline', 'aria-label': 'Pipeline by status', id: 'pipeline' },
    el('ol', {}, ...PIPELINE.map(stage)),
    el('ul', { class: 'review-stages' }, ...REVIEW.map(stage)),
  );
  const filterNote = Object.keys(filters).length
    ? el('p', { class: 'muted' }, 'Filtered: ', ...Object.entries(filters).flatMap(([k, v]) => [`${k.replace('_id', '')} `, k.endsWith('_id') && v.startsWith('ptn_') ? partnerLink(v) : v, ' ']), link(`#leads?status=${status}`, 'Clear'))
    : null;
  return el(
    'section',
    {},
    pageHeader('Leads', link('#leads/new', 'New lead', { class: 'button', id: 'lead-new-link' }), exportButton({ ...filters, status })),
    pipeline,
    filterNote,
    section(
      `${label(status)} (${countOf[status]})`,
      pagedTable({
        path: '/api/v1/leads',
        params: { ...filters, status },
        id: 'leads-table',
        caption: `Leads: ${label(status)}`,
        empty: 'No leads in this stage.',
        columns: [
          { label: 'Lead', render: (l) => link(`#leads/${l.id}`, l.name || l.email || l.external_id || l.id) },
          { label: 'Email', render: (l) => l.email || '' },
          { label: 'Company', render: (l) => l.company || '' },
          { label: 'Partner', render: (l) => partnerLink(l.attribution.partner_id) },
          { label: 'Agent', render: (l) => (l.attribution.agent_id ? partnerLink(l.attribution.agent_id) : '') },
          { label: 'Source', render: (l) => l.source },
          { label: 'Since', render: (l) => fmtDate(l.status_changed_at) },
          { label: 'Move', render: (l) => moveControl(l) },
        ],
      }),
    ),
  );
}

function exportButton(params) {
  const b = el('button', { type: 'button', class: 'secondary', id: 'leads-export' }, `Export ${label(params.status)} as CSV`);
  b.addEventListener('click', () => {
    const region = document.getElementById('pipeline') || b.parentElement;
    busy({ region, button: b, message: 'Exporting the leads…', done: (r) => `Downloaded ${r.name}.` }, () =>
      download(`/api/v1/leads/export?${new URLSearchParams(params)}`, 'leads.csv'),
    );
  });
  return b;
}

// A compact "move to" control: a labelled select and a button; "lost" asks for a reason.
function moveControl(l, after) {
  if (l.status === 'converted' || REVIEW.includes(l.status)) return el('span', { class: 'muted' }, l.status === 'converted' ? 'final' : 'review first');
  const id = `move-${l.id}`;
  const sel = select('status', MOVES.filter((s) => s !== l.status).map((s) => [s, label(s)]), l.status === 'new' ? 'contacted' : l.status === 'contacted' ? 'qualified' : 'converted', { id });
  const b = el('button', { type: 'button', class: 'small' }, 'Move');
  b.addEventListener('click', async () => {
    let reason = null;
    if (sel.value === 'lost' || sel.value === 'converted') {
      const r = await confirmDialog({
        title: `Move ${l.name || l.email || l.id} to ${label(sel.value)}`,
        message: sel.value === 'converted' ? 'Converted is final. A sale converts a lead by itself; move it by hand only when the sale is recorded elsewhere.' : null,
        reason: 'Reason',
        confirm: 'Move',
      });
      if (!r) return;
      reason = r.reason;
    }
    b.disabled = true;
    try {
      await api('POST', `/api/v1/leads/${l.id}/status`, { status: sel.value, reason });
      announce(`${l.name || l.email || l.id} moved to ${label(sel.value)}.`);
      if (after) after();
      else go(location.hash);
    } catch (e) {
      alertError(e);
      b.disabled = false;
    }
  });
  return el('span', { class: 'move' }, el('label', { for: id, class: 'sr-only' }, `Move ${l.name || l.email || l.id} to`), sel, ' ', b);
}

function newLead(ctx) {
  const agent = partnerPicker({ name: 'agent_id', label: 'Referral agent', kind: 'agent', status: 'active', hint: 'Type a name or email, then pick the agent with the arrow keys and Enter. Its team parent is credited too.' });
  const partner = partnerPicker({ name: 'partner_id', label: 'Partner (when no agent)', status: 'active', hint: 'Optional: credit a partner directly.' });
  const f = form(
    {
      id: 'lead-create',
      label: 'New lead',
      submit: 'Create lead',
      onSubmit: async (fm) => {
        const body = {};
        for (const k of ['email', 'name', 'company', 'phone', 'external_id', 'code', 'agent_id', 'partner_id']) {
          const v = val(fm, k);
          if (v) body[k] = v;
        }
        if (val(fm, 'source')) body.source = val(fm, 'source');
        if (ctx.programs.length > 1 && !body.agent_id && !body.partner_id) body.program_id = val(fm, 'program_id');
        const lead = await api('POST', '/api/v1/leads', body);
        announce(lead.duplicate ? `Already a lead: ${lead.email || lead.id}, unchanged.` : `Lead created, credited by ${lead.attribution.method}.`);
        go(`#leads/${lead.id}`);
      },
    },
    el(
      'div',
      { class: 'grid' },
      programField(ctx.programs),
      field('Email', input('email', { type: 'email', maxlength: '254', autocomplete: 'off' }), { hint: 'An email or an external id is needed.' }),
      field('Name', input('name', { maxlength: '200' })),
      field('Company', input('company', { maxlength: '200' })),
      field('Phone', input('phone', { type: 'tel', maxlength: '40' })),
      field('Source', select('source', [['', 'Automatic'], ...SOURCES.map((s) => [s, s])], '')),
      field('External id', input('external_id', { maxlength: '200' }), { hint: 'The lead in your CRM.' }),
    ),
    el('div', { class: 'grid' }, agent, partner, field('Referral code', input('code', { maxlength: '64', autocomplete: 'off' }), { hint: 'A code the prospect gave.' })),
  );
  return el('section', {}, pageHeader('New lead', link('#leads', 'Back to leads', { class: 'button secondary' })), f);
}

async function leadPage(ctx, id) {
  const [l, hist] = await Promise.all([api('GET', `/api/v1/leads/${encodeURIComponent(id)}`), api('GET', `/api/v1/leads/${encodeURIComponent(id)}/history`)]);
  const reg = l.registration;
  const actions = [];
  if (reg && reg.state === 'pending') actions.push(...reviewButtons(l, () => go(location.hash)));
  const edit = form(
    {
      id: 'lead-edit',
      label: 'Edit lead',
      submit: 'Save',
      onSubmit: async (fm) => {
        await api('PATCH', `/api/v1/leads/${l.id}`, { name: val(fm, 'name'), company: val(fm, 'company'), phone: val(fm, 'phone'), source: val(fm, 'source') });
        announce('Lead saved.');
        go(location.hash);
      },
    },
    el(
      'div',
      { class: 'grid' },
      field('Name', input('name', { value: l.name || '', maxlength: '200' })),
      field('Company', input('company', { value: l.company || '', maxlength: '200' })),
      field('Phone', input('phone', { value: l.phone || '', maxlength: '40' })),
      field('Source', select('source', SOURCES, l.source)),
    ),
  );
  return el(
    'section',
    {},
    el('p', { class: 'crumbs' }, link(`#leads?status=${l.status}`, 'Leads'), ' / ', l.name || l.email || l.id),
    el('div', { class: 'page-head' }, el('h1', { class: 'page-title', tabindex: '-1' }, l.name || l.email || l.id, ' ', badge(l.status)), actions.length ? el('div', { class: 'page-actions' }, ...actions) : null),
    facts([
      ['Email', l.email],
      ['Company', l.company],
      ['Phone', l.phone],
      ['External id', l.external_id],
      ['Program', programName(ctx.programs, l.program_id)],
      ['Source', l.source],
      ['Partner', partnerLink(l.attribution.partner_id)],
      ['Agent', l.attribution.agent_id ? partnerLink(l.attribution.agent_id) : null],
      ['Credited by', l.attribution.method + (l.attribution.click_id ? ` (click ${l.attribution.click_id})` : '')],
      reg ? ['Deal registration', `${reg.state}${reg.reason ? `: ${reg.reason}` : ''}${reg.protected_until ? `, protected until ${fmtDate(reg.protected_until)}` : ''}`] : null,
      ['Created', fmtDateTime(l.created_at)],
      ['Converted', l.converted_at ? `${fmtDateTime(l.converted_at)} (after ${fmtDuration(l.time_to_conversion_seconds)})` : null],
    ]),
    l.conflicts ? section('Conflicts', conflictList(l.conflicts)) : null,
    section('Move', el('p', {}, moveControl(l))),
    section(
      'History',
      table({
        id: 'lead-history',
        caption: 'Status changes',
        captionHidden: true,
        rows: hist.data,
        columns: [
          { label: 'When', render: (h) => fmtDateTime(h.at) },
          { label: 'From', render: (h) => h.from || 'created' },
          { label: 'To', render: (h) => h.to },
          { label: 'By', render: (h) => h.actor },
          { label: 'Reason', render: (h) => h.reason || '' },
        ],
      }),
      link(`#commissions?lead_id=${l.id}`, 'Commissions of this lead'),
    ),
    section('Edit', edit),
  );
}

function conflictList(conflicts) {
  if (!conflicts.length) return el('p', { class: 'ok conflicts-none' }, 'No conflicts: no other open lead or customer with this email or company domain.');
  return el(
    'ul',
    { class: 'conflicts' },
    ...conflicts.map((c) =>
      el(
        'li',
        {},
        el('strong', {}, c.reason === 'email' ? 'Same email' : 'Same company domain'),
        ` as ${c.status === 'customer' ? 'a customer' : 'an open lead'}: `,
        c.lead_id ? link(`#leads/${c.lead_id}`, c.lead_id) : '',
        c.partner_id ? [' credited to ', partnerLink(c.partner_id)] : ' (no partner)',
      ),
    ),
  );
}

function reviewButtons(l, after) {
  const who = l.company || l.name || l.email || l.id;
  const approve = el('button', { type: 'button', class: 'approve', 'data-lead': l.id }, 'Approve');
  const reject = el('button', { type: 'button', class: 'danger', 'data-lead': l.id }, 'Reject');
  approve.addEventListener('click', async () => {
    const r = await confirmDialog({
      title: `Approve the registration of ${who}?`,
      message: "The partner's claim is protected for the program's protection period.",
      reason: 'Note for the partner',
      confirm: 'Approve',
    });
    if (!r) return;
    try {
      await api('POST', `/api/v1/leads/${l.id}/approve`, r.reason ? { reason: r.reason } : {});
      announce(`Deal registration of ${who} approved.`);
      after();
    } catch (e) {
      alertError(e);
    }
  });
  reject.addEventListener('click', async () => {
    const r = await confirmDialog({ title: `Reject the registration of ${who}?`, reason: 'Reason (the partner reads it)', reasonRequired: true, confirm: 'Reject', danger: true });
    if (!r) return;
    try {
      await api('POST', `/api/v1/leads/${l.id}/reject`, { reason: r.reason });
      announce(`Deal registration of ${who} rejected.`);
      after();
    } catch (e) {
      alertError(e);
    }
  });
  return [approve, reject];
}

// ---- deal registrations ----

export async function renderDeals(ctx) {
  const pending = [];
  let after = null;
  for (let i = 0; i < 5; i++) {
    const q = new URLSearchParams({ registration: 'true', status: 'pending_review', limit: '100' });
    if (after) q.set('starting_after', after);
    const res = await api('GET', `/api/v1/leads?${q}`);
    pending.push(...res.data);
    if (!res.has_more) break;
    after = res.data[res.data.length - 1].id;
  }
  // The list leaves conflicts out; each pending registration is read once more for them.
  const full = await Promise.all(pending.slice(0, 50).map((l) => api('GET', `/api/v1/leads/${l.id}`)));
  const cards = full.map((l) =>
    el(
      'article',
      { class: 'card deal', id: `deal-${l.id}`, 'aria-labelledby': `deal-h-${l.id}` },
      el('h3', { id: `deal-h-${l.id}` }, link(`#leads/${l.id}`, l.company || l.name || l.email || l.id)),
      facts([
        ['Contact', [l.name, l.email].filter(Boolean).join(', ')],
        ['Registered by', partnerLink(l.attribution.agent_id || l.attribution.partner_id)],
        ['Registered', fmtDateTime(l.created_at)],
      ]),
      el('h4', {}, 'Conflicts'),
      conflictList(l.conflicts || []),
      el('div', { class: 'actions' }, ...reviewButtons(l, () => go('#deals'))),
    ),
  );
  return el(
    'section',
    {},
    pageHeader('Deal registrations'),
    section(`Waiting for review (${pending.length})`, cards.length ? el('div', { class: 'deals', id: 'deals-pending' }, ...cards) : el('p', { class: 'muted', id: 'deals-pending' }, 'Nothing waits for review.')),
    section(
      'All registrations',
      pagedTable({
        path: '/api/v1/leads',
        params: { registration: 'true' },
        id: 'deals-all',
        caption: 'Deal registrations',
        captionHidden: true,
        columns: [
          { label: 'Lead', render: (l) => link(`#leads/${l.id}`, l.company || l.name || l.email || l.id) },
          { label: 'Partner', render: (l) => partnerLink(l.attribution.partner_id) },
          { label: 'State', render: (l) => badge(l.registration ? l.registration.state : '') },
          { label: 'Reason', render: (l) => (l.registration && l.registration.reason) || '' },
          { label: 'Protected until', render: (l) => fmtDate(l.registration && l.registration.protected_until) },
          { label: 'Lead status', render: (l) => label(l.status) },
        ],
      }),
    ),
  );
}
