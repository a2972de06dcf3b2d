// The official openai SDK against `kvserve serve`: chat and completions,
// streaming and not, stop, seeds, logprobs, cached-token usage, and greedy
// text equal to `kvserve generate`'s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, http, metric, generateCli, greedyCompletion, MODEL_ID } from './lib.mjs';

let server;
let openai;
before(async () => {
  server = await startServer();
  openai = client(server);
});
after(async () => {
  const { code } = await server.stop();
  assert.equal(code, 0, 'clean exit on SIGTERM');
});

const kPrompt = 'Once upon a time';

async function streamText(stream) {
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return chunks;
}

test('models, health and metrics', async () => {
  const list = await openai.models.list();
  assert.equal(list.data.length, 1);
  assert.equal(list.data[0].id, MODEL_ID);
  assert.equal(list.data[0].max_model_len, 512);
  assert.equal((await openai.models.retrieve(MODEL_ID)).id, MODEL_ID);
  assert.equal((await http(server, 'GET', '/health')).status, 200);
  const m = await http(server, 'GET', '/metrics');
  for (const name of ['kvserve_requests_running', 'kvserve_requests_waiting', 'kvserve_requests_total',
                      'kvserve_prompt_tokens_total', 'kvserve_generation_tokens_total',
                      'kvserve_prefix_cache_queried_tokens_total', 'kvserve_prefix_cache_hit_tokens_total',
                      'kvserve_kv_blocks_total', 'kvserve_kv_blocks_used', 'kvserve_preemptions_total',
                      'kvserve_time_to_first_token_seconds', 'kvserve_inter_token_latency_seconds',
                      'kvserve_e2e_request_latency_seconds']) {
    assert.match(m.text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  }
});

test('greedy completion equals kvserve generate', async () => {
  for (const [prompt, n] of [[kPrompt, 60], ['The cat', 40]]) {
    const cli = await generateCli(prompt, n);
    const text = await greedyCompletion(openai, prompt, n);
    assert.equal(prompt + text + '\n', cli, `prompt ${JSON.stringify(prompt)}`);
  }
  // The plain chat template of a base model encodes a lone user message as
  // the prompt itself, so chat gives the same text.
  const chat = await openai.chat.completions.create({
    model: MODEL_ID, messages: [{ role: 'user', content: kPrompt }], max_tokens: 60, temperature: 0 });
  assert.equal(kPrompt + chat.choices[0].message.content + '\n', await generateCli(kPrompt, 60));
});

test('completions: shape, usage and streaming agree', async () => {
  const r = await openai.completions.create({ model: MODEL_ID, prompt: kPrompt, max_tokens: 24, temperature: 0 });
  assert.match(r.id, /^cmpl-/);
  assert.equal(r.object, 'text_completion');
  assert.equal(r.model, MODEL_ID);
  assert.equal(typeof r.created, 'number');
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.prompt_tokens, 5);  // BOS + 4 (models/README.md)
  assert.equal(r.usage.completion_tokens, 24);
  assert.equal(r.usage.total_tokens, 29);
  assert.equal(typeof r.usage.prompt_tokens_details.cached_tokens, 'number');

  const chunks = await streamText(await openai.completions.create({
    model: MODEL_ID, prompt: kPrompt, max_tokens: 24, temperature: 0, stream: true,
    stream_options: { include_usage: true } }));
  const usage = chunks.at(-1);
  assert.deepEqual(usage.choices, []);
  assert.equal(usage.usage.completion_tokens, 24);
  const content = chunks.slice(0, -1);
  assert.equal(content.map((c) => c.choices[0].text).join(''), r.choices[0].text);
  assert.equal(content.at(-1).choices[0].finish_reason, 'length');
  for (const c of content.slice(0, -1)) assert.equal(c.choices[0].finish_reason, null);
  assert.ok(content.every((c) => c.id === content[0].id));

  // Token-id prompts are the same request.
  const ids = await openai.completions.create({ model: MODEL_ID, prompt: [1, 403, 407, 261, 378],
                                                max_tokens: 24, temperature: 0 });
  assert.equal(ids.choices[0].text, r.choices[0].text);
});

