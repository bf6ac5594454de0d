// "Verify" on a backup set runs a full verify job, shown until COMPLETED;
// the stack's "Last verified" then says when.
import { story, env, assert, signIn, fetchInPage } from './harness.mjs';

await story('verify', async ({ page, url }) => {
  await signIn(page, url, env('HUBKEEP_TOKEN'));
  const name = env('HUBKEEP_STACK');
  const sets = (await fetchInPage(page, 'GET', `/api/v1/backup-sets?stack=${encodeURIComponent(name)}`)).body;
  const set = sets[0];
  await page.getByRole('link', { name, exact: true }).click();
  const row = page.getByRole('row').filter({ hasText: set.backup_id });
  await row.getByRole('button', { name: 'Verify', exact: true }).click();
  const watch = row.locator('.job-watch');
  await watch.getByText('COMPLETED').waitFor();
  const job = (await fetchInPage(page, 'GET', `/api/v1/jobs/${encodeURIComponent(await watch.getAttribute('data-job'))}`)).body;
  assert.equal(job.state, 'COMPLETED');

  const stack = (await fetchInPage(page, 'GET', `/api/v1/stacks/${encodeURIComponent(name)}`)).body;
  assert.ok(stack.last_verified_at, 'a full verify sets the stack\'s last verified time');
  await page.reload();
  await page.getByRole('heading', { name: 'Outputs' }).waitFor();
  const lastVerified = page.locator('dt', { hasText: 'Last verified' }).locator('xpath=following-sibling::dd[1]');
  assert.equal(await lastVerified.locator('time').count(), 1, 'Last verified shows a time, not "never"');
});
