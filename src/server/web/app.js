// kvserve's page: a streaming chat and a live picture of the KV block pool.
// Model text is only ever put into the page as text nodes (see renderMarkdown).
const $ = (id) => document.getElementById(id);
const CHAT_KEY = 'kvserve.chat';
const SETTINGS_KEY = 'kvserve.settings';

// The API key lives for the browser session only, never in localStorage.
let apiKey = sessionStorage.getItem('kvserve.key') || '';
let modelId = '';
let controller = null;  // the streaming reply's AbortController

class AuthError extends Error {}

function authHeaders(extra = {}) {
  return apiKey ? { ...extra, Authorization: `Bearer ${apiKey}` } : extra;
}

async function api(path, options = {}) {
  const sentKey = apiKey;
  const res = await fetch(path, { ...options, headers: authHeaders(options.headers) });
  if (res.status === 401) {
    // A poll sent before the user entered a key can be refused after they
    // did; only a refusal of the key in use now asks for a key again.
    if (sentKey === apiKey) askForKey();
    throw new AuthError('this server needs an API key');
  }
  return res;
}

function askForKey() {
  if (!$('key-panel').hidden) return;
  $('key-panel').hidden = false;
  $('api-key').focus();
}

$('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  apiKey = $('api-key').value.trim();
  sessionStorage.setItem('kvserve.key', apiKey);
  $('key-panel').hidden = true;
  loadModel();
  $('prompt').focus();
});

// ---- model info -----------------------------------------------------------
async function loadModel() {
  try {
    const res = await api('/v1/models');
    const m = (await res.json()).data[0];
    modelId = m.id;
    $('model-info').textContent = `${m.id} · context ${m.max_model_len} tokens`;
  } catch (e) {
    $('model-info').textContent = e instanceof AuthError ? 'API key needed' : 'server unreachable';
  }
}

// ---- settings and conversation, kept in the browser -------------------------
function loadJson(key, fallback) {
  try { return JSON.parse(localStorage.getItem(key)) ?? fallback; } catch { return fallback; }
}
let chat = loadJson(CHAT_KEY, []);  // [{role, content, meta?}]
const settings = loadJson(SETTINGS_KEY, {});
if (settings.system !== undefined) $('system-prompt').value = settings.system;
if (settings.temperature !== undefined) $('temperature').value = settings.temperature;
if (settings.maxTokens !== undefined) $('max-tokens').value = settings.maxTokens;
for (const id of ['system-prompt', 'temperature', 'max-tokens']) {
  $(id).addEventListener('change', () => localStorage.setItem(SETTINGS_KEY, JSON.stringify({
    system: $('system-prompt').value, temperature: $('temperature').value,
    maxTokens: $('max-tokens').value,
  })));
}
function saveChat() { localStorage.setItem(CHAT_KEY, JSON.stringify(chat)); }

// ---- minimal, safe Markdown: fenced code, inline code, bold, paragraphs ----
function appendInline(parent, text) {
  for (const part of text.split(/(`[^`\n]+`|\*\*[^*\n]+\*\*)/)) {
    if (!part) continue;
    if (part.startsWith('`') && part.endsWith('`') && part.length > 1) {
      parent.append(Object.assign(document.createElement('code'), { textContent: part.slice(1, -1) }));
    } else if (part.startsWith('**') && part.endsWith('**') && part.length > 4) {
      parent.append(Object.assign(document.createElement('strong'), { textContent: part.slice(2, -2) }));
    } else {
      parent.append(document.createTextNode(part));
    }
  }
}

function renderMarkdown(container, text) {
  const nodes = [];
  text.split('```').forEach((chunk, i) => {
    if (i % 2 === 1) {  // inside a fence: first line is the language
      const nl = chunk.indexOf('\n');
      const pre = document.createElement('pre');
      const code = document.createElement('code');
      code.textContent = nl < 0 ? chunk : chunk.slice(nl + 1);
      pre.append(code);
      nodes.push(pre);
      return;
    }
    for (const para of chunk.split(/\n{2,}/)) {
      if (!para.trim()) continue;
      const p = document.createElement('p');
      appendInline(p, para);
      nodes.push(p);
    }
  });
  container.replaceChildren(...nodes);
}

