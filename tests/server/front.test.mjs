// The event-driven front end's limits (issue 16): each a flag, each answered
// with its status and an OpenAI-style error, or the connection closed in
// time. Loopback only; every case bounded in time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, http, metric, waitFor } from './lib.mjs';

async function withServer(args, fn) {
  const s = await startServer(args);
  try {
    await fn(s);
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
}

// A raw connection: `send` writes bytes; `closed` resolves with everything
// received once the server closes (or `timeoutMs` passes: then 'timeout').
function connect(s, timeoutMs = 10000) {
  const { port } = new URL(s.url);
  const sock = net.connect(Number(port), '127.0.0.1');
  sock.on('error', () => {});
  let text = '';
  sock.on('data', (d) => { text += d.toString(); });
  const t0 = Date.now();
  const closed = new Promise((resolve) => {
    const timer = setTimeout(() => { sock.destroy(); resolve({ text, ms: Date.now() - t0, timeout: true }); },
                             timeoutMs);
    sock.on('close', () => { clearTimeout(timer); resolve({ text, ms: Date.now() - t0, timeout: false }); });
  });
  const opened = new Promise((r) => sock.on('connect', r));
  return { sock, closed, opened, send: (b) => sock.write(b), received: () => text };
}

function statusOf(text) {
  const m = /^HTTP\/1\.1 (\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

function errorOf(text) {
  return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).error;
}

test('head limits: bytes and field count -> 431 with an OpenAI error', async () => {
  await withServer(['--max-header-bytes', '4096', '--max-header-count', '20'], async (s) => {
    const big = connect(s);
    big.send(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
    const b = await big.closed;
    assert.equal(statusOf(b.text), 431, b.text);
    assert.equal(errorOf(b.text).code, 'request_header_too_large');
    const many = connect(s);
    let head = 'GET /health HTTP/1.1\r\nHost: x\r\n';
    for (let i = 0; i < 30; ++i) head += `X-F${i}: 1\r\n`;
    many.send(head + '\r\n');
    const m = await many.closed;
    assert.equal(statusOf(m.text), 431, m.text);
    assert.match(errorOf(m.text).message, /header fields/);
    assert.equal((await http(s, 'GET', '/health')).status, 200);
  });
});

test('a head that trickles is cut at --header-timeout; others are served meanwhile', async () => {
  await withServer(['--header-timeout', '1'], async (s) => {
    const slow = connect(s);
    await slow.opened;
    const head = 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(1000);
    let i = 0;
    const timer = setInterval(() => slow.send(head[i++ % head.length]), 50);
    const t0 = Date.now();
    for (let k = 0; k < 5; ++k) assert.equal((await http(s, 'GET', '/health')).status, 200);
    const r = await slow.closed;
    clearInterval(timer);
    assert.equal(r.timeout, false, 'closed by the server');
    const ms = Date.now() - t0;
    assert.ok(ms < 2500, `closed after ${ms} ms`);
  });
});

test('an idle keep-alive connection closes after --keep-alive-timeout', async () => {
  await withServer(['--keep-alive-timeout', '1'], async (s) => {
    const c = connect(s);
    c.send('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(async () => c.received().includes('{"status":"ok"}'), { what: 'the answer' });
    // Pooling clients learn the timeout, so they do not reuse a connection as we close it.
    assert.match(c.received(), /\r\nKeep-Alive: timeout=1\r\n/i);
    const t0 = Date.now();
    const r = await c.closed;
    assert.equal(r.timeout, false);
    const ms = Date.now() - t0;
    assert.ok(ms > 500 && ms < 2500, `closed after ${ms} ms`);
  });
});

test('past --max-connections a new connection gets 503 and is closed', async () => {
  await withServer(['--max-connections', '4'], async (s) => {
    const held = Array.from({ length: 4 }, () => connect(s));
    await Promise.all(held.map((c) => c.opened));
    await new Promise((r) => setTimeout(r, 200));  // accepted
    const extra = connect(s);
    const r = await extra.closed;
    assert.equal(statusOf(r.text), 503, r.text);
    assert.match(errorOf(r.text).message, /max-connections/);
    for (const c of held) c.sock.destroy();
    await waitFor(async () => (await http(s, 'GET', '/health').catch(() => ({ status: 0 }))).status === 200,
                  { what: 'a connection slot' });
  });
});

test('the body is counted on the wire: chunk extensions count against the limit', async () => {
  await withServer(['--max-body-bytes', '65536'], async (s) => {
    const c = connect(s);
    c.send('POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
           'Transfer-Encoding: chunked\r\n\r\n');
    // 1 byte of body per ~1 KB on the wire: 300 KB sent, 300 bytes of body.
    const piece = `1;ext=${'e'.repeat(1000)}\r\n \r\n`;
    for (let i = 0; i < 300 && !c.sock.destroyed && !c.received(); ++i) {
      if (!c.send(piece)) await new Promise((r) => { c.sock.once('drain', r); c.sock.once('close', r); });
    }
    const r = await c.closed;
    assert.equal(statusOf(r.text), 413, r.text);
    assert.equal(errorOf(r.text).code, 'request_too_large');
  });
});

test('a non-streaming client that leaves has its request aborted at once', async () => {
  await withServer([], async (s) => {
    const series = 'kvserve_requests_total{finish_reason="abort"}';
    const before = await metric(s, series);
    const c = connect(s);
    const body = JSON.stringify({ prompt: 'Once upon a time', max_tokens: 480, ignore_eos: true });
    c.send(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
           `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await waitFor(async () => (await metric(s, 'kvserve_requests_running')) === 1, { what: 'running' });
    const t0 = Date.now();
    c.sock.destroy();
    await waitFor(async () => (await metric(s, series)) === before + 1, { what: 'the abort' });
    assert.ok(Date.now() - t0 < 1000, `aborted after ${Date.now() - t0} ms`);
    assert.equal(c.received(), '', 'no answer was sent');
    await waitFor(async () => (await metric(s, 'kvserve_kv_blocks_used')) === 0, { what: 'blocks back' });
  });
});

test('Expect: 100-continue gets 100 Continue, then the answer', async () => {
  await withServer([], async (s) => {
    const c = connect(s);
    const body = JSON.stringify({ prompt: 'Once', max_tokens: 2 });
    c.send(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
           `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);
    await waitFor(async () => c.received().startsWith('HTTP/1.1 100 Continue'), { what: '100 Continue' });
    c.send(body);
    const r = await c.closed;
    assert.match(r.text, /HTTP\/1\.1 200 OK/);
    assert.match(r.text, /"text_completion"/);
  });
});

test('a stream whose client does not read is aborted past --max-stream-buffer-bytes; others flow', async () => {
  await withServer(['--max-stream-buffer-bytes', '4096'], async (s) => {
    const abort = 'kvserve_requests_total{finish_reason="abort"}';
    const length = 'kvserve_requests_total{finish_reason="length"}';
    const aborts = await metric(s, abort);
    const lengths = await metric(s, length);
    // ~1.3 MB of SSE (4 choices x 480 tokens with logprobs): more than the
    // socket buffers hold for a reader that never reads.
    const body = JSON.stringify({ prompt: 'Once upon a time', max_tokens: 480, ignore_eos: true, stream: true,
                                  logprobs: 5, n: 4 });
    const c = connect(s, 20000);
    c.send(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
           `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    c.sock.pause();
    // Meanwhile a reading client is served in full.
    const ok = await http(s, 'POST', '/v1/completions', { prompt: 'Once', max_tokens: 16, stream: true });
    assert.equal(ok.status, 200);
    assert.ok(ok.text.trimEnd().endsWith('data: [DONE]'), ok.text.slice(-100));
    await waitFor(async () => (await metric(s, abort)) === aborts + 1, { what: 'the abort', timeoutMs: 15000 });
    assert.equal(await metric(s, length), lengths + 1, 'only the reading client ran to its length');
    await waitFor(async () => (await metric(s, 'kvserve_kv_blocks_used')) === 0, { what: 'blocks back' });
    c.sock.destroy();
  });
});

test('HEAD answers a GET route\'s status and Content-Length without a body, and keeps the connection', async () => {
  await withServer([], async (s) => {
    const c = connect(s, 5000);
    await c.opened;
    c.send('HEAD /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const r = await c.closed;
    assert.equal(r.timeout, false, r.text);
    const [first, second] = r.text.split(/(?=HTTP\/1\.1 )/);
    assert.equal(statusOf(first), 200, r.text);
    const len = Number(/content-length: (\d+)/i.exec(first)[1]);
    assert.ok(len > 0);
    assert.ok(first.endsWith('\r\n\r\n'), 'no body after the HEAD answer: ' + JSON.stringify(first));
    assert.equal(statusOf(second), 200, r.text);
    assert.equal(second.slice(second.indexOf('\r\n\r\n') + 4).length, len);  // the GET's body is that long
    assert.equal((await http(s, 'HEAD', '/v1/nothing')).status, 404);
  });
});
