// SPDX-License-Identifier: Apache-2.0
// Users and API keys: people who log in (roles, disabling), and keys for integrations, whose secret is shown once
// when created and which can be revoked at once.
import { api, el } from './api.js';
import {
  alertError,
  announce,
  badge,
  confirmDialog,
  field,
  FieldError,
  fmtDateTime,
  form,
  go,
  input,
  pageHeader,
  pagedTable,
  partnerLink,
  partnerPicker,
  secretBox,
  section,
  select,
  val,
} from './admin-ui.js';

const ROLES = ['admin', 'owner', 'manager', 'partner'];

function roleFields(prefix) {
  const role = select('role', ROLES.map((r) => [r, r]), 'admin', { id: `${prefix}-role` });
  const picker = partnerPicker({ name: 'partner_id', label: 'Partner', hint: 'Managers and partners belong to one partner record.' });
  picker.hidden = true;
  role.addEventListener('change', () => {
    picker.hidden = !(role.value === 'manager' || role.value === 'partner');
  });
  return [field('Role', role, { hint: 'Only an owner may grant the owner role.' }), picker];
}

export async function render(ctx) {
  const me = ctx.session.user_id;
  const keyResult = el('div', { id: 'api-key-result' });
  const userResult = el('div', { id: 'user-result' });

  const userForm = form(
    {
      id: 'user-create',
      label: 'New user',
      submit: 'Create user',
      onSubmit: async (fm) => {
        const body = { email: val(fm, 'email') || '', role: val(fm, 'role') };
        if (body.role === 'manager' || body.role === 'partner') {
          body.partner_id = val(fm, 'partner_id');
          if (!body.partner_id) throw new FieldError('partner_id', 'Pick the partner this user belongs to.');
        }
        if (val(fm, 'password')) body.password = val(fm, 'password');
        const u = await api('POST', '/api/v1/users', body);
        announce(`User ${u.email} created.`);
        userResult.replaceChildren(
          u.password
            ? secretBox('user-password', `Password of ${u.email}`, u.password, 'Shown only now: give it to the user, who can change it later.')
            : el('p', { class: 'ok' }, `User ${u.email} created with the password you chose.`),
        );
        usersBox.replaceChildren(usersTable());
        fm.reset();
      },
    },
    el(
      'div',
      { class: 'grid' },
      field('Email', input('email', { type: 'email', autocomplete: 'off', maxlength: '254' })),
      ...roleFields('user'),
      field('Password', input('password', { type: 'password', autocomplete: 'new-password', minlength: '10' }), { hint: 'At least 10 characters; empty to generate one.' }),
    ),
  );

  const keyForm = form(
    {
      id: 'api-key-create',
      label: 'New API key',
      submit: 'Create key',
      onSubmit: async (fm) => {
        const body = { name: val(fm, 'name') || '', role: val(fm, 'role') };
        if (body.role === 'manager' || body.role === 'partner') {
          body.partner_id = val(fm, 'partner_id');
          if (!body.partner_id) throw new FieldError('partner_id', 'Pick the partner this key acts for.');
        }
        const k = await api('POST', '/api/v1/api-keys', body);
        announce(`API key ${k.name} created. Copy it now: it is shown only once.`);
        keyResult.replaceChildren(secretBox('api-key-secret', `The key ${k.name}`, k.key, 'Shown only now: refd keeps only its hash. Send it as "Authorization: Bearer <key>".'));
        keysBox.replaceChildren(keysTable());
        fm.reset();
      },
    },
    el('div', { class: 'grid' }, field('Name', input('name', { maxlength: '100', placeholder: 'CRM sync' }), { hint: 'What the key is for.' }), ...roleFields('key')),
  );

  const usersTable = () =>
    pagedTable({
      path: '/api/v1/users',
      id: 'users-table',
      caption: 'Users',
      captionHidden: true,
      columns: [
        { label: 'Email', render: (u) => u.email },
        { label: 'Role', render: (u) => u.role },
        { label: 'Partner', render: (u) => (u.partner_id ? partnerLink(u.partner_id) : '') },
        { label: 'Status', render: (u) => badge(u.disabled ? 'disabled' : 'active') },
        { label: 'Since', render: (u) => fmtDateTime(u.created_at) },
        {
          label: 'Actions',
          render: (u) => {
            if (u.id === me) return el('span', { class: 'muted' }, 'you');
            const b = el('button', { type: 'button', class: `small ${u.disabled ? 'secondary' : 'danger'}`, 'data-user': u.id }, u.disabled ? 'Enable' : 'Disable');
            b.addEventListener('click', async () => {
              if (!u.disabled) {
                const ok = await confirmDialog({ title: `Disable ${u.email}?`, message: 'Their sessions end at once; they cannot log in until enabled again.', confirm: 'Disable', danger: true });
                if (!ok) return;
              }
              try {
                await api('PATCH', `/api/v1/users/${u.id}`, { disabled: !u.disabled });
                announce(`${u.email} ${u.disabled ? 'enabled' : 'disabled'}.`);
                go(location.hash);
              } catch (e) {
                alertError(e);
              }
            });
            return b;
          },
        },
      ],
    });

  const keysTable = () =>
    pagedTable({
      path: '/api/v1/api-keys',
      id: 'api-keys-table',
      caption: 'API keys',
      captionHidden: true,
      empty: 'No API keys.',
      columns: [
        { label: 'Name', render: (k) => k.name },
        { label: 'Role', render: (k) => k.role },
        { label: 'Partner', render: (k) => (k.partner_id ? partnerLink(k.partner_id) : '') },
        { label: 'Starts with', render: (k) => el('code', {}, `${k.prefix}…`) },
        { label: 'Last used', render: (k) => fmtDateTime(k.last_used_at) },
        { label: 'Status', render: (k) => badge(k.revoked ? 'revoked' : 'active') },
        {
          label: 'Actions',
          render: (k) => {
            if (k.revoked) return el('span', { class: 'muted' }, fmtDateTime(k.revoked_at));
            const b = el('button', { type: 'button', class: 'small danger', 'data-key': k.id }, 'Revoke');
            b.addEventListener('click', async () => {
              const ok = await confirmDialog({ title: `Revoke the key ${k.name}?`, message: 'It stops working at once. This cannot be undone.', confirm: 'Revoke', danger: true });
              if (!ok) return;
              try {
                await api('DELETE', `/api/v1/api-keys/${k.id}`);
                announce(`Key ${k.name} revoked.`);
                go(location.hash);
              } catch (e) {
                alertError(e);
              }
            });
            return b;
          },
        },
      ],
    });

  const usersBox = el('div', {}, usersTable());
  const keysBox = el('div', {}, keysTable());
  return el(
    'section',
    {},
    pageHeader('Users and API keys'),
    section('Users', usersBox, el('details', { class: 'new-block' }, el('summary', {}, 'New user'), userForm), userResult),
    section('API keys', keysBox, el('details', { class: 'new-block' }, el('summary', {}, 'New API key'), keyForm), keyResult),
  );
}