// ---- chat -------------------------------------------------------------------
function messageElement(m) {
  const li = document.createElement('li');
  li.className = `msg ${m.role}`;
  const role = Object.assign(document.createElement('span'), { className: 'role', textContent: m.role });
  const body = Object.assign(document.createElement('div'), { className: 'body' });
  const meta = Object.assign(document.createElement('div'), { className: 'meta' });
  li.append(role, body, meta);
  if (m.role === 'assistant') renderMarkdown(body, m.content); else body.textContent = m.content;
  meta.textContent = m.meta || '';
  return li;
}

function renderChat() {
  $('messages').replaceChildren(...chat.map(messageElement));
  scrollDown();
}
function scrollDown() { $('messages').scrollTop = $('messages').scrollHeight; }

function showError(text) {
  $('chat-error').textContent = text;
  $('chat-error').hidden = !text;
}

function setBusy(busy) {
  $('send').disabled = busy;
  $('stop').disabled = !busy;
}

// Yields each parsed `data:` payload of a server-sent-events body.
async function* sseEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let end;
    while ((end = buf.search(/\r?\n\r?\n/)) >= 0) {
      const event = buf.slice(0, end);
      buf = buf.slice(end).replace(/^\r?\n\r?\n/, '');
      const data = event.split(/\r?\n/).filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart()).join('\n');
      if (data) yield data;
    }
  }
}

async function send(text) {
  showError('');
  chat.push({ role: 'user', content: text });
  const reply = { role: 'assistant', content: '', meta: '' };
  chat.push(reply);
  saveChat();
  renderChat();
  const li = $('messages').lastElementChild;
  const body = li.querySelector('.body');
  const meta = li.querySelector('.meta');
  const history = chat.slice(0, -1).map(({ role, content }) => ({ role, content }));
  const system = $('system-prompt').value.trim();
  const messages = system ? [{ role: 'system', content: system }, ...history] : history;
  controller = new AbortController();
  setBusy(true);
  const start = performance.now();
  let first = 0, tokens = 0, usage = null, finish = '';
  let pending = false;
  const paint = () => { pending = false; renderMarkdown(body, reply.content); scrollDown(); };
  try {
    const res = await api('/v1/chat/completions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        model: modelId || undefined, messages, stream: true,
        stream_options: { include_usage: true },
        temperature: Number($('temperature').value), max_tokens: Number($('max-tokens').value),
      }),
      signal: controller.signal,
    });
    if (!res.ok) {
      const err = await res.json().catch(() => ({}));
      throw new Error(err.error?.message || `HTTP ${res.status}`);
    }
    for await (const data of sseEvents(res.body)) {
      if (data === '[DONE]') break;
      const chunk = JSON.parse(data);
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      if (choice.finish_reason) finish = choice.finish_reason;
      const delta = choice.delta?.content;
      if (delta) {
        if (!first) first = performance.now();
        tokens += 1;
        reply.content += delta;
        if (!pending) { pending = true; requestAnimationFrame(paint); }
      }
    }
  } catch (e) {
    if (e.name === 'AbortError') finish = 'stopped';
    else showError(e.message);
  } finally {
    controller = null;
    setBusy(false);
  }
  const end = performance.now();
  const n = usage?.completion_tokens ?? tokens;
  const parts = [];
  if (first) parts.push(`TTFT ${Math.round(first - start)} ms`);
  if (first && n > 1 && end > first) parts.push(`${((n - 1) / ((end - first) / 1000)).toFixed(1)} tok/s`);
  parts.push(`${n} tokens`);
  if (finish) parts.push(finish);
  reply.meta = parts.join(' · ');
  meta.textContent = reply.meta;
  paint();
  saveChat();
}

$('chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('prompt').value.trim();
  if (!text || controller) return;
  $('prompt').value = '';
  send(text);
});
$('prompt').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $('chat-form').requestSubmit();
  }
});
$('stop').addEventListener('click', () => controller?.abort());
$('new-chat').addEventListener('click', () => {
  controller?.abort();
  chat = [];
  saveChat();
  renderChat();
  $('prompt').focus();
});

// ---- KV dashboard -----------------------------------------------------------
const STATE_NAMES = ['free', 'cached, evictable', 'in use', 'shared'];
const STATE_VARS = ['--free', '--cached', '--inuse', '--shared'];
let snap = null;
let selected = -1;
let cell = 8, cols = 1;
const hitHistory = [];  // [{t, rate}] per poll: hit tokens / queried tokens since the last
let lastCounters = null;
const POLL_MS = 500;

