// The OpenAI API as three client libraries use it (issue 17's client x
// feature table), against a random-weight Qwen3-shaped model with Qwen3's
// real vocabulary and chat template: whatever the model would say, the
// constrained rows (named/required tool calls, json_object, json_schema,
// generateObject, withStructuredOutput) must come back valid; logit_bias
// must ban and force; n, batched prompts and embeddings must have their
// shapes; an unsupported field is a 400 naming it.
//
// The table (test names below say which rows each covers):
//   row                     openai   AI SDK               LangChain
//   tool call, named        yes      yes                  yes
//   tool call, required     yes      yes                  yes
//   tool call, auto         yes      -                    -
//   streamed tool call      yes      yes (streamText)     yes (stream)
//   json_object             yes      -                    -
//   json_schema             yes      yes (generateObject) yes (withStructuredOutput, both methods)
//   n                       yes      - (no such option)   yes
//   logit_bias ban/force    yes/yes  -/yes (providerOptions) -/yes
//   batched prompts         yes      - (no batch API)     yes (completions model)
//   embeddings              yes      yes (embedMany)      yes (OpenAIEmbeddings)
//   400 for a field         yes      yes                  yes
//
// Clients (pinned in package.json): openai 4.104.0, the Vercel AI SDK
// (ai 5.0.277 with @ai-sdk/openai-compatible 1.0.61), LangChain
// (@langchain/openai 0.6.7).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { generateText, streamText, generateObject, embedMany, tool, jsonSchema } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI, OpenAI as LangChainOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { BIN, startServer, client, http } from './lib.mjs';

const SHARED = process.env.KVSERVE_SHARED;
if (!SHARED) throw new Error('KVSERVE_SHARED must be set');

const dir = mkdtempSync(join(tmpdir(), 'kvs-clients-'));
let server;
let baseURL;
let modelId;

before(async () => {
  const model = join(dir, 'qwen3-hf');
  execFileSync(BIN, ['make-model', '--shape', 'test-qwen3', '--type', 'F16', '--seed', '5', '--format', 'hf',
                     '--vocab', `${SHARED}/models/vocab/hf-qwen3`, '-o', model],
               { stdio: ['ignore', 'ignore', 'inherit'] });
  server = await startServer(['--max-concurrent-requests', '16'], { model });
  baseURL = `${server.url}/v1`;
  modelId = (await client(server).models.list()).data[0].id;
});
after(async () => {
  if (server) assert.equal((await server.stop()).code, 0);
  rmSync(dir, { recursive: true, force: true });
});

const messages = [{ role: 'user', content: 'What is the weather in Paris, in celsius?' }];
// Bounded strings: a random model would otherwise fill max_tokens inside one.
const weatherParams = {
  type: 'object',
  properties: { city: { type: 'string', maxLength: 12 }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: weatherParams } },
  { type: 'function', function: { name: 'get_time', description: 'Time in a zone',
                                   parameters: { type: 'object', properties: { zone: { type: 'string', maxLength: 8 } },
                                                 required: ['zone'], additionalProperties: false } } },
];
const Weather = z.object({ city: z.string().max(12), unit: z.enum(['celsius', 'fahrenheit']) });
const Person = z.object({ name: z.string().max(10), age: z.number().int(), pets: z.array(z.enum(['cat', 'dog'])).max(3) });

function assertWeatherCall(name, args) {
  assert.equal(name, 'get_weather');
  const parsed = typeof args === 'string' ? JSON.parse(args) : args;
  Weather.parse(parsed);
}

// ---- openai ----

test('openai: named, required and auto tool calls', async () => {
  const openai = client(server);
  const named = await openai.chat.completions.create({
    model: modelId, messages, tools, max_tokens: 200, temperature: 1, seed: 1,
    tool_choice: { type: 'function', function: { name: 'get_weather' } } });
  assert.equal(named.choices[0].finish_reason, 'tool_calls');
  const call = named.choices[0].message.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.ok(call.id);
  assertWeatherCall(call.function.name, call.function.arguments);

  const required = await openai.chat.completions.create({
    model: modelId, messages, tools, max_tokens: 200, temperature: 1, seed: 2, tool_choice: 'required' });
  assert.ok(required.choices[0].message.tool_calls.length >= 1);
  for (const c of required.choices[0].message.tool_calls) {
    assert.ok(['get_weather', 'get_time'].includes(c.function.name));
    JSON.parse(c.function.arguments);
  }

  // auto: the model decides; the answer is well formed either way.
  const auto = await openai.chat.completions.create({
    model: modelId, messages, tools, max_tokens: 20, temperature: 1, seed: 3 });
  const m = auto.choices[0].message;
  assert.ok(typeof m.content === 'string' || Array.isArray(m.tool_calls));
});

