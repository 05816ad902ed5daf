// The admin UI: a session check, then the page named by the location hash.
import { api, el, loginForm, logout, money, session } from './api.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');

const pages = {
  dashboard: { title: 'Dashboard', render: dashboard },
};

async function dashboard() {
  const [sum, queues] = await Promise.all([
    api('GET', '/api/v1/reports/summary'),
    api('GET', '/api/v1/reports/queues'),
  ]);
  const card = (label, value, id) => el('div', { class: 'stat', id }, el('span', { class: 'label' }, label), el('span', { class: 'value' }, value));
  return el(
    'section',
    { 'aria-labelledby': 'h-dash' },
    el('h1', { id: 'h-dash' }, 'Dashboard'),
    el('p', { class: 'muted' }, `${sum.from} to ${sum.to}`),
    el(
      'div',
      { class: 'stats' },
      card('Clicks', sum.clicks, 'stat-clicks'),
      card('Leads', sum.leads, 'stat-leads'),
      card('Customers', sum.customers, 'stat-customers'),
      card('Revenue', money(sum.revenue), 'stat-revenue'),
      card('Partners awaiting approval', queues.partners_awaiting_approval, 'stat-applied'),
      card('Deals awaiting review', queues.deals_awaiting_review, 'stat-deals'),
      card('Commissions on hold', queues.commissions_on_hold, 'stat-held'),
    ),
  );
}

async function show() {
  const name = (location.hash || '#dashboard').slice(1).split('/')[0];
  const page = pages[name] || pages.dashboard;
  document.title = `${page.title} · refd`;
  for (const a of nav.querySelectorAll('a')) a.toggleAttribute('aria-current', a.dataset.page === name);
  main.replaceChildren(el('p', { class: 'loading' }, 'Loading…'));
  try {
    main.replaceChildren(await page.render());
  } catch (e) {
    main.replaceChildren(el('p', { class: 'error', role: 'alert' }, e.message));
  }
  main.focus();
}

async function start() {
  const s = await session();
  if (!s || (s.role !== 'admin' && s.role !== 'owner')) {
    nav.hidden = true;
    who.textContent = '';
    main.replaceChildren(loginForm('Log in to refd', start));
    return;
  }
  nav.replaceChildren(...Object.entries(pages).map(([k, p]) => el('a', { href: `#${k}`, 'data-page': k }, p.title)));
  nav.hidden = false;
  who.replaceChildren(s.email || '', ' ', el('button', { type: 'button', class: 'link', onclick: async () => { await logout(); start(); } }, 'Log out'));
  window.addEventListener('hashchange', show);
  show();
}

start();
