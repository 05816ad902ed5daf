// SPDX-License-Identifier: Apache-2.0
// Webhooks: the endpoints refd signs and sends events to (Standard Webhooks), each with the event types it takes
// (chosen from the server's list), its secret shown once when made or rotated, enabling and disabling, a test
// event, and its delivery log: every attempt with its answer, a resend, a replay of a time range.
import { api, el } from './api.js';
import {
  announce,
  badge,
  busy,
  confirmDialog,
  facts,
  field,
  FieldError,
  fmtDateTime,
  form,
  go,
  input,
  link,
  localToIso,
  pageHeader,
  pagedTable,
  programName,
  secretBox,
  section,
  select,
  table,
  val,
} from './admin-ui.js';

// The event types refd writes, from the server (GET /api/v1/event-types), fetched once.
let typesLoading = null;
function eventTypes() {
  if (!typesLoading)
    typesLoading = api('GET', '/api/v1/event-types').then(
      (r) => r.data.map((t) => t.type),
      (e) => {
        typesLoading = null;
        throw e;
      },
    );
  return typesLoading;
}

// A secret to show once on the endpoint's page that is about to be rendered (after creation or rotation): kept
// here, never in the address, and forgotten as soon as it is shown.
let freshSecret = null;

const typesText = (list) => (list.includes('*') ? 'every event type' : list.join(', '));

// The event types as a group of checkboxes: "every type" or one box per type, grouped by the object they are about.
// Its data-field is how an API error about event_types finds it.
function typesFieldset(types, chosen = []) {
  const all = chosen.includes('*');
  const every = el('input', { type: 'checkbox', name: 'every_type', id: 'wh-every-type', checked: all });
  const groups = new Map();
  for (const t of types) {
    const g = t.split('.')[0];
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(t);
  }
  const boxes = el(
    'div',
    { class: 'type-groups' },
    ...[...groups].map(([g, list]) =>
      el(
        'fieldset',
        { class: 'type-group' },
        el('legend', {}, g.replace(/_/g, ' ')),
        ...list.map((t) => el('label', { class: 'type-choice' }, el('input', { type: 'checkbox', name: 'event_type', value: t, checked: !all && chosen.includes(t), disabled: all }), ' ', t)),
      ),
    ),
  );
  every.addEventListener('change', () => {
    for (const b of boxes.querySelectorAll('input')) b.disabled = every.checked;
  });
  const err = el('span', { class: 'field-error', id: 'wh-types-error' });
  return el(
    'fieldset',
    { class: 'event-types', 'data-field': 'event_types', id: 'wh-types', tabindex: '-1', 'aria-describedby': 'wh-types-error' },
    el('legend', {}, 'Event types'),
    el('label', { class: 'type-choice' }, every, ' Every event type, those added later too'),
    boxes,
    err,
  );
}

function chosenTypes(fm) {
  if (fm.elements.namedItem('every_type').checked) return ['*'];
  const list = [...fm.querySelectorAll('input[name=event_type]:checked')].map((b) => b.value);
  if (!list.length) throw new FieldError('event_types', 'Choose at least one event type, or every type.');
  return list;
}

function programSelect(programs, value) {
  return field('Program', select('program_id', [['', 'Every program'], ...programs.map((p) => [p.id, p.name])], value || ''), {
    hint: 'Only the events of this program, or of all of them.',
  });
}

function endpointFields(ctx, types, ep = {}) {
  return [
    el(
      'div',
      { class: 'grid' },
      field('URL', input('url', { type: 'url', value: ep.url || null, placeholder: 'https://crm.example.com/hooks/refd', maxlength: '2048', autocomplete: 'off' }), {
        hint: 'https://, answering 2xx within the timeout.',
        wide: true,
      }),
      field('Description', input('description', { value: ep.description || null, maxlength: '500', placeholder: 'CRM sync' })),
      programSelect(ctx.programs, ep.program_id),
    ),
    typesFieldset(types, ep.event_types || []),
  ];
}

export async function render(ctx) {
  if (ctx.arg) return endpointPage(ctx, ctx.arg);
  const types = await eventTypes();
  const create = form(
    {
      id: 'webhook-create',
      label: 'New webhook endpoint',
      submit: 'Create endpoint',
      onSubmit: async (fm) => {
        const body = { url: val(fm, 'url') || '', event_types: chosenTypes(fm) };
        if (val(fm, 'description')) body.description = val(fm, 'description');
        if (val(fm, 'program_id')) body.program_id = val(fm, 'program_id');
        const ep = await api('POST', '/api/v1/webhook-endpoints', body);
        freshSecret = { id: ep.id, secret: ep.secret, why: 'created' };
        announce(`Endpoint created. Copy its signing secret now: it is shown only once.`);
        go(`#webhooks/${ep.id}`);
      },
    },
    el('p', { class: 'muted' }, 'refd POSTs each event of the chosen types to the URL, signed with the endpoint\'s secret (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature), and retries for about three days until it answers 2xx.'),
    ...endpointFields(ctx, types),
  );
  return el(
    'section',
    {},
    pageHeader('Webhooks'),
    section(
      'Endpoints',
      pagedTable({
        path: '/api/v1/webhook-endpoints',
        id: 'webhooks-table',
        caption: 'Webhook endpoints',
        captionHidden: true,
        empty: 'No webhook endpoints yet.',
        columns: [
          { label: 'URL', render: (w) => link(`#webhooks/${w.id}`, w.url, { class: 'wh-url' }) },
          { label: 'Description', render: (w) => w.description || '' },
          { label: 'Event types', render: (w) => typesText(w.event_types) },
          { label: 'Program', render: (w) => (w.program_id ? programName(ctx.programs, w.program_id) : 'every program') },
          { label: 'Status', render: (w) => badge(w.status) },
          { label: 'Failing since', render: (w) => (w.failing_since ? fmtDateTime(w.failing_since) : '') },
        ],
      }),
      el('details', { class: 'new-block', open: ctx.query.get('new') === '1' }, el('summary', {}, 'New endpoint'), create),
    ),
  );
}

