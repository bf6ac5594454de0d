// Jobs: every job with its kind, stack and state, a live progress bar for
// the ones running; a job's own page with its log lines and error.

import { api, seg } from './api.js';
import { h, fill, time, badge, bytes, errorBox, section, table } from './ui.js';
import { watchJob, isFinal } from './jobwatch.js';

export async function jobsPage(ctx) {
  const state = ctx.query.get('state');
  const jobs = await api('GET', state ? `/jobs?state=${seg(state)}` : '/jobs');
  const sorted = [...jobs].sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
  fill(ctx.main,
    h('h1', {}, 'Jobs'),
    table('Jobs', ['Job', 'Kind', 'Stack', 'State', 'Started', 'Progress'],
      sorted.map((j) => [
        h('a', { href: `/jobs/${seg(j.job_id)}` }, j.job_id),
        j.kind,
        j.stack ? h('a', { href: `/stacks/${seg(j.stack)}` }, j.stack) : '—',
        badge(j.state),
        time(j.started_at || j.created_at),
        isFinal(j.state) ? (j.error ? h('span', { class: 'error-text' }, j.error) : bytes(j.bytes_read)) : watchJob(j.job_id, { signal: ctx.signal, label: ' ' }),
      ]),
      'No jobs yet.'));
}

export async function jobPage(ctx) {
  const [id] = ctx.params;
  const job = await api('GET', `/jobs/${seg(id)}`);
  const logBox = h('div', {});
  const showLog = (j) => fill(logBox,
    (j.log && j.log.length)
      ? h('ol', { class: 'log' }, j.log.map((l) => h('li', {}, time(l.at), ' ', l.line)))
      : h('p', { class: 'muted' }, 'No log lines.'));
  showLog(job);
  fill(ctx.main,
    h('h1', {}, `Job ${job.kind}`, ' ', badge(job.state)),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Job'), h('dd', {}, h('code', {}, job.job_id)),
      h('dt', {}, 'Stack'), h('dd', {}, job.stack ? h('a', { href: `/stacks/${seg(job.stack)}` }, job.stack) : '—'),
      h('dt', {}, 'Vault'), h('dd', {}, job.vault || '—'),
      h('dt', {}, 'Resource'), h('dd', {}, job.resource ? h('code', {}, job.resource) : '—'),
      h('dt', {}, 'Created'), h('dd', {}, time(job.created_at)),
      h('dt', {}, 'Started'), h('dd', {}, time(job.started_at)),
      h('dt', {}, 'Finished'), h('dd', {}, time(job.finished_at)),
      h('dt', {}, 'Read / new / stored'), h('dd', {}, `${bytes(job.bytes_read)} / ${bytes(job.bytes_new)} / ${bytes(job.bytes_stored)}`),
      job.waiting_for ? [h('dt', {}, 'Waiting for'), h('dd', {}, job.waiting_for)] : null),
    job.error ? errorBox(job.error) : null,
    isFinal(job.state) ? null : section('Progress', watchJob(job.job_id, { signal: ctx.signal, onEnd: (j) => { showLog(j); jobPage(ctx); } })),
    section('Log', logBox));
}
