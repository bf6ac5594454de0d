// A stack's page: its outputs, its history in three pictures, "Back up now", its backup sets (each with
// "Restore" and "Verify"), database snapshots, recovery points, its plan
// (editable, "Save plan") and its drills ("Run drill"). Reached with
// ?job=ID after a restore, it follows that job until the stack is ONLINE
// and shows the Hubs check's result.

import { api, seg } from './api.js';
import { h, fill, time, badge, bytes, copyable, errorBox, section, table, canOperate, announce } from './ui.js';
import { watchJob } from './jobwatch.js';
import { historySection } from './pictures.js';

export async function stackPage(ctx) {
  const [name] = ctx.params;
  const followJob = ctx.query.get('job');
  let view;
  try {
    view = await api('GET', `/stacks/${seg(name)}`);
  } catch (e) {
    if (e.status === 404 && followJob) {
      // A queued restore has not made the stack yet: follow its job.
      fill(ctx.main,
        h('h1', {}, name),
        h('p', {}, `Stack ${name} is being made by job ${followJob}.`),
        watchJob(followJob, { signal: ctx.signal, onEnd: () => stackPage(ctx) }));
      return;
    }
    throw e;
  }
  const vault = view.outputs && view.outputs.daily_backup_vault;
  const [plan, sets, snapshots, points, drills, jobs, history] = await Promise.all([
    api('GET', `/stacks/${seg(name)}/plan`).catch((e) => e),
    api('GET', `/backup-sets?stack=${seg(name)}`).catch((e) => e),
    api('GET', `/db-snapshots?stack=${seg(name)}`).catch((e) => e),
    vault ? api('GET', `/recovery-points?vault=${seg(vault)}`).catch((e) => e) : Promise.resolve([]),
    api('GET', `/drills?stack=${seg(name)}`).catch((e) => e),
    api('GET', `/jobs?stack=${seg(name)}`).catch((e) => e),
    api('GET', `/stacks/${seg(name)}/history`).catch((e) => e),
  ]);
  const reload = () => stackPage(ctx);
  const operator = canOperate(ctx.session);

  fill(ctx.main,
    h('h1', {}, name, ' ', badge(view.status)),
    view.status_reason ? errorBox(view.status_reason) : null,
    followJob ? followSection(ctx, view, followJob, reload) : null,
    summary(view),
    historySection(history),
    operator ? backupSection(ctx, name, view, reload) : null,
    activeJobs(ctx, jobs),
    setsSection(ctx, sets, operator),
    snapshotsSection(snapshots),
    pointsSection(points, name),
    planSection(ctx, name, plan, operator),
    drillsSection(ctx, name, drills, operator, reload));
}

function summary(view) {
  const o = view.outputs;
  return section('Outputs',
    h('dl', { class: 'facts' },
      fact('Region', view.region),
      fact('Domain', view.domain || '—'),
      fact('Profile', view.profile),
      fact('Last backup', time(view.last_backup_at)),
      fact('Last verified', time(view.last_verified_at)),
      fact('Next backup', view.next_backup_at ? time(view.next_backup_at) : 'none'),
      o ? [
        fact('Database', o.app_db),
        fact('Database URL', copyable(o.database_url, 'database URL')),
        fact('Database secret ARN', copyable(o.database_secret_arn, 'secret ARN')),
        fact('File store', copyable(String(o.storage_path), 'file store path')),
        fact('Daily backup vault', o.daily_backup_vault),
      ] : fact('Outputs', 'none yet'),
      view.restored_from ? fact('Restored from', copyable(view.restored_from.db_snapshot_id, 'snapshot id')) : null));
}

function fact(term, value) {
  return [h('dt', {}, term), h('dd', {}, value)];
}