// One attempt's answer, short: the status code or why there was none.
const answerText = (d) => (d.last_status_code ? `HTTP ${d.last_status_code}` : d.last_error || '');

function attemptsTable(d) {
  if (!d.attempts.length) return el('span', { class: 'muted' }, 'not attempted yet');
  return el(
    'details',
    { class: 'attempts' },
    el('summary', {}, `${d.attempts.length} attempt${d.attempts.length === 1 ? '' : 's'}`),
    table({
      caption: `Attempts of ${d.event_id}`,
      captionHidden: true,
      rows: d.attempts,
      columns: [
        { label: 'At', render: (a) => fmtDateTime(a.at) },
        { label: 'Status', render: (a) => (a.status_code ? String(a.status_code) : '—') },
        { label: 'Latency', num: true, render: (a) => `${a.latency_ms} ms` },
        { label: 'Error', render: (a) => a.error || '' },
        { label: 'Answer', render: (a) => (a.response ? el('pre', { class: 'answer' }, a.response) : el('span', { class: 'muted' }, 'empty')) },
      ],
    }),
  );
}

async function endpointPage(ctx, id) {
  const [ep, types] = await Promise.all([api('GET', `/api/v1/webhook-endpoints/${encodeURIComponent(id)}`), eventTypes()]);
  const reload = () => go(`#webhooks/${ep.id}`);
  const path = `/api/v1/webhook-endpoints/${ep.id}`;
  const body = el('div', { id: 'webhook-body' });

  let shown = null;
  if (freshSecret && freshSecret.id === ep.id) {
    const note =
      freshSecret.why === 'rotated'
        ? 'Shown only now. The previous secret keeps signing beside it for 24 hours: give this one to the receiver before then.'
        : 'Shown only now: refd keeps it encrypted and never shows it again. Give it to the receiver, which verifies each delivery with it.';
    shown = secretBox('webhook-secret', 'Signing secret', freshSecret.secret, note);
    freshSecret = null;
  }

  const act = (label, idName, fn, { secondary = true, danger = false } = {}) => {
    const b = el('button', { type: 'button', id: idName, class: danger ? 'danger' : secondary ? 'secondary' : null }, label);
    b.addEventListener('click', () => fn(b));
    return b;
  };
  const testButton = act('Send test event', 'webhook-test', (b) =>
    busy({ region: body, button: b, message: 'Queueing a test event…', done: 'Test event queued: it appears in the deliveries below.' }, async () => {
      await api('POST', `${path}/test`);
      deliveriesBox.replaceChildren(deliveriesTable());
    }),
  );
  testButton.disabled = ep.status !== 'enabled';
  const toggle = act(ep.status === 'enabled' ? 'Disable' : 'Enable', 'webhook-toggle', async (b) => {
    if (ep.status === 'enabled') {
      const ok = await confirmDialog({ title: 'Disable this endpoint?', message: 'Nothing is sent to it until it is enabled again; what waits for it is cancelled (a replay can send it later).', confirm: 'Disable', danger: true });
      if (!ok) return;
    }
    const next = ep.status === 'enabled' ? 'disabled' : 'enabled';
    await busy({ region: body, button: b, message: 'Saving…', done: `Endpoint ${next}.` }, async () => {
      await api('PATCH', path, { status: next });
      reload();
    });
  });
  const rotate = act('Rotate secret', 'webhook-rotate', async (b) => {
    const ok = await confirmDialog({ title: 'Rotate the signing secret?', message: 'A new secret signs from now on; the current one keeps signing beside it for 24 hours, so the receiver can switch without missing a delivery.', confirm: 'Rotate' });
    if (!ok) return;
    await busy({ region: body, button: b, message: 'Rotating…', done: 'New signing secret made. Copy it now: it is shown only once.' }, async () => {
      const r = await api('POST', `${path}/rotate-secret`);
      freshSecret = { id: ep.id, secret: r.secret, why: 'rotated' };
      reload();
    });
  });
  const del = act(
    'Delete',
    'webhook-delete',
    async (b) => {
      const ok = await confirmDialog({ title: 'Delete this endpoint?', message: 'It and its delivery log are removed. This cannot be undone.', confirm: 'Delete', danger: true });
      if (!ok) return;
      await busy({ region: body, button: b, message: 'Deleting…', done: 'Endpoint deleted.' }, async () => {
        await api('DELETE', path);
        go('#webhooks');
      });
    },
    { danger: true },
  );

  const edit = form(
    {
      id: 'webhook-edit',
      label: 'Change the endpoint',
      submit: 'Save changes',
      onSubmit: async (fm) => {
        const change = { url: val(fm, 'url') || '', event_types: chosenTypes(fm), description: val(fm, 'description'), program_id: val(fm, 'program_id') };
        await api('PATCH', path, change);
        announce('Endpoint saved.');
        reload();
      },
    },
    ...endpointFields(ctx, types, ep),
  );

  const statusFilter = select('status', [['', 'Every status'], 'pending', 'delivered', 'failed', 'cancelled'], ctx.query.get('status') || '', { id: 'delivery-status' });
  const deliveriesTable = () =>
    pagedTable({
      path: `${path}/deliveries`,
      params: { status: statusFilter.value },
      id: 'deliveries-table',
      caption: 'Deliveries',
      captionHidden: true,
      empty: 'No deliveries yet.',
      columns: [
        { label: 'Event', render: (d) => el('span', {}, el('strong', {}, d.event_type), el('br'), el('code', {}, d.event_id)) },
        { label: 'Status', render: (d) => badge(d.status) },
        { label: 'Last answer', render: (d) => answerText(d) },
        { label: 'Next attempt', render: (d) => (d.next_attempt_at ? fmtDateTime(d.next_attempt_at) : '') },
        { label: 'Queued', render: (d) => fmtDateTime(d.created_at) },
        { label: 'Attempts', render: (d) => attemptsTable(d) },
        {
          label: 'Actions',
          render: (d) => {
            if (d.status === 'pending') return '';
            const b = el('button', { type: 'button', class: 'small secondary', 'data-resend': d.id }, 'Resend');
            b.addEventListener('click', () =>
              busy({ region: deliveriesBox, button: b, message: 'Queueing…', done: `${d.event_type} queued again.` }, async () => {
                await api('POST', `${path}/deliveries/${d.id}/resend`);
                deliveriesBox.replaceChildren(deliveriesTable());
              }),
            );
            return b;
          },
        },
      ],
    });
  const deliveriesBox = el('div', {}, deliveriesTable());
  statusFilter.addEventListener('change', () => deliveriesBox.replaceChildren(deliveriesTable()));
  const refresh = el('button', { type: 'button', class: 'secondary', id: 'deliveries-refresh' }, 'Refresh');
  refresh.addEventListener('click', () => deliveriesBox.replaceChildren(deliveriesTable()));

  const replay = form(
    {
      id: 'webhook-replay',
      label: 'Replay a time range',
      submit: 'Replay',
      busyText: 'Queueing the events…',
      onSubmit: async (fm) => {
        const from = localToIso(val(fm, 'from'));
        const to = localToIso(val(fm, 'to'));
        if (!from) throw new FieldError('from', 'When the range starts.');
        if (!to) throw new FieldError('to', 'When the range ends.');
        const r = await api('POST', `${path}/replay`, { from, to });
        announce(`${r.queued} event${r.queued === 1 ? '' : 's'} queued again.`);
        deliveriesBox.replaceChildren(deliveriesTable());
      },
    },
    el('p', { class: 'muted' }, 'Sends again every event of the range (times in UTC) that this endpoint takes, at most 10,000.'),
    el('div', { class: 'grid' }, field('From (UTC)', input('from', { type: 'datetime-local', step: '1' })), field('To (UTC)', input('to', { type: 'datetime-local', step: '1' }))),
  );

  body.append(
    shown,
    facts([
      ['URL', el('code', { id: 'webhook-url' }, ep.url)],
      ['Status', el('span', { id: 'webhook-status' }, badge(ep.status))],
      ep.disabled_reason ? ['Why disabled', ep.disabled_reason] : null,
      ep.failing_since ? ['Failing since', fmtDateTime(ep.failing_since)] : null,
      ['Event types', el('span', { id: 'webhook-types' }, typesText(ep.event_types))],
      ['Program', ep.program_id ? programName(ctx.programs, ep.program_id) : 'every program'],
      ['Description', ep.description || '—'],
      ep.previous_secret_expires_at ? ['Previous secret signs until', fmtDateTime(ep.previous_secret_expires_at)] : null,
      ['Created', fmtDateTime(ep.created_at)],
    ]),
    section('Deliveries', el('div', { class: 'actions' }, field('Status', statusFilter), refresh), deliveriesBox),
    section('Replay', replay),
    section('Change', el('details', { class: 'new-block' }, el('summary', {}, 'Change the URL, types or program'), edit)),
  );
  return el('section', {}, pageHeader('Webhook endpoint', testButton, toggle, rotate, del), body);
}
