/**
 * The dashboard's own pages: static HTML shells; the script fills them from the JSON API
 * (with textContent only) and refreshes them while batches run.
 */

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function shell(title: string, body: string, data: Record<string, string>): string {
  const attrs = Object.entries(data)
    .map(([k, v]) => ` data-${k}="${escapeHtml(v)}"`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · sealmail</title>
<link rel="stylesheet" href="/assets/app.css">
</head>
<body${attrs}>
<header><a href="/batches" class="brand">sealmail</a><nav><a href="/batches">Batches</a><a href="/queues">Queues</a><a href="/metrics">Metrics</a></nav></header>
<main>${body}</main>
<script src="/assets/app.js"></script>
</body>
</html>
`;
}

export function overviewPage(readOnly: boolean): string {
  return shell(
    'Batches',
    `<h1>Batches</h1>
<table class="batches"><thead><tr><th>Batch</th><th>Source</th><th>State</th><th>Progress</th><th>Sent</th><th>Failed</th><th>Rejected</th><th>Already sent</th><th>429s</th><th>ETA</th></tr></thead>
<tbody id="batches"><tr><td colspan="10">Loading…</td></tr></tbody></table>`,
    { page: 'overview', readonly: String(readOnly) },
  );
}

export function batchPage(batchId: string, readOnly: boolean): string {
  return shell(
    `Batch ${batchId}`,
    `<h1>Batch <span id="batch-id"></span> <small id="state"></small></h1>
<p id="source" class="muted"></p>
<div class="progress"><div id="bar"></div></div>
<p id="progress-text"></p>
<section class="counts">
  <div><span id="count-sent">0</span><label>sent</label></div>
  <div><span id="count-pending">0</span><label>pending</label></div>
  <div><span id="count-failed">0</span><label>failed</label></div>
  <div><span id="count-rejected">0</span><label>rejected</label></div>
  <div><span id="count-already_sent">0</span><label>already sent</label></div>
  <div><span id="count-429">0</span><label>429s</label></div>
</section>
<p id="lanes" class="muted"></p>
<h2>Sends and 429s over time</h2>
<svg id="chart" viewBox="0 0 600 160" preserveAspectRatio="none" role="img" aria-label="sends and 429s per 10 seconds"></svg>
<p class="legend"><span class="sent">■ sent</span> <span class="failed">■ failed</span> <span class="limited">■ 429</span> per 10 s</p>
<p class="actions"><a id="report" class="button">Download report (CSV)</a> <button id="retry" type="button">Retry failed rows</button> <span id="retry-result"></span></p>
<h2>Failed and rejected rows <small id="problems-total"></small></h2>
<p class="pager"><button id="problems-first" type="button">First page</button> <span id="problems-range" class="muted"></span> <button id="problems-next" type="button">Next page</button></p>
<table class="problems"><thead><tr><th>Line</th><th>Order</th><th>Recipient</th><th>Status</th><th>HTTP</th><th>Error</th><th>Message</th></tr></thead><tbody id="problems"></tbody></table>`,
    { page: 'batch', batch: batchId, readonly: String(readOnly) },
  );
}

export const APP_CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{display:flex;gap:24px;align-items:center;padding:10px 24px;background:#1d2330}
header a{color:#dfe6f3;text-decoration:none;margin-right:16px}.brand{font-weight:700;color:#fff}
main{padding:16px 24px;max-width:1100px}
table{border-collapse:collapse;width:100%;background:#fff}th,td{padding:6px 8px;border-bottom:1px solid #e3e6ea;text-align:left}
.progress{height:14px;background:#e3e6ea;border-radius:7px;overflow:hidden}.progress div{height:100%;background:#2e7d32;width:0}
td .progress{width:140px;display:inline-block;vertical-align:middle}
.counts{display:flex;gap:16px;margin:16px 0}.counts div{background:#fff;padding:10px 16px;border-radius:6px;min-width:90px}
.counts span{display:block;font-size:24px;font-weight:600}.counts label{color:#5a6372}
.muted{color:#5a6372}svg{width:100%;height:160px;background:#fff}
.legend .sent{color:#2e7d32}.legend .failed{color:#c62828}.legend .limited{color:#ef6c00}
.button,button{background:#1d2330;color:#fff;border:0;padding:6px 12px;border-radius:4px;text-decoration:none;cursor:pointer}
button[disabled]{opacity:.4}.pager{display:flex;gap:12px;align-items:center}
`;

export const APP_JS = `
'use strict';
const page = document.body.dataset.page;
const readOnly = document.body.dataset.readonly === 'true';
const el = (tag, text) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); return e; };
const eta = (s) => s === null ? '–' : s === 0 ? 'done' : s < 3600 ? Math.floor(s / 60) + 'm ' + (s % 60) + 's' : Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
const pct = (b) => Math.floor(b.progress * 100) + '%';
async function api(path, options) {
  const res = await fetch(path, Object.assign({ credentials: 'same-origin' }, options));
  if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
  return res.json();
}
function bar(b) { const p = el('div'); p.className = 'progress'; const f = el('div'); f.style.width = pct(b); p.append(f); return p; }
async function overview() {
  const { batches } = await api('/api/batches');
  const body = document.getElementById('batches');
  body.replaceChildren(...(batches.length ? batches.map((b) => {
    const tr = el('tr'); const a = el('a', b.id); a.href = '/batches/' + encodeURIComponent(b.id);
    const first = el('td'); first.append(a); const prog = el('td'); prog.append(bar(b), ' ' + pct(b));
    tr.append(first, el('td', b.source), el('td', b.state), prog, el('td', b.counts.sent), el('td', b.counts.failed), el('td', b.counts.rejected), el('td', b.counts.already_sent), el('td', b.rateLimited), el('td', eta(b.etaSeconds)));
    return tr;
  }) : [(() => { const tr = el('tr'); const td = el('td', 'No batches yet.'); td.colSpan = 10; tr.append(td); return tr; })()]));
  setTimeout(overview, 3000);
}
function chart(points) {
  const svg = document.getElementById('chart'); const ns = 'http://www.w3.org/2000/svg';
  svg.replaceChildren();
  if (!points.length) return;
  const max = Math.max(1, ...points.map((p) => p.sent + p.failed + p.rateLimited));
  const w = 600 / Math.max(points.length, 30);
  points.forEach((p, i) => {
    let y = 160;
    for (const [value, color] of [[p.sent, '#2e7d32'], [p.failed, '#c62828'], [p.rateLimited, '#ef6c00']]) {
      const h = (value / max) * 150; if (!h) continue; y -= h;
      const r = document.createElementNS(ns, 'rect');
      r.setAttribute('x', String(i * w)); r.setAttribute('y', String(y)); r.setAttribute('width', String(Math.max(w - 1, 1))); r.setAttribute('height', String(h)); r.setAttribute('fill', color);
      svg.append(r);
    }
  });
}
// The page of problems on show: rows after this line (0: the first page), kept across refreshes.
let problemsAfter = 0;
let problemsNext = null;
const problemsPath = () => '/api/batches/' + encodeURIComponent(document.body.dataset.batch) + '/problems?after=' + problemsAfter;
function showProblems(p) {
  problemsNext = p.next;
  document.getElementById('problems-total').textContent = '(' + p.total + ')';
  const first = p.rows.length ? p.rows[0].line : 0, last = p.rows.length ? p.rows[p.rows.length - 1].line : 0;
  document.getElementById('problems-range').textContent = !p.rows.length ? '' : (first === last ? 'line ' + first : 'lines ' + first + '–' + last) + ' (' + p.rows.length + ' of ' + p.total + ')';
  document.getElementById('problems-first').disabled = problemsAfter === 0;
  document.getElementById('problems-next').disabled = p.next === null;
  document.getElementById('problems').replaceChildren(...p.rows.map((r) => {
    const tr = el('tr'); tr.append(el('td', r.line), el('td', r.orderId), el('td', r.recipient), el('td', r.status), el('td', r.httpStatus ?? ''), el('td', r.errorCode ?? ''), el('td', r.errorMessage ?? '')); return tr;
  }));
}
async function turnProblems(after) {
  problemsAfter = after;
  const problems = await api(problemsPath());
  if (after === problemsAfter) showProblems(problems);
}
async function batch() {
  const id = document.body.dataset.batch;
  const b = await api('/api/batches/' + encodeURIComponent(id));
  document.getElementById('batch-id').textContent = b.id;
  document.getElementById('state').textContent = b.state === 'queued' && b.startedAt ? 'running' : b.state;
  document.getElementById('source').textContent = 'from ' + b.source + ' · ' + b.total + ' rows · created ' + new Date(b.createdAt).toLocaleString();
  document.getElementById('bar').style.width = pct(b);
  document.getElementById('progress-text').textContent = pct(b) + ' settled · ' + b.pacePerSecond + ' rows/s · ETA ' + eta(b.etaSeconds);
  for (const k of ['sent', 'pending', 'failed', 'rejected', 'already_sent']) document.getElementById('count-' + k).textContent = b.counts[k];
  document.getElementById('count-429').textContent = b.rateLimited;
  document.getElementById('lanes').textContent = Object.entries(b.lanes).map(([name, l]) => name + ' lane: ' + (l.halt ? 'STOPPED (' + l.halt.reason + ')' : l.pausedUntil > Date.now() ? 'paused after a 429' : 'running') + ', ' + (l.effectiveRatePerSecond === null ? 'no limit' : l.effectiveRatePerSecond + ' req/s') + (l.adaptive ? ', adapted to ' + l.adaptive.max + ' per ' + l.adaptive.windowMs + ' ms' : '')).join(' · ');
  chart(b.timeline);
  const shown = problemsAfter;
  const problems = shown === 0 ? b.problems : await api(problemsPath());
  // A page turned while this refresh was on its way wins.
  if (shown === problemsAfter) showProblems(problems);
  const retry = document.getElementById('retry');
  retry.disabled = readOnly || b.counts.failed === 0;
  if (b.state !== 'done') setTimeout(batch, 2000);
}
if (page === 'batch') {
  const id = document.body.dataset.batch;
  document.getElementById('report').href = '/api/batches/' + encodeURIComponent(id) + '/report.csv';
  document.getElementById('retry').addEventListener('click', async () => {
    const out = document.getElementById('retry-result');
    try { const r = await api('/api/batches/' + encodeURIComponent(id) + '/retry', { method: 'POST' }); out.textContent = r.requeued + ' rows queued again'; batch(); }
    catch (e) { out.textContent = e.message; }
  });
  document.getElementById('problems-next').addEventListener('click', () => { if (problemsNext !== null) turnProblems(problemsNext).catch(() => {}); });
  document.getElementById('problems-first').addEventListener('click', () => { turnProblems(0).catch(() => {}); });
  batch().catch((e) => { document.getElementById('progress-text').textContent = e.message; });
} else if (page === 'overview') {
  overview().catch((e) => { document.getElementById('batches').textContent = e.message; });
}
`;