function followSection(ctx, view, jobId, reload) {
  const result = h('div', { class: 'check-result' });
  const box = section('Restore',
    watchJob(jobId, {
      signal: ctx.signal,
      label: 'Restore job ',
      onEnd: async (job) => {
        const fresh = await api('GET', `/stacks/${seg(view.name)}`).catch(() => view);
        fill(result, h('p', {}, 'Stack status: ', badge(fresh.status)), hubsCheck(job, fresh));
        if (view.status !== fresh.status) announce(`Stack ${view.name} is ${fresh.status}`);
      },
    }),
    result);
  return box;
}

/** The Hubs check's result of a finished restore job, in words. */
function hubsCheck(job, stack) {
  const check = job.result && job.result.hubs_check;
  if (check) {
    const passed = check.passed === true;
    return h('div', {},
      h('p', {}, 'Hubs check: ', badge(passed ? 'PASSED' : 'FAILED')),
      h('pre', { class: 'log' }, JSON.stringify(check, null, 2)));
  }
  if (stack.profile !== 'hubs') return h('p', {}, 'This stack is not a Hubs stack: no Hubs check.');
  if (job.state === 'COMPLETED') {
    // A restore of a Hubs stack fails when its Hubs check fails, so a
    // completed restore is a passed check; its log lines say what it read.
    const lines = (job.log || []).filter((l) => /hubs check/i.test(l.line));
    return h('div', {},
      h('p', {}, 'Hubs check: ', badge('PASSED')),
      lines.length ? h('ul', { class: 'log' }, lines.map((l) => h('li', {}, l.line))) : null);
  }
  return h('p', {}, 'Hubs check: ', badge('FAILED'), ' ', job.error || '');
}

function backupSection(ctx, name, view, reload) {
  const offline = h('input', { type: 'checkbox', id: 'backup-offline', checked: true });
  const button = h('button', { type: 'submit' }, 'Back up now');
  const out = h('div', { id: 'backup-out' });
  const form = h('form', { class: 'inline' },
    h('p', {}, offline, ' ', h('label', { for: 'backup-offline' }, 'Take the hub offline')),
    h('p', { class: 'muted small' }, 'Offline: the database and files are from one instant; visitors are sent away for the backup\'s minutes.'),
    h('p', {}, button),
    out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    button.disabled = true;
    out.replaceChildren();
    try {
      const started = await api('POST', `/stacks/${seg(name)}/backups`, { offline: offline.checked });
      announce(`Backup of ${name} started`);
      out.append(watchJob(started.job_id, {
        signal: ctx.signal,
        label: 'Backup job ',
        onEnd: () => { button.disabled = false; },
      }), h('p', {}, h('button', { type: 'button', onclick: reload }, 'Refresh this page')));
    } catch (err) {
      out.append(errorBox(err.message));
      button.disabled = false;
    }
  });
  return section('Back up', form);
}

function failed(result) {
  return result instanceof Error ? errorBox(result.message) : null;
}

function activeJobs(ctx, jobs) {
  if (jobs instanceof Error || !Array.isArray(jobs)) return null;
  const running = jobs.filter((j) => ['RUNNING', 'QUEUED', 'CREATED'].includes(j.state));
  if (!running.length) return null;
  return section('Jobs in progress', running.map((j) => watchJob(j.job_id, { signal: ctx.signal, label: `${j.kind} job ` })));
}

function setsSection(ctx, sets, operator) {
  if (failed(sets)) return section('Backup sets', failed(sets));
  const sorted = [...sets].sort((a, b) => String(b.started_at).localeCompare(String(a.started_at)));
  return section('Backup sets',
    table('Backup sets', ['Backup set', 'Taken', 'Status', 'Kind', '', ''],
      sorted.map((s) => [
        copyable(s.backup_id, 'backup set id'),
        time(s.finished_at || s.started_at),
        [badge(s.status || 'AVAILABLE'), s.verified_at ? [' ', h('span', { class: 'small' }, 'verified ', time(s.verified_at))] : null],
        `${s.automated ? 'automated' : 'manual'}, ${s.offline ? 'offline (consistent)' : 'online'}`,
        h('button', { type: 'button', title: `Restore backup set ${s.backup_id} into a new stack`, onclick: () => ctx.navigate(`/restore?backup=${seg(s.backup_id)}`) }, 'Restore'),
        operator ? verifyButton(ctx, s) : '',
      ]),
      'No backup sets yet. "Back up now" makes one.'));
}

