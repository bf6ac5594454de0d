// Secrets: names, kind, which backup sets need them, and scheduled deletions
// with "Cancel deletion". The API never hands out a value, and this page
// never asks for one.

import { api, seg } from './api.js';
import { h, fill, time, badge, errorBox, table, isAdmin, announce } from './ui.js';

export async function secretsPage(ctx) {
  const [secrets, sets] = await Promise.all([
    api('GET', '/secrets'),
    api('GET', '/backup-sets').catch(() => []),
  ]);
  const admin = isAdmin(ctx.session);
  const needs = (s) => sets.filter((b) => b.db_secret_arn === s.arn || b.db_secret_arn === s.name);
  const status = h('div', { role: 'status', 'aria-live': 'polite' });
  fill(ctx.main,
    h('h1', {}, 'Secrets'),
    h('p', { class: 'muted' }, 'Metadata only: values stay in the home\'s encrypted secret store.'),
    status,
    table('Secrets', ['Name', 'Kind', 'Stack', 'Needed by backup sets', 'Deletion'],
      secrets.map((s) => {
        const users = needs(s);
        return [
          h('code', {}, s.name),
          s.kind,
          s.stack ? h('a', { href: `/stacks/${seg(s.stack)}` }, s.stack) : '—',
          users.length ? h('span', { title: users.map((b) => b.backup_id).join('\n') }, `${users.length} backup set${users.length === 1 ? '' : 's'}`) : h('span', { class: 'muted' }, 'none'),
          s.deletion_date ? deletion(ctx, s, admin, status) : h('span', { class: 'muted' }, 'not scheduled'),
        ];
      }),
      'No secrets.'));
}

function deletion(ctx, secret, admin, status) {
  const cell = h('span', {}, badge('deletion scheduled', 'bad'), ' for ', time(secret.deletion_date));
  if (!admin) return cell;
  const button = h('button', { type: 'button', title: `Keep secret ${secret.name}` }, 'Cancel deletion');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await api('POST', `/secrets/${seg(secret.name)}/cancel-deletion`);
      status.replaceChildren(h('p', {}, `Deletion of ${secret.name} cancelled.`));
      announce(`Deletion of ${secret.name} cancelled`);
      await secretsPage(ctx);
    } catch (e) {
      status.replaceChildren(errorBox(e.message));
      button.disabled = false;
    }
  });
  return h('span', {}, cell, ' ', button);
}
