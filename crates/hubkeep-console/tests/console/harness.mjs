// Runs one console story in a real, headless Chromium with a fresh profile.
// The Rust test (tests/browser.rs) starts the server over a prepared home and
// passes what a story needs in the environment:
//   HUBKEEP_URL         the console's address, e.g. http://127.0.0.1:41234
//   HUBKEEP_TOKEN       an admin token;  HUBKEEP_READ_TOKEN  a read token
//   HUBKEEP_STACK       a stack with a backup set; HUBKEEP_UNPROTECTED_STACK  one without
//   HUBKEEP_SECRET      a secret whose deletion is scheduled; HUBKEEP_SECRET_VALUE its value
//   HUBKEEP_SHOTS       where to save screenshots (optional)
//   HUBKEEP_NODE_MODULES  where playwright-core is installed (default /opt/hubkeep-node/node_modules)
//   CHROMIUM            the browser (default /usr/bin/chromium)
// A story fails on a failed check and on any JavaScript error in the page.

import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import path from 'node:path';

const require = createRequire(import.meta.url);
const modules = process.env.HUBKEEP_NODE_MODULES || '/opt/hubkeep-node/node_modules';
const { chromium } = require(path.join(modules, 'playwright-core'));

export { assert };

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: the Rust test passes it`);
  return v;
};

/** Runs `fn({page, context, url})` and exits 0 when it passes, 1 otherwise. */
export async function story(name, fn) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(120_000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(`JavaScript error: ${e.message}`));
  page.on('console', (m) => {
    // A 401/403/422 answer is logged by Chromium as a failed resource; that is
    // the API speaking, not the page failing. Anything else (a CSP refusal,
    // an error the code logged) fails the story.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(`console error: ${m.text()}`);
  });
  let failed = null;
  try {
    await fn({ page, context, url: env('HUBKEEP_URL') });
    assert.deepEqual(errors, [], 'the page had JavaScript errors');
  } catch (e) {
    failed = e;
    await shot(page, `${name}-failed`).catch(() => {});
  } finally {
    await browser.close();
  }
  if (failed) {
    console.error(`story "${name}" failed: ${failed.stack || failed}`);
    if (errors.length) console.error(errors.join('\n'));
    process.exit(1);
  }
  console.log(`story "${name}" passed`);
}

/** Saves a screenshot when HUBKEEP_SHOTS says where. */
export async function shot(page, name) {
  const dir = process.env.HUBKEEP_SHOTS;
  if (dir) await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

/** Signs in through the form with `token`; waits for the Stacks page. */
export async function signIn(page, url, token) {
  await page.goto(url + '/');
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Stacks', level: 1 }).waitFor();
}

/** The API's answer to a request made from the page (with its cookie). */
export function fetchInPage(page, method, apiPath, body, headers = {}) {
  return page.evaluate(async ([m, p, b, hs]) => {
    const r = await fetch(p, { method: m, headers: { 'Content-Type': 'application/json', ...hs }, body: b === null ? undefined : JSON.stringify(b) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }, [method, apiPath, body ?? null, headers]);
}
