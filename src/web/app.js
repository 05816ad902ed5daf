// SPDX-License-Identifier: Apache-2.0
// The admin UI: a session check, then the screen named by the location hash (#partners, #partners/ptn_…,
// #commissions?status=held …). Each screen lives in its own admin-*.js module and renders into <main>.
import { api, el, loadCurrencies, loginForm, logout, session } from './api.js';
import { resetForm } from './admin-reset.js';
import { alertError, clearAlert } from './admin-ui.js';
import * as dashboard from './admin-dashboard.js';
import * as programs from './admin-programs.js';
import * as partners from './admin-partners.js';
import * as links from './admin-links.js';
import * as leads from './admin-leads.js';
import * as sales from './admin-sales.js';
import * as commissions from './admin-commissions.js';
import * as payouts from './admin-payouts.js';
import * as fx from './admin-fx.js';
import * as integrations from './admin-integrations.js';
import * as users from './admin-users.js';
import * as webhooks from './admin-webhooks.js';
import * as settings from './admin-settings.js';
import * as mail from './admin-mail.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const menu = document.getElementById('menu-toggle');

// name → screen; nav: false keeps it out of the menu (reached from another screen), under: the menu entry it belongs to.
const routes = {
  dashboard: { title: 'Dashboard', render: dashboard.render },
  programs: { title: 'Programs', render: programs.render },
  plans: { title: 'Plan', render: programs.renderPlan, nav: false, under: 'programs' },
  partners: { title: 'Partners', render: partners.render },
  links: { title: 'Links', render: links.render },
  leads: { title: 'Leads', render: leads.render },
  deals: { title: 'Deals', render: leads.renderDeals },
  sales: { title: 'Sales', render: sales.render },
  commissions: { title: 'Commissions', render: commissions.render },
  payouts: { title: 'Payouts', render: payouts.render },
  fx: { title: 'FX rates', render: fx.render },
  integrations: { title: 'Integrations', render: integrations.render },
  users: { title: 'Users & keys', render: users.render },
  webhooks: { title: 'Webhooks', render: webhooks.render },
  mail: { title: 'Email', render: mail.render },
  settings: { title: 'Settings', render: settings.render },
};

const state = { session: null, programs: [] };
let seq = 0;
let lastRoute = null;
let firstShow = true; // the page was just loaded with a session

function parseHash() {
  const raw = decodeURIComponent(location.hash.slice(1) || 'dashboard');
  const [path, query = ''] = raw.split('?');
  const [name, ...rest] = path.split('/');
  return { name: routes[name] ? name : 'dashboard', arg: rest.join('/') || null, query: new URLSearchParams(query), key: raw };
}

async function loadPrograms() {
  const res = await api('GET', '/api/v1/programs?limit=100');
  state.programs = res.data;
  return state.programs;
}

async function show() {
  // The skip link targets #main: focus the content, keep the current screen.
  if (location.hash === '#main') {
    history.replaceState(null, '', lastRoute ? `#${lastRoute}` : '#dashboard');
    main.focus();
    return;
  }
  if (location.hash.startsWith('#reset=')) {
    start();
    return;
  }
  const r = parseHash();
  const route = routes[r.name];
  const mine = ++seq;
  document.title = `${route.title} · refd`;
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.page === r.name || a.dataset.page === route.under) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.querySelector('.top').classList.remove('open');
  menu.setAttribute('aria-expanded', 'false');
  clearAlert();
  main.setAttribute('aria-busy', 'true');
  const ctx = {
    arg: r.arg,
    query: r.query,
    session: state.session,
    programs: state.programs,
    reloadPrograms: loadPrograms,
  };
  let node;
  try {
    node = await route.render(ctx);
  } catch (e) {
    if (e.status === 401) {
      start();
      return;
    }
    node = el('section', {}, el('h1', { class: 'page-title', tabindex: '-1' }, route.title), el('p', { class: 'error', role: 'alert' }, e.message));
  }
  if (mine !== seq) return; // a later navigation won
  const focusWasInside = main.contains(document.activeElement) || document.activeElement === document.body;
  main.replaceChildren(node);
  main.removeAttribute('aria-busy');
  const title = main.querySelector('.page-title');
  if (title && title.textContent) {
    const plain = title.cloneNode(true);
    for (const b of plain.querySelectorAll('.badge')) b.remove();
    document.title = `${plain.textContent.trim()} · refd`;
  }
  // Moving to another screen puts focus on its heading; the same screen re-rendered keeps the page's place.
  // Another screen puts focus on its heading, and so does an action that re-renders the screen (rather than
  // leaving focus nowhere); the first screen of a page load leaves focus at the top, where the skip link is.
  if (firstShow) firstShow = false;
  else if (lastRoute !== r.key || focusWasInside) (title || main).focus({ preventScroll: false });
  lastRoute = r.key;
}

