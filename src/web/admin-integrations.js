// SPDX-License-Identifier: Apache-2.0
// Integrations: a program's connections to other systems (Paddle, Chargebee and the CRMs): connecting one with the
// credentials it takes (shown once, then sealed), the webhook URL to paste into the other system, a CRM's stage map,
// enabling, disabling and deleting, the events each system sent with what came of them, and what refd pushed to or
// read from a CRM (each delivery with its attempts and the CRM's answers; a failed one retried).
import { api, el } from './api.js';
import {
  alertError,
  announce,
  badge,
  busy,
  confirmDialog,
  copyButton,
  facts,
  field,
  FieldError,
  fmtDateTime,
  form,
  go,
  input,
  intFromForm,
  link,
  nextId,
  pageHeader,
  pagedTable,
  programName,
  secretBox,
  section,
  select,
  val,
} from './admin-ui.js';

// The systems POST /api/v1/integrations accepts (Stripe is set on the program instead).
const SYSTEMS = [
  { name: 'paddle', title: 'Paddle Billing', kind: 'billing' },
  { name: 'chargebee', title: 'Chargebee', kind: 'billing' },
  { name: 'hubspot', title: 'HubSpot', kind: 'crm' },
  { name: 'salesforce', title: 'Salesforce', kind: 'crm' },
  { name: 'pipedrive', title: 'Pipedrive', kind: 'crm' },
];

// The lead statuses a stage may map to (the API refuses others, and its message says which are allowed).
const STAGE_STATUSES = ['new', 'contacted', 'qualified', 'converted', 'lost'];
const OUTCOMES = ['processed', 'ignored', 'duplicate', 'refused'];

const systemOf = (name) => SYSTEMS.find((s) => s.name === name) || { name, title: name, kind: 'crm' };

// Where each system's webhook URL goes, for the person pasting it.
const PASTE_HINT = {
  paddle: 'In Paddle: Developer tools → Notifications → New destination; paste it as the URL and pick the transaction, adjustment, customer and discount events.',
  chargebee: 'In Chargebee: Settings → Configure Chargebee → Webhooks → Add webhook; paste it as the URL and turn on Basic authentication with the username and password above.',
  hubspot: "In HubSpot: your private app's Webhooks tab; paste it as the target URL.",
  salesforce: "In Salesforce: the Outbound Message's Endpoint URL.",
  pipedrive: 'In Pipedrive: Tools and apps → Webhooks → Create new webhook; paste it as the endpoint URL.',
};

export async function render(ctx) {
  if (ctx.arg) return connectionPage(ctx, ctx.arg);
  if (!ctx.programs.length) {
    return el('section', {}, pageHeader('Integrations'), el('p', {}, 'Create a program first: ', link('#programs?all', 'Programs'), '.'));
  }
  const programId = ctx.programs.some((p) => p.id === ctx.query.get('program_id')) ? ctx.query.get('program_id') : ctx.programs[0].id;
  const listBox = el('div', { id: 'integrations-list' });
  const result = el('div', { id: 'integration-created' });
  const reload = () =>
    listBox.replaceChildren(
      pagedTable({
        path: '/api/v1/integrations',
        params: { program_id: programId },
        id: 'integrations-table',
        caption: 'Connections',
        captionHidden: true,
        empty: 'No system is connected to this program yet.',
        columns: [
          { label: 'System', render: (c) => link(`#integrations/${c.id}`, systemOf(c.system).title, { 'data-conn': c.id, 'data-system': c.system }) },
          { label: 'Name', render: (c) => c.name || '' },
          { label: 'Status', render: (c) => badge(c.status) },
          { label: 'Created', render: (c) => fmtDateTime(c.created_at) },
          { label: 'Last event taken', render: (c) => (c.last_event_at ? fmtDateTime(c.last_event_at) : el('span', { class: 'muted' }, 'none yet')) },
        ],
      }),
    );
  reload();

  const picker =
    ctx.programs.length > 1
      ? el(
          'form',
          { class: 'toolbar', 'aria-label': 'Program', id: 'integrations-program' },
          field('Program', select('program_id', ctx.programs.map((p) => [p.id, p.name]), programId, { onchange: (ev) => go(`#integrations?program_id=${ev.target.value}`) })),
        )
      : null;
  return el(
    'section',
    {},
    pageHeader('Integrations'),
    picker,
    el(
      'p',
      { class: 'muted' },
      'Each system is connected once per program. Stripe is set on the program itself (its webhook signing secret): ',
      link(`#programs/${programId}`, `${programName(ctx.programs, programId)} settings`),
      '.',
    ),
    section('Connections', listBox),
    section('Connect a system', connectForm(programId, result, reload), result),
  );
}

