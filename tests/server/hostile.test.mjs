// Clients that try what an attacker would (issue 16), loopback only, each
// case bounded in time: doors that must stay shut, and operator limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, http, assertApiError } from './lib.mjs';

const kCompletions = '/v1/completions';

async function withServer(args, fn) {
  const s = await startServer(args);
  try {
    await fn(s);
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
}

// Raw HTTP over a socket: writes `head`, then body pieces from `pieces()`
// (an async generator) until the server answers or the pieces run out;
// resolves with the status, the text received and the body bytes sent.
// Bounded by `timeoutMs`.
function raw(s, head, pieces = async function* () {}, timeoutMs = 10000) {
  const { port } = new URL(s.url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), '127.0.0.1');
    let text = '';
    let sent = 0;
    let answered = false;
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('timed out: ' + text.slice(0, 200))); },
                             timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      const m = /^HTTP\/1\.1 (\d+)/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, text, sent,
                json: (() => { try { return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)); } catch { return null; } })() });
    };
    sock.on('data', (d) => {
      text += d.toString();
      answered = true;
      const end = text.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(text);
      if (end >= 0 && len && text.length >= end + 4 + Number(len[1])) finish();
    });
    sock.on('error', () => finish());
    sock.on('close', () => finish());
    sock.on('connect', async () => {
      sock.write(head);
      for await (const piece of pieces()) {
        // Let the event loop poll between pieces, as a client that reads
        // while it sends does: a write that completes at once emits 'drain'
        // without polling, so the loop could push 8 MiB (the server's
        // linger budget) before it ever saw the 413, and lose it to the
        // reset that follows.
        await new Promise((r) => setImmediate(r));
        if (answered || sock.destroyed) break;
        sent += piece.length;
        if (!sock.write(piece)) await new Promise((r) => { sock.once('drain', r); sock.once('close', r); });
      }
    });
  });
}

const kPostHead = (extra) => `POST ${kCompletions} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extra}\r\n`;

