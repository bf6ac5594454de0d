// The console's entry: finds the session, routes client-side paths to
// pages, and keeps links inside the page (history API, no reloads).

import { currentSession, signOut } from './api.js';
import { h, fill, errorBox } from './ui.js';
import { signInPage } from './signin.js';
import { stacksPage } from './stacks.js';
import { stackPage } from './stack.js';
import { jobsPage, jobPage } from './jobs.js';
import { restorePage } from './restore.js';
import { secretsPage } from './secrets.js';

const routes = [
  [/^\/$/, stacksPage],
  [/^\/stacks\/([^/]+)$/, stackPage],
  [/^\/jobs$/, jobsPage],
  [/^\/jobs\/([^/]+)$/, jobPage],
  [/^\/restore$/, restorePage],
  [/^\/secrets$/, secretsPage],
];

const main = document.getElementById('main');
let session = null;
let leave = null;

/** Goes to a console path without reloading. */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path); else history.pushState(null, '', path);
  render();
}

function showSession() {
  document.getElementById('nav').hidden = !session;
  document.getElementById('who').hidden = !session;
  if (session) {
    document.getElementById('who-text').textContent = `Signed in as ${session.name} (${session.role})`;
  }
}

async function render() {
  if (leave) leave.abort();
  leave = new AbortController();
  const ctx = {
    session,
    main,
    signal: leave.signal,
    query: new URLSearchParams(location.search),
    navigate,
    onSignedIn: (s) => {
      session = s;
      showSession();
      // Signing in on a deep link (a bookmarked stack's page) stays there.
      navigate(location.pathname + location.search, { replace: true });
    },
  };
  showSession();
  if (!session) {
    document.title = 'Sign in · hubkeep';
    signInPage(ctx);
    return;
  }
  const path = location.pathname;
  for (const [pattern, page] of routes) {
    const m = pattern.exec(path);
    if (!m) continue;
    ctx.params = m.slice(1).map(decodeURIComponent);
    fill(main, h('p', {}, 'Loading…'));
    try {
      await page(ctx);
    } catch (e) {
      if (e.status === 401) {
        session = null;
        render();
        return;
      }
      fill(main, h('h1', { tabindex: -1 }, 'Something went wrong'), errorBox(e.message));
    }
    focusHeading();
    return;
  }
  fill(main, h('h1', { tabindex: -1 }, 'Not found'), h('p', {}, 'This page does not exist. ', h('a', { href: '/' }, 'Back to Stacks')));
  focusHeading();
}

function focusHeading() {
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    document.title = `${heading.textContent} · hubkeep`;
    if (document.activeElement === document.body || !main.contains(document.activeElement)) heading.focus();
  }
}

document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.hash && url.pathname === location.pathname) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener('popstate', render);

document.getElementById('sign-out').addEventListener('click', async () => {
  try {
    await signOut();
  } catch {
    // Signed out locally all the same; the server forgets idle sessions.
  }
  session = null;
  history.pushState(null, '', '/');
  render();
});

(async () => {
  try {
    session = await currentSession();
  } catch (e) {
    fill(main, h('h1', {}, 'hubkeep'), errorBox(e.message));
    return;
  }
  render();
})();
