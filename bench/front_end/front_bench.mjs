// Front-end benchmarks for issue 16 (loopback only; every loop bounded in
// count and time). Run by bench/front_end/run.sh, which sets the binaries:
//   node front_bench.mjs CASE
// CASE: rps | idle | sse | slowloris | refused | sigterm | all
// Environment: NEW_BIN (this tree's kvserve), OLD_BIN (the httplib build
// kept at ~/.cache/kvserve/kvserve-httplib), MODEL, TOKENIZER.
// Prints one JSON line per measurement.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';

const NEW_BIN = process.env.NEW_BIN;
const OLD_BIN = process.env.OLD_BIN;
const MODEL = process.env.MODEL;
const TOKENIZER = process.env.TOKENIZER;
if (!NEW_BIN || !MODEL || !TOKENIZER) throw new Error('NEW_BIN, MODEL and TOKENIZER must be set');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const report = (o) => console.log(JSON.stringify(o));

async function startServer(bin, args = []) {
  const proc = spawn(bin, ['serve', '-m', MODEL, '--tokenizer', TOKENIZER, '--host', '127.0.0.1',
                           '--port', '0', '-t', '1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('not ready: ' + stderr)), 30000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/ready on http:\/\/[0-9.]+:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    exited.then(() => reject(new Error('exited: ' + stderr)));
  });
  return {
    port, proc, exited, stderr: () => stderr,
    async stop() {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

// VmRSS and VmHWM (peak) of a process, in MiB.
function memory(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)[1]);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

function request(agent, port, method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port, method, path, agent,
                               headers: data ? { 'Content-Type': 'application/json',
                                                 'Content-Length': Buffer.byteLength(data) } : {} },
                             (res) => {
                               let text = '';
                               res.on('data', (d) => { text += d; });
                               res.on('end', () => resolve({ status: res.statusCode, text }));
                             });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

// Requests/s with `conc` keep-alive clients for `ms`.
async function rpsRun(port, path, body, conc, ms, keepAlive = true) {
  const agent = new http.Agent({ keepAlive, maxSockets: conc });
  let done = 0;
  let bad = 0;
  const end = Date.now() + ms;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (Date.now() < end) {
      const r = await request(agent, port, body ? 'POST' : 'GET', path, body);
      if (r.status === 200) ++done; else ++bad;
    }
  }));
  agent.destroy();
  return { rps: done / (ms / 1000), bad };
}

async function caseRps() {
  if (!OLD_BIN) throw new Error('OLD_BIN must be set');
  const body = { prompt: 'Once', max_tokens: 1, temperature: 0 };
  const conc = 16;
  const results = { new: { completion: [], health: [], close: [] }, old: { completion: [], health: [], close: [] } };
  for (let round = 0; round < 3; ++round) {
    // Alternate the order each round: the machine is shared and noisy.
    const order = round % 2 === 0 ? ['old', 'new'] : ['new', 'old'];
    for (const which of order) {
      const s = await startServer(which === 'new' ? NEW_BIN : OLD_BIN, ['--max-concurrent-requests', '64']);
      await rpsRun(s.port, '/v1/completions', body, conc, 500);  // warm up
      const c = await rpsRun(s.port, '/v1/completions', body, conc, 4000);
      const h = await rpsRun(s.port, '/health', undefined, conc, 2000);
      // A new connection per request: no keep-alive (and so no Nagle and
      // delayed-ACK stall on the second request of a connection, see BENCHMARKS).
      const k = await rpsRun(s.port, '/v1/completions', body, conc, 3000, false);
      results[which].completion.push(c.rps);
      results[which].health.push(h.rps);
      results[which].close.push(k.rps);
      report({ case: 'rps', round, server: which, completion_rps: c.rps, completion_bad: c.bad,
               health_rps: h.rps, health_bad: h.bad, completion_no_keepalive_rps: k.rps,
               no_keepalive_bad: k.bad });
      await s.stop();
    }
  }
  const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  report({ case: 'rps-summary', clients: conc,
           completion_rps_new: mean(results.new.completion), completion_rps_old: mean(results.old.completion),
           completion_ratio_new_over_old: mean(results.new.completion) / mean(results.old.completion),
           health_rps_new: mean(results.new.health), health_rps_old: mean(results.old.health),
           health_ratio_new_over_old: mean(results.new.health) / mean(results.old.health),
           no_keepalive_completion_rps_new: mean(results.new.close),
           no_keepalive_completion_rps_old: mean(results.old.close),
           no_keepalive_ratio_new_over_old: mean(results.new.close) / mean(results.old.close) });
}

