// "Restore" on a backup set opens Restore from Backup with the seed's five
// parameters filled in from that set; the menu's Restore from Backup fills
// them from the set chosen in its list.
import { story, env, assert, signIn, shot, fetchInPage } from './harness.mjs';

const LABELS = {
  'Source stack name': 'stack_name',
  'Database snapshot': 'db_snapshot_id',
  'Database secret ARN': 'db_secret_arn',
  'Backup vault': 'vault',
  'Recovery point ARN': 'recovery_point_arn',
};

async function assertFilledFrom(page, set) {
  for (const [label, key] of Object.entries(LABELS)) {
    assert.equal(await page.getByLabel(label, { exact: true }).inputValue(), set[key], `${label} is pre-filled from the backup set`);
  }
}

await story('restore form', async ({ page, url }) => {
  await signIn(page, url, env('HUBKEEP_TOKEN'));
  const name = env('HUBKEEP_STACK');
  const sets = (await fetchInPage(page, 'GET', `/api/v1/backup-sets?stack=${encodeURIComponent(name)}`)).body;
  const set = sets[0];

  await page.getByRole('link', { name, exact: true }).click();
  await page.getByRole('row').filter({ hasText: set.backup_id }).getByRole('button', { name: 'Restore', exact: true }).click();
  await page.getByRole('heading', { name: 'Restore from Backup', level: 1 }).waitFor();
  await assertFilledFrom(page, set);
  for (const label of ['New stack name', 'Domain']) {
    assert.equal(await page.getByLabel(label, { exact: true }).inputValue(), '', `${label} is the operator's to choose`);
  }
  await page.getByRole('button', { name: 'Create stack' }).waitFor();
  await shot(page, 'restore-form');

  await page.getByRole('link', { name: 'Restore from Backup', exact: true }).click();
  await page.getByLabel('Backup set').selectOption(set.backup_id);
  await assertFilledFrom(page, set);

  // The form refuses to send without a new stack name, saying which field.
  await page.getByRole('button', { name: 'Create stack' }).click();
  const refusal = page.locator('#restore-refusal').getByRole('alert');
  await refusal.waitFor();
  assert.match(await refusal.innerText(), /New stack name/);
});
