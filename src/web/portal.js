// SPDX-License-Identifier: Apache-2.0
// The partner portal: who is logged in (a partner or a manager, with the partner record of its session), then the
// page the location hash names. Logged out: log in, apply, forgot password, and #reset=TOKEN from a reset link.
import { api, el, loadCurrencies, logout, session } from './api.js';
import { blockedPage, forgotPage, loginPage, programFromUrl, recruiterFromUrl, resetPage, signupPage, waitingPage } from './portal-auth.js';
import { homePage } from './portal-home.js';
import { linksPage } from './portal-links.js';
import { leadPage, leadsPage, registerPage } from './portal-leads.js';
import { commissionPage, commissionsPage, statementsPage } from './portal-money.js';
import { fetchAll, networkPage, teamPage } from './portal-network.js';
import { resultsPage } from './portal-results.js';
import { notificationsPage } from './portal-notifications.js';
import { announce } from './portal-ui.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const navList = document.getElementById('nav-list');
const menuBtn = document.getElementById('menu-button');
const who = document.getElementById('who');
const banner = document.getElementById('banner');

// The pages of a logged-in partner, in the order of the menu. `team` pages show only to a team parent.
const pages = {
  home: { title: 'Home', render: homePage },
  links: { title: 'Links', render: linksPage },
  results: { title: 'Results', render: resultsPage },
  leads: { title: 'Leads', render: leadsPage },
  register: { title: 'Register a deal', render: registerPage },
  commissions: { title: 'Commissions', render: commissionsPage },
  statements: { title: 'Statements', render: statementsPage },
  network: { title: 'Network', render: networkPage },
  team: { title: 'Team', render: teamPage, team: true },
  notifications: { title: 'Email settings', render: notificationsPage },
};
// Detail pages: not in the menu, reached from a list (#lead/lead_…, #commission/com_…).
const details = {
  lead: { title: 'Lead', render: leadPage, parent: 'leads' },
  commission: { title: 'Commission', render: commissionPage, parent: 'commissions' },
};
const publicPages = { login: 'Log in', signup: 'Apply', forgot: 'Forgot password' };

// The logged-in partner: {session, partner, program, team: [agents], names: Map(id → name)}, or null.
let me = null;
let first = true; // the first page after loading keeps the focus where the browser put it

// "#commissions?status=paid" → {name: 'commissions', arg: null, params}; "#lead/lead_x" → {name: 'lead', arg:
// 'lead_x'}; "#reset=TOKEN" → {name: 'reset', arg: 'TOKEN'}.
function parseHash() {
  const h = decodeURIComponent(location.hash.slice(1));
  if (h.startsWith('reset=')) return { name: 'reset', arg: h.slice(6), params: new URLSearchParams() };
  const [path, query] = h.split('?');
  const [name, arg] = path.split('/');
  return { name: name || '', arg: arg || null, params: new URLSearchParams(query || '') };
}

function setTitle(t) {
  document.title = `${t} · Partner portal`;
}

async function loadMe() {
  const s = await session();
  if (!s) return null;
  if (!s.partner_id) return { session: s, partner: null };
  const partner = await api('GET', `/api/v1/partners/${encodeURIComponent(s.partner_id)}`);
  const m = { session: s, partner, program: null, team: [], names: new Map([[partner.id, partner.name]]) };
  if (partner.status === 'applied' || partner.status === 'banned') return m;
  const [program, team] = await Promise.all([
    api('GET', `/api/v1/programs/${encodeURIComponent(partner.program_id)}`).catch(() => null),
    fetchAll(`/api/v1/partners?team_parent_id=${encodeURIComponent(partner.id)}`).catch(() => []),
  ]);
  m.program = program;
  m.team = team.filter((p) => p.id !== partner.id);
  for (const a of m.team) m.names.set(a.id, a.name);
  return m;
}

function renderChrome() {
  const active = me && me.partner && me.partner.status !== 'applied' && me.partner.status !== 'banned';
  nav.hidden = !active;
  menuBtn.hidden = !active;
  if (active) {
    navList.replaceChildren(
      ...Object.entries(pages)
        .filter(([, p]) => !p.team || me.team.length)
        .map(([k, p]) => el('li', {}, el('a', { href: `#${k}`, 'data-page': k }, p.title))),
    );
  }
  if (me) {
    const name = me.partner ? me.partner.name : me.session.email;
    who.replaceChildren(
      el('span', { class: 'who-name' }, name),
      el('button', { type: 'button', class: 'link', id: 'logout', onclick: doLogout }, 'Log out'),
    );
  } else {
    who.replaceChildren();
  }
  banner.hidden = true;
  banner.replaceChildren();
  if (me && me.partner && me.partner.status === 'suspended') {
    banner.hidden = false;
    banner.append(
      el('strong', {}, 'Your account is suspended. '),
      me.partner.status_reason ? `Reason: ${me.partner.status_reason}. ` : '',
      'Your links do not earn while it is; you can still see your figures. Contact the program team to sort it out.',
    );
  }
}

