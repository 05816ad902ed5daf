// SPDX-License-Identifier: Apache-2.0
// Programs and plans: a program's settings (attribution, tracking, payout schedule, partner sign-up, deal
// registrations, Stripe), its plans, a plan's rules as a form, assigning partners to it and simulating proposed
// rules over past events (proposed against actual).
import { api, el, money } from './api.js';
import {
  announce,
  bpsFromForm,
  facts,
  field,
  FieldError,
  fmtBps,
  fmtDate,
  form,
  go,
  input,
  intFromForm,
  isoDay,
  link,
  moneyFromForm,
  moneyText,
  pageHeader,
  parseMoney,
  parseBps,
  partnerLink,
  partnerPicker,
  section,
  select,
  table,
  val,
} from './admin-ui.js';

const SIGNUP = [
  ['off', 'Off: partners are added by an admin'],
  ['review', 'Review: partners apply, an admin approves'],
  ['open', 'Open: partners sign up and start at once'],
];

const lines = (v) => (v || []).join('\n');
const splitList = (t) => (t || '').split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

export async function render(ctx) {
  if (ctx.arg) return programPage(ctx, ctx.arg);
  const programs = await ctx.reloadPrograms();
  if (programs.length === 1 && !ctx.query.has('all')) return programPage(ctx, programs[0].id, true);
  return el(
    'section',
    {},
    pageHeader('Programs'),
    table({
      caption: 'Programs',
      id: 'programs-table',
      rows: programs,
      columns: [
        { label: 'Name', render: (p) => link(`#programs/${p.id}`, p.name) },
        { label: 'Currency', render: (p) => p.currency.toUpperCase() },
        { label: 'Partner sign-up', render: (p) => p.partner_signup || 'review' },
        { label: 'Payouts', render: (p) => `Monthly on day ${p.payout_schedule.day}, NET ${p.payout_schedule.terms_days}` },
        { label: 'Threshold', num: true, render: (p) => money(p.payout_threshold) },
        { label: 'Holding', num: true, render: (p) => `${p.holding_period_days} d` },
      ],
    }),
    newProgramForm(ctx),
  );
}

function newProgramForm(ctx) {
  const f = form(
    {
      id: 'program-new',
      label: 'New program',
      submit: 'Create program',
      onSubmit: async (fm) => {
        const p = await api('POST', '/api/v1/programs', { name: val(fm, 'name') || '', currency: val(fm, 'currency') || '' });
        await ctx.reloadPrograms();
        announce(`Program ${p.name} created.`);
        go(`#programs/${p.id}`);
      },
    },
    el('h2', {}, 'New program'),
    el('div', { class: 'grid' }, field('Name', input('name', { required: true, maxlength: '200' })), field('Currency', input('currency', { required: true, maxlength: '3', placeholder: 'usd', autocomplete: 'off' }), { hint: 'ISO 4217 code, e.g. usd or eur.' })),
  );
  return el('details', { class: 'new-block' }, el('summary', {}, 'New program'), f);
}

async function programPage(ctx, id, only = false) {
  const [p, plans] = await Promise.all([
    api('GET', `/api/v1/programs/${encodeURIComponent(id)}`),
    api('GET', `/api/v1/plans?program_id=${encodeURIComponent(id)}&limit=100`),
  ]);
  const head = pageHeader(
    only ? `Program: ${p.name}` : p.name,
    only ? link('#programs?all', 'All programs / new program', { class: 'button secondary' }) : link('#programs?all', 'All programs', { class: 'button secondary' }),
  );
  return el(
    'section',
    {},
    head,
    facts([
      ['Id', el('code', {}, p.id)],
      ['Payout schedule', `Monthly on day ${p.payout_schedule.day}, NET ${p.payout_schedule.terms_days} days`],
      ['Partner sign-up', p.partner_signup || 'review'],
      ['Stripe webhook', p.stripe_webhook_configured ? 'configured' : 'not configured'],
    ]),
    section(
      'Plans',
      table({
        caption: 'Plans of the program',
        captionHidden: true,
        id: 'plans-table',
        rows: plans.data,
        empty: 'No plan yet: sales are recorded, nobody earns.',
        columns: [
          { label: 'Name', render: (x) => link(`#plans/${x.id}`, x.name) },
          { label: 'Default', render: (x) => (x.default ? 'yes' : '') },
          { label: 'Version', num: true, render: (x) => String(x.version) },
          { label: 'Rules', render: (x) => describeRules(x.rules) },
        ],
      }),
      el('p', {}, link(`#plans/new?program=${p.id}`, 'New plan', { class: 'button', id: 'plan-new-link' })),
    ),
    section('Settings', programForm(ctx, p)),
  );
}

