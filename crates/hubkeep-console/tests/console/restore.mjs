// Restore from Backup, opened from a backup set's "Restore": the five
// parameters are those of the set; "Create stack" leads to the new stack's
// page, which follows the job to ONLINE and shows the Hubs check passed.
// A second restore under the same name is refused beside the form, and
// nothing is created.
import { story, env, assert, signIn, shot, fetchInPage } from './harness.mjs';

await story('restore', async ({ page, url }) => {
  await signIn(page, url, env('HUBKEEP_TOKEN'));
  const name = env('HUBKEEP_STACK');
  const sets = (await fetchInPage(page, 'GET', `/api/v1/backup-sets?stack=${encodeURIComponent(name)}`)).body;
  const set = sets.sort((a, b) => b.started_at.localeCompare(a.started_at))[0];

  await page.getByRole('link', { name, exact: true }).click();
  await page.getByRole('row').filter({ hasText: set.backup_id }).getByRole('button', { name: 'Restore', exact: true }).click();
  await page.getByRole('heading', { name: 'Restore from Backup', level: 1 }).waitFor();
  const expect = {
    'Source stack name': set.stack_name,
    'Database snapshot': set.db_snapshot_id,
    'Database secret ARN': set.db_secret_arn,
    'Backup vault': set.vault,
    'Recovery point ARN': set.recovery_point_arn,
  };
  for (const [label, value] of Object.entries(expect)) {
    assert.equal(await page.getByLabel(label, { exact: true }).inputValue(), value, `${label} is pre-filled from the backup set`);
  }
  await page.getByLabel('New stack name').fill('console-restored');
  await page.getByLabel('Domain', { exact: true }).fill('console-restored.example.org');
  await shot(page, 'restore-form');
  await page.getByRole('button', { name: 'Create stack' }).click();

  await page.getByRole('heading', { name: /console-restored/, level: 1 }).waitFor();
  const result = page.locator('.check-result');
  await result.getByText('ONLINE').waitFor({ timeout: 600_000 });
  await result.getByText('Hubs check').waitFor();
  await result.getByText('PASSED').waitFor();
  await shot(page, 'restored-stack');

  const stacksBefore = (await fetchInPage(page, 'GET', '/api/v1/stacks')).body.length;
  await page.goto(`${url}/restore?backup=${encodeURIComponent(set.backup_id)}`);
  await page.getByLabel('New stack name').fill('console-restored');
  await page.getByRole('button', { name: 'Create stack' }).click();
  const refusal = page.locator('#restore-refusal').getByRole('alert');
  await refusal.waitFor();
  assert.match(await refusal.innerText(), /console-restored/, 'the refusal names the stack that exists');
  await shot(page, 'restore-refused');
  const stacksAfter = (await fetchInPage(page, 'GET', '/api/v1/stacks')).body.length;
  assert.equal(stacksAfter, stacksBefore, 'a refused restore creates nothing');
});