function drawMap() {
  const canvas = $('blockmap');
  if (!snap) return;
  const n = snap.n_blocks;
  const width = canvas.clientWidth || 300;
  // Cells as large as fit in about 320 css px of height, between 3 and 16 px.
  cell = Math.max(3, Math.min(16, Math.floor(Math.sqrt((width * 320) / Math.max(n, 1)))));
  cols = Math.max(1, Math.floor(width / cell));
  const rows = Math.ceil(n / cols);
  canvas.dataset.cell = String(cell);
  canvas.dataset.cols = String(cols);
  const dpr = window.devicePixelRatio || 1;
  canvas.style.height = `${rows * cell}px`;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(rows * cell * dpr);
  const ctx = canvas.getContext('2d');
  ctx.scale(dpr, dpr);
  const css = getComputedStyle(document.documentElement);
  const colours = STATE_VARS.map((v) => css.getPropertyValue(v).trim());
  const gap = cell >= 6 ? 1 : 0;
  for (let i = 0; i < n; i++) {
    ctx.fillStyle = colours[snap.states.charCodeAt(i) - 48] || colours[0];
    ctx.fillRect((i % cols) * cell, Math.floor(i / cols) * cell, cell - gap, cell - gap);
  }
  if (selected >= 0 && selected < n) {
    ctx.strokeStyle = css.getPropertyValue('--fg').trim();
    ctx.lineWidth = 2;
    ctx.strokeRect((selected % cols) * cell + 1, Math.floor(selected / cols) * cell + 1, cell - 2, cell - 2);
  }
}

function describeBlock(i) {
  if (!snap || i < 0 || i >= snap.n_blocks) return 'Hover or focus a block.';
  const state = STATE_NAMES[snap.states.charCodeAt(i) - 48];
  const t = snap.block_tenants[i];
  return `block ${i}: ${state}${t ? ` · tenant ${snap.tenants[t - 1].tag}` : ''}`;
}

function select(i) {
  selected = i;
  $('block-info').textContent = describeBlock(i);
  drawMap();
}

$('blockmap').addEventListener('mousemove', (e) => {
  const r = e.target.getBoundingClientRect();
  const i = Math.floor((e.clientY - r.top) / cell) * cols + Math.floor((e.clientX - r.left) / cell);
  if (i !== selected) select(i);
});
$('blockmap').addEventListener('keydown', (e) => {
  const steps = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -cols, ArrowDown: cols, Home: -Infinity, End: Infinity };
  if (!(e.key in steps) || !snap) return;
  e.preventDefault();
  const next = Math.min(snap.n_blocks - 1, Math.max(0, (selected < 0 ? 0 : selected) + steps[e.key]));
  select(next);
});

function drawHitRate() {
  const canvas = $('hitrate');
  const width = canvas.clientWidth || 300, height = 60;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext('2d');
  ctx.scale(dpr, dpr);
  const css = getComputedStyle(document.documentElement);
  ctx.strokeStyle = css.getPropertyValue('--line').trim();
  ctx.strokeRect(0.5, 0.5, width - 1, height - 1);
  const now = performance.now();
  const span = 60000;
  ctx.strokeStyle = css.getPropertyValue('--accent').trim();
  ctx.lineWidth = 2;
  ctx.beginPath();
  let started = false;
  for (const { t, rate } of hitHistory) {
    const x = width - ((now - t) / span) * width;
    const y = height - 4 - rate * (height - 8);
    if (started) ctx.lineTo(x, y); else { ctx.moveTo(x, y); started = true; }
  }
  ctx.stroke();
}

