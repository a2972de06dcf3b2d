// 32 simultaneous streaming clients all complete with the right text: the
// greedy text each would get alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, greedyCompletion, metric, MODEL_ID } from './lib.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { assert.equal((await server.stop()).code, 0); });

test('32 concurrent streams', async () => {
  const openai = client(server);
  const prompts = ['Once upon a time', 'The cat', 'Lily and Tom', 'One day, a little bird'];
  const kTokens = 40;
  const expected = [];
  for (const p of prompts) expected.push(await greedyCompletion(openai, p, kTokens));
  const t0 = Date.now();
  const results = await Promise.all(Array.from({ length: 32 }, async (_, i) => {
    const stream = await openai.chat.completions.create({
      model: MODEL_ID, messages: [{ role: 'user', content: prompts[i % 4] }], max_tokens: kTokens,
      temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish = null;
    let usage = null;
    for await (const c of stream) {
      if (c.usage) usage = c.usage;
      if (c.choices.length) {
        text += c.choices[0].delta.content ?? '';
        finish = c.choices[0].finish_reason ?? finish;
      }
    }
    return { i, text, finish, usage };
  }));
  const seconds = (Date.now() - t0) / 1000;
  for (const r of results) {
    assert.equal(r.text, expected[r.i % 4], `client ${r.i}`);
    assert.ok(r.finish === 'length' || r.finish === 'stop');
    assert.ok(r.usage && r.usage.completion_tokens > 0);
  }
  const tokens = results.reduce((a, r) => a + r.usage.completion_tokens, 0);
  console.log(`# 32 streams: ${tokens} tokens in ${seconds.toFixed(2)} s`);
  assert.equal(await metric(server, 'kvserve_requests_running'), 0);
});