test('chat: shape and streaming agree', async () => {
  const messages = [{ role: 'user', content: 'The dog' }];
  const r = await openai.chat.completions.create({ model: MODEL_ID, messages, max_tokens: 30, temperature: 0 });
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.ok(r.choices[0].message.content.length > 0);
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));

  const chunks = await streamText(await openai.chat.completions.create({
    model: MODEL_ID, messages, max_tokens: 30, temperature: 0, stream: true }));
  assert.equal(chunks[0].object, 'chat.completion.chunk');
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), r.choices[0].message.content);
  assert.equal(chunks.at(-1).choices[0].finish_reason, r.choices[0].finish_reason);
  // Every delta is whole UTF-8: re-encoding gives no replacement character.
  for (const c of chunks) assert.ok(!(c.choices[0].delta.content ?? '').includes('\uFFFD'));
});

test('stop strings end the text before them', async () => {
  const full = await greedyCompletion(openai, kPrompt, 60);
  const stop = ' named';
  const cut = full.indexOf(stop);
  assert.ok(cut > 0, `"${stop}" in ${full}`);
  const r = await openai.completions.create({ model: MODEL_ID, prompt: kPrompt, max_tokens: 60,
                                             temperature: 0, stop: [stop, 'zzz'] });
  assert.equal(r.choices[0].text, full.slice(0, cut));
  assert.equal(r.choices[0].finish_reason, 'stop');
  const chunks = await streamText(await openai.chat.completions.create({
    model: MODEL_ID, messages: [{ role: 'user', content: kPrompt }], max_tokens: 60, temperature: 0,
    stop, stream: true }));
  assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), full.slice(0, cut));
  assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
});

test('seeds make sampling reproducible', async () => {
  const sample = async (seed) => (await openai.completions.create({
    model: MODEL_ID, prompt: kPrompt, max_tokens: 40, temperature: 1.0, top_p: 0.95, seed })).choices[0].text;
  const a = await sample(1234);
  assert.equal(await sample(1234), a);
  const others = [await sample(1), await sample(2), await sample(3)];
  assert.ok(others.some((t) => t !== a), 'different seeds give different samples');
});

test('logprobs: chat and completions', async () => {
  const r = await openai.chat.completions.create({
    model: MODEL_ID, messages: [{ role: 'user', content: kPrompt }], max_tokens: 10, temperature: 0,
    logprobs: true, top_logprobs: 3 });
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, r.usage.completion_tokens);
  assert.equal(content.map((t) => t.token).join(''), r.choices[0].message.content);
  for (const t of content) {
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 3);
    // Greedy: the chosen token is the most likely one.
    assert.equal(t.top_logprobs[0].token, t.token);
    assert.ok(Math.abs(t.top_logprobs[0].logprob - t.logprob) < 1e-5);
    assert.ok(t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob);
    assert.deepEqual(t.bytes, [...Buffer.from(t.token, 'utf8')]);
  }
  const c = await openai.completions.create({ model: MODEL_ID, prompt: kPrompt, max_tokens: 5,
                                             temperature: 0, logprobs: 2 });
  const lp = c.choices[0].logprobs;
  assert.equal(lp.tokens.length, 5);
  assert.equal(lp.token_logprobs.length, 5);
  assert.equal(lp.tokens.join(''), c.choices[0].text);
  assert.deepEqual(lp.text_offset[0], 0);
  for (const top of lp.top_logprobs) assert.ok(Object.keys(top).length >= 1 && Object.keys(top).length <= 2);
});

test('logit_bias: +100 forces a token, -100 bans one', async () => {
  const base = { model: MODEL_ID, prompt: kPrompt, max_tokens: 4, temperature: 0, logprobs: 1 };
  const plain = await openai.completions.create(base);
  // +100 on token 407 (" upon"): every greedy step picks it; so does a hot sampler.
  for (const temperature of [0, 1]) {
    const forced = await openai.completions.create({ ...base, temperature, seed: 3,
                                                     logit_bias: { 407: 100 } });
    const want = await http(server, 'POST', '/detokenize', { tokens: [407, 407, 407, 407] });
    assert.equal(forced.choices[0].text, want.json.prompt);
  }
  // -100 on the first greedy token: the continuation starts differently, and
  // the logprobs stay the model's own (the bias is not in them).
  const first = plain.choices[0].logprobs.tokens[0];
  const ids = (await http(server, 'POST', '/tokenize', { prompt: kPrompt + first })).json.tokens;
  assert.deepEqual(ids.slice(0, -1), [1, 403, 407, 261, 378], 'the first token is one more id');
  const firstId = ids.at(-1);
  const banned = await openai.completions.create({ ...base, logit_bias: { [firstId]: -100 } });
  assert.notEqual(banned.choices[0].logprobs.tokens[0], first);
  assert.ok(Object.keys(banned.choices[0].logprobs.top_logprobs[0]).includes(first),
            'the banned token is still the model\'s most likely one');
});

