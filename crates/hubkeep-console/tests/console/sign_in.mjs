// An operator signs in: a wrong token is refused in words, the right one
// shows Stacks; the session cookie is out of the page's reach, and a change
// without the CSRF token is refused. The page runs under default-src 'self'.
import { story, env, assert, signIn, shot, fetchInPage } from './harness.mjs';

await story('sign in', async ({ page, url }) => {
  const response = await page.goto(url + '/');
  assert.match(response.headers()['content-security-policy'] || '', /default-src 'self'/, 'the console runs under a CSP that allows only its own files');
  await page.getByLabel('Access token').fill('hk_not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const refusal = page.getByRole('alert');
  await refusal.waitFor();
  assert.match(await refusal.innerText(), /refused/i);
  await shot(page, 'sign-in-refused');

  await page.getByLabel('Access token').fill(env('HUBKEEP_TOKEN'));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Stacks', level: 1 }).waitFor();
  await page.getByRole('link', { name: env('HUBKEEP_STACK'), exact: true }).waitFor();

  const cookies = await page.evaluate(() => document.cookie);
  assert.ok(!cookies.includes('hubkeep_session'), `the session cookie is HttpOnly, yet the page sees: ${cookies}`);

  const stack = encodeURIComponent(env('HUBKEEP_STACK'));
  const noCsrf = await fetchInPage(page, 'PUT', `/api/v1/stacks/${stack}/plan`, { keep_last: 3 });
  assert.equal(noCsrf.status, 403, JSON.stringify(noCsrf.body));
  assert.equal(noCsrf.body.error.code, 'csrf');

  // A reload keeps the session (the CSRF token is read again from the server).
  await page.reload();
  await page.getByRole('heading', { name: 'Stacks', level: 1 }).waitFor();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Access token').waitFor();
  const after = await fetchInPage(page, 'GET', '/api/v1/session');
  assert.equal(after.status, 401, 'signed out on the server too');
});
