// "Back up now" with "Take the hub offline": the job shows a progress bar
// while it runs and ends COMPLETED; the Jobs page lists it.
import { story, env, assert, signIn, shot } from './harness.mjs';

await story('back up now', async ({ page, url }) => {
  await signIn(page, url, env('HUBKEEP_TOKEN'));
  const name = env('HUBKEEP_STACK');
  await page.getByRole('link', { name, exact: true }).click();
  const setsBefore = await page.getByRole('button', { name: 'Restore', exact: true }).count();
  await page.getByLabel('Take the hub offline').check();
  await page.getByRole('button', { name: 'Back up now' }).click();
  const watch = page.locator('#backup-out .job-watch');
  await watch.waitFor();
  assert.equal(await watch.locator('progress').count(), 1, 'a running backup shows a progress bar');
  await shot(page, 'backup-running');
  await watch.getByText('COMPLETED').waitFor();
  const jobId = await watch.getAttribute('data-job');

  await page.getByRole('button', { name: 'Refresh this page' }).click();
  await page.getByRole('heading', { name: 'Backup sets' }).waitFor();
  await page.waitForFunction((n) => document.querySelectorAll('button').length && [...document.querySelectorAll('button')].filter((b) => b.textContent === 'Restore').length > n, setsBefore);

  await page.getByRole('link', { name: 'Jobs', exact: true }).click();
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: jobId, exact: true }) });
  await row.getByText('COMPLETED').waitFor();
  await shot(page, 'jobs');
  await page.getByRole('link', { name: jobId, exact: true }).click();
  await page.getByRole('heading', { name: 'Log' }).waitFor();
  await shot(page, 'job');
});