// ---- the parts of the forms that depend on the system ----

// Rows of credential names and values, for the CRMs (whose credentials refd does not fix). An error about
// credentials.<name> lands next to that row's value.
function credentialRows(keepHint) {
  const rows = el('div', { class: 'kv-rows' });
  const box = el('fieldset', { class: 'kv' }, el('legend', {}, 'Credentials'), el('p', { class: 'hint' }, keepHint), rows);
  const add = () => {
    const key = input('', { class: 'cred-key', autocomplete: 'off', spellcheck: 'false', placeholder: 'access_token', maxlength: '64' });
    key.removeAttribute('name');
    const value = input('', { class: 'cred-value', autocomplete: 'off', spellcheck: 'false', maxlength: '4096' });
    value.removeAttribute('name');
    if (!rows.children.length) key.dataset.field = 'credentials';
    key.addEventListener('input', () => {
      value.dataset.field = `credentials.${key.value.trim()}`;
    });
    rows.append(el('div', { class: 'kv-row' }, field('Name', key, { hint: 'Lower-case letters, digits and _.' }), field('Value', value)));
  };
  add();
  const more = el('button', { type: 'button', class: 'secondary small' }, 'Add a credential');
  more.addEventListener('click', () => {
    add();
    rows.lastElementChild.querySelector('input').focus();
  });
  box.append(more);
  box.read = () => {
    const out = {};
    for (const r of rows.children) {
      const k = r.querySelector('.cred-key').value.trim();
      const v = r.querySelector('.cred-value').value;
      if (k || v) out[k] = v;
    }
    return out;
  };
  return box;
}

// The stage map editor: the other system's stages, each with the lead status it means. The API checks the
// statuses; its error lands under the editor, which reads back the map as an object.
export function stageMapEditor(title, map = {}) {
  const id = nextId('stages');
  const listId = `${id}-statuses`;
  const rows = el('div', { class: 'kv-rows' });
  const err = el('span', { class: 'field-error', id: `${id}-error` });
  const box = el(
    'fieldset',
    { class: 'kv stage-map', id, 'data-field': 'stage_map', tabindex: '-1', 'aria-describedby': `${id}-hint ${id}-error` },
    el('legend', {}, `${title}'s stages`),
    el('p', { class: 'hint', id: `${id}-hint` }, `Each of ${title}'s stages, and the lead status it moves a lead to: ${STAGE_STATUSES.join(', ')}. Stages not listed leave the lead as it is.`),
    el('datalist', { id: listId }, ...STAGE_STATUSES.map((s) => el('option', { value: s }))),
    rows,
  );
  const add = (stage = '', status = '') => {
    const st = input('', { class: 'stage-name', value: stage, autocomplete: 'off', spellcheck: 'false', maxlength: '200' });
    st.removeAttribute('name');
    const ls = input('', { class: 'stage-status', value: status, list: listId, autocomplete: 'off', spellcheck: 'false' });
    ls.removeAttribute('name');
    const remove = el('button', { type: 'button', class: 'link remove-stage' }, 'Remove');
    const row = el('div', { class: 'kv-row' }, field(`Stage in ${title}`, st), field('Lead status', ls), remove);
    remove.setAttribute('aria-label', 'Remove this stage');
    remove.addEventListener('click', () => {
      row.remove();
      if (!rows.children.length) add();
      rows.querySelector('input').focus();
    });
    rows.append(row);
  };
  for (const [k, v] of Object.entries(map || {})) add(k, v);
  if (!rows.children.length) add();
  const more = el('button', { type: 'button', class: 'secondary small', id: `${id}-add` }, 'Add a stage');
  more.addEventListener('click', () => {
    add();
    rows.lastElementChild.querySelector('input').focus();
  });
  box.append(more, err);
  // The map as the API takes it; a stage listed twice is a mistake the object would hide.
  box.read = () => {
    const out = {};
    for (const r of rows.children) {
      const k = r.querySelector('.stage-name').value.trim();
      const v = r.querySelector('.stage-status').value.trim();
      if (!k && !v) continue;
      if (Object.hasOwn(out, k)) throw new FieldError('stage_map', `The stage ${k} is listed twice.`);
      out[k] = v;
    }
    return out;
  };
  return box;
}