function programForm(ctx, p) {
  const cur = p.currency;
  const f = form(
    {
      id: 'program-settings',
      label: 'Program settings',
      submit: 'Save settings',
      onSubmit: async (fm) => {
        const currency = (val(fm, 'currency') || cur).toLowerCase();
        const body = {
          name: val(fm, 'name') || '',
          currency,
          partner_signup: val(fm, 'partner_signup'),
          attribution_model: val(fm, 'attribution_model'),
          cookie_window_days: intFromForm(fm, 'cookie_window_days'),
          holding_period_days: intFromForm(fm, 'holding_period_days'),
          payout_threshold: moneyFromForm(fm, 'payout_threshold', currency) || { amount: 0, currency },
          payout_day: intFromForm(fm, 'payout_day'),
          payout_terms_days: intFromForm(fm, 'payout_terms_days'),
          repeat_click_minutes: intFromForm(fm, 'repeat_click_minutes'),
          protection_days: intFromForm(fm, 'protection_days'),
          conflict_days: intFromForm(fm, 'conflict_days'),
          tracking_params: splitList(val(fm, 'tracking_params')),
          allowed_domains: splitList(val(fm, 'allowed_domains')),
          tracking_origins: splitList(val(fm, 'tracking_origins')),
          fallback_url: val(fm, 'fallback_url'),
        };
        for (const k of Object.keys(body)) if (body[k] === null && k !== 'fallback_url') delete body[k];
        const secret = val(fm, 'stripe_webhook_secret');
        if (secret) body.stripe_webhook_secret = secret;
        else if (val(fm, 'clear_secret')) body.stripe_webhook_secret = null;
        const saved = await api('PATCH', `/api/v1/programs/${p.id}`, body);
        await ctx.reloadPrograms();
        fm.elements.namedItem('stripe_webhook_secret').value = '';
        announce(`Settings of ${saved.name} saved.`);
      },
    },
    el(
      'fieldset',
      {},
      el('legend', {}, 'General'),
      el(
        'div',
        { class: 'grid' },
        field('Name', input('name', { value: p.name, required: true, maxlength: '200' })),
        field('Currency', input('currency', { value: cur, maxlength: '3', autocomplete: 'off' }), { hint: 'Revenue and the threshold are in it.' }),
        field('Partner sign-up', select('partner_signup', SIGNUP, p.partner_signup || 'review'), { hint: 'Whether partners can sign up in the portal.' }),
      ),
    ),
    el(
      'fieldset',
      {},
      el('legend', {}, 'Payouts'),
      el(
        'div',
        { class: 'grid' },
        field('Payout day of the month', input('payout_day', { type: 'number', min: '1', max: '28', value: p.payout_schedule.day }), { hint: '1 to 28.' }),
        field('Payment terms (NET days)', input('payout_terms_days', { type: 'number', min: '0', max: '120', value: p.payout_schedule.terms_days })),
        field(`Payout threshold (${cur.toUpperCase()})`, input('payout_threshold', { value: moneyText(p.payout_threshold), inputmode: 'decimal' }), { hint: 'Smallest total paid in one run.' }),
        field('Holding period (days)', input('holding_period_days', { type: 'number', min: '0', max: '3650', value: p.holding_period_days }), { hint: 'Commissions stay pending this long.' }),
      ),
    ),
    el(
      'fieldset',
      {},
      el('legend', {}, 'Attribution and tracking'),
      el(
        'div',
        { class: 'grid' },
        field('Attribution', select('attribution_model', [['last_click', 'Last click'], ['first_click', 'First click']], p.attribution_model)),
        field('Cookie window (days)', input('cookie_window_days', { type: 'number', min: '1', max: '3650', value: p.cookie_window_days })),
        field('Repeat clicks within (minutes)', input('repeat_click_minutes', { type: 'number', min: '0', max: '10080', value: p.repeat_click_minutes }), { hint: '0 counts every click.' }),
        field('Tracking parameters', input('tracking_params', { value: p.tracking_params.join(', ') }), { hint: 'Query parameters that carry a code, e.g. via, ref.' }),
        field('Allowed destination domains', el('textarea', { name: 'allowed_domains', rows: '2' }, lines(p.allowed_domains)), { hint: 'One per line; empty allows any.' }),
        field('Tracking origins', el('textarea', { name: 'tracking_origins', rows: '2' }, lines(p.tracking_origins)), { hint: 'Sites allowed to use t.js, e.g. https://shop.example.com.' }),
        field('Fallback URL for unknown codes', input('fallback_url', { type: 'url', value: p.fallback_url || '' }), { hint: 'Empty for a 404 page.' }),
      ),
    ),
    el(
      'fieldset',
      {},
      el('legend', {}, 'Deal registrations'),
      el(
        'div',
        { class: 'grid' },
        field('Protection (days)', input('protection_days', { type: 'number', min: '1', max: '3650', value: p.protection_days })),
        field('Look for conflicts (days back)', input('conflict_days', { type: 'number', min: '0', max: '3650', value: p.conflict_days })),
      ),
    ),
    el(
      'fieldset',
      {},
      el('legend', {}, 'Stripe'),
      el(
        'div',
        { class: 'grid' },
        field('Webhook signing secret', input('stripe_webhook_secret', { type: 'password', autocomplete: 'off', placeholder: p.stripe_webhook_configured ? 'set (leave empty to keep)' : 'whsec_…' }), {
          hint: `Stored encrypted, never shown again. Endpoint: ${location.origin}/api/v1/integrations/stripe/webhook`,
        }),
        p.stripe_webhook_configured ? field('Remove the secret', el('input', { type: 'checkbox', name: 'clear_secret' })) : null,
      ),
    ),
  );
  return f;
}

