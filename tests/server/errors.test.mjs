// Every class of bad input gets an OpenAI-style error with the right status,
// and the server keeps serving: each error is followed by a good request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startServer, client, http, assertApiError, MODEL_ID, BIN, MODEL, TOKENIZER } from './lib.mjs';

let server;
let openai;
before(async () => {
  server = await startServer(['--max-body-bytes', '65536', '--max-concurrent-requests', '2']);
  openai = client(server);
});
after(async () => {
  assert.equal((await server.stop()).code, 0);
});

const kChat = '/v1/chat/completions';
const kCompletions = '/v1/completions';
const msgs = [{ role: 'user', content: 'Once upon a time' }];

// A good request on the same server, after each error.
async function stillServes(s = server, headers = {}) {
  const r = await http(s, 'POST', kChat, { model: MODEL_ID, messages: msgs, max_tokens: 4, temperature: 0 },
                       headers);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.choices[0].message.role, 'assistant');
}

test('malformed JSON -> 400', async () => {
  for (const body of ['{"messages": [', 'not json', '', '[1,2]', '"str"', '{"messages": [{"role": "user", "content": "\\ud800"}]']) {
    for (const path of [kChat, kCompletions, '/tokenize']) {
      const r = await http(server, 'POST', path, body);
      assertApiError(r, 400);
    }
    await stillServes();
  }
});

test('nested JSON bomb -> 400 before parsing, on every route that reads JSON', async () => {
  // Under this server's 64 KiB body limit; ~30k levels crashed the old
  // server through a recursive dump() of the offending value (issue 16).
  const bomb = '['.repeat(30000) + '1' + ']'.repeat(30000);
  for (const [path, body] of [[kCompletions, `{"prompt":[1,${bomb}]}`], ['/tokenize', `{"prompt":[1,${bomb}]}`],
                              ['/detokenize', `{"tokens":[1,${bomb}]}`], [kChat, `{"messages":${bomb}}`]]) {
    assertApiError(await http(server, 'POST', path, body), 400, { code: 'invalid_json' });
  }
  await stillServes();
});