// The controls of a system's credentials and settings. For a change (editing), an empty credential keeps the one
// stored. Returns { nodes, read(form) → {credentials, settings, base_url, stage_map}, aliases }.
function systemFields(system, { editing = false, conn = null } = {}) {
  const keep = editing ? ' Empty keeps the one stored.' : '';
  const sys = systemOf(system);
  if (system === 'paddle') {
    return {
      aliases: { credentials: 'credentials.webhook_secret' },
      nodes: [
        field('Webhook secret', input('credentials.webhook_secret', { autocomplete: 'off', spellcheck: 'false', maxlength: '4096', placeholder: 'pdl_ntfset_…' }), {
          hint: `The secret key of the notification destination in Paddle.${keep}`,
        }),
        field('Signature tolerance (seconds)', input('settings.tolerance_seconds', { type: 'number', min: '1', max: '3600', value: conn?.settings?.tolerance_seconds ?? '' }), {
          hint: "How far a signature's time may be from now; empty for 5, as Paddle's SDKs.",
        }),
      ],
      read: (fm) => {
        const out = { settings: { tolerance_seconds: intFromForm(fm, 'settings.tolerance_seconds') } };
        if (val(fm, 'credentials.webhook_secret')) out.credentials = { webhook_secret: val(fm, 'credentials.webhook_secret') };
        else if (!editing) out.credentials = {};
        return out;
      },
    };
  }
  if (system === 'chargebee') {
    return {
      aliases: { credentials: 'credentials.password' },
      nodes: [
        field('Username', input('credentials.username', { autocomplete: 'off', spellcheck: 'false', maxlength: '4096', placeholder: editing ? '' : 'refd' }), {
          hint: editing ? `Of the webhook's Basic authentication.${keep}` : "Of the webhook's Basic authentication; empty for refd.",
        }),
        field('Password', input('credentials.password', { autocomplete: 'off', spellcheck: 'false', maxlength: '4096' }), {
          hint: editing ? `Of the webhook's Basic authentication.${keep}` : 'Empty: refd makes a strong one, shown once.',
        }),
      ],
      read: (fm) => {
        const creds = {};
        for (const k of ['username', 'password']) if (val(fm, `credentials.${k}`)) creds[k] = val(fm, `credentials.${k}`);
        return Object.keys(creds).length ? { credentials: creds } : {};
      },
    };
  }
  const rows = credentialRows(editing ? 'A credential given replaces the one of that name; the others stay.' : `What refd uses to call ${sys.title}'s API.`);
  const stages = editing ? null : stageMapEditor(sys.title);
  return {
    aliases: null,
    nodes: [
      field(`${sys.title} API address`, input('base_url', { type: 'url', value: conn?.base_url || '', placeholder: 'https://' }), {
        hint: `Where refd calls ${sys.title}; empty for its own.`,
      }),
      rows,
      stages,
    ].filter(Boolean),
    read: (fm) => {
      const out = {};
      const creds = rows.read();
      if (Object.keys(creds).length) out.credentials = creds;
      if (val(fm, 'base_url') || editing) out.base_url = val(fm, 'base_url') || '';
      if (stages) {
        const map = stages.read();
        if (Object.keys(map).length) out.stage_map = map;
      }
      return out;
    },
  };
}

// ---- connecting ----