// ---- plans ----

export function describeRules(r) {
  const parts = [];
  if (r.lead_use_cost_per_lead) parts.push("partner's cost per lead");
  else if (r.lead_amount) parts.push(`${money(r.lead_amount)} per lead`);
  if (r.sale_flat) parts.push(`${money(r.sale_flat)} per sale`);
  if (r.tiers) parts.push(`tiers by ${r.tiers.metric} per ${r.tiers.period} (${r.tiers.steps.map((s) => fmtBps(s.bps)).join(' → ')})`);
  else if (r.sale_bps) parts.push(`${fmtBps(r.sale_bps)} of sales`);
  if (r.recurring === 'first_only') parts.push('first sale only');
  else if (r.recurring === 'months') parts.push(`renewals for ${r.recurring_months} months`);
  else parts.push('renewals for life');
  if (r.override_bps && r.override_bps.length) parts.push(`overrides ${r.override_bps.map(fmtBps).join(', ')}`);
  if (r.agent_share_bps) parts.push(`agent share ${fmtBps(r.agent_share_bps)}`);
  return parts.join('; ');
}

// The rules form's controls are named after the API's members (rules.sale_bps …) so errors land next to them.
function rulesFields(r, currency) {
  const leadMode = r.lead_use_cost_per_lead ? 'cost_per_lead' : r.lead_amount ? 'amount' : 'none';
  const tiers = r.tiers || { metric: 'count', period: 'month', steps: [] };
  const cur = currency.toUpperCase();
  const stepText = tiers.steps.map((s) => `${tiers.metric === 'revenue' ? moneyText({ amount: s.from, currency }) : s.from}: ${fmtBps(s.bps).replace(' %', '')}`).join('\n');
  const useTiers = el('input', { type: 'checkbox', name: 'use_tiers', checked: !!r.tiers });
  const tierBox = el(
    'div',
    { class: 'grid', hidden: !r.tiers },
    field('Tier metric', select('tiers_metric', [['count', 'Number of sales'], ['revenue', `Revenue (${cur})`]], tiers.metric, { 'data-field': 'rules.tiers.metric' })),
    field('Tier period', select('tiers_period', [['month', 'Calendar month'], ['quarter', 'Calendar quarter']], tiers.period)),
    field('Steps', el('textarea', { name: 'rules.tiers', rows: '3', placeholder: '0: 20\n10: 25' }, stepText), {
      hint: `One per line: "from: percent". From is a number of sales, or revenue in ${cur}. The first step starts at 0.`,
      wide: true,
    }),
  );
  useTiers.addEventListener('change', () => {
    tierBox.hidden = !useTiers.checked;
  });
  const recurring = select('rules.recurring', [['lifetime', "Every sale, for the customer's lifetime"], ['months', 'Renewals for some months'], ['first_only', 'First sale only']], r.recurring || 'lifetime');
  const months = input('rules.recurring_months', { type: 'number', min: '1', max: '120', value: r.recurring_months ?? '' });
  const monthsField = field('Months after the first sale', months);
  monthsField.hidden = recurring.value !== 'months';
  recurring.addEventListener('change', () => {
    monthsField.hidden = recurring.value !== 'months';
  });
  const leadSel = select('lead_mode', [['none', 'Nothing'], ['amount', 'A fixed amount'], ['cost_per_lead', "The partner's own cost per lead"]], leadMode, { 'data-field': 'rules.lead_use_cost_per_lead' });
  const leadAmount = field(`Amount per qualified lead (${cur})`, input('rules.lead_amount', { value: r.lead_amount ? moneyText(r.lead_amount) : '', inputmode: 'decimal' }));
  leadAmount.hidden = leadMode !== 'amount';
  leadSel.addEventListener('change', () => {
    leadAmount.hidden = leadSel.value !== 'amount';
  });
  return el(
    'fieldset',
    { class: 'rules' },
    el('legend', {}, 'Rules'),
    el(
      'div',
      { class: 'grid' },
      field('Per qualified lead', leadSel),
      leadAmount,
      field(`Flat amount per sale (${cur})`, input('rules.sale_flat', { value: r.sale_flat ? moneyText(r.sale_flat) : '', inputmode: 'decimal' }), { hint: 'Empty for none.' }),
      field('Percentage of each sale', input('rules.sale_bps', { value: r.sale_bps !== null && r.sale_bps !== undefined ? fmtBps(r.sale_bps).replace(' %', '') : '', inputmode: 'decimal' }), { hint: 'In %, e.g. 20 or 12.5. Tiers replace it.' }),
      field('Which sales pay', recurring),
      monthsField,
      field('Overrides for recruiters', input('rules.override_bps', { value: (r.override_bps || []).map((b) => fmtBps(b).replace(' %', '')).join(', ') }), {
        hint: 'Percent of what the recruited partner earns, per level: e.g. "10, 5" (up to 5 levels).',
      }),
      field('Overrides only when the recruiter sold that month', el('input', { type: 'checkbox', name: 'rules.override_requires_sale', checked: !!r.override_requires_sale })),
      field("Agent's share", input('rules.agent_share_bps', { value: r.agent_share_bps ? fmtBps(r.agent_share_bps).replace(' %', '') : '', inputmode: 'decimal' }), {
        hint: "In % of the commission when an agent is credited; its team parent earns the rest.",
      }),
      field('Volume tiers', useTiers, { hint: 'The percentage steps up with the volume in the period.' }),
    ),
    tierBox,
  );
}