function openSockets(port, n, onSock = () => {}) {
  return new Promise((resolve) => {
    const socks = [];
    let opened = 0;
    let failed = 0;
    let i = 0;
    const next = () => {
      // Bounded bursts so that the accept queue never overflows.
      for (let k = 0; k < 200 && i < n; ++k, ++i) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        s.once('connect', () => { ++opened; onSock(s); if (opened + failed === n) resolve({ socks, opened, failed }); });
        s.once('error', () => { ++failed; if (opened + failed === n) resolve({ socks, opened, failed }); });
        socks.push(s);
      }
      if (i < n) setTimeout(next, 20);
    };
    next();
  });
}

async function healthLatencies(port, n, gapMs) {
  const agent = new http.Agent({ keepAlive: false });
  const ms = [];
  for (let i = 0; i < n; ++i) {
    const t0 = performance.now();
    const r = await request(agent, port, 'GET', '/health');
    ms.push(r.status === 200 ? performance.now() - t0 : Infinity);
    await sleep(gapMs);
  }
  ms.sort((a, b) => a - b);
  return { p50: ms[Math.floor(n * 0.5)], p99: ms[Math.min(n - 1, Math.floor(n * 0.99))], max: ms[n - 1] };
}

async function caseIdle() {
  const n = 10000;
  // Held longer than the default head deadline (10 s) for the measurement.
  const s = await startServer(NEW_BIN, ['--header-timeout', '120', '--max-connections', '20000']);
  const before = memory(s.proc.pid);
  const t0 = Date.now();
  const { socks, opened, failed } = await openSockets(s.port, n);
  await sleep(1000);
  const held = memory(s.proc.pid);
  const alive = socks.filter((x) => !x.destroyed).length;
  const health = await healthLatencies(s.port, 100, 5);
  report({ case: 'idle', connections: n, opened, failed, alive_after_1s: alive, open_ms: Date.now() - t0,
           rss_before_mib: before.rss, rss_held_mib: held.rss, peak_rss_mib: held.hwm,
           health_p50_ms: health.p50, health_p99_ms: health.p99 });
  for (const x of socks) x.destroy();
  await s.stop();
}

function greedyText(prompt, n) {
  const out = execFileSync(NEW_BIN, ['generate', '-m', MODEL, '--tokenizer', TOKENIZER, '-p', prompt, '-n',
                                     String(n), '--temperature', '0', '-t', '1'], { encoding: 'utf8' });
  return out.slice(prompt.length).replace(/\n$/, '');
}

function sseRequest(port, body, onFirst = () => {}) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify({ ...body, stream: true });
    const t0 = performance.now();
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/completions',
                               agent: false,
                               headers: { 'Content-Type': 'application/json',
                                          'Content-Length': Buffer.byteLength(data) } }, (res) => {
      let raw = '';
      let ttft = null;
      res.on('data', (d) => {
        raw += d;
        if (ttft === null && raw.includes('"text":"')) { ttft = performance.now() - t0; onFirst(); }
      });
      res.on('end', () => {
        let text = '';
        for (const line of raw.split('\n')) {
          if (!line.startsWith('data: {')) continue;
          text += JSON.parse(line.slice(6)).choices[0].text;
        }
        resolve({ status: res.statusCode, text, done: raw.trimEnd().endsWith('data: [DONE]'), ttft, raw });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.write(data);
    req.end();
  });
}