function verifyButton(ctx, set) {
  const slot = h('span', {});
  const button = h('button', { type: 'button', title: `Read all of backup set ${set.backup_id} back and check it` }, 'Verify');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const started = await api('POST', `/backup-sets/${seg(set.backup_id)}/verify`, { read_data: true });
      fill(slot, watchJob(started.job_id, { signal: ctx.signal, label: 'Verify job ' }));
    } catch (e) {
      fill(slot, errorBox(e.message));
      button.disabled = false;
    }
  });
  return h('span', {}, button, slot);
}

function snapshotsSection(snapshots) {
  if (failed(snapshots)) return section('Database snapshots', failed(snapshots));
  return section('Database snapshots',
    table('Database snapshots', ['Snapshot', 'Created', 'Status', 'Type', 'Size'],
      snapshots.map((s) => [copyable(s.id, 'snapshot id'), time(s.created_at), badge(s.status), s.snapshot_type, bytes(s.size_bytes)])));
}

function pointsSection(points, stack) {
  if (failed(points)) return section('Recovery points', failed(points));
  const mine = points.filter((p) => p.stack === stack);
  return section('Recovery points',
    table('Recovery points', ['Recovery point', 'Created', 'Status', 'Files', 'Size'],
      mine.map((p) => [copyable(p.recovery_point_arn, 'recovery point ARN'), time(p.creation_date), badge(p.status), String(p.files), bytes(p.bytes)])));
}

// The plan's text fields: [key, label, hint].
const PLAN_TEXT = [
  ['schedule', 'Schedule', 'cron, five fields: minute hour day-of-month month day-of-week'],
  ['timezone', 'Time zone', 'e.g. UTC or Europe/Berlin'],
  ['start_window', 'Start window', 'e.g. 8h'],
  ['rpo', 'RPO', 'the oldest a newest backup may be, e.g. 26h'],
  ['verify', 'Verify', 'cron, after-backup or off'],
  ['drill', 'Drill', 'cron or off'],
  ['gc', 'Garbage collection', 'cron or off'],
  ['ping_url', 'Ping URL', 'healthchecks-style URL, empty for none'],
];
const PLAN_NUMBERS = [
  ['keep_last', 'Keep last'], ['keep_daily', 'Keep daily'], ['keep_weekly', 'Keep weekly'],
  ['keep_monthly', 'Keep monthly'], ['keep_yearly', 'Keep yearly'],
];

