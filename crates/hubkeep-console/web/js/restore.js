// Restore from Backup: the seed's form. "New stack name" and "Domain", and
// the five parameters pre-filled from the chosen backup set. A refusal is
// shown beside the form (nothing is created); success goes to the new
// stack's page, which follows the job.

import { api, seg } from './api.js';
import { h, fill, errorBox, time } from './ui.js';

// [body key, label, backup set key]
const FIVE = [
  ['stack_name', 'Source stack name', 'stack_name'],
  ['db_snapshot_id', 'Database snapshot', 'db_snapshot_id'],
  ['db_secret_arn', 'Database secret ARN', 'db_secret_arn'],
  ['vault', 'Backup vault', 'vault'],
  ['recovery_point_arn', 'Recovery point ARN', 'recovery_point_arn'],
];

export async function restorePage(ctx) {
  const chosen = ctx.query.get('backup');
  const sets = await api('GET', '/backup-sets');
  const usable = sets.filter((s) => (s.status || 'AVAILABLE') === 'AVAILABLE')
    .sort((a, b) => String(b.started_at).localeCompare(String(a.started_at)));
  let set = chosen ? sets.find((s) => s.backup_id === chosen) : null;
  if (chosen && !set) set = await api('GET', `/backup-sets/${seg(chosen)}`);

  const inputs = {};
  const input = (key, label, value, extra = {}) => {
    const control = h('input', { id: `restore-${key}`, name: key, type: 'text', value: value ?? '', spellcheck: 'false', autocomplete: 'off', ...extra });
    inputs[key] = control;
    return h('div', { class: 'field' }, h('label', { for: `restore-${key}` }, label), control);
  };
  const picker = h('select', { id: 'restore-backup' },
    h('option', { value: '' }, '— choose a backup set —'),
    usable.map((s) => h('option', { value: s.backup_id, selected: set && s.backup_id === set.backup_id },
      `${s.stack_name} · ${new Date(s.finished_at || s.started_at).toLocaleString()} · ${s.offline ? 'offline' : 'online'}`)));
  picker.addEventListener('change', () => {
    const s = usable.find((x) => x.backup_id === picker.value);
    for (const [key, , from] of FIVE) inputs[key].value = s ? s[from] : '';
    history.replaceState(null, '', s ? `/restore?backup=${seg(s.backup_id)}` : '/restore');
  });

  const refusal = h('div', { id: 'restore-refusal' });
  const button = h('button', { type: 'submit' }, 'Create stack');
  const form = h('form', { class: 'restore', novalidate: true, 'aria-describedby': 'restore-refusal' },
    h('div', { class: 'field' }, h('label', { for: 'restore-backup' }, 'Backup set'), picker,
      h('span', { class: 'hint' }, 'Fills the five parameters below, as the seed\'s form asks for them.')),
    h('fieldset', {}, h('legend', {}, 'New stack'),
      input('new_stack', 'New stack name', '', { required: true }),
      input('domain', 'Domain', '', { placeholder: 'hub2.example.org' })),
    h('fieldset', {}, h('legend', {}, 'Restore from Backup'),
      FIVE.map(([key, label, from]) => input(key, label, set ? set[from] : '', { required: true }))),
    refusal,
    h('p', {}, button));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    refusal.replaceChildren();
    const body = {};
    for (const [key, control] of Object.entries(inputs)) {
      const v = control.value.trim();
      if (v) body[key] = v;
    }
    const missing = [['new_stack', 'New stack name'], ...FIVE].filter(([key]) => key !== 'domain' && !body[key]);
    if (missing.length) {
      refusal.append(errorBox(`Fill in: ${missing.map(([, label]) => label).join(', ')}.`));
      inputs[missing[0][0]].focus();
      return;
    }
    // The chosen set's own five values go as its id (API.md's short form);
    // values typed or changed by hand go as the five parameters.
    const picked = usable.find((x) => x.backup_id === picker.value) || set;
    const asSet = picked && FIVE.every(([key, , from]) => body[key] === picked[from]);
    const request = asSet ? { new_stack: body.new_stack, backup_id: picked.backup_id, domain: body.domain } : body;
    button.disabled = true;
    try {
      const started = await api('POST', '/restores', request);
      ctx.navigate(`/stacks/${seg(body.new_stack)}?job=${seg(started.job_id)}`);
    } catch (err) {
      refusal.append(errorBox(`Refused, nothing was created: ${err.message}`));
      button.disabled = false;
    }
  });

  fill(ctx.main,
    h('h1', {}, 'Restore from Backup'),
    h('p', {}, 'Restores a backup set into a NEW stack: its database, file store and keys. The source is not touched.'),
    set ? h('p', { class: 'muted' }, 'From backup set ', h('code', {}, set.backup_id), ' taken ', time(set.finished_at || set.started_at), '.') : null,
    form);
  inputs.new_stack.focus();
}
