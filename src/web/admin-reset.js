// SPDX-License-Identifier: Apache-2.0
// Setting a new password from the link of a password reset email (/app#reset=TOKEN): the form, then the login.
import { api, el, loginForm } from './api.js';
import { announce, field, FieldError, form, input, val } from './admin-ui.js';

// The form for token; onDone runs once the user logged in with the new password.
export function resetForm(token, onDone) {
  const box = el('section', { class: 'narrow' });
  const f = form(
    {
      id: 'reset-form',
      label: 'Set a new password',
      submit: 'Set the password',
      onSubmit: async (fm) => {
        const p = val(fm, 'password');
        if (!p || p.length < 10) throw new FieldError('password', 'At least 10 characters.');
        if (p !== val(fm, 'password2')) throw new FieldError('password2', 'The two passwords differ.');
        try {
          await api('POST', '/api/v1/auth/password-reset/confirm', { token, password: p });
        } catch (e) {
          // A link used already, expired or cut short: the form cannot fix that, a new link can.
          if (e.field === 'token') throw new FieldError('password', `${e.message} Ask for a new link from the partner portal's "Forgot your password?" page, or ask another admin to set a password.`);
          throw e;
        }
        // The token is spent: it leaves the address bar and the history entry.
        history.replaceState(null, '', `${location.pathname}${location.search}#dashboard`);
        announce('Your password is set. Log in with it.');
        const login = loginForm('Log in to refd', onDone);
        login.id = 'login-form';
        box.replaceChildren(el('p', { class: 'ok', role: 'status', id: 'reset-done' }, 'Your password is set: every other session of this account has ended. Log in with the new password.'), login);
        login.querySelector('input[type=email]').focus();
      },
    },
    el('h1', { class: 'page-title', tabindex: '-1' }, 'Set a new password'),
    el('p', { class: 'muted' }, 'Choose a new password for your refd account. The link works once.'),
    field('New password', input('password', { type: 'password', autocomplete: 'new-password', minlength: '10' }), { hint: 'At least 10 characters.' }),
    field('Repeat it', input('password2', { type: 'password', autocomplete: 'new-password' })),
  );
  box.append(f);
  return box;
}
