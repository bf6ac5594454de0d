// The Secrets page shows names and scheduled deletions, never a value, and
// "Cancel deletion" keeps the secret.
import { story, env, assert, signIn, shot, fetchInPage } from './harness.mjs';

await story('secrets', async ({ page, url }) => {
  await signIn(page, url, env('HUBKEEP_TOKEN'));
  await page.getByRole('link', { name: 'Secrets', exact: true }).click();
  await page.getByRole('heading', { name: 'Secrets', level: 1 }).waitFor();
  const secret = env('HUBKEEP_SECRET');
  const row = page.getByRole('row').filter({ hasText: secret });
  await row.getByText('deletion scheduled').waitFor();
  await shot(page, 'secrets');

  const html = await page.content();
  for (const [key, value] of Object.entries(JSON.parse(env('HUBKEEP_SECRET_VALUE')))) {
    if (typeof value === 'string' && value.length >= 8) assert.ok(!html.includes(value), `the page shows the secret's ${key}`);
  }

  await row.getByRole('button', { name: 'Cancel deletion' }).click();
  await row.getByText('not scheduled').waitFor();
  const list = await fetchInPage(page, 'GET', '/api/v1/secrets');
  const meta = list.body.find((s) => s.name === secret);
  assert.equal(meta.deletion_date, null, 'the deletion is cancelled on the server');
});
