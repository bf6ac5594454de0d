// Stacks, the home page: is every hub protected? One row per stack with its
// status, last backup, last verified and next backup; a stack whose newest
// backup is older than its plan's RPO gets an "RPO missed" badge.

import { api, seg } from './api.js';
import { h, fill, time, badge, table } from './ui.js';

/** A plan duration ("26h", "30m", "2d") in milliseconds, or null. */
export function durationMs(text) {
  const m = /^(\d+)\s*([mhd])$/.exec(String(text || '').trim());
  if (!m) return null;
  return Number(m[1]) * { m: 60e3, h: 3600e3, d: 86400e3 }[m[2]];
}

/** Whether a stack is past its RPO: no backup, or the newest older than the RPO. */
export function rpoMissed(view, plan) {
  if (!plan || plan.enabled === false) return false;
  const rpo = durationMs(plan.rpo);
  if (rpo === null) return false;
  if (!view.last_backup_at) return true;
  return Date.now() - new Date(view.last_backup_at).getTime() > rpo;
}

export async function stacksPage(ctx) {
  const stacks = await api('GET', '/stacks');
  const rows = await Promise.all(stacks.map(async (s) => {
    const [view, plan] = await Promise.all([
      api('GET', `/stacks/${seg(s.name)}`).catch(() => s),
      api('GET', `/stacks/${seg(s.name)}/plan`).catch(() => null),
    ]);
    return { view, plan };
  }));
  const missed = rows.filter(({ view, plan }) => rpoMissed(view, plan)).length;
  fill(ctx.main,
    h('h1', {}, 'Stacks'),
    missed
      ? h('p', { class: 'warning', role: 'status' }, `${missed} of ${rows.length} stacks are past their recovery point objective (RPO).`)
      : rows.length ? h('p', { class: 'muted' }, 'Every stack with a plan has a backup within its RPO.') : null,
    table('Stacks', ['Name', 'Status', 'Last backup', 'Last verified', 'Next backup'],
      rows.map(({ view, plan }) => [
        h('a', { href: `/stacks/${seg(view.name)}` }, view.name),
        [badge(view.status), rpoMissed(view, plan) ? [' ', badge('RPO missed', 'bad')] : null],
        [time(view.last_backup_at), plan && plan.rpo ? h('span', { class: 'muted small' }, ` (RPO ${plan.rpo})`) : null],
        time(view.last_verified_at),
        view.next_backup_at ? time(view.next_backup_at) : h('span', { class: 'muted' }, plan && plan.enabled === false ? 'plan disabled' : 'none'),
      ]),
      'No stacks yet. Create one with hubkeep stack create NAME, or restore one from a backup.'));
}
