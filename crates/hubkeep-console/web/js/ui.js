// Small DOM helpers. Every text goes in as a text node (never as HTML), so
// nothing from the server can become markup.

/** Makes an element: h('a', {href: '/'}, 'Stacks'). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A time in the viewer's zone, with the UTC time on hover. */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, 'never');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', {}, iso);
  const local = d.toLocaleString(undefined, {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
  });
  return h('time', { datetime: d.toISOString(), title: d.toISOString().replace('.000Z', 'Z').replace('T', ' ') + ' UTC' }, local);
}

/** An id in monospace with a one-click "Copy" button. */
export function copyable(id, label = 'id') {
  const button = h('button', { type: 'button', class: 'copy', 'aria-label': `Copy ${id}`, title: `Copy ${label}` }, 'Copy');
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(id);
      button.textContent = 'Copied';
    } catch {
      // Without clipboard access (plain http on another host), select it instead.
      const range = document.createRange();
      range.selectNodeContents(code);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      button.textContent = 'Selected';
    }
    setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  });
  const code = h('code', {}, id);
  return h('span', { class: 'id' }, code, ' ', button);
}

/** A status word in a badge; the word carries the meaning, the colour only helps. */
export function badge(text, tone) {
  const word = String(text ?? 'unknown');
  const t = tone || toneOf(word);
  return h('span', { class: `badge ${t}` }, word);
}

function toneOf(word) {
  const w = word.toUpperCase();
  if (['ONLINE', 'AVAILABLE', 'COMPLETED', 'PASSED'].includes(w)) return 'good';
  if (['FAILED', 'CREATE_FAILED', 'BROKEN', 'ABORTED', 'EXPIRED', 'PARTIAL'].includes(w)) return 'bad';
  if (['RUNNING', 'QUEUED', 'CREATED', 'CREATING', 'CREATE_IN_PROGRESS', 'OFFLINE', 'DELETING', 'DELETE_IN_PROGRESS', 'UNVERIFIED'].includes(w)) return 'busy';
  return 'plain';
}

/** Bytes in words. */
export function bytes(n) {
  if (n === undefined || n === null) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** An error in words, read out when it appears. */
export function errorBox(message, id) {
  return h('p', { class: 'error', role: 'alert', id }, message);
}

/** A section with a heading. */
export function section(title, ...children) {
  const id = 'h-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

/** A table from a header row and body rows; an empty body says so. */
export function table(caption, headers, rows, empty = 'None yet.') {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h('div', { class: 'scroll' },
    h('table', {},
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c)))))));
}

/** Says something to screen readers (the page's aria-live region). */
export function announce(text) {
  const region = document.getElementById('announce');
  if (region) region.textContent = text;
}

/** Whether a role may start backups, restores, drills and plan changes. */
export const canOperate = (session) => session && (session.role === 'operator' || session.role === 'admin');
/** Whether a role may do an admin's changes (cancel a secret's deletion). */
export const isAdmin = (session) => session && session.role === 'admin';
