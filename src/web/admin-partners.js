// SPDX-License-Identifier: Apache-2.0
// Partners: search by name or email with filters, create and edit, approve applications, suspend or ban with a
// reason, hold and release payouts, the balance and next payout, statements, the team tree (team_parent_id) and the
// recruitment tree (recruited_by_id).
import { api, el, money } from './api.js';
import {
  alertError,
  announce,
  badge,
  busy,
  confirmDialog,
  dayAfter,
  dayStart,
  download,
  facts,
  field,
  fmtDate,
  fmtDateTime,
  followCurrency,
  forgetPartner,
  form,
  go,
  input,
  isoDay,
  link,
  moneyFromForm,
  moneyText,
  pageHeader,
  pagedTable,
  partnerLink,
  partnerPicker,
  programField,
  programName,
  rememberPartners,
  section,
  select,
  table,
  val,
} from './admin-ui.js';

const KINDS = ['partner', 'agent', 'affiliate', 'customer', 'employee'];
const STATUSES = ['applied', 'active', 'suspended', 'banned'];

export async function render(ctx) {
  if (ctx.arg === 'new') return partnerForm(ctx, null);
  if (ctx.arg) return partnerPage(ctx, ctx.arg);
  return list(ctx);
}

function list(ctx) {
  const q = ctx.query;
  const results = el('div', { id: 'partners-results' });
  const search = input('q', { type: 'search', id: 'partner-search', value: q.get('q') || '', placeholder: 'Name or email', autocomplete: 'off' });
  const status = select('status', [['', 'Any status'], ...STATUSES.map((s) => [s, s])], q.get('status') || '', { id: 'partner-status' });
  const kind = select('kind', [['', 'Any kind'], ...KINDS.map((k) => [k, k])], q.get('kind') || '', { id: 'partner-kind' });
  const prog = ctx.programs.length > 1 ? select('program_id', [['', 'Any program'], ...ctx.programs.map((p) => [p.id, p.name])], q.get('program_id') || '', { id: 'partner-program' }) : null;
  const toolbar = el(
    'form',
    { class: 'toolbar', role: 'search', 'aria-label': 'Find partners', id: 'partner-filters' },
    el('span', { class: 'ctl' }, el('label', { for: 'partner-search' }, 'Search'), search),
    el('span', { class: 'ctl' }, el('label', { for: 'partner-status' }, 'Status'), status),
    el('span', { class: 'ctl' }, el('label', { for: 'partner-kind' }, 'Kind'), kind),
    prog ? el('span', { class: 'ctl' }, el('label', { for: 'partner-program' }, 'Program'), prog) : null,
    el('button', { type: 'submit' }, 'Search'),
  );
  function params() {
    const p = { q: search.value.trim(), status: status.value, kind: kind.value };
    if (prog) p.program_id = prog.value;
    return p;
  }
  function load() {
    const p = params();
    const qs = new URLSearchParams(Object.entries(p).filter(([, v]) => v));
    history.replaceState(null, '', `#partners${qs.toString() ? `?${qs}` : ''}`);
    const t = pagedTable({
      path: '/api/v1/partners',
      params: p,
      id: 'partners-table',
      caption: 'Partners',
      empty: p.q ? `No partner matches "${p.q}".` : 'No partners match these filters.',
      onRows: rememberPartners,
      columns: [
        { label: 'Name', render: (x) => link(`#partners/${x.id}`, x.name) },
        { label: 'Email', render: (x) => x.email },
        { label: 'Kind', render: (x) => x.kind },
        { label: 'Status', render: (x) => badge(x.status) },
        { label: 'Company', render: (x) => x.company || '' },
        { label: 'Team', render: (x) => (x.team_parent_id ? partnerLink(x.team_parent_id) : '') },
        { label: 'Since', render: (x) => fmtDate(x.created_at) },
      ],
    });
    results.replaceChildren(t);
  }
  let timer;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    // Only while the list is on screen: a search typed just before leaving must not rewrite the next screen's URL.
    timer = setTimeout(() => results.isConnected && load(), 300);
  });
  for (const s of [status, kind, prog].filter(Boolean)) s.addEventListener('change', load);
  toolbar.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load();
  });
  load();
  return el('section', {}, pageHeader('Partners', link('#partners/new', 'New partner', { class: 'button', id: 'partner-new-link' })), toolbar, results);
}

