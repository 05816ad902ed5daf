// The partner portal: a session check, then the partner's own pages.
import { api, el, loginForm, money, session } from './api.js';

const main = document.getElementById('main');

async function home() {
  const s = await session();
  const bal = await api('GET', `/api/v1/partners/${s.partner_id}/balance`);
  return el(
    'section',
    { 'aria-labelledby': 'h-home' },
    el('h1', { id: 'h-home' }, 'My earnings'),
    el('ul', {}, ...bal.balances.map((b) => el('li', {}, `Approved ${money(b.approved)}, pending ${money(b.pending)}, paid ${money(b.paid)}`))),
  );
}

async function start() {
  const s = await session();
  if (!s || !s.partner_id) {
    main.replaceChildren(loginForm('Partner login', start));
    return;
  }
  main.replaceChildren(await home());
}

start();
