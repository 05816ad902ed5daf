// SPDX-License-Identifier: Apache-2.0
// Email settings (#notifications): which emails the partner gets. The optional ones (the daily commission digest,
// deal reminders, payouts) can be turned off here, or with the one-click unsubscribe link of each such email; the
// others (decisions on the application and on deal registrations, password resets) always go.
import { api, el } from './api.js';
import { announce, formError, onSubmit, section } from './portal-ui.js';

export async function notificationsPage() {
  const s = await api('GET', '/api/v1/notifications');
  const optional = s.categories.filter((c) => c.optional);
  const always = s.categories.filter((c) => !c.optional);
  const boxes = optional.map((c) => {
    const id = `notify-${c.category}`;
    const box = el('input', { type: 'checkbox', id, name: c.category, checked: c.enabled });
    return el('div', { class: 'field check', 'data-field': c.category }, box, el('label', { for: id }, c.title));
  });
  const saved = el('p', { class: 'muted', id: 'notify-saved', role: 'status' });
  const form = el(
    'form',
    { class: 'card', id: 'notify-form', 'aria-labelledby': 'h-notify-optional', novalidate: true },
    el('fieldset', {}, el('legend', { id: 'h-notify-optional' }, 'Emails you can turn off'), ...boxes),
    formError(),
    el('button', { type: 'submit' }, 'Save email settings'),
    saved,
  );
  onSubmit(form, async () => {
    const body = {};
    for (const c of optional) {
      const on = form.elements.namedItem(c.category).checked;
      if (on !== c.enabled) body[c.category] = on;
    }
    if (!Object.keys(body).length) {
      announce('Nothing changed.');
      saved.textContent = 'Nothing changed.';
      return;
    }
    const r = await api('PATCH', '/api/v1/notifications', body);
    for (const c of r.categories) {
      const mine = optional.find((x) => x.category === c.category);
      if (mine) mine.enabled = c.enabled;
      const box = form.elements.namedItem(c.category);
      if (box && c.optional) box.checked = c.enabled;
    }
    const off = r.categories.filter((c) => c.optional && !c.enabled).map((c) => c.title);
    const msg = off.length ? `Email settings saved. Turned off: ${off.join('; ')}.` : 'Email settings saved. You get every email.';
    saved.textContent = msg;
    announce(msg);
  });
  return el(
    'div',
    { class: 'page' },
    el('h1', { id: 'h-page' }, 'Email settings'),
    el('p', {}, 'Emails go to ', el('strong', { id: 'notify-email' }, s.email), '.'),
    s.transport === 'log' ? el('p', { class: 'notice warn', id: 'notify-transport' }, 'This program does not send email at the moment: its messages are kept for the program team instead.') : null,
    form,
    section('h-notify-always', 'Emails that always go', el('ul', { id: 'notify-always' }, ...always.map((c) => el('li', {}, c.title)))),
  );
}