// ---- create / edit ----

async function partnerForm(ctx, p) {
  const isNew = !p;
  const programId = p ? p.program_id : ctx.query.get('program_id') || ctx.programs[0]?.id;
  const plans = programId ? (await api('GET', `/api/v1/plans?program_id=${encodeURIComponent(programId)}&limit=100`)).data : [];
  const program = ctx.programs.find((x) => x.id === programId);
  const teamPicker = partnerPicker({ name: 'team_parent_id', label: 'Works for (team parent)', programId, value: p?.team_parent_id, hint: 'For an agent: the partner organisation it works for.' });
  const recruiterPicker = partnerPicker({ name: 'recruited_by_id', label: 'Recruited by', programId, value: p?.recruited_by_id, hint: 'The partner who brought this one in; it earns override bonuses.' });
  const tax = p?.tax_profile || {};
  // The cost per lead is in the partner's preferred currency: the one typed, else the partner's, else that of the
  // program chosen for a new partner.
  const currencyOf = (fm) => {
    const prog = ctx.programs.find((x) => x.id === (val(fm, 'program_id') || programId));
    return (val(fm, 'currency') || p?.currency || prog?.currency || 'usd').toLowerCase();
  };
  const f = form(
    {
      id: isNew ? 'partner-create' : 'partner-edit',
      label: isNew ? 'New partner' : 'Edit partner',
      submit: isNew ? 'Create partner' : 'Save changes',
      onSubmit: async (fm) => {
        const currency = currencyOf(fm);
        const body = {
          kind: val(fm, 'kind'),
          name: val(fm, 'name') || '',
          email: val(fm, 'email') || '',
          company: val(fm, 'company'),
          team_parent_id: val(fm, 'team_parent_id'),
          recruited_by_id: val(fm, 'recruited_by_id'),
          plan_id: val(fm, 'plan_id'),
        };
        if (val(fm, 'currency')) body.currency = currency;
        const cpl = moneyFromForm(fm, 'cost_per_lead', currency);
        if (cpl) body.cost_per_lead = cpl;
        const taxIn = { legal_name: val(fm, 'tax_profile.legal_name'), country: val(fm, 'tax_profile.country') };
        const taxId = val(fm, 'tax_profile.tax_id');
        if (taxId) taxIn.tax_id = taxId;
        if (!isNew || taxIn.legal_name || taxIn.country || taxId) body.tax_profile = taxIn;
        let saved;
        if (isNew) {
          body.program_id = val(fm, 'program_id');
          body.status = val(fm, 'status');
          saved = await api('POST', '/api/v1/partners', body);
          announce(`Partner ${saved.name} created.`);
        } else {
          saved = await api('PATCH', `/api/v1/partners/${p.id}`, body);
          announce(`Partner ${saved.name} saved.`);
        }
        forgetPartner(saved.id);
        rememberPartners([saved]);
        go(`#partners/${saved.id}`);
      },
    },
    el(
      'div',
      { class: 'grid' },
      isNew ? programField(ctx.programs, programId) : null,
      field('Name', input('name', { value: p?.name || '', required: true, maxlength: '200', autocomplete: 'off' })),
      field('Email', input('email', { type: 'email', value: p?.email || '', required: true, maxlength: '254', autocomplete: 'off' })),
      field('Kind', select('kind', KINDS, p?.kind || 'partner')),
      isNew ? field('Status', select('status', [['active', 'Active'], ['applied', 'Applied (needs approval)']], 'active')) : null,
      field('Company', input('company', { value: p?.company || '', maxlength: '200' })),
      field('Preferred currency', input('currency', { value: p?.currency || '', placeholder: program?.currency || 'usd', maxlength: '3', autocomplete: 'off' }), { hint: "Payouts are made in it; defaults to the program's." }),
      field('Cost per lead', input('cost_per_lead', { value: p ? moneyText(p.cost_per_lead) : '', inputmode: 'decimal' }), { hint: 'In the preferred currency: what a qualified lead earns when the plan says so.' }),
      field('Plan', select('plan_id', [['', "The program's default plan"], ...plans.map((x) => [x.id, x.name])], p?.plan_id || '')),
    ),
    el('div', { class: 'grid' }, teamPicker, recruiterPicker),
    el(
      'fieldset',
      {},
      el('legend', {}, 'Tax profile'),
      el(
        'div',
        { class: 'grid' },
        field('Legal name', input('tax_profile.legal_name', { value: tax.legal_name || '', maxlength: '200' })),
        field('Country', input('tax_profile.country', { value: tax.country || '', maxlength: '2', placeholder: 'US', autocomplete: 'off' }), { hint: 'Two-letter code.' }),
        field('Tax id', input('tax_profile.tax_id', { maxlength: '32', autocomplete: 'off', placeholder: tax.tax_id_last4 ? `•••• ${tax.tax_id_last4} (leave empty to keep)` : '' }), { hint: 'Stored encrypted; only the last four characters are shown.' }),
      ),
    ),
  );
  followCurrency(f, 'cost_per_lead', 0, currencyOf);
  if (!isNew) return f;
  return el('section', {}, pageHeader('New partner', link('#partners', 'Back to partners', { class: 'button secondary' })), f);
}