function connectForm(programId, result, reload) {
  const system = select('system', [['', 'Choose a system'], ...SYSTEMS.map((s) => [s.name, s.title])], '', { required: true });
  const parts = el('div', { class: 'grid', id: 'integration-system-fields' });
  let current = null;
  const pick = () => {
    current = system.value ? systemFields(system.value) : null;
    parts.replaceChildren(...(current ? current.nodes : []));
  };
  system.addEventListener('change', pick);
  const f = form(
    {
      id: 'integration-create',
      label: 'Connect a system',
      submit: 'Connect',
      busyText: 'Connecting…',
      onSubmit: async (fm) => {
        if (!system.value) throw new FieldError('system', 'Choose the system to connect.');
        fm.aliases = current.aliases;
        const body = { program_id: programId, system: system.value, ...current.read(fm) };
        if (val(fm, 'name')) body.name = val(fm, 'name');
        if (body.settings && Object.values(body.settings).every((v) => v === null)) delete body.settings;
        const c = await api('POST', '/api/v1/integrations', body);
        announce(`${systemOf(c.system).title} connected. Copy its credentials now: they are shown only once.`);
        result.replaceChildren(createdBox(c));
        fm.reset();
        pick();
        reload();
        // After the secret boxes have taken focus in turn: the first credential is where to start copying.
        const first = result.querySelector('input');
        if (first) setTimeout(() => first.focus(), 0);
      },
    },
    el('div', { class: 'grid' }, field('System', system), field('Name', input('name', { maxlength: '200' }), { hint: 'Optional: to tell connections apart.' })),
    parts,
  );
  return f;
}

// What the person who connected a system sees once: the credentials (copy them now), and the webhook URL.
function createdBox(c) {
  const sys = systemOf(c.system);
  const creds = Object.entries(c.credentials || {});
  return el(
    'div',
    { class: 'card created', id: 'integration-secret' },
    el('h3', {}, `${sys.title} is connected`),
    creds.length
      ? el(
          'div',
          { id: 'integration-credentials' },
          el('p', { class: 'warning', id: 'integration-once' }, 'Copy these now: you will not see them again. refd keeps them sealed and from now on shows only their names.'),
          ...creds.map(([k, v]) => secretBox(`integration-cred-${k}`, k, v, `Shown only now: ${k} of this ${sys.title} connection.`)),
        )
      : el('p', { class: 'muted' }, 'This connection has no credentials yet.'),
    webhookBox(c),
    el('p', {}, link(`#integrations/${c.id}`, `Open the ${sys.title} connection`, { id: 'integration-open' }), ' for its events', sys.kind === 'crm' ? ', its stage map' : '', ' and its settings.'),
  );
}

function webhookBox(c) {
  const id = nextId('hook');
  return el(
    'div',
    { class: 'webhook-url', role: 'group', 'aria-labelledby': `${id}-label` },
    el('label', { id: `${id}-label`, for: id }, 'Webhook URL'),
    el('div', { class: 'row' }, el('input', { id, type: 'text', readonly: true, value: c.webhook_url || '', class: 'secret webhook', 'aria-describedby': `${id}-hint` }), copyButton(c.webhook_url, 'Copy the webhook URL', { class: 'secondary', id: 'webhook-copy' })),
    el('p', { class: 'hint', id: `${id}-hint` }, PASTE_HINT[c.system] || 'Paste it into the other system.'),
  );
}

// ---- one connection ----

