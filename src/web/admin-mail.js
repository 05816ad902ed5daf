// SPDX-License-Identifier: Apache-2.0
// Email: how refd's mail goes out (an SMTP server, or only the log when none is configured), a test message, a
// preview of every message refd sends (its text and its HTML, with sample data or for a chosen partner), the recent
// messages with their delivery, and one message with each attempt to send it (#mail/msg_…).
import { api, el } from './api.js';
import { announce, badge, facts, field, FieldError, fmtDateTime, form, input, link, pageHeader, pagedTable, partnerLink, partnerPicker, section, select, table, val } from './admin-ui.js';

const STATUSES = ['pending', 'delivered', 'failed'];

export async function render(ctx) {
  if (ctx.arg) return messagePage(ctx.arg);
  const [settings, previews] = await Promise.all([api('GET', '/api/v1/mail/settings'), api('GET', '/api/v1/mail/previews')]);
  const recent = el('div', { id: 'mail-recent' });
  const status = select('status', [['', 'Any status'], ...STATUSES.map((s) => [s, s])], ctx.query.get('status') || '', { id: 'mail-status' });
  function loadRecent() {
    const params = { status: status.value };
    history.replaceState(null, '', `#mail${status.value ? `?status=${status.value}` : ''}`);
    recent.replaceChildren(
      pagedTable({
        path: '/api/v1/mail/messages',
        params,
        id: 'mail-messages',
        caption: 'Recent messages',
        empty: 'refd has sent no mail yet.',
        limit: 20,
        columns: [
          { label: 'Written', render: (m) => fmtDateTime(m.created_at) },
          { label: 'To', render: (m) => m.to.email },
          { label: 'Subject', render: (m) => link(`#mail/${m.id}`, m.subject) },
          { label: 'Kind', render: (m) => m.category },
          { label: 'Status', render: (m) => badge(m.status) },
          { label: 'Attempts', num: true, render: (m) => String(m.attempts) },
          { label: 'Last answer', render: (m) => m.last_error || (m.last_status_code ? String(m.last_status_code) : '—') },
        ],
      }),
    );
  }
  status.addEventListener('change', loadRecent);
  loadRecent();

  return el(
    'section',
    {},
    pageHeader('Email'),
    transportSection(settings),
    section('Send a test message', testForm(ctx, settings, loadRecent)),
    section('Messages refd sends', previewPanel(previews.data)),
    section(
      'Recent messages',
      el('form', { class: 'toolbar', role: 'search', 'aria-label': 'Filter messages', id: 'mail-filters', onsubmit: (ev) => { ev.preventDefault(); loadRecent(); } }, el('span', { class: 'ctl' }, el('label', { for: 'mail-status' }, 'Status'), status)),
      recent,
    ),
  );
}

function transportSection(s) {
  const smtp = s.smtp;
  const tls = { implicit: 'TLS from the start (smtps://)', starttls_required: 'STARTTLS, required', starttls_when_offered: 'STARTTLS when the server offers it' };
  const notice =
    s.transport === 'log'
      ? el(
          'p',
          { class: 'warning', id: 'mail-transport-notice', role: 'status' },
          el('strong', {}, 'No SMTP server is configured: '),
          'refd writes every message to its log instead of sending it, and password reset links appear there for you to pass on. Start refd with ',
          el('code', {}, '--smtp-url smtp://host:587'),
          ' and ',
          el('code', {}, '--mail-from'),
          ' to send mail.',
        )
      : el('p', { class: 'ok', id: 'mail-transport-notice', role: 'status' }, `Mail goes out through the SMTP server ${smtp.url}.`);
  return section(
    'How mail goes out',
    notice,
    el(
      'div',
      { id: 'mail-settings' },
      facts([
        ['Transport', s.transport === 'smtp' ? 'SMTP' : 'Log only (no SMTP server)'],
        smtp ? ['SMTP server', el('code', {}, smtp.url)] : null,
        smtp ? ['Encryption', tls[smtp.tls] || smtp.tls] : null,
        smtp ? ['Login', smtp.username || 'none'] : null,
        ['From', s.from],
        ['Daily digests', `from ${String(s.digest_hour_utc).padStart(2, '0')}:00 UTC`],
        ['Outbox', `${s.queue.pending} waiting, ${s.queue.delivered} ${s.transport === 'smtp' ? 'sent' : 'logged'}, ${s.queue.failed} given up`],
      ]),
    ),
  );
}

function testForm(ctx, settings, reload) {
  const to = input('to', { type: 'email', autocomplete: 'email', value: ctx.session.email || '', required: true });
  return form(
    {
      id: 'mail-test',
      label: 'Send a test message',
      submit: 'Send test message',
      busyText: 'Queueing…',
      onSubmit: async (fm) => {
        const addr = val(fm, 'to');
        if (!addr) throw new FieldError('to', 'An address to send the test message to.');
        const m = await api('POST', '/api/v1/mail/test', { to: addr });
        announce(settings.transport === 'smtp' ? `Test message queued for ${m.to.email}; it leaves within seconds.` : `Test message written to refd's log for ${m.to.email} (no SMTP server).`);
        reload();
      },
    },
    el('div', { class: 'grid' }, field('To', to, { hint: 'The message says which server sent it; it then appears under Recent messages.' })),
  );
}