function renderNav() {
  nav.replaceChildren(
    ...Object.entries(routes)
      .filter(([, p]) => p.nav !== false)
      .map(([k, p]) => el('a', { href: `#${k}`, 'data-page': k }, p.title)),
  );
  nav.hidden = false;
  menu.hidden = false;
}

let listening = false;

async function start() {
  // A password reset link (#reset=TOKEN, from the email refd sends) asks for the new password before anything else.
  if (location.hash.startsWith('#reset=')) {
    nav.hidden = true;
    menu.hidden = true;
    who.textContent = '';
    firstShow = false;
    main.replaceChildren(
      resetForm(decodeURIComponent(location.hash.slice('#reset='.length)), () => {
        history.replaceState(null, '', `${location.pathname}${location.search}#dashboard`);
        start();
      }),
    );
    main.querySelector('input[type=password]').focus();
    return;
  }
  let s;
  try {
    // The server's currency table comes before the first screen (fetched once; a later start reuses it): every
    // amount the screens show or read is formatted and parsed with it.
    [s] = await Promise.all([session(), loadCurrencies()]);
  } catch (e) {
    main.replaceChildren(el('p', { class: 'error', role: 'alert' }, e.message));
    return;
  }
  if (!s || (s.role !== 'admin' && s.role !== 'owner')) {
    nav.hidden = true;
    menu.hidden = true;
    who.textContent = '';
    const f = loginForm('Log in to refd', () => {
      firstShow = false;
      start();
    });
    f.id = 'login-form';
    const note = s ? el('p', { class: 'error', role: 'alert' }, 'This account is not an admin: partners use the partner portal at /portal.') : null;
    firstShow = false;
    main.replaceChildren(...[note, f].filter(Boolean));
    const email = main.querySelector('input[type=email]');
    if (email) email.focus();
    return;
  }
  state.session = s;
  try {
    await loadPrograms();
  } catch (e) {
    alertError(e);
  }
  renderNav();
  who.replaceChildren(
    el('span', { class: 'who-email' }, s.email || ''),
    ' ',
    el('button', {
      type: 'button',
      class: 'link',
      id: 'logout',
      onclick: async () => {
        await logout();
        lastRoute = null;
        start();
      },
    }, 'Log out'),
  );
  if (!listening) {
    window.addEventListener('hashchange', show);
    listening = true;
  }
  lastRoute = null;
  show();
}

menu.addEventListener('click', () => {
  const open = document.querySelector('.top').classList.toggle('open');
  menu.setAttribute('aria-expanded', String(open));
  if (open) nav.querySelector('a')?.focus();
});

document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && document.querySelector('.top.open')) {
    document.querySelector('.top').classList.remove('open');
    menu.setAttribute('aria-expanded', 'false');
    menu.focus();
  }
});

document.getElementById('skip').addEventListener('click', (ev) => {
  ev.preventDefault();
  const title = main.querySelector('.page-title');
  (title || main).focus();
});

start();
