// Clients that vanish mid-stream: their requests are aborted, their KV
// blocks come back, and the server keeps answering.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, metric, waitFor, MODEL_ID } from './lib.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { assert.equal((await server.stop()).code, 0); });

test('8 streams dropped mid-generation free their blocks', async () => {
  const openai = client(server);
  const count = async (reason) => metric(server, `kvserve_requests_total{finish_reason="${reason}"}`);
  const abortsBefore = await count('abort');
  const lengthBefore = await count('length');
  // Each stream reads a few chunks, so that its request is generating, and
  // drops at once: none waits for the others to start.
  await Promise.all(Array.from({ length: 8 }, async (_, i) => {
    const s = await openai.completions.create({ model: MODEL_ID, prompt: `Once upon a time ${i}`,
                                               max_tokens: 480, temperature: 0, stream: true,
                                               ignore_eos: true });
    let n = 0;
    for await (const chunk of s) {
      assert.equal(chunk.choices[0].finish_reason, null, 'dropped before the end');
      if (++n === 3) break;  // leaving the loop aborts the HTTP request
    }
  }));
  // The server notices a vanished client at its next write; on a loaded
  // machine a dropped stream can reach max_tokens ("length") before that,
  // so the test asks that every request ended one way or the other, that
  // most were aborts, and that all blocks came back.
  await waitFor(async () => (await count('abort')) - abortsBefore + (await count('length')) - lengthBefore === 8,
                { what: '8 requests to end' });
  assert.ok((await count('abort')) - abortsBefore >= 4, 'most dropped streams were aborted');
  await waitFor(async () => (await metric(server, 'kvserve_kv_blocks_used')) === 0,
                { what: 'kvserve_kv_blocks_used == 0' });
  assert.equal(await metric(server, 'kvserve_requests_running'), 0);
  const r = await openai.chat.completions.create({ model: MODEL_ID, messages: [{ role: 'user', content: 'Hi' }],
                                                  max_tokens: 8, temperature: 0 });
  assert.ok(r.choices[0].message.content.length > 0);
  // The engine loop publishes its stats at the end of the step that pushed
  // the reply's last token, so on a slow (sanitized) build they can trail it.
  await waitFor(async () => (await metric(server, 'kvserve_kv_blocks_used')) === 0,
                { what: 'kvserve_kv_blocks_used == 0 after the chat' });
});

test('SIGTERM ends in-flight streams with [DONE] and exits cleanly', async () => {
  const s = await startServer();
  const res = await fetch(s.url + '/v1/completions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: 'Once', max_tokens: 480, ignore_eos: true, stream: true }) });
  const reader = res.body.getReader();
  let body = new TextDecoder().decode((await reader.read()).value);
  const stopping = s.stop();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    body += new TextDecoder().decode(value);
  }
  assert.equal((await stopping).code, 0);
  assert.ok(body.trimEnd().endsWith('data: [DONE]'), body.slice(-200));
});
