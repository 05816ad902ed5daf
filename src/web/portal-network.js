// SPDX-License-Identifier: Apache-2.0
// The partner's people: its recruitment link (to share, with a Copy button and a QR code), the partners it
// recruited and the overrides they earned it (GET /partners?recruited_by_id and its commissions with role
// "override"), and for a team parent its agents and their results (GET /partners?team_parent_id and
// /reports/breakdown?group_by=agent).
import { api, el, money } from './api.js';
import { addDays, announce, badge, field, formError, onSubmit, section, table, timeEl, ymd } from './portal-ui.js';
import { FIGURES } from './portal-results.js';
import { commissionCols } from './portal-money.js';
import { copyRow, qrDataUrl } from './portal-links.js';

// The recruitment link: new partners who sign up through it (or type its code) are recorded as recruited by this
// partner. The API gives the link only while the partner is active; the code is the partner's for good.
function recruitCard(partner) {
  if (!partner.recruitment_url) {
    return el('p', { class: 'notice', id: 'recruit-link' }, 'Your recruitment link works again once your account is active.');
  }
  const url = partner.recruitment_url;
  const src = qrDataUrl(url);
  return el(
    'article',
    { class: 'card link-card', id: 'recruit-link', 'aria-label': 'My recruitment link' },
    el(
      'div',
      { class: 'link-text' },
      copyRow('Recruitment link', url, 'recruit-url'),
      copyRow('Recruitment code', partner.recruitment_code, 'recruit-code'),
      el('p', { class: 'muted small' }, 'People who apply through this link, or type the code when they apply, join as partners you recruited. When they earn a commission, you earn a bonus on it, as the program’s plan says.'),
    ),
    el(
      'figure',
      { class: 'qr' },
      el('img', { src, alt: `QR code for ${url}`, width: 164, height: 164, class: 'qr-img' }),
      el('figcaption', {}, el('a', { href: src, download: 'recruitment-link-qr.gif' }, 'Download the QR code')),
    ),
  );
}

// Every page of a list, up to max rows (a portal list is small; the bound keeps a browser from looping).
export async function fetchAll(path, max = 1000) {
  const sep = path.includes('?') ? '&' : '?';
  const out = [];
  let after = null;
  for (;;) {
    const page = await api('GET', `${path}${sep}limit=100${after ? `&starting_after=${encodeURIComponent(after)}` : ''}`);
    out.push(...page.data);
    if (!page.has_more || !page.data.length || out.length >= max) return out;
    after = page.data[page.data.length - 1].id;
  }
}

function sumBy(entries, key) {
  const m = new Map();
  for (const c of entries) {
    if (c.status === 'rejected' || !c.amount) continue;
    const k = `${key(c)}|${c.amount.currency}`;
    const cur = m.get(k) || { key: key(c), currency: c.amount.currency, amount: 0, count: 0 };
    cur.amount += c.amount.amount;
    cur.count += 1;
    m.set(k, cur);
  }
  return [...m.values()];
}

export async function networkPage(me) {
  const id = me.partner.id;
  const [recruits, mine] = await Promise.all([
    fetchAll(`/api/v1/partners?recruited_by_id=${encodeURIComponent(id)}`),
    fetchAll(`/api/v1/commissions?partner_id=${encodeURIComponent(id)}`),
  ]);
  const overrides = mine.filter((c) => c.role === 'override');
  const byLevel = sumBy(overrides, (c) => c.level).sort((a, b) => a.key - b.key || a.currency.localeCompare(b.currency));
  const levelName = (l) => (l === 1 ? 'Level 1: partners you recruited' : `Level ${l}: partners recruited ${l - 1} step${l > 2 ? 's' : ''} further down`);
  const recruitsBlock = recruits.length
    ? table(
        { text: 'Partners you recruited' },
        [
          { label: 'Name', cell: (p) => p.name },
          { label: 'Kind', cell: (p) => p.kind },
          { label: 'Status', cell: (p) => badge(p.status) },
          { label: 'Joined', cell: (p) => timeEl(p.created_at) },
        ],
        recruits,
      )
    : el(
        'p',
        { class: 'muted empty', id: 'recruits-empty' },
        overrides.length
          ? 'No partner lists you as its recruiter any more; what your network earned you is below, and each entry’s details name the partner it comes from.'
          : 'No partners joined through you yet. Share your recruitment link: when a partner you recruited earns a commission, you earn an override on it.',
      );
  return el(
    'div',
    { class: 'page' },
    el('h1', { id: 'h-page' }, 'My network'),
    section('h-recruit', 'Recruit partners', recruitCard(me.partner)),
    section('h-recruits', 'Partners I recruited', recruitsBlock),
    section(
      'h-overrides',
      'What they earned me',
      byLevel.length
        ? table(
            { text: 'Override earnings by level', visible: true },
            [
              { label: 'Level', wrap: true, cell: (r) => levelName(r.key) },
              { label: 'Entries', num: true, cell: (r) => r.count },
              { label: 'Earned', num: true, cell: (r) => money({ amount: r.amount, currency: r.currency }) },
            ],
            byLevel,
          )
        : el('p', { class: 'muted empty' }, 'No override earnings yet.'),
      overrides.length ? table({ text: 'Override entries', visible: true }, commissionCols(me, false), overrides) : null,
      el('p', { class: 'muted small' }, 'Totals leave out rejected entries; reversals (refunds) count against them.'),
    ),
  );
}

export async function teamPage(me) {
  const today = new Date();
  const from = field('from', 'From', { type: 'date', value: ymd(addDays(today, -29)), required: true });
  const to = field('to', 'To', { type: 'date', value: ymd(today), required: true });
  const out = el('div', { id: 'agent-results' });
  const form = el('form', { class: 'inline-form', 'aria-label': 'Period' }, from, to, el('button', { type: 'submit' }, 'Show'), formError());
  const load = async () => {
    const p = new URLSearchParams({ program_id: me.partner.program_id, group_by: 'agent', from: from.control.value, to: to.control.value, limit: '100' });
    const bd = await api('GET', `/api/v1/reports/breakdown?${p}`);
    out.replaceChildren(
      el('p', { class: 'muted' }, `From ${bd.from} to ${bd.to} (UTC days, both included).`),
      table({ text: 'Results by agent', visible: true }, [{ label: 'Agent', cell: (r) => r.name || r.key }, ...FIGURES], bd.data, 'No agent results for this period.'),
    );
  };
  onSubmit(form, async () => {
    await load();
    announce('Agent results updated.');
  });
  await load();
  return el(
    'div',
    { class: 'page' },
    el('h1', { id: 'h-page' }, 'My team'),
    section('h-agent-results', 'Results of my agents', form, out),
    section(
      'h-agents',
      'Agents',
      table(
        { text: 'Agents of my team', visible: false },
        [
          { label: 'Name', cell: (a) => a.name },
          { label: 'Email', cell: (a) => el('span', { class: 'break' }, a.email) },
          { label: 'Status', cell: (a) => badge(a.status) },
          { label: 'Since', cell: (a) => timeEl(a.created_at) },
          { label: 'Commissions', cell: (a) => el('a', { href: `#commissions?who=${a.id}`, 'aria-label': `Commissions of ${a.name}` }, 'View') },
        ],
        me.team,
        'No agents in your team.',
      ),
    ),
  );
}