// ---- one partner ----

async function partnerPage(ctx, id) {
  const p = await api('GET', `/api/v1/partners/${encodeURIComponent(id)}`);
  forgetPartner(p.id);
  rememberPartners([p]);
  const [balance, forecast] = await Promise.all([
    api('GET', `/api/v1/partners/${p.id}/balance`).catch(() => null),
    api('GET', `/api/v1/partners/${p.id}/payout-forecast`).catch(() => null),
  ]);
  const actions = el('div', { class: 'page-actions', id: 'partner-actions' });
  const statusAction = (label, path, { reasonRequired = false, danger = false, message } = {}) =>
    el(
      'button',
      {
        type: 'button',
        class: danger ? 'danger' : null,
        'data-action': path,
        onclick: async () => {
          const r = await confirmDialog({ title: `${label}: ${p.name}`, message, reason: 'Reason', reasonRequired, confirm: label, danger });
          if (!r) return;
          try {
            await api('POST', `/api/v1/partners/${p.id}/${path}`, path === 'release-payouts' || r.reason ? { reason: r.reason } : {});
            announce(`${label}: done for ${p.name}.`);
            forgetPartner(p.id);
            go(`#partners/${p.id}`);
          } catch (e) {
            alertError(e);
          }
        },
      },
      label,
    );
  if (p.status === 'applied') actions.append(statusAction('Approve', 'activate', { message: 'The partner becomes active: its links work and it can be paid.' }));
  if (p.status === 'suspended' || p.status === 'banned') actions.append(statusAction('Reactivate', 'activate'));
  if (p.status === 'active' || p.status === 'applied') actions.append(statusAction('Suspend', 'suspend', { reasonRequired: true, message: 'Its links keep reaching their destination without crediting it; it is left out of payouts.' }));
  if (p.status !== 'banned') actions.append(statusAction('Ban', 'ban', { reasonRequired: true, danger: true }));
  if (p.payout_hold_reason) actions.append(statusAction('Release payouts', 'release-payouts'));
  else actions.append(statusAction('Hold payouts', 'hold-payouts', { reasonRequired: true, message: 'The partner is left out of payout runs until released; its balance carries over.' }));

  const title = el('div', { class: 'page-head' }, el('h1', { class: 'page-title', tabindex: '-1' }, p.name, ' ', badge(p.status)), actions);
  return el(
    'section',
    {},
    el('p', { class: 'crumbs' }, link('#partners', 'Partners'), ' / ', p.name),
    title,
    p.payout_hold_reason ? el('p', { class: 'warning', id: 'payout-hold' }, `Payouts held: ${p.payout_hold_reason}`) : null,
    facts([
      ['Email', p.email],
      ['Kind', p.kind],
      ['Company', p.company],
      ['Program', programName(ctx.programs, p.program_id)],
      ['Currency', p.currency.toUpperCase()],
      ['Cost per lead', money(p.cost_per_lead)],
      ['Plan', p.plan_id ? link(`#plans/${p.plan_id}`, p.plan_id) : "program's default"],
      ['Works for', p.team_parent_id ? partnerLink(p.team_parent_id) : null],
      ['Recruited by', p.recruited_by_id ? partnerLink(p.recruited_by_id) : null],
      // What the partner shares to recruit others: sign-ups through it name this partner as their recruiter.
      ['Recruitment link', p.recruitment_url ? el('code', { class: 'break', id: 'recruitment-url' }, p.recruitment_url) : `code ${p.recruitment_code}; the link works while the partner is active`],
      p.status_reason ? ['Status reason', p.status_reason] : null,
      ['Tax profile', [p.tax_profile.legal_name, p.tax_profile.country, p.tax_profile.tax_id_last4 ? `tax id •••• ${p.tax_profile.tax_id_last4}` : null].filter(Boolean).join(', ') || 'missing'],
      ['Id', el('code', {}, p.id)],
      ['Since', fmtDateTime(p.created_at)],
    ]),
    el(
      'p',
      { class: 'quick-links' },
      link(`#leads?partner_id=${p.id}`, 'Leads'),
      link(`#commissions?partner_id=${p.id}`, 'Commissions'),
      link(`#sales?partner_id=${p.id}`, 'Sales'),
      link(`#links?partner_id=${p.id}`, 'Links'),
    ),
    section('Balance', balanceBlock(balance, forecast)),
    section('Statement', statementBlock(p)),
    section('Team', await teamTree(p)),
    section('Recruitment', await recruitTree(p)),
    section('Edit', await partnerForm(ctx, p)),
  );
}