async function connectionPage(ctx, id) {
  const c = await api('GET', `/api/v1/integrations/${encodeURIComponent(id)}`);
  const sys = systemOf(c.system);
  const back = `#integrations?program_id=${c.program_id}`;
  const toggle = el('button', { type: 'button', class: c.status === 'enabled' ? 'secondary' : '', id: 'conn-toggle' }, c.status === 'enabled' ? 'Disable' : 'Enable');
  toggle.addEventListener('click', async () => {
    const next = c.status === 'enabled' ? 'disabled' : 'enabled';
    if (next === 'disabled') {
      const ok = await confirmDialog({ title: `Disable ${sys.title}?`, message: `refd refuses what ${sys.title} sends until the connection is enabled again (each refusal shows in the events below).`, confirm: 'Disable' });
      if (!ok) return;
    }
    try {
      await api('PATCH', `/api/v1/integrations/${c.id}`, { status: next });
      announce(`${sys.title} ${next}.`);
      go(location.hash);
    } catch (e) {
      alertError(e);
    }
  });
  const del = el('button', { type: 'button', class: 'danger', id: 'conn-delete' }, 'Delete');
  del.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Delete the ${sys.title} connection?`,
      message: `Its credentials and its event log go with it, and ${sys.title}'s webhooks to its URL are refused. This cannot be undone.`,
      confirm: 'Delete',
      danger: true,
    });
    if (!ok) return;
    try {
      await api('DELETE', `/api/v1/integrations/${c.id}`);
      announce(`The ${sys.title} connection was deleted.`);
      go(back);
    } catch (e) {
      alertError(e);
    }
  });

  const editParts = systemFields(c.system, { editing: true, conn: c });
  const edit = form(
    {
      id: 'conn-edit',
      label: 'Settings and credentials',
      submit: 'Save',
      aliases: editParts.aliases,
      onSubmit: async (fm) => {
        const body = { name: val(fm, 'name'), ...editParts.read(fm) };
        await api('PATCH', `/api/v1/integrations/${c.id}`, body);
        announce(`${sys.title} saved.`);
        go(location.hash);
      },
    },
    el('div', { class: 'grid' }, field('Name', input('name', { maxlength: '200', value: c.name || '' })), ...editParts.nodes),
  );

  let stageForm = null;
  if (sys.kind === 'crm') {
    const editor = stageMapEditor(sys.title, c.stage_map);
    stageForm = form(
      {
        id: 'stage-map-form',
        label: 'Stage map',
        submit: 'Save stage map',
        onSubmit: async () => {
          const saved = await api('PATCH', `/api/v1/integrations/${c.id}`, { stage_map: editor.read() });
          announce(`Stage map saved: ${Object.keys(saved.stage_map).length} stage(s).`);
          go(location.hash);
        },
      },
      editor,
    );
  }

  return el(
    'section',
    {},
    pageHeader(
      el('span', {}, `${sys.title}${c.name ? `: ${c.name}` : ''} `, badge(c.status)),
      toggle,
      del,
      link(back, 'All connections', { class: 'button secondary' }),
    ),
    facts([
      ['System', `${sys.title} (${sys.kind === 'crm' ? 'CRM' : 'billing'})`],
      ['Program', programName(ctx.programs, c.program_id)],
      ['Status', c.status === 'enabled' ? 'enabled: takes what the system sends' : 'disabled: refuses what the system sends'],
      ['Credentials', c.credential_keys.length ? el('span', {}, c.credential_keys.join(', '), el('span', { class: 'muted' }, ' (sealed; shown only when connected)')) : 'none'],
      sys.kind === 'crm' ? [`${sys.title} API`, c.base_url || '—'] : null,
      ['Created', fmtDateTime(c.created_at)],
      ['Last event taken', c.last_event_at ? fmtDateTime(c.last_event_at) : 'none yet'],
      ['Id', el('code', {}, c.id)],
    ]),
    webhookBox(c),
    stageForm ? section('Stage map', stageForm) : null,
    section('Events received', eventsBox(c)),
    sys.kind === 'crm' ? section(`Sent to and read from ${sys.title}`, deliveriesBox(c, sys)) : null,
    el('details', { class: 'new-block' }, el('summary', {}, 'Settings and credentials'), edit),
  );
}

// The connection's inbound log, newest first, paged, with a filter by outcome.
function eventsBox(c) {
  const outcome = select('outcome', [['', 'Every outcome'], ...OUTCOMES.map((o) => [o, o])], '', { id: 'conn-events-outcome' });
  const refresh = el('button', { type: 'button', class: 'secondary', id: 'conn-events-refresh' }, 'Refresh');
  const box = el('div', { id: 'conn-events-box' });
  const load = () =>
    box.replaceChildren(
      pagedTable({
        path: `/api/v1/integrations/${c.id}/events`,
        params: { outcome: outcome.value },
        id: 'conn-events',
        caption: 'Events received',
        limit: 20,
        empty: outcome.value ? `No ${outcome.value} events.` : 'Nothing received yet: paste the webhook URL into the other system.',
        columns: [
          { label: 'Received', render: (e) => el('time', { datetime: e.received_at }, fmtDateTime(e.received_at)) },
          { label: 'Type', render: (e) => e.type || el('span', { class: 'muted' }, 'unknown') },
          { label: 'Event', render: (e) => (e.event_id ? el('code', { class: 'break' }, e.event_id) : '') },
          { label: 'Outcome', render: (e) => el('span', { class: 'outcome', 'data-outcome': e.outcome }, badge(e.outcome)) },
          { label: 'Reason', render: (e) => el('span', { class: 'reason break' }, e.reason || '') },
          { label: 'Object', render: (e) => (e.object_id ? el('code', {}, e.object_id) : '') },
          { label: 'HTTP', num: true, render: (e) => String(e.status_code) },
        ],
      }),
    );
  outcome.addEventListener('change', load);
  refresh.addEventListener('click', load);
  load();
  return el('div', {}, el('div', { class: 'toolbar' }, field('Outcome', outcome), refresh), box);
}