test('bodies: chunked past the limit 413, Content-Encoding 415, no length 411, all before reading it all', async () => {
  await withServer(['--max-body-bytes', '65536'], async (s) => {
    // 100 MiB chunked: refused once 64 KiB have come in, long before the end.
    const mib = Buffer.alloc(1 << 20, 0x20);
    const chunk = Buffer.concat([Buffer.from(`${mib.length.toString(16)}\r\n`), mib, Buffer.from('\r\n')]);
    const big = await raw(s, kPostHead('Transfer-Encoding: chunked\r\n'), async function* () {
      for (let i = 0; i < 100; ++i) yield chunk;
    });
    assert.equal(big.status, 413, big.text);
    assert.equal(big.json.error.code, 'request_too_large');
    assert.ok(big.sent < 100 * mib.length, `sent ${big.sent}`);
    // A Content-Length past the limit: refused before any body byte.
    const cl = await raw(s, kPostHead(`Content-Length: ${100 << 20}\r\n`));
    assert.equal(cl.status, 413, cl.text);
    // A gzip body (the bomb of the issue would inflate 1000x): refused unread.
    const gz = await raw(s, kPostHead('Content-Encoding: gzip\r\nContent-Length: 1000000\r\n'));
    assert.equal(gz.status, 415, gz.text);
    // No length at all on a POST: 411 at once, not a wait for the client to close.
    const t0 = Date.now();
    const none = await raw(s, kPostHead(''), async function* () { yield Buffer.from('{"prompt":"x"}'); });
    assert.equal(none.status, 411, none.text);
    assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms`);
    assert.equal((await http(s, 'GET', '/health')).status, 200);
  });
});

test('auth is checked before the body is read', async () => {
  await withServer(['--api-key', 'sk-a'], async (s) => {
    // Announces 100 MiB and sends none of it: the 401 comes anyway.
    const r = await raw(s, kPostHead(`Content-Length: ${100 << 20}\r\n`));
    assert.equal(r.status, 401, r.text);
    assert.match(r.text, /WWW-Authenticate: Bearer/i);
  });
});

test('/metrics needs the key when keys are set; 401s say WWW-Authenticate: Bearer', async () => {
  await withServer(['--api-key', 'sk-alpha'], async (s) => {
    for (const headers of [{}, { Authorization: 'Bearer sk-wrong' }]) {
      const m = await http(s, 'GET', '/metrics', undefined, headers);
      assertApiError(m, 401, { code: 'invalid_api_key' });
      assert.equal(m.headers.get('www-authenticate'), 'Bearer');
      const c = await http(s, 'POST', kCompletions, { prompt: 'x', max_tokens: 1 }, headers);
      assertApiError(c, 401, { code: 'invalid_api_key' });
      assert.equal(c.headers.get('www-authenticate'), 'Bearer');
      const v = await http(s, 'GET', '/v1/models', undefined, headers);
      assertApiError(v, 401);
      assert.equal(v.headers.get('www-authenticate'), 'Bearer');
    }
    const ok = await http(s, 'GET', '/metrics', undefined, { Authorization: 'Bearer sk-alpha' });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /kvserve_requests_running/);
    // Probes stay open.
    assert.equal((await http(s, 'GET', '/health')).status, 200);
  });
});

test('--metrics-public opens /metrics alone', async () => {
  await withServer(['--api-key', 'sk-alpha', '--metrics-public'], async (s) => {
    assert.equal((await http(s, 'GET', '/metrics')).status, 200);
    assertApiError(await http(s, 'GET', '/v1/models'), 401);
  });
});

// One request computes at a time (--max-running 1). Long requests hold the
// engine (the first one is streaming and has sent a token, so it runs)
// while B (priority 0) and then C (a very low, i.e. urgent, priority)
// queue; the order B and C finish in shows whether C jumped B. B and C are
// long enough that their answers cannot overtake each other on the wire.
async function finishOrder(s) {
  const long = { prompt: 'Once upon a time', max_tokens: 480, ignore_eos: true };
  const first = await fetch(s.url + kCompletions, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...long, stream: true }),
  });
  const reader = first.body.getReader();
  await reader.read();  // the engine runs it now
  const holders = [http(s, 'POST', kCompletions, long), http(s, 'POST', kCompletions, long)];
  const drain = (async () => { while (!(await reader.read()).done); })();
  await new Promise((r) => setTimeout(r, 20));
  const order = [];
  const short = { ...long, max_tokens: 160 };
  const b = http(s, 'POST', kCompletions, short).then((r) => {
    assert.equal(r.status, 200, r.text);
    order.push('B');
  });
  await new Promise((r) => setTimeout(r, 30));
  const c = http(s, 'POST', kCompletions, { ...short, priority: -2147483648 }).then((r) => {
    assert.equal(r.status, 200, r.text);
    order.push('C');
  });
  await Promise.all([...holders, drain, b, c]);
  return order.join('');
}

test('client priority is ignored by default', async () => {
  await withServer(['--max-running', '1'], async (s) => {
    assert.equal(await finishOrder(s), 'BC');
    // Out of int range is still a 400, not a silent clamp.
    assertApiError(await http(s, 'POST', kCompletions, { prompt: 'x', priority: 2 ** 40 }), 400,
                   { param: 'priority' });
  });
});

test('client priority is clamped to --priority-min/--priority-max', async () => {
  await withServer(['--max-running', '1', '--priority-min', '-10', '--priority-max', '10'], async (s) => {
    assert.equal(await finishOrder(s), 'CB');
  });
});

test('a sequential streaming client at --max-concurrent-requests 1 never gets 429', async () => {
  await withServer(['--max-concurrent-requests', '1'], async (s) => {
    const statuses = [];
    for (let i = 0; i < 60; ++i) {
      const res = await fetch(s.url + kCompletions, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 4, stream: true }),
      });
      statuses.push(res.status);
      if (res.status !== 200) {
        await res.text();
        continue;
      }
      // The next request goes out as soon as [DONE] is seen, as a client
      // looping over completions would send it.
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let text = '';
      while (!text.includes('data: [DONE]')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      reader.cancel().catch(() => {});
      assert.ok(text.includes('data: [DONE]'), text);
    }
    assert.deepEqual(statuses.filter((x) => x !== 200), [], `statuses ${statuses}`);
  });
});

test('CORS: none by default; --allowed-origins answers preflights and tags answers', async () => {
  const preflight = (s, origin) => http(s, 'OPTIONS', '/v1/chat/completions', undefined, {
    Origin: origin, 'Access-Control-Request-Method': 'POST',
    'Access-Control-Request-Headers': 'authorization, content-type',
  });
  await withServer([], async (s) => {
    const p = await preflight(s, 'https://app.example');
    assertApiError(p, 403, { code: 'origin_not_allowed' });
    assert.equal(p.headers.get('access-control-allow-origin'), null);
    const h = await http(s, 'GET', '/health', undefined, { Origin: 'https://app.example' });
    assert.equal(h.status, 200);
    assert.equal(h.headers.get('access-control-allow-origin'), null);
  });
  await withServer(['--allowed-origins', 'https://app.example,http://localhost:3000', '--api-key', 'sk-a'],
                   async (s) => {
    const p = await preflight(s, 'https://app.example');
    assert.equal(p.status, 204);
    assert.equal(p.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(p.headers.get('access-control-allow-methods'), /POST/);
    assert.match(p.headers.get('access-control-allow-headers'), /Authorization/);
    assert.match(p.headers.get('access-control-allow-headers'), /Content-Type/);
    assertApiError(await preflight(s, 'https://evil.example'), 403);
    // A real request from the allowed origin: answered with the origin, and
    // so is its 401 (a script must be able to read the error).
    const ok = await http(s, 'POST', kCompletions, { prompt: 'x', max_tokens: 1 },
                          { Origin: 'http://localhost:3000', Authorization: 'Bearer sk-a' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'http://localhost:3000');
    assert.match(ok.headers.get('vary'), /Origin/);
    const denied = await http(s, 'POST', kCompletions, { prompt: 'x' }, { Origin: 'https://app.example' });
    assertApiError(denied, 401);
    assert.equal(denied.headers.get('access-control-allow-origin'), 'https://app.example');
    const other = await http(s, 'GET', '/health', undefined, { Origin: 'https://evil.example' });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });
});

// A client that sends one header byte every 100 ms and never ends its head.
function trickle(s) {
  const { port } = new URL(s.url);
  const sock = net.connect(Number(port), '127.0.0.1');
  sock.on('error', () => {});
  const head = 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(1000);
  let i = 0;
  const timer = setInterval(() => { if (!sock.destroyed) sock.write(head[i++ % head.length]); }, 100);
  return () => { clearInterval(timer); sock.destroy(); };
}

test('SIGTERM with a trickling client: exits within --shutdown-timeout + 1 s', async () => {
  const s = await startServer(['--shutdown-timeout', '1']);
  const stopTrickle = trickle(s);
  try {
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const { code } = await s.stop({ timeoutMs: 8000 });
    const ms = Date.now() - t0;
    assert.equal(code, 0, s.stderr());
    assert.ok(ms < 3500, `exited after ${ms} ms`);
  } finally {
    stopTrickle();
  }
});

test('a second signal exits at once', async () => {
  const s = await startServer(['--shutdown-timeout', '30']);
  const stopTrickle = trickle(s);
  // A stream in flight keeps the drain busy (its client never reads).
  const res = await fetch(s.url + kCompletions, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 400, ignore_eos: true, stream: true }),
  });
  try {
    const exited = new Promise((resolve) => s.proc.on('exit', (code) => resolve(code)));
    s.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    s.proc.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
    if (code === 'timeout') s.proc.kill('SIGKILL');
    // Either the drain had already ended (0) or the second signal cut it (143).
    assert.ok(code === 143 || code === 0, `exit ${code}: ${s.stderr()}`);
    assert.ok(Date.now() - t0 < 1500, `exited ${Date.now() - t0} ms after the second signal`);
  } finally {
    stopTrickle();
    res.body.cancel().catch(() => {});
  }
});

test('a prompt far past the context is refused before it is tokenized', async () => {
  await withServer([], async (s) => {
    const text = 'The big brown dog ran and jumped over the red ball in the sun. '.repeat(15000);  // ~1 MB
    for (const [path, body] of [[kCompletions, { prompt: text, max_tokens: 1 }],
                                ['/v1/chat/completions', { messages: [{ role: 'user', content: text }] }]]) {
      const t0 = Date.now();
      const r = await http(s, 'POST', path, body);
      assertApiError(r, 400, { code: 'context_length_exceeded' });
      assert.match(r.json.error.message, /bytes\) cannot fit/);
      assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    }
  });
});