test('openai: a streamed tool call', async () => {
  const openai = client(server);
  const stream = await openai.chat.completions.create({
    model: modelId, messages, tools, max_tokens: 200, temperature: 1, seed: 4, stream: true,
    tool_choice: { type: 'function', function: { name: 'get_weather' } } });
  const calls = [];
  let finish = null;
  for await (const chunk of stream) {
    for (const d of chunk.choices[0]?.delta?.tool_calls ?? []) {
      calls[d.index] ??= { name: '', arguments: '' };
      if (d.function?.name) calls[d.index].name += d.function.name;
      if (d.function?.arguments) calls[d.index].arguments += d.function.arguments;
    }
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(finish, 'tool_calls');
  assert.equal(calls.length, 1);
  assertWeatherCall(calls[0].name, calls[0].arguments);
});

test('openai: json_object and json_schema', async () => {
  const openai = client(server);
  const obj = await openai.chat.completions.create({
    model: modelId, messages, max_tokens: 300, temperature: 1, seed: 5, response_format: { type: 'json_object' } });
  if (obj.choices[0].finish_reason === 'stop') {
    const v = JSON.parse(obj.choices[0].message.content);
    assert.equal(typeof v, 'object');
    assert.ok(!Array.isArray(v));
  }
  for (const seed of [6, 7, 8]) {
    const r = await openai.chat.completions.create({
      model: modelId, messages, max_tokens: 300, temperature: 1, seed,
      response_format: { type: 'json_schema',
                         json_schema: { name: 'weather', strict: true, schema: weatherParams } } });
    assert.equal(r.choices[0].finish_reason, 'stop', r.choices[0].message.content);
    Weather.strict().parse(JSON.parse(r.choices[0].message.content));
  }
});

test('openai: n choices, logit_bias bans and forces, batched prompts', async () => {
  const openai = client(server);
  const n = await openai.chat.completions.create({ model: modelId, messages, max_tokens: 5, temperature: 1, seed: 9, n: 3 });
  assert.deepEqual(n.choices.map((c) => c.index), [0, 1, 2]);

  // The greedy first token, then banned: it never appears; a boosted token always does.
  const greedy = await openai.chat.completions.create({
    model: modelId, messages, max_tokens: 8, temperature: 0, logprobs: true });
  const first = greedy.choices[0].logprobs.content[0].token;
  const firstId = (await http(server, 'POST', '/tokenize', { prompt: first, add_special_tokens: false })).json.tokens;
  assert.equal(firstId.length, 1, `'${first}' is one token`);
  const banned = await openai.chat.completions.create({
    model: modelId, messages, max_tokens: 8, temperature: 0, logprobs: true, logit_bias: { [firstId[0]]: -100 } });
  for (const t of banned.choices[0].logprobs.content) assert.notEqual(t.token, first);
  const hello = (await http(server, 'POST', '/tokenize', { prompt: 'hello', add_special_tokens: false })).json.tokens;
  assert.equal(hello.length, 1);
  const forced = await openai.chat.completions.create({
    model: modelId, messages, max_tokens: 6, temperature: 1, seed: 10, logit_bias: { [hello[0]]: 100 } });
  assert.equal(forced.choices[0].message.content, 'hello'.repeat(6));

  const batch = await openai.completions.create({ model: modelId, prompt: ['Once', 'Twice', 'Thrice'], max_tokens: 3, n: 2, temperature: 0 });
  assert.equal(batch.choices.length, 6);
  assert.deepEqual(batch.choices.map((c) => c.index), [0, 1, 2, 3, 4, 5]);
  const alone = await openai.completions.create({ model: modelId, prompt: 'Twice', max_tokens: 3, temperature: 0 });
  assert.equal(batch.choices[2].text, alone.choices[0].text);
});

test('openai: embeddings (the SDK asks for base64) and a 400 for an unsupported field', async () => {
  const openai = client(server);
  const e = await openai.embeddings.create({ model: modelId, input: ['a cat', 'a dog', 'a cat'] });
  assert.equal(e.data.length, 3);
  const [a, b, c] = e.data.map((d) => d.embedding);
  const dot = (x, y) => x.reduce((s, v, i) => s + v * y[i], 0);
  assert.ok(Math.abs(dot(a, a) - 1) < 1e-4);
  assert.ok(Math.abs(dot(a, c) - 1) < 1e-4);
  assert.ok(dot(a, b) < 0.99999);
  await assert.rejects(
    openai.chat.completions.create({ model: modelId, messages, max_tokens: 2, bad_words: ['x'] }),
    (err) => err.status === 400 && err.error?.param === 'bad_words');
});

// ---- Vercel AI SDK ----

function aiSdk() {
  return createOpenAICompatible({ name: 'kvserve', baseURL, supportsStructuredOutputs: true });
}

test('AI SDK: generateText and streamText with tools', async () => {
  const provider = aiSdk();
  const weather = tool({ description: 'Weather for a city', inputSchema: Weather });
  const r = await generateText({
    model: provider.chatModel(modelId), prompt: 'Weather in Paris?', tools: { get_weather: weather },
    toolChoice: 'required', maxOutputTokens: 200, temperature: 1, seed: 11 });
  assert.ok(r.toolCalls.length >= 1);
  assertWeatherCall(r.toolCalls[0].toolName, r.toolCalls[0].input);

  const named = await generateText({
    model: provider.chatModel(modelId), prompt: 'Weather?', tools: { get_weather: weather, get_time: tool({
      description: 'Time', inputSchema: z.object({ zone: z.string().max(8) }) }) },
    toolChoice: { type: 'tool', toolName: 'get_weather' }, maxOutputTokens: 200, temperature: 1, seed: 12 });
  assertWeatherCall(named.toolCalls[0].toolName, named.toolCalls[0].input);

  const s = streamText({
    model: provider.chatModel(modelId), prompt: 'Weather in Oslo?', tools: { get_weather: weather },
    toolChoice: 'required', maxOutputTokens: 200, temperature: 1, seed: 13 });
  const calls = [];
  for await (const part of s.fullStream) {
    if (part.type === 'tool-call') calls.push(part);
    if (part.type === 'error') throw part.error;
  }
  assert.ok(calls.length >= 1);
  assertWeatherCall(calls[0].toolName, calls[0].input);
});

test('AI SDK: generateObject and embedMany', async () => {
  const provider = aiSdk();
  for (const seed of [14, 15]) {
    const { object } = await generateObject({
      model: provider.chatModel(modelId), schema: Person, prompt: 'Describe a person.',
      maxOutputTokens: 300, temperature: 1, seed });
    Person.parse(object);
  }
  const { embeddings } = await embedMany({ model: provider.textEmbeddingModel(modelId), values: ['x', 'y'] });
  assert.equal(embeddings.length, 2);
  assert.ok(embeddings[0].length > 0);
});

// ---- LangChain ----

function chat(extra = {}) {
  return new ChatOpenAI({ model: modelId, apiKey: 'unused', configuration: { baseURL }, maxTokens: 300,
                          temperature: 1, ...extra });
}

test('LangChain: bound tools and structured output', async () => {
  const required = await chat().bindTools(tools, { tool_choice: 'required' }).invoke('Weather in Paris?');
  assert.ok(required.tool_calls.length >= 1);
  for (const c of required.tool_calls) assert.ok(['get_weather', 'get_time'].includes(c.name));
  const named = await chat().bindTools(tools, { tool_choice: 'get_weather' }).invoke('Weather?');
  assertWeatherCall(named.tool_calls[0].name, named.tool_calls[0].args);
  for (const method of ['functionCalling', 'jsonSchema']) {
    const out = await chat({ seed: 16 }).withStructuredOutput(Person, { method }).invoke('Describe a person.');
    Person.parse(out);
  }
});

test('LangChain: n, logit_bias, batched completions and embeddings', async () => {
  const gen = await chat({ n: 2, maxTokens: 4 }).generate([[['human', 'Hi']]]);
  assert.equal(gen.generations[0].length, 2);
  const hello = (await http(server, 'POST', '/tokenize', { prompt: 'hello', add_special_tokens: false })).json.tokens;
  const forced = await chat({ maxTokens: 3, logitBias: { [hello[0]]: 100 } }).invoke('Hi');
  assert.equal(forced.content, 'hellohellohello');
  // LangChain's completions model sends the prompts as one array.
  const llm = new LangChainOpenAI({ model: modelId, apiKey: 'unused', configuration: { baseURL }, maxTokens: 3,
                                    temperature: 0, batchSize: 20 });
  const res = await llm.generate(['Once', 'Twice']);
  assert.equal(res.generations.length, 2);
  const emb = new OpenAIEmbeddings({ model: modelId, apiKey: 'unused', configuration: { baseURL } });
  const vectors = await emb.embedDocuments(['a', 'b']);
  assert.equal(vectors.length, 2);
  assert.ok(vectors[0].length > 0);
});

test('AI SDK: logit_bias through providerOptions, and a 400 named', async () => {
  const provider = aiSdk();
  const hello = (await http(server, 'POST', '/tokenize', { prompt: 'hello', add_special_tokens: false })).json.tokens;
  const forced = await generateText({
    model: provider.chatModel(modelId), prompt: 'Hi', maxOutputTokens: 4, temperature: 1, seed: 17,
    providerOptions: { kvserve: { logit_bias: { [hello[0]]: 100 } } } });
  assert.equal(forced.text, 'hello'.repeat(4));
  await assert.rejects(
    generateText({ model: provider.chatModel(modelId), prompt: 'Hi', maxOutputTokens: 2, maxRetries: 0,
                   providerOptions: { kvserve: { bad_words: ['x'] } } }),
    (err) => err.statusCode === 400 && /bad_words/.test(err.responseBody));
});

test('LangChain: a streamed tool call, and a 400 named', async () => {
  const model = chat().bindTools(tools, { tool_choice: 'get_weather' });
  let merged;
  for await (const chunk of await model.stream('Weather in Rome?')) merged = merged ? merged.concat(chunk) : chunk;
  assert.equal(merged.tool_calls.length, 1);
  assertWeatherCall(merged.tool_calls[0].name, merged.tool_calls[0].args);
  await assert.rejects(chat({ maxRetries: 0, modelKwargs: { bad_words: ['x'] } }).invoke('Hi'),
                       (err) => err.status === 400 || /400/.test(String(err)));
});