// What the last attempt of a CRM delivery got: the status code and refd's reading of it, or the error alone.
function lastAnswer(d) {
  if (d.last_status_code == null && !d.last_error) return d.attempts ? '' : el('span', { class: 'muted' }, 'not tried yet');
  return el('span', { class: 'break' }, d.last_status_code != null ? el('strong', {}, `HTTP ${d.last_status_code}`) : '', d.last_status_code != null && d.last_error ? ': ' : '', d.last_error || '');
}

// Every attempt of a delivery, in a disclosure: when, the status code and the first bytes of the CRM's answer.
function attemptList(d) {
  if (!d.attempt_log.length) return '';
  return el(
    'details',
    {},
    el('summary', {}, `${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`),
    el(
      'ol',
      { class: 'attempts' },
      ...d.attempt_log.map((a) =>
        el('li', {}, fmtDateTime(a.at), ' ', a.status_code != null ? `HTTP ${a.status_code}` : 'no answer', a.error ? el('div', { class: 'muted break' }, a.error) : '', a.response ? el('pre', { class: 'break' }, a.response) : ''),
      ),
    ),
  );
}

// The CRM sender's log for a CRM connection, newest first, paged and filtered by status: a lead pushed (source
// evt_...) or a record read back after a webhook (source ibe_...), and a Retry for a failed one.
function deliveriesBox(c, sys) {
  const path = `/api/v1/integrations/${c.id}/deliveries`;
  const status = select('status', [['', 'Every status'], 'pending', 'delivered', 'failed', 'cancelled'], '', { id: 'conn-deliveries-status' });
  const refresh = el('button', { type: 'button', class: 'secondary', id: 'conn-deliveries-refresh' }, 'Refresh');
  const box = el('div', { id: 'conn-deliveries-box' });
  const table = () =>
    pagedTable({
      path,
      params: { status: status.value },
      id: 'conn-deliveries',
      caption: `Sent to and read from ${sys.title}`,
      captionHidden: true,
      limit: 20,
      empty: status.value ? `No ${status.value} deliveries.` : `Nothing sent to or read from ${sys.title} yet.`,
      columns: [
        { label: 'Queued', render: (d) => el('time', { datetime: d.created_at }, fmtDateTime(d.created_at)) },
        { label: 'What', render: (d) => el('span', {}, d.source_id.startsWith('ibe_') ? 'a record read back' : 'a lead pushed', el('br'), el('code', { class: 'break' }, d.source_id)) },
        { label: 'Status', render: (d) => el('span', { class: 'delivery-status', 'data-status': d.status }, badge(d.status)) },
        { label: 'Attempts', num: true, render: (d) => String(d.attempts) },
        { label: 'Last answer', render: (d) => el('span', { class: 'last-answer' }, lastAnswer(d)) },
        { label: 'Next attempt', render: (d) => (d.next_at ? fmtDateTime(d.next_at) : '') },
        { label: 'Log', render: (d) => attemptList(d) },
        {
          label: 'Actions',
          render: (d) => {
            if (d.status !== 'failed') return '';
            const b = el('button', { type: 'button', class: 'small secondary', 'data-retry': d.id }, 'Retry');
            b.addEventListener('click', () =>
              busy({ region: box, button: b, message: 'Queueing…', done: `The delivery was queued again: ${sys.title} is called at once.` }, async () => {
                await api('POST', `${path}/${encodeURIComponent(d.id)}/retry`);
                box.replaceChildren(table());
              }),
            );
            return b;
          },
        },
      ],
    });
  const load = () => box.replaceChildren(table());
  status.addEventListener('change', load);
  refresh.addEventListener('click', load);
  load();
  return el('div', {}, el('div', { class: 'toolbar' }, field('Status', status), refresh), box);
}