function showSnapshot(s) {
  snap = s;
  const st = s.stats;
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < s.states.length; i++) counts[s.states.charCodeAt(i) - 48]++;
  const map = $('blockmap');
  [map.dataset.free, map.dataset.cached, map.dataset.inuse, map.dataset.shared] = counts.map(String);
  map.dataset.sequence = String(s.sequence);
  $('st-running').textContent = st.requests_running;
  $('st-waiting').textContent = st.requests_waiting;
  $('st-preempt').textContent = st.preemptions;
  $('st-used').textContent = `${counts[2] + counts[3]} / ${s.n_blocks}`;
  $('st-bs').textContent = `${s.block_size} tokens`;
  $('st-hit').textContent = st.prefix_cache_queried_tokens
    ? `${(100 * st.prefix_cache_hit_tokens / st.prefix_cache_queried_tokens).toFixed(1)} %` : '–';
  const now = performance.now();
  if (lastCounters) {
    const q = st.prefix_cache_queried_tokens - lastCounters.q;
    const h = st.prefix_cache_hit_tokens - lastCounters.h;
    if (q > 0) hitHistory.push({ t: now, rate: h / q });
  }
  lastCounters = { q: st.prefix_cache_queried_tokens, h: st.prefix_cache_hit_tokens };
  while (hitHistory.length && now - hitHistory[0].t > 60000) hitHistory.shift();
  $('tenants').replaceChildren(...s.tenants.map((t) => Object.assign(document.createElement('li'), {
    textContent: `${t.tag}: ${t.blocks} blocks in use`,
  })));
  if (!s.tenants.length) $('tenants').append(Object.assign(document.createElement('li'), {
    className: 'muted', textContent: 'no blocks in use' }));
  drawMap();
  drawHitRate();
  if (selected >= 0) $('block-info').textContent = describeBlock(selected);
}

async function poll() {
  try {
    const res = await api('/v1/kv/snapshot', { cache: 'no-store' });
    if (!res.ok) throw new Error(`snapshot: HTTP ${res.status}`);
    showSnapshot(await res.json());
    $('dash-error').hidden = true;
  } catch (e) {
    if (!(e instanceof AuthError)) {
      $('dash-error').textContent = e.message;
      $('dash-error').hidden = false;
    }
  }
  // Polls only while the page is visible: a hidden tab asks four times less often.
  setTimeout(poll, document.hidden ? 2000 : POLL_MS);
}

// ---- latency histograms from /metrics (Prometheus text) ---------------------
// Per-bucket counts (not cumulative) of a histogram: [{le, n}], +Inf last.
function parseHistogram(text, name) {
  const buckets = [];
  const re = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`);
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (m) buckets.push({ le: m[1], cum: Number(m[2]) });
  }
  return buckets.map((b, i) => ({ le: b.le, n: b.cum - (i ? buckets[i - 1].cum : 0) }));
}

function formatSeconds(le) {
  if (le === '+Inf') return '> last';
  const s = Number(le);
  return s < 1 ? `≤ ${+(s * 1000).toFixed(1)} ms` : `≤ ${s} s`;
}

function showHistogram(list, buckets) {
  const max = Math.max(1, ...buckets.map((b) => b.n));
  const total = buckets.reduce((a, b) => a + b.n, 0);
  list.dataset.count = String(total);
  // Only the range that has counts, so that the bars stay readable.
  const first = buckets.findIndex((b) => b.n > 0);
  const last = buckets.length - 1 - [...buckets].reverse().findIndex((b) => b.n > 0);
  const shown = first < 0 ? [] : buckets.slice(first, last + 1);
  list.replaceChildren(...shown.map((b) => {
    const li = document.createElement('li');
    const bar = Object.assign(document.createElement('span'), { className: 'bar' });
    bar.style.width = `${(100 * b.n) / max}%`;
    li.append(Object.assign(document.createElement('span'), { textContent: formatSeconds(b.le) }),
              bar, Object.assign(document.createElement('span'), { className: 'n', textContent: b.n }));
    return li;
  }));
  if (!shown.length) list.append(Object.assign(document.createElement('li'), {
    className: 'muted', textContent: 'no requests yet' }));
}

async function pollMetrics() {
  try {
    const res = await api('/metrics', { cache: 'no-store' });
    if (res.ok) {
      const text = await res.text();
      showHistogram($('ttft-hist'), parseHistogram(text, 'kvserve_time_to_first_token_seconds'));
      showHistogram($('itl-hist'), parseHistogram(text, 'kvserve_inter_token_latency_seconds'));
    }
  } catch { /* shown by the snapshot's poll */ }
  setTimeout(pollMetrics, document.hidden ? 10000 : 2000);
}

window.addEventListener('resize', () => { drawMap(); drawHitRate(); });
renderChat();
loadModel();
poll();
pollMetrics();
