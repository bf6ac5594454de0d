// The stack's page draws its history as three pictures: a strip of the last
// 30 nights (one cell per night, each saying what came of it), its vault's
// size over time and its drills' restore times. Each picture is an image
// with a summary in words; the night of the demo backup says "backed up",
// the night of the fixture's failed backup "failed" with a ✕.
import path from 'node:path';
import { story, env, assert, signIn, fetchInPage } from './harness.mjs';

await story('pictures', async ({ page, url }) => {
  await signIn(page, url, env('HUBKEEP_TOKEN'));
  const name = env('HUBKEEP_STACK');
  const sets = (await fetchInPage(page, 'GET', `/api/v1/backup-sets?stack=${encodeURIComponent(name)}`)).body;
  const demo = [...sets].sort((a, b) => a.started_at.localeCompare(b.started_at))[0];
  const history = (await fetchInPage(page, 'GET', `/api/v1/stacks/${encodeURIComponent(name)}/history`)).body;
  assert.equal(history.nights.length, 30, 'the API gives 30 nights unless told');
  const night = history.nights.find((n) => n.backup_id === demo.backup_id)
    || history.nights.find((n) => n.date === demo.started_at.slice(0, 10));
  assert.ok(night, `the demo backup's night is among the 30: ${JSON.stringify(history.nights.slice(-3))}`);

  await page.getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { name: 'History' }).waitFor();

  const strip = page.getByRole('img', { name: /^30 nights: / });
  await strip.waitFor();
  assert.match(await strip.getAttribute('aria-label'), /\d+ backed up/, 'the summary counts the nights backed up');
  const cells = strip.locator('g.night');
  assert.equal(await cells.count(), 30, 'one cell per night');
  const cell = strip.locator(`g.night[data-date="${night.date}"]`);
  assert.match(await cell.locator('title').textContent(), new RegExp(`^${night.date}: backed up`), 'the demo backup\'s night says backed up');
  for (const word of ['backed up', 'expired', 'failed', 'missed', 'no run due', 'verified']) {
    await page.locator('ul.legend').getByText(word, { exact: true }).first().waitFor();
  }
  // The fixture's backup that failed two nights ago: its cell says so, in
  // words and with a mark (colour is not the only carrier).
  const failed = history.nights[history.nights.length - 3];
  assert.equal(failed.state, 'failed', JSON.stringify(history.nights.slice(-3)));
  assert.match(await strip.getAttribute('aria-label'), /1 failed/);
  const failedCell = strip.locator(`g.night[data-date="${failed.date}"]`);
  assert.equal(await failedCell.locator('title').textContent(), `${failed.date}: failed`);
  assert.equal(await failedCell.locator('text.mark').textContent(), '✕');

  const vault = page.getByRole('img', { name: new RegExp(`^Vault ${history.vault}: `) });
  await vault.waitFor();
  assert.equal(await vault.locator('circle.dot').count(), history.vault_size.length, 'one dot per size sample');
  assert.ok(history.vault_size.length >= 1, 'the demo backup recorded the vault size');

  const rto = page.getByRole('img', { name: /drills?: latest restore time \d+ s/ });
  await rto.waitFor();
  assert.equal(await rto.locator('g.bar').count(), history.rto.length, 'one bar per drill');
  // The History section alone (the whole page is stack.png).
  if (process.env.HUBKEEP_SHOTS) {
    await page.locator('section[aria-labelledby="h-history"]').screenshot({ path: path.join(process.env.HUBKEEP_SHOTS, 'stack-pictures.png') });
  }
});
