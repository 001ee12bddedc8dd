// frugal web UI: ask, search, upload, list and delete documents, a dashboard from /metrics.
// Plain browser JavaScript, no framework and no build step; the server embeds this file.
// The API key lives in sessionStorage (this tab only) and goes out as "Authorization: Bearer".
// All text from the server is put into the page with textContent, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const state = {
  key: sessionStorage.getItem('frugal.key') || '',
  collection: sessionStorage.getItem('frugal.collection') || '',
  streaming: null, // null: not tried yet; false: the server answered 501 to "stream": true
  docOffset: 0,
  docLimit: 50,
  metricsTimer: null,
  history: [], // dashboard samples: {t, requests, tokens, cost}
};

// ---- small helpers ----

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function setStatus(text, isError) {
  const s = $('status');
  s.textContent = text;
  s.classList.toggle('error', !!isError);
}

function fmtMs(ms) { return ms === undefined || ms === null ? '–' : `${Number(ms).toFixed(1)} ms`; }
function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

// One API call: JSON in (or FormData), JSON out; a non-2xx reply throws ApiError.
async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.key}` };
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
  const r = await fetch(path, { method, headers, body: payload });
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (!r.ok && !(r.status === 422 && data && data.files)) {
    const err = data && data.error ? data.error : { code: String(r.status), message: r.statusText };
    throw new ApiError(r.status, err.code, err.message);
  }
  return data;
}

function collectionPath(suffix) {
  return `/v1/collections/${encodeURIComponent(state.collection)}${suffix || ''}`;
}

// ---- key and collections ----

async function loadCollections() {
  const sel = $('collection-select');
  if (!state.key) { setStatus('Enter an API key to start.'); return; }
  try {
    const data = await api('GET', '/v1/collections');
    sel.replaceChildren();
    for (const c of data.collections) {
      sel.append(el('option', { value: c.name }, `${c.name} (${c.documents} document${c.documents === 1 ? '' : 's'})`));
    }
    const names = data.collections.map((c) => c.name);
    if (!names.includes(state.collection)) state.collection = names[0] || '';
    sel.value = state.collection;
    sel.disabled = names.length === 0;
    sessionStorage.setItem('frugal.collection', state.collection);
    setStatus(names.length ? `Connected: ${names.length} collection(s).` : 'No collections yet.');
  } catch (e) {
    sel.replaceChildren();
    sel.disabled = true;
    setStatus(`Cannot list collections: ${e.message}`, true);
  }
}

function saveKey(ev) {
  ev.preventDefault();
  state.key = $('key-input').value.trim();
  sessionStorage.setItem('frugal.key', state.key);
  loadCollections().then(refreshDocuments);
}

function selectCollection() {
  state.collection = $('collection-select').value;
  sessionStorage.setItem('frugal.collection', state.collection);
  state.docOffset = 0;
  refreshDocuments();
}

// ---- tabs ----

function showTab(name) {
  for (const t of document.querySelectorAll('[role=tab]')) {
    const on = t.id === `tab-${name}`;
    t.setAttribute('aria-selected', String(on));
    $(t.getAttribute('aria-controls')).hidden = !on;
  }
  if (name === 'documents') refreshDocuments();
  clearInterval(state.metricsTimer);
  state.metricsTimer = null;
  if (name === 'dashboard') {
    refreshDashboard();
    state.metricsTimer = setInterval(refreshDashboard, 5000);
  }
}

// ---- ask ----

function renderFacts(a) {
  const dl = $('answer-facts');
  dl.replaceChildren();
  const add = (k, v) => { if (v !== undefined && v !== null && v !== '') dl.append(el('dt', {}, k), el('dd', {}, v)); };
  if (a.route) add('Route', el('span', { class: 'badge', id: 'answer-route' }, a.route));
  add('Why', a.reason);
  if (typeof a.confidence === 'number') add('Confidence', `${(a.confidence * 100).toFixed(0)}%`);
  const t = a.timings_ms;
  if (t) add('Timings', `retrieve ${fmtMs(t.retrieve)} · extract ${fmtMs(t.extract)} · generate ${fmtMs(t.generate)} · total ${fmtMs(t.total)}`);
  const u = a.usage;
  if (u) add('Tokens', `prompt ${u.prompt_tokens} · completion ${u.completion_tokens} · context ${u.context_tokens} of ${u.context_tokens_full}`);
  const c = a.cost;
  if (c) add('Cost', `$${Number(c.usd).toFixed(6)} · ${Number(c.cpu_ms).toFixed(1)} CPU ms`);
}

function renderCitations(citations) {
  const ol = $('citations');
  ol.replaceChildren();
  if (!citations || citations.length === 0) {
    ol.append(el('li', { class: 'muted' }, 'No citations.'));
    return;
  }
  citations.forEach((c, i) => {
    const label = c.title || c.source || `document ${c.document_id}`;
    const btn = el('button', { type: 'button', class: 'link citation', 'data-index': String(i),
      onclick: () => openPassage(c.document_id, c.char_start, c.char_end, label) },
    el('span', { class: 'citation-source' }, `[${i + 1}] ${label}`),
    c.heading_path ? ` — ${c.heading_path}` : '',
    c.snippet ? el('span', { class: 'snippet' }, c.snippet) : null);
    ol.append(el('li', {}, btn));
  });
}

function renderAnswer(a) {
  $('answer').hidden = false;
  const text = $('answer-text');
  const found = a.answer && a.answer.length > 0;
  text.textContent = found ? a.answer : 'No answer found in this collection.';
  text.classList.toggle('none', !found);
  renderFacts(a);
  renderCitations(a.citations);
}

// The non-streaming call: one JSON answer object.
async function askOnce(question) {
  return api('POST', '/v1/ask', { question, collection: state.collection });
}

// The streaming call (Server-Sent Events: route, delta..., citations, done). Renders as events
// arrive and resolves with the assembled answer object. Throws ApiError(501) when the server
// does not stream yet, so askQuestion can fall back to askOnce.
async function askStreaming(question) {
  const r = await fetch('/v1/ask', {
    method: 'POST',
    headers: { Authorization: `Bearer ${state.key}`, 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    body: JSON.stringify({ question, collection: state.collection, stream: true }),
  });
  if (!r.ok || !(r.headers.get('Content-Type') || '').startsWith('text/event-stream')) {
    let err = { code: String(r.status), message: r.statusText };
    try { const d = await r.json(); if (d.error) err = d.error; } catch (e) { /* not JSON */ }
    throw new ApiError(r.status, err.code, err.message);
  }
  const a = { answer: '', citations: [] };
  $('answer').hidden = false;
  $('answer-text').textContent = '';
  $('answer-text').classList.remove('none');
  $('citations').replaceChildren();
  const apply = (event, data) => {
    let v = data;
    try { v = JSON.parse(data); } catch (e) { /* plain text */ }
    if (event === 'route') Object.assign(a, typeof v === 'object' ? v : { route: v });
    else if (event === 'delta') a.answer += typeof v === 'object' ? (v.text ?? v.delta ?? v.content ?? '') : v;
    else if (event === 'citations') a.citations = Array.isArray(v) ? v : v.citations || [];
    else if (event === 'done' && typeof v === 'object') Object.assign(a, v, { answer: v.answer ?? a.answer });
    else if (event === 'error') throw new ApiError(500, v.error ? v.error.code : 'error', v.error ? v.error.message : String(data));
    $('answer-text').textContent = a.answer;
    renderFacts(a);
    if (event === 'citations' || event === 'done') renderCitations(a.citations);
  };
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value.replace(/\r\n/g, '\n');
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) apply(event, data.join('\n'));
    }
  }
  return a;
}

// Streams when the server can, else asks once; remembers a 501 so it asks once from then on.
async function askQuestion(question) {
  if (state.streaming !== false) {
    try {
      const a = await askStreaming(question);
      state.streaming = true;
      return a;
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 501 || state.streaming === true) throw e;
      state.streaming = false;
    }
  }
  return askOnce(question);
}

async function onAsk(ev) {
  ev.preventDefault();
  const q = $('ask-input').value.trim();
  if (!q) return;
  const button = $('ask-button');
  button.disabled = true;
  setStatus('Asking…');
  try {
    const a = await askQuestion(q);
    renderAnswer(a);
    setStatus(`Answered in ${fmtMs(a.timings_ms && a.timings_ms.total)}.`);
  } catch (e) {
    setStatus(`Ask failed: ${e.message}`, true);
  } finally {
    button.disabled = false;
  }
}

// ---- passages ----

// Shows document id's extracted text with [start, end) (code points) highlighted.
async function openPassage(documentId, start, end, label) {
  const dlg = $('passage');
  $('passage-title').textContent = label || `Document ${documentId}`;
  $('passage-meta').textContent = 'Loading…';
  $('passage-text').replaceChildren();
  if (!dlg.open) dlg.showModal();
  try {
    const d = await api('GET', collectionPath(`/documents/${documentId}`));
    $('passage-meta').textContent = `${d.source} · characters ${start}–${end} · ${d.chunks} chunks`;
    const cps = Array.from(d.text || ''); // offsets count code points, JS strings UTF-16 units
    const mark = el('mark', { id: 'passage-mark' }, cps.slice(start, end).join(''));
    $('passage-text').replaceChildren(cps.slice(0, start).join(''), mark, cps.slice(end).join(''));
    mark.scrollIntoView({ block: 'center' });
  } catch (e) {
    $('passage-meta').textContent = `Cannot open the document: ${e.message}`;
  }
}

// ---- search ----

async function onSearch(ev) {
  ev.preventDefault();
  const query = $('search-input').value.trim();
  const k = Number($('search-k').value) || 10;
  const body = { query, collection: state.collection, k, mode: $('search-mode').value };
  const rerankTop = Number($('search-rerank').value) || 0;
  if (rerankTop > 0) body.rerank_top_n = rerankTop; // 400 when the server has no --rerank
  const ol = $('hits');
  try {
    const data = await api('POST', '/v1/search', body);
    const notes = [data.mode];
    if (data.agreement !== null && data.agreement !== undefined) notes.push(`agreement ${data.agreement.toFixed(2)}`);
    if (rerankTop > 0) notes.push(`${data.reranked} reranked`);
    $('search-summary').textContent = `${data.hits.length} result(s) in ${fmtMs(data.took_ms)} (${notes.join(', ')}).` +
      (data.rerank_note ? ` ${data.rerank_note}.` : '');
    ol.replaceChildren();
    for (const h of data.hits) {
      const c = h.citation;
      const label = c.title || c.source;
      ol.append(el('li', { class: 'hit' },
        el('div', { class: 'hit-head' },
          el('button', { type: 'button', class: 'link citation-source',
            onclick: () => openPassage(h.document_id, c.char_start, c.char_end, label) }, label),
          el('span', { class: 'muted' }, [c.source, c.heading_path].filter(Boolean).join(' · ')),
          el('span', { class: 'score' }, `score ${h.score.toFixed(3)}` +
            (h.rerank_score !== undefined ? ` · rerank ${h.rerank_score.toFixed(2)}` : ''))),
        el('span', { class: 'snippet' }, h.snippet || h.text)));
    }
  } catch (e) {
    $('search-summary').textContent = '';
    ol.replaceChildren();
    setStatus(`Search failed: ${e.message}`, true);
  }
}

// The search form's mode and reranking controls (built here so index.html stays as it is).
function setupSearchOptions() {
  const form = $('search-form');
  const submit = form.querySelector('button[type=submit]');
  form.insertBefore(el('label', { for: 'search-mode' }, 'Mode'), submit);
  form.insertBefore(el('select', { id: 'search-mode', title: 'hybrid and vectors need a collection with an embedder' },
    el('option', { value: 'bm25' }, 'keywords'),
    el('option', { value: 'hybrid' }, 'hybrid'),
    el('option', { value: 'dense' }, 'vectors')), submit);
  form.insertBefore(el('label', { for: 'search-rerank' }, 'Rerank top'), submit);
  form.insertBefore(el('input', { id: 'search-rerank', type: 'number', min: '0', max: '100', value: '0',
    title: '0: off; needs a server started with --rerank' }), submit);
}

// ---- documents ----

function renderReport(report) {
  const box = $('upload-report');
  const summary = ['added', 'updated', 'unchanged', 'deleted', 'failed', 'skipped']
    .filter((k) => report[k]).map((k) => `${report[k]} ${k}`).join(', ') || 'nothing changed';
  const list = el('ul', {});
  for (const f of report.files || []) {
    list.append(el('li', { class: f.outcome === 'failed' ? 'failed' : 'ok' },
      `${f.source || f.id}: ${f.outcome}${f.reason ? ` (${f.reason})` : ''}`));
  }
  box.append(el('div', { class: 'report-entry' },
    el('strong', {}, `${summary}; ${report.chunks_written || 0} chunks written`), list));
}

async function uploadFiles(files) {
  if (!state.collection) { setStatus('Pick a collection first.', true); return; }
  $('upload-report').replaceChildren();
  for (const file of files) {
    const form = new FormData();
    form.append('file', file, file.name);
    setStatus(`Uploading ${file.name}…`);
    try {
      renderReport(await api('POST', collectionPath('/documents'), form));
      setStatus(`Uploaded ${file.name}.`);
    } catch (e) {
      renderReport({ failed: 1, files: [{ source: file.name, outcome: 'failed', reason: e.message }] });
      setStatus(`Upload of ${file.name} failed: ${e.message}`, true);
    }
  }
  await refreshDocuments();
  loadCollections();
}

async function refreshDocuments() {
  const body = $('documents-body');
  if (!state.key || !state.collection) { body.replaceChildren(); return; }
  try {
    const data = await api('GET', collectionPath(`/documents?offset=${state.docOffset}&limit=${state.docLimit}`));
    body.replaceChildren();
    if (data.documents.length === 0) {
      body.append(el('tr', {}, el('td', { colspan: '6', class: 'muted' }, 'No documents in this collection.')));
    }
    for (const d of data.documents) {
      body.append(el('tr', { 'data-id': String(d.id) },
        el('td', { class: 'num' }, String(d.id)),
        el('td', {}, el('button', { type: 'button', class: 'link',
          onclick: () => openPassage(d.id, 0, 0, d.title || d.source) }, d.source)),
        el('td', {}, d.title || ''),
        el('td', { class: 'num' }, String(d.chunks)),
        el('td', { class: 'num' }, fmtBytes(d.size)),
        el('td', {}, el('button', { type: 'button', class: 'small danger', 'aria-label': `Delete ${d.source}`,
          onclick: () => deleteDocument(d) }, 'Delete'))));
    }
    $('documents-page').textContent = data.documents.length
      ? `${state.docOffset + 1}–${state.docOffset + data.documents.length}` : '';
    $('documents-prev').disabled = state.docOffset === 0;
    $('documents-next').disabled = data.next_offset === null;
  } catch (e) {
    setStatus(`Cannot list documents: ${e.message}`, true);
  }
}

async function deleteDocument(d) {
  if (!window.confirm(`Delete ${d.source} from ${state.collection}?`)) return;
  try {
    await api('DELETE', collectionPath(`/documents/${d.id}`));
    setStatus(`Deleted ${d.source}.`);
  } catch (e) {
    setStatus(`Delete failed: ${e.message}`, true);
  }
  await refreshDocuments();
  loadCollections();
}

function setupDropZone() {
  const zone = $('drop-zone');
  for (const t of ['dragenter', 'dragover']) {
    zone.addEventListener(t, (ev) => { ev.preventDefault(); zone.classList.add('over'); });
  }
  for (const t of ['dragleave', 'drop']) {
    zone.addEventListener(t, (ev) => { ev.preventDefault(); zone.classList.remove('over'); });
  }
  zone.addEventListener('drop', (ev) => uploadFiles(Array.from(ev.dataTransfer.files)));
  $('file-input').addEventListener('change', (ev) => {
    uploadFiles(Array.from(ev.target.files));
    ev.target.value = '';
  });
}

// ---- dashboard ----

// Prometheus text -> [{name, labels, value}].
function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

function sum(samples, name, pred) {
  return samples.filter((s) => s.name === name && (!pred || pred(s.labels))).reduce((a, s) => a + s.value, 0);
}

// A quantile from cumulative histogram buckets (upper bound of the bucket that holds it).
function quantile(buckets, q) {
  const total = buckets.length ? buckets[buckets.length - 1].count : 0;
  if (!total) return null;
  const b = buckets.find((x) => x.count >= q * total);
  return b ? b.le : null;
}

function sparkline(values) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 100 28');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('aria-hidden', 'true');
  if (values.length > 1) {
    const max = Math.max(...values, 1e-9);
    const pts = values.map((v, i) => `${(i / (values.length - 1)) * 100},${27 - (v / max) * 26}`);
    const p = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    p.setAttribute('points', pts.join(' '));
    p.setAttribute('fill', 'none');
    p.setAttribute('stroke', '#1f6feb');
    p.setAttribute('stroke-width', '1.5');
    p.setAttribute('vector-effect', 'non-scaling-stroke');
    svg.append(p);
  }
  return svg;
}

function card(label, value, series, id) {
  return el('div', { class: 'card', id }, el('div', { class: 'label' }, label),
    el('div', { class: 'value' }, value), series ? sparkline(series) : null);
}

async function refreshDashboard() {
  let samples;
  try {
    const r = await fetch('/metrics');
    samples = parseMetrics(await r.text());
  } catch (e) {
    setStatus(`Cannot read /metrics: ${e.message}`, true);
    return;
  }
  const requests = sum(samples, 'frugal_http_requests_total');
  // 501 is "not served yet" (the page's streaming probe gets it), not a failure.
  const errors = sum(samples, 'frugal_http_requests_total', (l) => Number(l.status) >= 500 && l.status !== '501');
  const inflight = sum(samples, 'frugal_http_requests_in_flight');
  // Answers by route (metrics.c): cache, extractive, generate, unavailable (extractive because
  // no generator could take the question). On the CPU: extractive and unavailable.
  const routes = {};
  for (const s of samples.filter((x) => x.name === 'frugal_answers_total')) {
    routes[s.labels.route] = (routes[s.labels.route] || 0) + s.value;
  }
  const answered = Object.values(routes).reduce((a, b) => a + b, 0);
  const onCpu = (routes.extractive || 0) + (routes.unavailable || 0);
  const hits = sum(samples, 'frugal_answer_cache_hits_total');
  const misses = sum(samples, 'frugal_answer_cache_misses_total');
  const tokens = sum(samples, 'frugal_answer_prompt_tokens_total') + sum(samples, 'frugal_answer_completion_tokens_total');
  const cost = sum(samples, 'frugal_answer_cost_total');
  const totalBuckets = samples.filter((s) => s.name === 'frugal_answer_stage_seconds_bucket' && s.labels.stage === 'total')
    .map((s) => ({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), count: s.value }));
  const answerP50 = quantile(totalBuckets, 0.5);
  const generators = samples.filter((s) => s.name === 'frugal_generator_up');

  state.history.push({ requests, tokens, cost, cpuShare: answered ? onCpu / answered : 0 });
  if (state.history.length > 60) state.history.shift();
  const rate = state.history.map((h, i, a) => (i ? Math.max(0, h.requests - a[i - 1].requests) : 0));

  const cards = [
    card('Requests', String(requests), rate, 'card-requests'),
    card('Server errors (5xx)', String(errors), null, 'card-errors'),
    card('In flight', String(inflight), null, 'card-inflight'),
    card('Answered on the CPU', answered ? `${((onCpu / answered) * 100).toFixed(0)}%` : 'no answers yet',
      state.history.map((h) => h.cpuShare), 'card-cpu-share'),
    card('Answers', String(answered), null, 'card-answers'),
    card('Answer time p50', answerP50 === null ? '–' : answerP50 === Infinity ? '> 10 s' : `≤ ${answerP50 * 1000} ms`, null, 'card-answer-p50'),
    card('Cache hit rate', hits + misses ? `${((hits / (hits + misses)) * 100).toFixed(0)}%` : 'no lookups yet', null, 'card-cache'),
    card('Tokens', String(tokens), state.history.map((h) => h.tokens), 'card-tokens'),
    card('Cost', cost.toFixed(6), state.history.map((h) => h.cost), 'card-cost'),
  ];
  for (const [r, v] of Object.entries(routes)) cards.push(card(`Route: ${r}`, String(v), null, `card-route-${r}`));
  for (const g of generators) {
    const l = g.labels;
    const pick = (name, extra) => sum(samples, name, (x) => x.generator === l.generator && x.position === l.position && (!extra || extra(x)));
    const circuit = samples.find((s) => s.name === 'frugal_generator_circuit' && s.labels.position === l.position && s.value === 1);
    const cap = pick('frugal_generator_capacity');
    cards.push(card(`Generator ${l.position}: ${l.generator}`,
      `${circuit ? circuit.labels.state : '?'} · ${pick('frugal_generator_in_flight')}${cap ? `/${cap}` : ''} in flight · p95 ${(pick('frugal_generator_latency_seconds', (x) => x.quantile === '0.95') * 1000).toFixed(0)} ms · errors ${(pick('frugal_generator_error_rate') * 100).toFixed(0)}%`,
      null, `card-generator-${l.position}`));
  }
  // Budgets (/v1/budgets): one card per budget, what was spent of its limit this period.
  for (const b of samples.filter((s) => s.name === 'frugal_budget_limit')) {
    const l = b.labels;
    const spent = sum(samples, 'frugal_budget_spent', (x) => x.scope === l.scope && x.target === l.target);
    cards.push(card(`Budget: ${l.scope} ${l.target} (${l.period})`,
      `${spent.toFixed(4)} of ${b.value.toFixed(4)}${spent >= b.value ? ' · spent' : ''}`,
      null, `card-budget-${l.scope}-${l.target}`));
  }
  $('dashboard').replaceChildren(...cards);

  const byRoute = {};
  for (const s of samples) {
    const key = `${s.labels.method || ''} ${s.labels.route || ''}`.trim();
    if (s.name === 'frugal_http_requests_total') {
      const r = byRoute[key] || (byRoute[key] = { n: 0, err: 0, buckets: [], sum: 0, count: 0 });
      r.n += s.value;
      if (Number(s.labels.status) >= 400) r.err += s.value;
    } else if (s.name.startsWith('frugal_http_request_duration_seconds')) {
      const r = byRoute[key] || (byRoute[key] = { n: 0, err: 0, buckets: [], sum: 0, count: 0 });
      if (s.name.endsWith('_bucket')) r.buckets.push({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), count: s.value });
      else if (s.name.endsWith('_sum')) r.sum = s.value;
      else if (s.name.endsWith('_count')) r.count = s.value;
    }
  }
  const fmtS = (s) => (s === null ? '–' : s === Infinity ? '> 10 s' : `≤ ${s * 1000} ms`);
  const rows = Object.entries(byRoute).sort((a, b) => b[1].n - a[1].n).map(([k, r]) => el('tr', {},
    el('td', {}, el('code', {}, k || 'unmatched')), el('td', { class: 'num' }, String(r.n)),
    el('td', { class: 'num' }, String(r.err)),
    el('td', { class: 'num' }, r.count ? fmtMs((r.sum / r.count) * 1000) : '–'),
    el('td', { class: 'num' }, fmtS(quantile(r.buckets, 0.5))),
    el('td', { class: 'num' }, fmtS(quantile(r.buckets, 0.95)))));
  $('metrics-body').replaceChildren(...rows);
}

// ---- start ----

function start() {
  $('key-input').value = state.key;
  $('key-form').addEventListener('submit', saveKey);
  $('collection-select').addEventListener('change', selectCollection);
  for (const t of document.querySelectorAll('[role=tab]')) {
    t.addEventListener('click', () => showTab(t.id.replace('tab-', '')));
  }
  $('ask-form').addEventListener('submit', onAsk);
  setupSearchOptions();
  $('search-form').addEventListener('submit', onSearch);
  $('documents-refresh').addEventListener('click', refreshDocuments);
  $('documents-prev').addEventListener('click', () => { state.docOffset = Math.max(0, state.docOffset - state.docLimit); refreshDocuments(); });
  $('documents-next').addEventListener('click', () => { state.docOffset += state.docLimit; refreshDocuments(); });
  $('passage-close').addEventListener('click', () => $('passage').close());
  setupDropZone();
  loadCollections();
}

document.addEventListener('DOMContentLoaded', start);
