// A stack's three pictures, drawn as inline SVG from its history document
// (GET /api/v1/stacks/{name}/history): the last nights as a strip of cells,
// the vault's size over time as a line, and the drills' restore times as
// bars. Each picture is an image with a summary in words (aria-label), each
// mark has a <title> that says what it is, and a letter marks the states, so
// colour is never the only carrier. Sizes come from the viewBox, so the
// pictures fit the page's width; on a narrow screen (a 375 px phone) the
// nights wrap into rows of ten, so their cells and days stay readable.

import { h, section, bytes } from './ui.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

// The charts' size in SVG units: about their size on the page (half of a
// wide page, or all of a phone's), so their text reads at its font size.
const CHART_WIDTH = 340;
const CHART_HEIGHT = 160;

/** A phone-sized screen (the stylesheet's narrow layout). */
const narrow = () => window.matchMedia('(max-width: 40rem)').matches;

/** Makes an SVG element: s('rect', {x: 0, width: 10}, child…). */
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function picture(cls, label, width, height, ...children) {
  return s('svg', { class: `pic ${cls}`, role: 'img', 'aria-label': label, viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'xMinYMin meet' },
    s('title', {}, label), ...children);
}

// Each night's state: its words, and the letter drawn in its cell.
const NIGHT = {
  backed_up: { words: 'backed up', mark: '' },
  expired: { words: 'expired', mark: 'E' },
  failed: { words: 'failed', mark: '✕' },
  missed: { words: 'missed', mark: 'M' },
  none: { words: 'no run due', mark: '' },
};
const ORDER = ['backed_up', 'expired', 'failed', 'missed', 'none'];

/** "2026-11-03: backed up, verified". */
export function nightTitle(night) {
  const words = (NIGHT[night.state] || { words: night.state }).words;
  return `${night.date}: ${words}${night.verified ? ', verified' : ''}`;
}

/** "30 nights: 27 backed up, 1 failed, 2 missed". */
export function nightsSummary(nights) {
  const counts = {};
  for (const n of nights) counts[n.state] = (counts[n.state] || 0) + 1;
  const parts = ORDER.filter((k) => counts[k]).map((k) => `${counts[k]} ${NIGHT[k].words}`);
  const verified = nights.filter((n) => n.verified).length;
  return `${nights.length} nights: ${parts.join(', ')}${verified ? ` (${verified} verified)` : ''}`;
}

function nightsPicture(history) {
  const nights = history.nights || [];
  const cell = 22;
  const gap = 3;
  const row = cell + 18;
  const perRow = narrow() ? 10 : Math.max(1, nights.length);
  const width = Math.min(perRow, Math.max(1, nights.length)) * (cell + gap);
  const height = Math.ceil(Math.max(1, nights.length) / perRow) * row;
  const cells = nights.map((n, i) => {
    const x = (i % perRow) * (cell + gap);
    const y = Math.floor(i / perRow) * row;
    const kind = NIGHT[n.state] ? n.state : 'none';
    const mark = n.verified ? '✓' : NIGHT[kind].mark;
    return s('g', { class: `night ${kind}${n.verified ? ' verified' : ''}`, 'data-date': n.date, 'data-state': n.state },
      s('title', {}, nightTitle(n)),
      s('rect', { x, y, width: cell, height: cell, rx: 3 }),
      mark ? s('text', { x: x + cell / 2, y: y + cell / 2 + 5, 'text-anchor': 'middle', class: 'mark' }, mark) : null,
      s('text', { x: x + cell / 2, y: y + cell + 13, 'text-anchor': 'middle', class: 'day' }, String(Number(n.date.slice(8, 10)))));
  });
  const legend = h('ul', { class: 'legend' },
    ORDER.map((k) => h('li', {}, h('span', { class: `swatch ${k}`, 'aria-hidden': 'true' }, NIGHT[k].mark), ' ', h('span', {}, NIGHT[k].words))),
    h('li', {}, h('span', { class: 'swatch backed_up', 'aria-hidden': 'true' }, '✓'), ' ', h('span', {}, 'verified')));
  const range = nights.length ? `${nights[0].date} to ${nights[nights.length - 1].date}, dates in ${history.timezone}` : 'no nights';
  return h('figure', { class: 'picture' },
    picture('nights', nightsSummary(nights), width, height, cells),
    h('figcaption', {}, `Last ${nights.length} nights (${range}).`),
    legend);
}

/** A time axis from the first to the last of `ats`, over `x0`..`x1`. */
function timeScale(ats, x0, x1) {
  const ts = ats.map((a) => new Date(a).getTime());
  const lo = Math.min(...ts);
  const hi = Math.max(...ts);
  return (at) => (hi === lo ? (x0 + x1) / 2 : x0 + ((new Date(at).getTime() - lo) / (hi - lo)) * (x1 - x0));
}

const shortDate = (iso) => new Date(iso).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });

