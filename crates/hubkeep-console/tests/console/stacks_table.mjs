// The Stacks page shows every stack with its status and when it was last
// backed up; a stack without a backup within its RPO says "RPO missed" in
// words; the stack's own page shows its backup sets.
import { story, env, assert, signIn, shot } from './harness.mjs';

await story('stacks table', async ({ page, url }) => {
  await signIn(page, url, env('HUBKEEP_TOKEN'));
  const name = env('HUBKEEP_STACK');
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name, exact: true }) });
  await row.waitFor();
  const cells = row.getByRole('cell');
  assert.equal(await cells.nth(1).innerText().then((t) => t.split(/\s/)[0]), 'ONLINE');
  const lastBackup = cells.nth(2).locator('time');
  assert.equal(await lastBackup.count(), 1, 'the last backup is a time');
  assert.match(await lastBackup.getAttribute('title'), /UTC$/, 'hovering a time shows it in UTC');
  for (const header of ['Name', 'Status', 'Last backup', 'Last verified', 'Next backup']) {
    await page.getByRole('columnheader', { name: header, exact: true }).waitFor();
  }
  assert.equal(await row.getByText('RPO missed').count(), 0, 'a stack backed up just now is within its RPO');
  const unprotected = page.getByRole('row').filter({ has: page.getByRole('link', { name: env('HUBKEEP_UNPROTECTED_STACK'), exact: true }) });
  await unprotected.getByText('RPO missed', { exact: true }).waitFor();
  await shot(page, 'stacks');

  await page.getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { name: 'Backup sets' }).waitFor();
  assert.ok(await page.getByRole('button', { name: 'Restore', exact: true }).count() >= 1, 'each backup set has Restore');
  await page.getByRole('heading', { name: 'Outputs' }).waitFor();
  await shot(page, 'stack');

  // Readable on a phone: at 375 px the page does not scroll sideways (wide
  // tables scroll inside their own box).
  await page.setViewportSize({ width: 375, height: 800 });
  for (const path of ['/', `/stacks/${encodeURIComponent(name)}`]) {
    await page.goto(url + path);
    await page.getByRole('heading', { level: 1 }).waitFor();
    const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(scroll <= width, `${path} is ${scroll} px wide at ${width} px`);
  }
  await shot(page, 'stack-375px');
});