function rulesFromForm(fm, currency) {
  const rules = {};
  const mode = val(fm, 'lead_mode');
  if (mode === 'cost_per_lead') rules.lead_use_cost_per_lead = true;
  if (mode === 'amount') {
    const m = moneyFromForm(fm, 'rules.lead_amount', currency);
    if (!m) throw new FieldError('rules.lead_amount', 'Give the amount per lead.');
    rules.lead_amount = m;
  }
  const flat = moneyFromForm(fm, 'rules.sale_flat', currency);
  if (flat) rules.sale_flat = flat;
  const bps = bpsFromForm(fm, 'rules.sale_bps');
  if (bps !== null) rules.sale_bps = bps;
  rules.recurring = val(fm, 'rules.recurring') || 'lifetime';
  if (rules.recurring === 'months') rules.recurring_months = intFromForm(fm, 'rules.recurring_months');
  const ov = val(fm, 'rules.override_bps');
  if (ov) {
    rules.override_bps = ov.split(/[,;\s]+/).filter(Boolean).map((t) => {
      const b = parseBps(t);
      if (Number.isNaN(b) || b > 10000) throw new FieldError('rules.override_bps', `${t} is not a percentage`);
      return b;
    });
  }
  if (val(fm, 'rules.override_requires_sale')) rules.override_requires_sale = true;
  const share = bpsFromForm(fm, 'rules.agent_share_bps');
  if (share !== null) rules.agent_share_bps = share;
  if (val(fm, 'use_tiers')) {
    const metric = val(fm, 'tiers_metric');
    const steps = (val(fm, 'rules.tiers') || '').split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
      const m = /^([^:=]+)[:=]\s*(.+)$/.exec(l);
      if (!m) throw new FieldError('rules.tiers', `"${l}" is not "from: percent"`);
      const from = metric === 'revenue' ? parseMoney(m[1], currency) : /^\d+$/.test(m[1].trim()) ? Number(m[1].trim()) : NaN;
      const b = parseBps(m[2]);
      if (Number.isNaN(from) || Number.isNaN(b)) throw new FieldError('rules.tiers', `"${l}" is not "from: percent"`);
      return { from, bps: b };
    });
    if (!steps.length) throw new FieldError('rules.tiers', 'Give at least one step, starting at 0.');
    rules.tiers = { metric, period: val(fm, 'tiers_period'), steps };
  }
  return rules;
}