async function caseSse() {
  const n = 1000;
  const prompt = 'Once upon a time';
  const maxTokens = 32;
  const expected = greedyText(prompt, maxTokens);
  const s = await startServer(NEW_BIN, ['--max-concurrent-requests', '1000', '--max-waiting', '2000',
                                        '--max-running', '256', '--kv-cache-tokens', '65536']);
  const t0 = Date.now();
  const results = await Promise.all(Array.from({ length: n }, () =>
    sseRequest(s.port, { prompt, max_tokens: maxTokens, temperature: 0 })));
  const ms = Date.now() - t0;
  const ok = results.filter((r) => r.status === 200 && r.done && r.text === expected).length;
  const mem = memory(s.proc.pid);
  report({ case: 'sse', streams: n, correct: ok, wrong: results.filter((r) => r.status === 200 && r.text !== expected).length,
           not_200: results.filter((r) => r.status !== 200).length, wall_ms: ms, peak_rss_mib: mem.hwm,
           expected_text: expected });
  await s.stop();
}

async function caseSlowloris() {
  const n = 1000;
  const prompt = 'Once upon a time';
  const s = await startServer(NEW_BIN, []);
  const ttfts = async () => {
    const v = [];
    for (let i = 0; i < 10; ++i) v.push((await sseRequest(s.port, { prompt, max_tokens: 8, temperature: 0 })).ttft);
    v.sort((a, b) => a - b);
    return v[5];  // median of 10
  };
  const quietHealth = await healthLatencies(s.port, 200, 10);
  const quietTtft = await ttfts();
  // Each slow connection sends one header byte a second and never ends its
  // head; the server cuts them at --header-timeout (10 s by default), and the
  // attacker reconnects when cut. The attackers run in their own process, so
  // that their timers do not delay the measuring client's event loop.
  const attackers = spawn(process.execPath, [new URL(import.meta.url).pathname, 'attacker',
                                             String(s.port), String(n)],
                          { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
  await new Promise((r) => attackers.stdout.once('data', r));  // all connected
  await sleep(1000);
  const loadedHealth = await healthLatencies(s.port, 200, 10);
  const loadedTtft = await ttfts();
  attackers.kill('SIGTERM');
  report({ case: 'slowloris', slow_connections: n,
           quiet_health_p50_ms: quietHealth.p50, quiet_health_p99_ms: quietHealth.p99,
           loaded_health_p50_ms: loadedHealth.p50, loaded_health_p99_ms: loadedHealth.p99,
           quiet_ttft_median_ms: quietTtft, loaded_ttft_median_ms: loadedTtft,
           ttft_ratio: loadedTtft / quietTtft });
  await s.stop();
}

// The slowloris attackers' process: `attacker PORT N`; prints a line once
// all N are connected, then trickles until killed.
async function attacker(port, n) {
  const head = 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(4000);
  let connected = 0;
  const open = () => {
    const sock = net.connect(port, '127.0.0.1');
    sock.on('error', () => {});
    let i = 0;
    sock.once('connect', () => { if (++connected === n) console.log('connected'); });
    const timer = setInterval(() => { if (!sock.destroyed) sock.write(head[i++ % head.length]); }, 1000);
    sock.on('close', () => { clearInterval(timer); open(); });
  };
  for (let i = 0; i < n; ++i) { open(); if (i % 200 === 199) await sleep(20); }
  await sleep(120000);  // bounded: the parent kills it long before
  process.exit(0);
}

// Sends `head` and then body pieces until the server answers or closes;
// resolves with the status line's code.
function rawRequest(port, head, pieces, timeoutMs = 20000) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = () => { if (!done) { done = true; clearTimeout(timer); sock.destroy(); resolve(Number((/^HTTP\/1\.1 (\d+)/.exec(text) || [0, 0])[1])); } };
    const timer = setTimeout(finish, timeoutMs);
    sock.on('data', (d) => { text += d; if (text.includes('\r\n\r\n')) setTimeout(finish, 50); });
    sock.on('error', finish);
    sock.on('close', finish);
    sock.on('connect', async () => {
      sock.write(head);
      for (const p of pieces()) {
        if (done || text) break;
        if (!sock.write(p)) await new Promise((r) => { sock.once('drain', r); sock.once('close', r); });
      }
    });
  });
}

