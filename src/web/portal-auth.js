// SPDX-License-Identifier: Apache-2.0
// The portal's public pages: log in, apply to become a partner, ask for a password reset link, and set a new
// password from that link (/portal#reset=TOKEN). Each form shows the server's errors next to their fields.
import { api, el, login } from './api.js';
import { announce, field, formError, onSubmit, showErrors } from './portal-ui.js';

// The program a sign-up applies to: ?program=prg_… in the page's address, when the business's link carries it.
export function programFromUrl() {
  const p = new URLSearchParams(location.search).get('program');
  return p && /^prg_[A-Za-z0-9]{1,60}$/.test(p) ? p : null;
}

// The recruitment code of a partner's recruitment link (/portal?recruiter=CODE): the sign-up names that partner
// as the new partner's recruiter. Anything else in the parameter is left for the server to judge (it says why).
export function recruiterFromUrl() {
  const c = (new URLSearchParams(location.search).get('recruiter') || '').trim();
  return c && c.length <= 64 ? c : null;
}

export function loginPage(onDone, prefillEmail = '', notice = '') {
  const email = field('email', 'Email', { type: 'email', required: true, autocomplete: 'username', id: 'login-email', value: prefillEmail || undefined });
  const password = field('password', 'Password', { type: 'password', required: true, autocomplete: 'current-password', id: 'login-password' });
  const form = el(
    'form',
    { class: 'card auth-card', 'aria-labelledby': 'h-login', novalidate: true },
    el('h1', { id: 'h-login' }, 'Partner login'),
    notice ? el('p', { class: 'notice', role: 'status' }, notice) : null,
    email,
    password,
    formError(),
    el('button', { type: 'submit' }, 'Log in'),
    el('p', { class: 'aside' }, el('a', { href: '#forgot' }, 'Forgot your password?')),
  );
  onSubmit(form, async () => {
    const errors = {};
    if (!email.control.value.trim()) errors.email = 'Enter your email address.';
    if (!password.control.value) errors.password = 'Enter your password.';
    if (Object.keys(errors).length) return showErrors(form, errors);
    await login(email.control.value.trim(), password.control.value);
    announce('Logged in.');
    await onDone();
  });
  const apply = el(
    'section',
    { class: 'card auth-card apply-teaser', 'aria-labelledby': 'h-apply' },
    el('h2', { id: 'h-apply' }, 'New here?'),
    el('p', {}, 'Refer customers, follow your clicks and leads, and get paid on a schedule you can see.'),
    el('a', { class: 'button', href: '#signup' }, 'Apply to become a partner'),
  );
  return el('div', { class: 'auth-grid' }, form, apply);
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function signupPage(onDone) {
  const program = programFromUrl();
  const recruiter = recruiterFromUrl();
  const fields = {
    name: field('name', 'Your name', { required: true, autocomplete: 'name', maxlength: 200 }),
    email: field('email', 'Email', { type: 'email', required: true, autocomplete: 'email', maxlength: 254 }),
    password: field('password', 'Password', {
      type: 'password',
      required: true,
      autocomplete: 'new-password',
      hint: 'At least 10 characters.',
    }),
    company: field('company', 'Company', { autocomplete: 'organization', maxlength: 200 }),
    website: field('website', 'Website', { type: 'url', autocomplete: 'url', inputmode: 'url', hint: 'Where you will tell people about us (optional).' }),
    message: field('message', 'Anything we should know?', { rows: 3, maxlength: 2000 }),
    recruitment_code: field('recruitment_code', 'Recruitment code', {
      value: recruiter || undefined,
      autocomplete: 'off',
      maxlength: 64,
      hint: recruiter
        ? 'From the link of the partner who invited you: your application names them as your recruiter.'
        : 'The code of the partner who invited you, if one did (optional).',
    }),
  };
  // The program id is not something people type: it comes with the link. It still gets a field, shown only when
  // the server has something to say about it (several programs, or one that takes no applications).
  const prog = field('program_id', 'Program', {
    readonly: !!program,
    value: program || '',
    hint: program ? null : 'The program code (prg_…) from the link you were given.',
  });
  prog.hidden = !program;
  const form = el(
    'form',
    { class: 'card auth-card wide', 'aria-labelledby': 'h-signup', novalidate: true },
    el('h1', { id: 'h-signup' }, 'Apply to become a partner'),
    el('p', { class: 'muted' }, 'Fields marked * are needed. We review each application; you can log in at once and see where it stands.'),
    recruiter ? el('p', { class: 'notice', id: 'recruited-notice', role: 'status' }, 'A partner of the program invited you: apply here to join as their recruit.') : null,
    prog,
    ...Object.values(fields),
    formError(),
    el('button', { type: 'submit' }, 'Send my application'),
    el('p', { class: 'aside' }, 'Already a partner? ', el('a', { href: '#login' }, 'Log in')),
  );
  onSubmit(form, async () => {
    const v = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.control.value.trim()]));
    v.password = fields.password.control.value; // passwords are taken as typed
    const errors = {};
    if (!v.name) errors.name = 'Enter your name.';
    if (!EMAIL.test(v.email)) errors.email = 'Enter an email address, like name@example.com.';
    if (v.password.length < 10) errors.password = 'The password needs at least 10 characters.';
    if (Object.keys(errors).length) return showErrors(form, errors);
    const body = { name: v.name, email: v.email, password: v.password };
    const pid = program || prog.control.value.trim();
    if (pid) body.program_id = pid;
    for (const k of ['company', 'website', 'message', 'recruitment_code']) if (v[k]) body[k] = v[k];
    try {
      await api('POST', '/api/v1/portal/signup', body);
    } catch (e) {
      if (e.field === 'program_id') prog.hidden = false;
      throw e;
    }
    announce('Application sent.');
    await onDone();
  });
  return form;
}