test('a repeated prompt reports cached tokens', async () => {
  // A prompt no other test uses, several KV blocks long.
  const prompt = 'The little bird sang a song in the tall green tree. ' .repeat(6);
  const first = await openai.completions.create({ model: MODEL_ID, prompt, max_tokens: 4, temperature: 0 });
  assert.equal(first.usage.prompt_tokens_details.cached_tokens, 0);
  const second = await openai.completions.create({ model: MODEL_ID, prompt, max_tokens: 4, temperature: 0 });
  assert.ok(second.usage.prompt_tokens > 32);
  assert.ok(second.usage.prompt_tokens_details.cached_tokens >= 32,
            `cached ${second.usage.prompt_tokens_details.cached_tokens} of ${second.usage.prompt_tokens}`);
  assert.ok(second.usage.prompt_tokens_details.cached_tokens < second.usage.prompt_tokens);
  assert.equal(second.choices[0].text, first.choices[0].text);
  assert.ok(await metric(server, 'kvserve_prefix_cache_hit_tokens_total') >= 32);
});

test('tokenize and detokenize', async () => {
  const t = await http(server, 'POST', '/tokenize', { model: MODEL_ID, prompt: kPrompt });
  assert.equal(t.status, 200);
  assert.deepEqual(t.json.tokens, [1, 403, 407, 261, 378]);
  assert.equal(t.json.count, 5);
  assert.equal(t.json.max_model_len, 512);
  const d = await http(server, 'POST', '/detokenize', { tokens: t.json.tokens.slice(1) });
  assert.equal(d.status, 200);
  assert.equal(d.json.prompt.trim(), kPrompt);
});

// Prompt scoring as evaluation harnesses do it (echo, logprobs, max_tokens
// 0): the prompt's tokens come back with the logprobs the model gives them,
// the same numbers generation reports for the same tokens at the same
// positions; vLLM's prompt_logprobs carries them too, with ranks.
test('echo and prompt_logprobs score the prompt', async () => {
  const openai = client(server);
  const gen = await openai.completions.create({ model: MODEL_ID, prompt: kPrompt, max_tokens: 6, temperature: 0, logprobs: 1 });
  const full = kPrompt + gen.choices[0].text;
  const echo = await openai.completions.create({ model: MODEL_ID, prompt: full, max_tokens: 0, echo: true, logprobs: 1 });
  const c = echo.choices[0];
  assert.equal(c.text, full);
  assert.equal(echo.usage.completion_tokens, 0);
  assert.equal(c.logprobs.token_logprobs[0], null);
  assert.equal(c.logprobs.tokens.join(''), full);
  for (let i = 1; i < c.logprobs.tokens.length; ++i) {
    assert.equal(full.slice(c.logprobs.text_offset[i], c.logprobs.text_offset[i] + c.logprobs.tokens[i].length),
                 c.logprobs.tokens[i]);
  }
  // The generated tail, scored as prompt, has generation's logprobs.
  const tail = c.logprobs.token_logprobs.slice(-6);
  gen.choices[0].logprobs.token_logprobs.forEach((lp, i) => assert.ok(Math.abs(lp - tail[i]) < 1e-3, `${lp} vs ${tail[i]}`));
  // With generation after it, the generated text follows the echo.
  const more = await openai.completions.create({ model: MODEL_ID, prompt: kPrompt, max_tokens: 6, temperature: 0, echo: true });
  assert.equal(more.choices[0].text, full);
  const p = await http(server, 'POST', '/v1/completions', { model: MODEL_ID, prompt: kPrompt, max_tokens: 1, prompt_logprobs: 2 });
  assert.equal(p.status, 200, p.text);
  const list = p.json.choices[0].prompt_logprobs;
  assert.equal(list[0], null);
  assert.equal(list.length, echo.choices[0].logprobs.tokens.length - 6);
  for (const entry of list.slice(1)) {
    const ranks = Object.values(entry).map((e) => e.rank);
    assert.ok(ranks.includes(1) && ranks.every((r) => r >= 1));
  }
});