test('wrong types -> 400 naming the param', async () => {
  const cases = [
    [kChat, { messages: 'hi' }, 'messages'],
    [kChat, { messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
    [kChat, { messages: msgs, max_tokens: 'ten' }, 'max_tokens'],
    [kChat, { messages: msgs, temperature: 'hot' }, 'temperature'],
    [kChat, { messages: msgs, stream: 1 }, 'stream'],
    [kChat, { messages: msgs, stop: [1, 2] }, 'stop'],
    [kChat, { messages: msgs, seed: 1.5 }, 'seed'],
    [kChat, { messages: msgs, logprobs: 'yes' }, 'logprobs'],
    [kChat, { messages: msgs, model: 7 }, 'model'],
    [kCompletions, { prompt: { text: 'x' } }, 'prompt'],
    [kCompletions, { prompt: [1, 'two'] }, 'prompt'],
    [kCompletions, {}, 'prompt'],
  ];
  for (const [path, body, param] of cases) {
    assertApiError(await http(server, 'POST', path, body), 400, { param });
    await stillServes();
  }
});

test('out-of-range values -> 400 naming the param', async () => {
  const cases = [
    [{ temperature: 2.5 }, 'temperature'], [{ top_p: 0 }, 'top_p'], [{ top_p: 1.5 }, 'top_p'],
    [{ top_k: -5 }, 'top_k'], [{ min_p: 1.5 }, 'min_p'], [{ max_tokens: 0 }, 'max_tokens'],
    [{ max_completion_tokens: -1 }, 'max_completion_tokens'], [{ presence_penalty: 9 }, 'presence_penalty'],
    [{ frequency_penalty: -3 }, 'frequency_penalty'], [{ stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    [{ logprobs: true, top_logprobs: 50 }, 'top_logprobs'], [{ n: 17 }, 'n'], [{ n: 2, best_of: 3 }, 'best_of'],
    [{ stream_options: { include_usage: true } }, 'stream_options'],
  ];
  for (const [extra, param] of cases) {
    assertApiError(await http(server, 'POST', kChat, { model: MODEL_ID, messages: msgs, ...extra }), 400, { param });
    await stillServes();
  }
  // Token ids outside the vocabulary (512).
  assertApiError(await http(server, 'POST', kCompletions, { prompt: [1, 512] }), 400, { param: 'prompt' });
  assertApiError(await http(server, 'POST', kCompletions, { prompt: 'x', logit_bias: { 512: 5 } }), 400,
                 { param: 'logit_bias' });
  assertApiError(await http(server, 'POST', kChat, { messages: msgs, logit_bias: { 3: 101 } }), 400,
                 { param: 'logit_bias' });
  await stillServes();
  // Through the SDK: the error surfaces as an APIError with the same fields.
  await assert.rejects(openai.chat.completions.create({ model: MODEL_ID, messages: msgs, temperature: 3 }),
                       (e) => e.status === 400 && e.param === 'temperature');
  await stillServes();
});

test('unknown model -> 404 model_not_found', async () => {
  await assert.rejects(openai.chat.completions.create({ model: 'gpt-17', messages: msgs }),
                       (e) => e.status === 404 && e.code === 'model_not_found');
  assertApiError(await http(server, 'POST', kCompletions, { model: 'nope', prompt: 'x' }), 404,
                 { code: 'model_not_found', param: 'model' });
  assertApiError(await http(server, 'GET', '/v1/models/nope'), 404, { code: 'model_not_found' });
  assertApiError(await http(server, 'GET', '/v1/no-such-route'), 404);
  await stillServes();
});

test('prompt longer than the context -> 400 context_length_exceeded', async () => {
  const long = 'The big brown dog ran and jumped over the red ball in the sun. '.repeat(60);
  assertApiError(await http(server, 'POST', kCompletions, { prompt: long, max_tokens: 4 }), 400,
                 { code: 'context_length_exceeded' });
  assertApiError(await http(server, 'POST', kCompletions, { prompt: new Array(600).fill(400), max_tokens: 4 }),
                 400, { code: 'context_length_exceeded' });
  assertApiError(await http(server, 'POST', kChat, { messages: [{ role: 'user', content: long }] }), 400,
                 { code: 'context_length_exceeded' });
  // A prompt that fits, with max_tokens that do not.
  assertApiError(await http(server, 'POST', kCompletions, { prompt: 'Once', max_tokens: 600 }), 400,
                 { code: 'context_length_exceeded' });
  await stillServes();
});

test('body over the limit -> 413', async () => {
  const huge = JSON.stringify({ model: MODEL_ID, prompt: 'x'.repeat(100000) });
  assertApiError(await http(server, 'POST', kCompletions, huge), 413);
  await stillServes();
});

test('past --max-concurrent-requests -> 429 with Retry-After', async () => {
  // Two long streams hold both slots; read their first chunk so they are in.
  const hold = [];
  for (let i = 0; i < 2; i++) {
    const ac = new AbortController();
    const res = await fetch(server.url + kCompletions, {
      method: 'POST', signal: ac.signal, headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 480, ignore_eos: true, stream: true }) });
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    await reader.read();
    hold.push({ ac, reader });
  }
  const r = await http(server, 'POST', kChat, { messages: msgs, max_tokens: 4 });
  assertApiError(r, 429, { code: 'rate_limit_exceeded' });
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
  for (const h of hold) h.ac.abort();
  // The dropped streams give their slots back.
  const deadline = Date.now() + 10000;
  let ok = false;
  while (!ok && Date.now() < deadline) {
    const again = await http(server, 'POST', kChat, { messages: msgs, max_tokens: 4 });
    ok = again.status === 200;
    if (!ok) await new Promise((res) => setTimeout(res, 50));
  }
  assert.ok(ok, 'served again after the streams were dropped');
});

test('engine queue full -> 503 with Retry-After', async () => {
  // One request computes and one waits, so of twelve long requests sent at
  // once some find the queue full (a version that timed one request
  // against another raced under load; how many get in depends on how fast
  // the first ones finish).
  const s = await startServer(['--max-running', '1', '--max-waiting', '1']);
  try {
    const body = { prompt: 'Once upon a time', max_tokens: 480, ignore_eos: true };
    const rs = await Promise.all(Array.from({ length: 12 }, () => http(s, 'POST', kCompletions, body)));
    const statuses = rs.map((r) => r.status);
    assert.ok(statuses.includes(503), `statuses ${statuses}`);
    assert.ok(statuses.includes(200), `statuses ${statuses}`);
    for (const r of rs) {
      if (r.status === 200) continue;
      assertApiError(r, 503);
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
    }
    await stillServes(s);
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
});

test('API keys: missing or wrong -> 401', async () => {
  const s = await startServer(['--api-key', 'sk-alpha', '--api-key', 'sk-beta']);
  try {
    for (const headers of [{}, { Authorization: 'Bearer sk-wrong' }, { Authorization: 'sk-alpha' },
                           { Authorization: 'Basic sk-alpha' }]) {
      for (const [method, path, body] of [['POST', kChat, { messages: msgs }], ['GET', '/v1/models'],
                                          ['POST', kCompletions, { prompt: 'x' }]]) {
        assertApiError(await http(s, method, path, body, headers), 401, { code: 'invalid_api_key' });
      }
      await stillServes(s, { Authorization: 'Bearer sk-beta' });
    }
    await assert.rejects(client(s, 'sk-nope').models.list(), (e) => e.status === 401);
    assert.equal((await client(s, 'sk-alpha').models.list()).data[0].id, MODEL_ID);
    // Health stays open for probes (/metrics needs the key: hostile.test.mjs).
    assert.equal((await http(s, 'GET', '/health')).status, 200);
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
});

test('a port that is already served: the second server refuses to start', async () => {
  const port = new URL(server.url).port;
  const second = await new Promise((resolve) => {
    execFile(BIN, ['serve', '-m', MODEL, ...(TOKENIZER ? ['--tokenizer', TOKENIZER] : []),
                   '--host', '127.0.0.1', '--port', port, '-t', '1'],
             { timeout: 30000 }, (error, stdout, stderr) => resolve({ error, stdout, stderr }));
  });
  assert.ok(second.error && second.error.code !== 0, 'the second server started: ' + second.stdout);
  assert.match(second.stderr, /cannot bind 127\.0\.0\.1:\d+ \(in use\?\)/);
  await stillServes();
});