async function doLogout() {
  await logout().catch(() => {});
  me = null;
  renderChrome();
  history.replaceState(null, '', `${location.pathname}${location.search}#login`);
  announce('Logged out.');
  await route();
}

function closeMenu() {
  menuBtn.setAttribute('aria-expanded', 'false');
  nav.classList.remove('open');
}

menuBtn.addEventListener('click', () => {
  const open = menuBtn.getAttribute('aria-expanded') !== 'true';
  menuBtn.setAttribute('aria-expanded', String(open));
  nav.classList.toggle('open', open);
  if (open) {
    const a = navList.querySelector('a[aria-current="page"]') || navList.querySelector('a');
    if (a) a.focus();
  }
});

// Choosing a page folds the menu, also when it is the page already shown (no hashchange then).
navList.addEventListener('click', (ev) => {
  if (ev.target.closest('a')) closeMenu();
});

// The skip link must not change the hash (the hash names the page): it moves the focus to the content itself.
document.querySelector('.skip').addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
  main.scrollIntoView();
});

document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && nav.classList.contains('open')) {
    closeMenu();
    menuBtn.focus();
  }
});

function show(node, title) {
  setTitle(title);
  main.replaceChildren(node);
  if (!first) {
    // Move the focus to the new page's heading, so keyboard and screen-reader users start reading there.
    const h = main.querySelector('h1');
    if (h) {
      h.setAttribute('tabindex', '-1');
      h.focus({ preventScroll: false });
    } else main.focus();
  }
  first = false;
}

async function afterAuth() {
  me = await loadMe();
  renderChrome();
  const { name } = parseHash();
  if (!name || publicPages[name] || name === 'reset') history.replaceState(null, '', `${location.pathname}${location.search}#home`);
  await route();
}

async function route() {
  const h = parseHash();
  closeMenu();
  for (const a of navList.querySelectorAll('a')) {
    const cur = a.dataset.page === h.name || (details[h.name] && details[h.name].parent === a.dataset.page);
    if (cur) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (h.name === 'reset') {
    show(
      resetPage(h.arg, async (email) => {
        me = null;
        renderChrome();
        show(loginPage(afterAuth, email, 'Your password is set. Log in with it.'), publicPages.login);
      }),
      'Set a new password',
    );
    return;
  }
  if (!me) {
    // A program's sign-up link (?program=) and a partner's recruitment link (?recruiter=) open the sign-up page.
    if (h.name === 'signup' || (!h.name && (programFromUrl() || recruiterFromUrl()))) show(signupPage(afterAuth), publicPages.signup);
    else if (h.name === 'forgot') show(forgotPage(), publicPages.forgot);
    else show(loginPage(afterAuth), publicPages.login);
    return;
  }
  if (!me.partner) {
    show(
      blockedPage('This portal is for partners', `You are logged in as ${me.session.email} (${me.session.role}), which belongs to no partner.`, doLogout, el('p', {}, el('a', { href: '/app' }, 'Open the admin app'))),
      'Not a partner',
    );
    return;
  }
  if (me.partner.status === 'applied') {
    show(waitingPage(me.partner, doLogout), 'Application received');
    return;
  }
  if (me.partner.status === 'banned') {
    show(blockedPage('This account is closed', `The partner account ${me.partner.name} was closed by the program team.`, doLogout), 'Account closed');
    return;
  }
  if (!h.name || publicPages[h.name]) {
    history.replaceState(null, '', `${location.pathname}${location.search}#home`);
    h.name = 'home';
  }
  const page = pages[h.name] && (!pages[h.name].team || me.team.length) ? pages[h.name] : details[h.name] && h.arg ? details[h.name] : null;
  if (!page) {
    show(el('div', { class: 'page' }, el('h1', {}, 'Page not found'), el('p', {}, el('a', { href: '#home' }, 'Back to the home page'))), 'Not found');
    return;
  }
  main.setAttribute('aria-busy', 'true');
  const token = location.hash;
  try {
    const node = await page.render(me, h.arg || h.params, h.params);
    if (location.hash !== token) return; // another page was asked for meanwhile
    show(node, page.title);
  } catch (e) {
    if (e.status === 401) {
      me = null;
      renderChrome();
      show(loginPage(afterAuth, '', 'Your session ended. Log in again.'), publicPages.login);
      return;
    }
    show(el('div', { class: 'page' }, el('h1', {}, page.title), el('p', { class: 'error', role: 'alert' }, e.message)), page.title);
  } finally {
    main.removeAttribute('aria-busy');
  }
}

// The server's currency table comes before the first page: every amount the pages show is formatted with it.
const currencies = loadCurrencies();

window.addEventListener('hashchange', () => {
  currencies.then(route).catch((e) => main.replaceChildren(el('p', { class: 'error', role: 'alert' }, e.message)));
});

async function start() {
  try {
    [me] = await Promise.all([loadMe(), currencies]);
  } catch (e) {
    main.replaceChildren(el('p', { class: 'error', role: 'alert' }, `The portal could not load: ${e.message}`));
    return;
  }
  renderChrome();
  await route();
}

start();