async function caseRefused() {
  const mib = Buffer.alloc(1 << 20, 0x20);
  const post = (extra) => `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extra}\r\n`;
  const cases = {
    'chunked 100 MiB': [post('Transfer-Encoding: chunked\r\n'), function* () {
      const chunk = Buffer.concat([Buffer.from(`${mib.length.toString(16)}\r\n`), mib, Buffer.from('\r\n')]);
      for (let i = 0; i < 100; ++i) yield chunk;
    }],
    'gzip 1 MB (bomb)': [post('Content-Encoding: gzip\r\nContent-Length: 1048576\r\n'), function* () { yield mib; }],
    'no length, 100 MiB': [post(''), function* () { for (let i = 0; i < 100; ++i) yield mib; }],
    'header flood 64 MiB': ['GET /health HTTP/1.1\r\nHost: x\r\n', function* () {
      const line = Buffer.from(`X-Flood: ${'a'.repeat(1000)}\r\n`);
      const block = Buffer.concat(Array.from({ length: 1024 }, () => line));
      for (let i = 0; i < 64; ++i) yield block;
    }],
    'Content-Length 100 MiB': [post(`Content-Length: ${100 << 20}\r\n`), function* () { for (let i = 0; i < 100; ++i) yield mib; }],
  };
  for (const [which, bin] of [['new', NEW_BIN], ['old', OLD_BIN]]) {
    if (!bin) continue;
    for (const [name, [head, pieces]] of Object.entries(cases)) {
      const s = await startServer(bin, []);
      await request(undefined, s.port, 'GET', '/health');
      const before = memory(s.proc.pid);
      const t0 = Date.now();
      const status = await rawRequest(s.port, head, pieces);
      const after = memory(s.proc.pid);
      report({ case: 'refused', server: which, request: name, status, ms: Date.now() - t0,
               peak_rss_before_mib: before.hwm, peak_rss_after_mib: after.hwm,
               peak_growth_mib: after.hwm - before.hwm });
      await s.stop();
    }
  }
}

async function caseSigterm() {
  const drain = 2;
  const s = await startServer(NEW_BIN, ['--shutdown-timeout', String(drain),
                                        '--max-concurrent-requests', '128']);
  const prompt = 'Once upon a time';
  // Hostile: 100 trickling heads, 20 streams whose clients never read, 100 idle sockets.
  const { socks: trickles } = await openSockets(s.port, 100, (x) => {
    const t = setInterval(() => { if (!x.destroyed) x.write('G'); }, 200);
    x.on('close', () => clearInterval(t));
  });
  const { socks: idle } = await openSockets(s.port, 100);
  const body = JSON.stringify({ prompt, max_tokens: 480, ignore_eos: true, stream: true,
                                logprobs: 5 });
  const stalled = [];
  for (let i = 0; i < 20; ++i) {
    const x = net.connect(s.port, '127.0.0.1');
    x.on('error', () => {});
    x.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    x.pause();
    stalled.push(x);
  }
  // And 50 well-behaved streams, reading.
  let started = 0;
  const streams = Array.from({ length: 50 }, () =>
    sseRequest(s.port, { prompt, max_tokens: 480, ignore_eos: true }, () => { ++started; }));
  const t1 = Date.now();
  while (started < 50 && Date.now() - t1 < 10000) await sleep(20);
  const t0 = Date.now();
  s.proc.kill('SIGTERM');
  const exit = await s.exited;
  const exitMs = Date.now() - t0;
  const results = await Promise.all(streams);
  const finals = results.filter((r) => r.done && /"finish_reason":"(abort|length|stop)"/.test(r.raw)).length;
  report({ case: 'sigterm', shutdown_timeout_s: drain, exit_ms: exitMs, exit_code: exit.code,
           reading_streams: results.length, not_200: results.filter((r) => r.status !== 200).length,
           ended_with_final_event_and_done: finals });
  for (const x of [...trickles, ...idle, ...stalled]) x.destroy();
}

const which = process.argv[2] || 'all';
if (which === 'attacker') await attacker(Number(process.argv[3]), Number(process.argv[4]));
const cases = { rps: caseRps, idle: caseIdle, sse: caseSse, slowloris: caseSlowloris, refused: caseRefused,
                sigterm: caseSigterm };
for (const [name, fn] of Object.entries(cases)) {
  if (which === 'all' || which === name) await fn();
}
process.exit(0);
