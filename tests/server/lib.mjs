// Shared helpers for the server tests: start/stop a `kvserve serve` on a free
// loopback port, raw HTTP calls, metric scraping, and the CLI's greedy text.
// Environment (set by tests/server_e2e_test.cc): KVSERVE_BIN, KVSERVE_MODEL,
// KVSERVE_TOKENIZER.
import { spawn, execFile } from 'node:child_process';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

export const BIN = process.env.KVSERVE_BIN;
export const MODEL = process.env.KVSERVE_MODEL;
export const TOKENIZER = process.env.KVSERVE_TOKENIZER;
export const MODEL_ID = 'stories260K';

if (!BIN || !MODEL) throw new Error('KVSERVE_BIN and KVSERVE_MODEL must be set');

function modelArgs(model) {
  if (model) return ['-m', model];
  return ['-m', MODEL, ...(TOKENIZER ? ['--tokenizer', TOKENIZER] : [])];
}

// Starts a server; resolves once its ready line names the URL. `args` are
// extra serve flags; `model`, a model file other than KVSERVE_MODEL. Every
// server runs with 1 compute thread: the test machine's cores are shared by
// parallel tests.
export async function startServer(args = [], { readyTimeoutMs = 30000, model = null } = {}) {
  const proc = spawn(BIN, ['serve', ...modelArgs(model), '--host', '127.0.0.1', '--port', '0',
                           '-t', '1', ...args],
                     { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server not ready in ${readyTimeoutMs} ms: ${stderr}`)),
                             readyTimeoutMs);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/ready on (http:\/\/[0-9.]+:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`server exited (${code}): ${stderr}`)); });
  });
  return {
    url,
    proc,
    stderr: () => stderr,
    // SIGTERM, then the exit status; a server that does not stop in time is
    // killed and the test fails.
    async stop({ timeoutMs = 15000 } = {}) {
      if (proc.exitCode !== null) return { code: proc.exitCode, signal: null };
      proc.kill('SIGTERM');
      let timer;
      const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs); });
      const result = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (result === null) {
        proc.kill('SIGKILL');
        throw new Error('server did not shut down within ' + timeoutMs + ' ms');
      }
      return result;
    },
  };
}

export function client(server, apiKey = 'unused') {
  return new OpenAI({ baseURL: server.url + '/v1', apiKey, maxRetries: 0, timeout: 60000 });
}

// Raw request: resolves {status, headers, text, json}.
export async function http(server, method, path, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(server.url + path, init);
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}

// Asserts an OpenAI-style error body and status.
export function assertApiError(res, status, { param, code } = {}) {
  assert.equal(res.status, status, `status: ${res.text}`);
  assert.ok(res.json && res.json.error, `error body: ${res.text}`);
  const e = res.json.error;
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0);
  assert.equal(typeof e.type, 'string');
  assert.ok('param' in e && 'code' in e, 'param and code present');
  if (param !== undefined) assert.equal(e.param, param);
  if (code !== undefined) assert.equal(e.code, code);
}

// The value of one Prometheus series (exact name including labels).
export async function metric(server, series) {
  const res = await fetch(server.url + '/metrics');
  const text = await res.text();
  for (const line of text.split('\n')) {
    const sp = line.lastIndexOf(' ');
    if (sp > 0 && line.slice(0, sp) === series) return Number(line.slice(sp + 1));
  }
  throw new Error(`metric ${series} not found`);
}

// Polls until pred() is true; bounded in time.
export async function waitFor(pred, { timeoutMs = 10000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// `kvserve generate` greedy: its stdout is the prompt, the continuation and
// a newline.
export function generateCli(prompt, n) {
  return new Promise((resolve, reject) => {
    execFile(BIN, ['generate', ...modelArgs(), '-p', prompt, '-n', String(n), '--temperature', '0',
                   '-t', '1'],
             { timeout: 60000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

export async function greedyCompletion(openai, prompt, max_tokens, extra = {}) {
  const r = await openai.completions.create({ model: MODEL_ID, prompt, max_tokens, temperature: 0, ...extra });
  return r.choices[0].text;
}
