// The Jobs page lists every job with its kind, stack and state; a job's own
// page shows its log lines.
import { story, env, assert, signIn, shot, fetchInPage } from './harness.mjs';

await story('jobs', async ({ page, url }) => {
  await signIn(page, url, env('HUBKEEP_TOKEN'));
  const jobs = (await fetchInPage(page, 'GET', '/api/v1/jobs')).body;
  const done = jobs.find((j) => j.stack === env('HUBKEEP_STACK') && j.state === 'COMPLETED');
  assert.ok(done, 'the prepared home has a completed job of the stack');

  await page.getByRole('link', { name: 'Jobs', exact: true }).click();
  await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
  for (const header of ['Kind', 'Stack', 'State']) {
    await page.getByRole('columnheader', { name: header, exact: true }).waitFor();
  }
  assert.equal(await page.getByRole('row').count(), jobs.length + 1, 'one row per job');
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: done.job_id, exact: true }) });
  await row.getByText(done.kind, { exact: true }).waitFor();
  await row.getByText('COMPLETED').waitFor();
  await shot(page, 'jobs');

  await row.getByRole('link', { name: done.job_id, exact: true }).click();
  await page.getByRole('heading', { name: 'Log' }).waitFor();
  const lines = done.log || [];
  if (lines.length) {
    await page.locator('ol.log li').first().waitFor();
    assert.equal(await page.locator('ol.log li').count(), lines.length, 'every log line is shown');
  } else {
    await page.getByText('No log lines.').waitFor();
  }
  await shot(page, 'job');
});