function balanceBlock(balance, forecast) {
  const parts = [];
  if (balance)
    parts.push(
      table({
        id: 'partner-balance',
        caption: 'Balance by currency',
        captionHidden: true,
        rows: balance.balances,
        empty: 'No commissions yet.',
        columns: [
          { label: 'Currency', render: (b) => b.currency.toUpperCase() },
          { label: 'Pending', num: true, render: (b) => money(b.pending) },
          { label: 'Held', num: true, render: (b) => money(b.held) },
          { label: 'Approved', num: true, render: (b) => money(b.approved) },
          { label: 'Paid', num: true, render: (b) => money(b.paid) },
          { label: 'Total', num: true, render: (b) => money(b.total) },
        ],
      }),
    );
  if (forecast) {
    const exp = forecast.expected.map((e) => `${money(e.amount)}${e.meets_threshold === false ? ' (under the threshold)' : ''}`).join(', ');
    parts.push(el('p', { id: 'partner-forecast' }, `Next payout: ${fmtDate(forecast.next_payout_date)}${exp ? `, expected ${exp}` : ''}.`, forecast.held ? ` Held: ${forecast.held}.` : ''));
  }
  return el('div', {}, ...parts);
}

function statementBlock(p) {
  const from = input('from', { type: 'date', value: isoDay(0).slice(0, 8) + '01', id: 'stmt-from' });
  const to = input('to', { type: 'date', value: isoDay(0), id: 'stmt-to' });
  // Whole days in UTC; the API's end is exclusive and defaults to now, which a period ending today means.
  const url = (format) => {
    const q = new URLSearchParams({ format });
    if (from.value) q.set('from', dayStart(from.value));
    if (to.value && to.value < isoDay(0)) q.set('to', dayAfter(to.value));
    return `/api/v1/partners/${p.id}/statement?${q}`;
  };
  const open = el('a', { href: url('html'), target: '_blank', rel: 'noopener', id: 'statement-link', class: 'button secondary' }, 'Open the printable statement');
  const update = () => {
    open.href = url('html');
  };
  from.addEventListener('change', update);
  to.addEventListener('change', update);
  const err = el('p', { class: 'error', role: 'alert' });
  const box = el('div', { class: 'statement' });
  const csv = el('button', { type: 'button', class: 'secondary', id: 'statement-csv' }, 'Download CSV');
  csv.addEventListener('click', () =>
    busy({ region: box, button: csv, message: 'Preparing the statement…', errorEl: err, done: (r) => `Downloaded ${r.name}.` }, () => download(url('csv'), `${p.id}-statement.csv`)),
  );
  box.append(
    el('div', { class: 'toolbar' }, el('span', { class: 'ctl' }, el('label', { for: 'stmt-from' }, 'From'), from), el('span', { class: 'ctl' }, el('label', { for: 'stmt-to' }, 'To'), to)),
    el('div', { class: 'actions' }, open, csv),
    err,
  );
  return box;
}