export async function renderPlan(ctx) {
  const isNew = ctx.arg === 'new';
  let plan = null;
  let programId = ctx.query.get('program') || ctx.programs[0]?.id;
  if (!isNew) {
    plan = await api('GET', `/api/v1/plans/${encodeURIComponent(ctx.arg)}`);
    programId = plan.program_id;
  }
  const program = ctx.programs.find((p) => p.id === programId) || (await api('GET', `/api/v1/programs/${programId}`));
  const currency = program.currency;
  const r = plan ? plan.rules : { recurring: 'lifetime' };
  const f = form(
    {
      id: 'plan-form',
      label: isNew ? 'New plan' : `Plan ${plan.name}`,
      submit: isNew ? 'Create plan' : 'Save plan',
      onSubmit: async (fm) => {
        const rules = rulesFromForm(fm, currency);
        const body = { name: val(fm, 'name') || '', default: !!val(fm, 'default'), rules };
        if (isNew) {
          const created = await api('POST', '/api/v1/plans', { program_id: programId, ...body });
          announce(`Plan ${created.name} created.`);
          go(`#plans/${created.id}`);
        } else {
          const saved = await api('PATCH', `/api/v1/plans/${plan.id}`, body);
          announce(saved.version !== plan.version ? `Plan saved as version ${saved.version}, valid for events from now on.` : 'Plan saved.');
          plan = saved;
          go(`#plans/${saved.id}`);
        }
      },
    },
    el(
      'div',
      { class: 'grid' },
      field('Name', input('name', { value: plan ? plan.name : '', required: true, maxlength: '200' })),
      field('Default plan of the program', el('input', { type: 'checkbox', name: 'default', checked: plan ? plan.default : false }), { hint: 'It applies to every partner without a plan of its own.' }),
    ),
    rulesFields(r, currency),
    plan ? el('p', { class: 'muted' }, `Version ${plan.version}, valid from ${fmtDate(plan.version_valid_from)}. A change of rules makes a new version, for events from now on.`) : null,
  );
  const parts = [
    pageHeader(isNew ? 'New plan' : `Plan: ${plan.name}`, link(`#programs/${programId}`, `Back to ${program.name}`, { class: 'button secondary' })),
    plan ? el('p', {}, describeRules(plan.rules)) : null,
    f,
  ];
  if (plan) parts.push(simulateBlock(plan, f, currency), assignBlock(plan), await onPlanBlock(plan));
  return el('section', {}, ...parts);
}

