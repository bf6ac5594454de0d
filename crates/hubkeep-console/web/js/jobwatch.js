// Follows one job live: a <progress> bar fed by the job's server-sent events
// (GET /api/v1/jobs/{id}/events: `progress` events while it runs, then one
// `end` event with the final job document), its state in words in an
// aria-live region. If the stream breaks, it reads the job document instead.

import { api, seg } from './api.js';
import { h, fill, badge, bytes, announce } from './ui.js';

const FINAL = ['COMPLETED', 'FAILED', 'ABORTED', 'EXPIRED'];

/** Whether a job state is final. */
export const isFinal = (state) => FINAL.includes(state);

/**
 * Renders a live view of job `jobId` and follows it until it ends.
 * `onEnd(job)` is called once with the final job document. Stops when
 * `signal` aborts (the page was left).
 */
export function watchJob(jobId, { signal, onEnd, label } = {}) {
  const state = h('span', { class: 'state' });
  const bar = h('progress', { max: 1, 'aria-label': `Progress of job ${jobId}` });
  const words = h('span', { class: 'progress-words' });
  const live = h('p', { class: 'job-live', role: 'status', 'aria-live': 'polite' }, state, ' ', words);
  const errorLine = h('p', { class: 'error', role: 'alert', hidden: true });
  const box = h('div', { class: 'job-watch', 'data-job': jobId },
    h('p', {}, label || 'Job ', h('a', { href: `/jobs/${seg(jobId)}` }, jobId)), bar, live, errorLine);

  let ended = false;
  let source = null;
  let poll = null;

  function show(job, progress) {
    if (job && job.state) fill(state, badge(job.state));
    const p = progress || (job && job.progress);
    if (p && p.bytes_total) {
      bar.max = p.bytes_total;
      bar.value = Math.min(p.bytes_done || 0, p.bytes_total);
      words.textContent = `${p.phase || ''} ${bytes(p.bytes_done || 0)} of ${bytes(p.bytes_total)}`.trim();
    } else if (p) {
      bar.removeAttribute('value');
      words.textContent = `${p.phase || ''} ${p.bytes_done ? bytes(p.bytes_done) : ''}`.trim();
    }
    if (job && job.waiting_for) words.textContent = `waiting: ${job.waiting_for}`;
  }

  function finish(job) {
    if (ended) return;
    ended = true;
    if (source) source.close();
    if (poll) clearTimeout(poll);
    show(job);
    bar.max = 1;
    bar.value = job.state === 'COMPLETED' ? 1 : bar.value || 0;
    if (job.state === 'COMPLETED') words.textContent = 'done';
    if (job.error) {
      errorLine.hidden = false;
      errorLine.textContent = job.error;
    }
    announce(`Job ${jobId} ${job.state}`);
    if (onEnd) onEnd(job);
  }

  async function readJob() {
    if (ended || (signal && signal.aborted)) return;
    try {
      const job = await api('GET', `/jobs/${seg(jobId)}`);
      if (isFinal(job.state)) return finish(job);
      show(job);
    } catch (e) {
      words.textContent = e.message;
    }
    poll = setTimeout(readJob, 1000);
  }

  function stream() {
    source = new EventSource(`/api/v1/jobs/${seg(jobId)}/events`);
    source.addEventListener('progress', (e) => {
      const data = parse(e.data);
      if (!data) return;
      if (data.job_id) show(data); else show(null, data.progress || data);
      if (data.state) fill(state, badge(data.state));
    });
    source.addEventListener('end', (e) => {
      const job = parse(e.data);
      if (job && job.state) finish(job); else { source.close(); readJob(); }
    });
    source.addEventListener('error', () => {
      // The stream ended or broke: the job document says where it is.
      if (ended) return;
      source.close();
      readJob();
    });
  }

  if (signal) signal.addEventListener('abort', () => {
    ended = true;
    if (source) source.close();
    if (poll) clearTimeout(poll);
  });
  fill(state, badge('…', 'plain'));
  api('GET', `/jobs/${seg(jobId)}`).then((job) => {
    if (isFinal(job.state)) finish(job); else { show(job); stream(); }
  }, () => stream());
  return box;
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