async function children(filter, id, depth, seen) {
  if (depth <= 0) return [];
  const res = await api('GET', `/api/v1/partners?${filter}=${encodeURIComponent(id)}&limit=100`);
  rememberPartners(res.data);
  const out = [];
  for (const c of res.data) {
    if (seen.has(c.id)) continue;
    seen.add(c.id);
    out.push({ p: c, kids: await children(filter, c.id, depth - 1, seen), more: false });
  }
  if (res.has_more) out.push({ more: true });
  return out;
}

function treeList(nodes, currentId) {
  return el(
    'ul',
    { class: 'tree' },
    ...nodes.map((n) =>
      n.more
        ? el('li', { class: 'muted' }, 'and more…')
        : el(
            'li',
            {},
            n.p.id === currentId
              ? el('strong', { 'aria-current': 'true' }, n.p.name)
              : link(`#partners/${n.p.id}`, n.p.name),
            ' ',
            el('span', { class: 'muted' }, `${n.p.kind}${n.p.status !== 'active' ? `, ${n.p.status}` : ''}`),
            n.kids && n.kids.length ? treeList(n.kids, currentId) : null,
          ),
    ),
  );
}

// The chain of ancestors through rel (team_parent_id or recruited_by_id), topmost first.
async function ancestors(p, rel) {
  const chain = [];
  let cur = p;
  const seen = new Set([p.id]);
  while (cur[rel] && chain.length < 6 && !seen.has(cur[rel])) {
    seen.add(cur[rel]);
    cur = await api('GET', `/api/v1/partners/${cur[rel]}`);
    chain.unshift(cur);
  }
  return chain;
}

async function treeFor(p, rel, filter, depth) {
  const up = await ancestors(p, rel);
  const seen = new Set([p.id, ...up.map((x) => x.id)]);
  const kids = await children(filter, p.id, depth, seen);
  let node = { p, kids };
  for (let i = up.length - 1; i >= 0; i--) node = { p: up[i], kids: [node] };
  return { node, up, kids };
}

async function teamTree(p) {
  const { node, up, kids } = await treeFor(p, 'team_parent_id', 'team_parent_id', 3);
  if (!up.length && !kids.length) return el('p', { class: 'muted', id: 'team-tree' }, p.kind === 'agent' ? 'This agent works for no organisation.' : 'No agents work for this partner.');
  return el('div', { id: 'team-tree', class: 'tree-box' }, el('p', { class: 'muted' }, 'Who works for whom (team parent → agents).'), treeList([node], p.id));
}

async function recruitTree(p) {
  const { node, up, kids } = await treeFor(p, 'recruited_by_id', 'recruited_by_id', 5);
  if (!up.length && !kids.length) return el('p', { class: 'muted', id: 'recruit-tree' }, 'Nobody recruited this partner, and it has recruited nobody.');
  return el('div', { id: 'recruit-tree', class: 'tree-box' }, el('p', { class: 'muted' }, 'Who brought in whom; recruiters earn overrides on the levels below them.'), treeList([node], p.id));
}
