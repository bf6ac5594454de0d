// A read token sees the stack but is offered no change: no "Back up now",
// no "Save plan".
import { story, env, assert, signIn } from './harness.mjs';

await story('read role', async ({ page, url }) => {
  await signIn(page, url, env('HUBKEEP_READ_TOKEN'));
  await page.getByRole('link', { name: env('HUBKEEP_STACK'), exact: true }).click();
  await page.getByRole('heading', { name: 'Backup sets' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Back up now' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Save plan' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Verify', exact: true }).count(), 0);
});