function planSection(ctx, name, plan, operator) {
  if (failed(plan)) return section('Plan', failed(plan));
  const inputs = {};
  const errors = {};
  const field = (key, label, control, hint) => {
    errors[key] = h('span', { class: 'field-error', id: `plan-${key}-error`, role: 'alert' });
    control.id = `plan-${key}`;
    control.setAttribute('aria-describedby', `plan-${key}-hint plan-${key}-error`);
    if (!operator) control.disabled = true;
    inputs[key] = control;
    return h('div', { class: 'field' },
      h('label', { for: `plan-${key}` }, label), control,
      h('span', { class: 'hint', id: `plan-${key}-hint` }, hint || ''), errors[key]);
  };
  const value = (key) => {
    if (key.startsWith('keep_')) return plan.retention ? plan.retention[key] : plan[key];
    return plan[key];
  };
  const status = h('p', { role: 'status', 'aria-live': 'polite' });
  const formError = h('div', {});
  const form = h('form', { class: 'plan', novalidate: true },
    h('div', { class: 'checks' },
      field('enabled', 'Enabled', h('input', { type: 'checkbox', checked: plan.enabled !== false })),
      field('offline', 'Offline backup', h('input', { type: 'checkbox', checked: plan.offline !== false }))),
    h('div', { class: 'grid' },
      PLAN_TEXT.map(([key, label, hint]) => field(key, label, h('input', { type: 'text', value: value(key) ?? '', spellcheck: 'false' }), hint)),
      PLAN_NUMBERS.map(([key, label]) => field(key, label, h('input', { type: 'number', min: 0, step: 1, value: value(key) ?? 0 })))),
    formError,
    operator ? h('p', {}, h('button', { type: 'submit' }, 'Save plan')) : h('p', { class: 'muted' }, 'Your role may read the plan, not change it.'),
    status,
    h('p', { class: 'muted small' }, 'Next run: ', plan.next_run_at ? time(plan.next_run_at) : 'none',
      plan.last_run ? ['; last run: ', badge(plan.last_run.state), ' ', time(plan.last_run.finished_at)] : ''));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    Object.values(errors).forEach((el) => { el.textContent = ''; });
    Object.values(inputs).forEach((el) => el.removeAttribute('aria-invalid'));
    formError.replaceChildren();
    status.textContent = '';
    const change = {};
    for (const [key, control] of Object.entries(inputs)) {
      const before = value(key);
      if (control.type === 'checkbox') {
        if (control.checked !== (before !== false)) change[key] = control.checked;
      } else if (control.type === 'number') {
        const n = Number(control.value);
        if (control.value.trim() === '' || !Number.isInteger(n) || n < 0) {
          errors[key].textContent = `${key.replace('_', ' ')} must be a whole number, 0 or more.`;
          control.setAttribute('aria-invalid', 'true');
          control.focus();
          return;
        }
        if (n !== before) change[key] = n;
      } else {
        const text = control.value.trim();
        if (text !== String(before ?? '')) change[key] = key === 'ping_url' && text === '' ? 'off' : text;
      }
    }
    if (!Object.keys(change).length) {
      status.textContent = 'Nothing changed.';
      return;
    }
    try {
      plan = await api('PUT', `/stacks/${seg(name)}/plan`, change);
      status.textContent = 'Plan saved.';
      announce('Plan saved');
    } catch (err) {
      const key = fieldOf(err.message, err, Object.keys(change));
      if (key && errors[key]) {
        errors[key].textContent = err.message;
        inputs[key].setAttribute('aria-invalid', 'true');
        inputs[key].focus();
      } else {
        formError.append(errorBox(err.message));
      }
    }
  });
  return section('Plan', form);
}

/** Which plan field an API refusal names: "--schedule …" is `schedule`. */
function fieldOf(message, err, changed) {
  if (err.field) return err.field;
  const m = /--([a-z-]+)/.exec(message || '');
  if (m) return m[1].replace(/-/g, '_');
  return err.status === 400 && changed.length === 1 ? changed[0] : null;
}

function drillsSection(ctx, name, drills, operator, reload) {
  const out = h('div', {});
  let run = null;
  if (operator) {
    run = h('button', { type: 'button' }, 'Run drill');
    run.addEventListener('click', async () => {
      run.disabled = true;
      out.replaceChildren();
      try {
        const started = await api('POST', `/stacks/${seg(name)}/drills`);
        out.append(watchJob(started.job_id, { signal: ctx.signal, label: 'Drill job ', onEnd: () => { run.disabled = false; } }));
      } catch (e) {
        out.append(errorBox(e.message));
        run.disabled = false;
      }
    });
  }
  const list = failed(drills) || table('Drills', ['Drill', 'Backup set', 'Status', 'Restore time', 'Finished', 'Error'],
    drills.map((d) => [
      d.drill_id, d.backup_id ? copyable(d.backup_id, 'backup set id') : '—', badge(d.status),
      d.rto_seconds != null ? `${Math.round(d.rto_seconds)} s` : '—', time(d.finished_at), d.error || '',
    ]),
    'No drills yet. A drill restores the newest backup set into a throwaway stack, checks it and times it.');
  return section('Drills', h('p', { class: 'muted small' }, 'Restore time (RTO) of each drill.'), list, run ? h('p', {}, run) : null, out);
}