export function forgotPage() {
  const email = field('email', 'Email', { type: 'email', required: true, autocomplete: 'username' });
  const done = el('p', { class: 'notice', role: 'status', tabindex: '-1', hidden: true });
  const form = el(
    'form',
    { class: 'card auth-card', 'aria-labelledby': 'h-forgot', novalidate: true },
    el('h1', { id: 'h-forgot' }, 'Forgot your password?'),
    el('p', { class: 'muted' }, 'Give the email you log in with. If it has an account, a one-time link to set a new password is sent to it; the link works for one hour.'),
    email,
    formError(),
    el('button', { type: 'submit' }, 'Send me a link'),
    done,
    el('p', { class: 'aside' }, el('a', { href: '#login' }, 'Back to log in')),
  );
  onSubmit(form, async () => {
    const v = email.control.value.trim();
    if (!EMAIL.test(v)) return showErrors(form, { email: 'Enter an email address, like name@example.com.' });
    const r = await api('POST', '/api/v1/auth/password-reset', { email: v });
    // The same answer whatever the address: it never tells whether an account exists.
    done.textContent = `${r.message.charAt(0).toUpperCase()}${r.message.slice(1)}.`;
    done.hidden = false;
    done.focus();
  });
  return form;
}

export function resetPage(token, onDone) {
  const pw = field('password', 'New password', { type: 'password', required: true, autocomplete: 'new-password', hint: 'At least 10 characters.' });
  const again = field('password_again', 'New password again', { type: 'password', required: true, autocomplete: 'new-password' });
  const tok = field('token', 'Link', { readonly: true });
  tok.hidden = true;
  const form = el(
    'form',
    { class: 'card auth-card', 'aria-labelledby': 'h-reset', novalidate: true },
    el('h1', { id: 'h-reset' }, 'Set a new password'),
    el('p', { class: 'muted' }, 'Choose a new password for your account. Every session of the account ends, so you log in again afterwards.'),
    tok,
    pw,
    again,
    formError(),
    el('button', { type: 'submit' }, 'Set the password'),
    el('p', { class: 'aside' }, el('a', { href: '#forgot' }, 'Ask for a new link')),
  );
  onSubmit(form, async () => {
    const p = pw.control.value;
    if (p.length < 10) return showErrors(form, { password: 'The password needs at least 10 characters.' });
    if (p !== again.control.value) return showErrors(form, { password_again: 'The two passwords differ.' });
    try {
      const r = await api('POST', '/api/v1/auth/password-reset/confirm', { token, password: p });
      // The token is spent: take it out of the address bar and the history entry.
      history.replaceState(null, '', `${location.pathname}${location.search}#login`);
      announce('Your password is set. Log in with it.');
      await onDone(r.email);
    } catch (e) {
      if (e.field === 'token') tok.hidden = false;
      throw e;
    }
  });
  return form;
}

// What an applicant sees between sign-up and approval.
export function waitingPage(partner, onLogout) {
  return el(
    'section',
    { class: 'card auth-card wide', 'aria-labelledby': 'h-wait' },
    el('h1', { id: 'h-wait' }, 'Thank you for applying'),
    el('p', { class: 'notice', role: 'status' }, 'Your application is waiting for approval.'),
    el('p', {}, `We review applications by hand. Once ${partner.name}'s account is approved, this portal shows your links, leads and earnings; come back and log in with ${partner.email}.`),
    el('button', { type: 'button', class: 'secondary', onclick: onLogout }, 'Log out'),
  );
}

// Any other reason the portal cannot open: a banned account, or a user who is not a partner.
export function blockedPage(title, text, onLogout, extra = null) {
  return el(
    'section',
    { class: 'card auth-card wide', 'aria-labelledby': 'h-blocked' },
    el('h1', { id: 'h-blocked' }, title),
    el('p', { role: 'status' }, text),
    extra,
    el('button', { type: 'button', class: 'secondary', onclick: onLogout }, 'Log out'),
  );
}
