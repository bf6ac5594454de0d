// Editing a plan: a bad cron is refused next to the Schedule field and
// nothing is saved; a good one is saved.
import { story, env, assert, signIn, fetchInPage } from './harness.mjs';

await story('plan edit', async ({ page, url }) => {
  await signIn(page, url, env('HUBKEEP_TOKEN'));
  const name = env('HUBKEEP_STACK');
  await page.getByRole('link', { name, exact: true }).click();
  const schedule = page.getByLabel('Schedule', { exact: true });
  const before = await schedule.inputValue();

  await schedule.fill('every night please');
  await page.getByRole('button', { name: 'Save plan' }).click();
  const fieldError = page.locator('#plan-schedule-error');
  await fieldError.filter({ hasText: /schedule/ }).waitFor();
  assert.equal(await schedule.getAttribute('aria-invalid'), 'true');
  const plan = await fetchInPage(page, 'GET', `/api/v1/stacks/${encodeURIComponent(name)}/plan`);
  assert.equal(plan.body.schedule, before, 'a refused plan is not saved');

  await schedule.fill('30 3 * * *');
  await page.getByRole('button', { name: 'Save plan' }).click();
  await page.getByText('Plan saved.').waitFor();
  assert.equal(await fieldError.innerText(), '');
  const saved = await fetchInPage(page, 'GET', `/api/v1/stacks/${encodeURIComponent(name)}/plan`);
  assert.equal(saved.body.schedule, '30 3 * * *');
});