function simulateBlock(plan, rulesForm, currency) {
  const result = el('div', { id: 'simulation-result', 'aria-live': 'polite' });
  const f = form(
    {
      id: 'plan-simulate',
      label: 'Simulate',
      submit: 'Simulate',
      busyText: 'Replaying past events…',
      onSubmit: async (fm) => {
        let rules;
        try {
          rules = rulesFromForm(rulesForm, currency);
        } catch (e) {
          throw new FieldError('rules', `The rules above: ${e.message}`);
        }
        // Whole days in UTC: from the start of the first to the end of the last.
        const from = val(fm, 'from') ? `${val(fm, 'from')}T00:00:00Z` : '';
        const to = val(fm, 'to') ? `${val(fm, 'to')}T23:59:59.999Z` : '';
        const sim = await api('POST', `/api/v1/plans/${plan.id}/simulate`, { from, to, rules });
        result.replaceChildren(
          el('p', {}, `${sim.events} events from ${fmtDate(sim.from)} to ${fmtDate(sim.to)} replayed with the rules in the form above.`),
          table({
            caption: 'Totals',
            id: 'simulation-totals',
            rows: sim.totals,
            empty: 'No events in this period.',
            columns: [
              { label: 'Currency', render: (t) => t.currency.toUpperCase() },
              { label: 'Actual', num: true, render: (t) => money(t.actual) },
              { label: 'Proposed', num: true, render: (t) => money(t.proposed) },
              { label: 'Difference', num: true, render: (t) => money(t.difference) },
            ],
          }),
          table({
            caption: 'Per partner',
            id: 'simulation-partners',
            rows: sim.partners,
            empty: '',
            columns: [
              { label: 'Partner', render: (x) => partnerLink(x.partner_id) },
              { label: 'Actual', num: true, render: (x) => money(x.actual) },
              { label: 'Proposed', num: true, render: (x) => money(x.proposed) },
              { label: 'Difference', num: true, render: (x) => money(x.difference) },
            ],
          }),
        );
        announce(`Simulation done: ${sim.events} events.`);
      },
    },
    el('p', { class: 'muted' }, 'Replays the qualified leads, sales and refunds of the partners on this plan under the rules in the form above (saved or not) and compares with what they earned. Nothing is written.'),
    el('input', { type: 'hidden', name: 'rules' }),
    el('div', { class: 'grid' }, field('From', input('from', { type: 'date', value: isoDay(-89) })), field('To', input('to', { type: 'date', value: isoDay(0) }))),
  );
  return section('Simulate', f, result);
}

// The partners this plan is assigned to (those on the program's default plan are not listed one by one).
async function onPlanBlock(plan) {
  const res = await api('GET', `/api/v1/partners?plan_id=${encodeURIComponent(plan.id)}&limit=100`);
  return section(
    'Partners on this plan',
    plan.default ? el('p', { class: 'muted' }, 'This is the default plan: every partner without a plan of its own is on it too.') : null,
    table({
      id: 'plan-partners',
      caption: `Partners assigned ${plan.name}`,
      captionHidden: true,
      empty: 'No partner is assigned this plan.',
      rows: res.data,
      columns: [
        { label: 'Partner', render: (p) => partnerLink(p.id) },
        { label: 'Kind', render: (p) => p.kind },
        { label: 'Status', render: (p) => p.status },
      ],
    }),
    res.has_more ? el('p', { class: 'muted' }, 'The first 100 are shown.') : null,
  );
}

function assignBlock(plan) {
  const picker = partnerPicker({ name: 'partner_ids', label: 'Partner', programId: plan.program_id });
  const f = form(
    {
      id: 'plan-assign',
      label: 'Assign partners',
      submit: 'Assign to this plan',
      onSubmit: async (fm) => {
        const id = val(fm, 'partner_ids');
        if (!id) throw new FieldError('partner_ids', 'Pick a partner from the list first.');
        await api('POST', `/api/v1/plans/${plan.id}/assign`, { partner_ids: [id] });
        announce(`Partner assigned to ${plan.name}.`);
        picker.input.value = '';
        picker.hidden_.value = '';
      },
    },
    el('p', { class: 'muted' }, "A partner's own plan wins over the program's default plan."),
    picker,
  );
  return section('Assign partners', f);
}
