// Tenant isolation: the prefix-cache salt comes from the API key, so the
// same long prompt is cached per key, never across keys.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, MODEL_ID } from './lib.mjs';

let server;
before(async () => { server = await startServer(['--api-key', 'sk-tenant-a', '--api-key', 'sk-tenant-b']); });
after(async () => { assert.equal((await server.stop()).code, 0); });

test('two API keys, same long prompt', async () => {
  const a = client(server, 'sk-tenant-a');
  const b = client(server, 'sk-tenant-b');
  const prompt = 'Tom had a red kite. He ran up the hill and let the kite fly high in the blue sky. '.repeat(8);
  const ask = async (c, user) => (await c.completions.create({
    model: MODEL_ID, prompt, max_tokens: 4, temperature: 0, user })).usage;
  const a1 = await ask(a);
  assert.ok(a1.prompt_tokens > 150, `prompt is ${a1.prompt_tokens} tokens`);
  assert.equal(a1.prompt_tokens_details.cached_tokens, 0);
  const a2 = await ask(a);
  assert.ok(a2.prompt_tokens_details.cached_tokens >= 128, `tenant a repeat: ${JSON.stringify(a2)}`);
  // The other key sees none of it, whatever `user` it claims.
  const b1 = await ask(b, 'same-user');
  assert.equal(b1.prompt_tokens_details.cached_tokens, 0);
  const b2 = await ask(b, 'another-user');
  assert.ok(b2.prompt_tokens_details.cached_tokens >= 128, `tenant b repeat: ${JSON.stringify(b2)}`);
  const a3 = await ask(a, 'same-user');
  assert.ok(a3.prompt_tokens_details.cached_tokens >= 128);
});