function vaultPicture(history) {
  const points = history.vault_size || [];
  const vault = history.vault || 'the vault';
  if (!points.length) {
    return h('figure', { class: 'picture' }, h('p', { class: 'muted' }, `No size of ${vault} recorded yet: each backup, gc and retention run records one.`));
  }
  const width = CHART_WIDTH;
  const height = CHART_HEIGHT;
  const [left, right, top, bottom] = [62, width - 10, 10, height - 24];
  const max = Math.max(...points.map((p) => p.stored_bytes), 1);
  const x = timeScale(points.map((p) => p.at), left, right);
  const y = (b) => bottom - (b / max) * (bottom - top);
  const last = points[points.length - 1];
  const label = `Vault ${vault}: ${bytes(last.stored_bytes)} on ${shortDate(last.at)}, from ${bytes(points[0].stored_bytes)} on ${shortDate(points[0].at)} (${points.length} samples)`;
  return h('figure', { class: 'picture' },
    picture('vault-size', label, width, height,
      s('line', { x1: left, y1: bottom, x2: right, y2: bottom, class: 'axis' }),
      s('line', { x1: left, y1: top, x2: left, y2: bottom, class: 'axis' }),
      s('text', { x: left - 6, y: top + 10, 'text-anchor': 'end', class: 'tick' }, bytes(max)),
      s('text', { x: left - 6, y: bottom, 'text-anchor': 'end', class: 'tick' }, '0'),
      s('text', { x: left, y: height - 6, class: 'tick' }, shortDate(points[0].at)),
      s('text', { x: right, y: height - 6, 'text-anchor': 'end', class: 'tick' }, shortDate(last.at)),
      s('polyline', { class: 'line', points: points.map((p) => `${x(p.at).toFixed(1)},${y(p.stored_bytes).toFixed(1)}`).join(' ') }),
      points.map((p) => s('circle', { class: 'dot', cx: x(p.at).toFixed(1), cy: y(p.stored_bytes).toFixed(1), r: 4 },
        s('title', {}, `${new Date(p.at).toISOString().replace('.000Z', 'Z')}: ${bytes(p.stored_bytes)}`)))),
    h('figcaption', {}, `Size of vault ${vault} over time (bytes its snapshots and recovery points stored).`));
}

function rtoPicture(history) {
  const drills = (history.rto || []).slice(-20);
  if (!drills.length) {
    return h('figure', { class: 'picture' }, h('p', { class: 'muted' }, 'No restore times yet: a drill restores the newest backup set and times it.'));
  }
  const width = CHART_WIDTH;
  const height = CHART_HEIGHT;
  const [left, right, top, bottom] = [50, width - 10, 10, height - 24];
  const max = Math.max(...drills.map((d) => d.rto_seconds), 1);
  const slot = (right - left) / Math.max(drills.length, 4);
  const barWidth = Math.min(40, slot * 0.7);
  const last = drills[drills.length - 1];
  const failed = drills.filter((d) => !d.passed).length;
  const secs = (v) => `${Math.round(v)} s`;
  const label = `${drills.length} drill${drills.length === 1 ? '' : 's'}: latest restore time ${secs(last.rto_seconds)}, longest ${secs(max)}${failed ? `, ${failed} failed` : ''}`;
  return h('figure', { class: 'picture' },
    picture('rto', label, width, height,
      s('line', { x1: left, y1: bottom, x2: right, y2: bottom, class: 'axis' }),
      s('text', { x: left - 6, y: top + 10, 'text-anchor': 'end', class: 'tick' }, secs(max)),
      s('text', { x: left - 6, y: bottom, 'text-anchor': 'end', class: 'tick' }, '0 s'),
      drills.map((d, i) => {
        const bx = left + i * slot + (slot - barWidth) / 2;
        const by = bottom - (d.rto_seconds / max) * (bottom - top);
        return s('g', { class: `bar ${d.passed ? 'passed' : 'failed'}` },
          s('title', {}, `${shortDate(d.at)}: ${secs(d.rto_seconds)}, ${d.passed ? 'passed' : 'failed'}`),
          s('rect', { x: bx.toFixed(1), y: by.toFixed(1), width: barWidth.toFixed(1), height: Math.max(1, bottom - by).toFixed(1) }),
          d.passed ? null : s('text', { x: (bx + barWidth / 2).toFixed(1), y: (by - 4).toFixed(1), 'text-anchor': 'middle', class: 'mark-above' }, '✕'),
          // Every date when they fit, else the first and the last.
          drills.length <= 5 || i === 0 || i === drills.length - 1
            ? s('text', { x: (bx + barWidth / 2).toFixed(1), y: height - 6, 'text-anchor': 'middle', class: 'tick' }, shortDate(d.at))
            : null);
      })),
    h('figcaption', {}, 'Restore time (RTO) of each drill; ✕ marks a failed drill.'));
}

/** The "History" section: the three pictures, or why they are missing. */
export function historySection(history) {
  if (history instanceof Error) return section('History', h('p', { class: 'error', role: 'alert' }, history.message));
  return section('History',
    h('div', { class: 'pictures' },
      h('div', {}, h('h3', {}, 'Nights'), nightsPicture(history)),
      h('div', {}, h('h3', {}, 'Vault size'), vaultPicture(history)),
      h('div', {}, h('h3', {}, 'Restore time'), rtoPicture(history))));
}