// A select of every message, an optional partner for the partners' messages, and the chosen message's subject,
// header fields, text and HTML. The HTML is shown in a sandboxed frame: no script runs, no link opens inside it.
function previewPanel(kinds) {
  const kind = select('kind', kinds.map((k) => [k.kind, `${k.audience === 'admin' ? 'Admins' : 'Partners'}: ${k.subject}`]), kinds[0]?.kind, { id: 'preview-kind' });
  const picker = partnerPicker({ name: 'partner_id', label: 'For partner', hint: 'Empty for a sample partner. Deals, commissions and payouts are samples either way.' });
  const out = el('div', { id: 'mail-preview', 'aria-live': 'polite' });
  const when = el('p', { class: 'muted', id: 'preview-when' });
  let seq = 0;
  async function show() {
    const mine = ++seq;
    const k = kinds.find((x) => x.kind === kind.value);
    when.textContent = k ? `${k.when} ${k.optional ? `Recipients may turn it off (“${k.title}”); it carries one-click unsubscribe.` : 'It always goes.'}` : '';
    picker.hidden = !k || k.audience !== 'partner';
    const q = new URLSearchParams();
    const pid = picker.querySelector('input[type=hidden]').value;
    if (k && k.audience === 'partner' && pid) q.set('partner_id', pid);
    out.setAttribute('aria-busy', 'true');
    try {
      const p = await api('GET', `/api/v1/mail/previews/${encodeURIComponent(kind.value)}${q.toString() ? `?${q}` : ''}`);
      if (mine !== seq) return;
      const frame = el('iframe', { sandbox: '', title: `HTML of “${p.subject}”`, class: 'mail-html', id: 'preview-html', srcdoc: p.html });
      out.replaceChildren(
        facts([
          ['Subject', el('strong', { id: 'preview-subject' }, p.subject)],
          ['To', p.to.name ? `${p.to.name} <${p.to.email}>` : p.to.email],
          ['Opens', p.link ? el('code', { class: 'break', id: 'preview-link' }, p.link) : 'no page'],
          ...Object.entries(p.headers).map(([h, v]) => [h, el('code', { class: 'break' }, v)]),
        ]),
        el('div', { class: 'mail-parts' }, el('div', {}, el('h3', {}, 'Text'), el('pre', { class: 'mail-text', id: 'preview-text', tabindex: '0' }, p.text)), el('div', {}, el('h3', {}, 'HTML'), frame)),
      );
    } catch (e) {
      if (mine === seq) out.replaceChildren(el('p', { class: 'error', role: 'alert' }, e.message));
    } finally {
      if (mine === seq) out.removeAttribute('aria-busy');
    }
  }
  kind.addEventListener('change', show);
  picker.addEventListener('change', show);
  show();
  return el('div', {}, el('div', { class: 'toolbar' }, el('span', { class: 'ctl' }, el('label', { for: 'preview-kind' }, 'Message'), kind), picker), when, out);
}

async function messagePage(id) {
  const m = await api('GET', `/api/v1/mail/messages/${encodeURIComponent(id)}`);
  return el(
    'section',
    {},
    pageHeader(m.subject, badge(m.status)),
    el('p', {}, link('#mail', '← Email')),
    facts([
      ['To', m.to.name ? `${m.to.name} <${m.to.email}>` : m.to.email],
      ['Kind', m.category],
      ['Written', fmtDateTime(m.created_at)],
      ['Sent', fmtDateTime(m.sent_at)],
      ['Next attempt', m.next_attempt_at ? fmtDateTime(m.next_attempt_at) : '—'],
      ['Message-ID', el('code', {}, m.message_id)],
      m.partner_id ? ['Partner', partnerLink(m.partner_id)] : null,
      m.link ? ['Opens', el('code', { class: 'break' }, m.link)] : null,
    ]),
    section(
      'Attempts',
      table({
        id: 'mail-attempts',
        caption: 'Attempts to send it',
        captionHidden: true,
        rows: m.attempt_log,
        empty: 'Not tried yet.',
        columns: [
          { label: 'At', render: (a) => fmtDateTime(a.at) },
          { label: 'Answer', render: (a) => (a.status_code ? String(a.status_code) : '—') },
          { label: 'Time', num: true, render: (a) => `${a.latency_ms} ms` },
          { label: 'Error', render: (a) => a.error || '—' },
        ],
      }),
    ),
    section('Text', m.sealed ? el('p', { class: 'muted' }, 'A password reset: its text holds a one-time link, so it is not kept.') : el('pre', { class: 'mail-text', tabindex: '0' }, m.text || '')),
  );
}
