// Llama-3- and Qwen-shaped files end to end: `kvserve make-model` writes small
// random-weight models with each family's real vocabulary and chat template
// (Llama 3.1's and Qwen3's Hugging Face templates, Qwen2's from its GGUF);
// `kvserve serve -m` each; the openai client's chat call must render the
// file's template (prompt_tokens equal to Python jinja2's rendering,
// tokenized) and stop at the family's end-of-turn token, which is not the
// vocabulary's EOS; /tokenize uses the file's byte-level BPE tokenizer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, startServer, client, http } from './lib.mjs';

const SHARED = process.env.KVSERVE_SHARED;
if (!SHARED) throw new Error('KVSERVE_SHARED must be set');
const VOCAB = `${SHARED}/models/vocab`;

// end: the end-of-turn token (not EOS); eos: the vocabulary's EOS;
// special: a control token that must NOT stop generation.
const FAMILIES = [
  { name: 'llama3', shape: 'test-llama3', vocab: 'ggml-vocab-llama-bpe.gguf',
    template: `${VOCAB}/hf-llama3.1/tokenizer_config.json`,
    end: ['<|eot_id|>', 128009], eos: ['<|end_of_text|>', 128001], special: ['<|start_header_id|>', 128006],
    bos: '<|begin_of_text|>' },
  { name: 'qwen3', shape: 'test-qwen3', vocab: 'ggml-vocab-qwen2.gguf',
    template: `${VOCAB}/hf-qwen3/tokenizer_config.json`,
    end: ['<|im_end|>', 151645], eos: ['<|endoftext|>', 151643], special: ['<|im_start|>', 151644], bos: '' },
  { name: 'qwen2', shape: 'test-qwen2', vocab: 'ggml-vocab-qwen2.gguf', template: null,
    end: ['<|im_end|>', 151645], eos: ['<|endoftext|>', 151643], special: ['<|im_start|>', 151644], bos: '' },
];

const dir = mkdtempSync(join(tmpdir(), 'kvs-families-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const messages = [
  { role: 'system', content: 'You are a terse assistant.' },
  { role: 'user', content: 'Name three colours of the rainbow, café-style: naïve, 😀.' },
];
const tools = [{
  type: 'function',
  function: { name: 'get_weather', description: 'Weather for a city',
              parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
}];

// The family's template rendered by Python's jinja2 the way Hugging Face
// renders it (the oracle: Debian's python3-jinja2).
function renderWithJinja2(templateText, { withTools, bos, eos }) {
  const script = `
import json, sys, jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
a = json.load(sys.stdin)
def raise_exception(m): raise jinja2.exceptions.TemplateError(m)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
env.filters['tojson'] = lambda x, indent=None, separators=None, sort_keys=False: json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)
env.globals['raise_exception'] = raise_exception
t = env.from_string(a['template'])
kw = dict(messages=a['messages'], add_generation_prompt=True, bos_token=a['bos'], eos_token=a['eos'])
if a['tools'] is not None: kw['tools'] = a['tools']
sys.stdout.write(t.render(**kw))
`;
  return execFileSync('/usr/bin/python3', ['-c', script], {
    input: JSON.stringify({ template: templateText, messages, tools: withTools ? tools : null, bos, eos }),
  }).toString('utf8');
}

for (const fam of FAMILIES) {
  test(`${fam.name}: chat through the file's template, stopping at ${fam.end[0]}`, async () => {
    const model = join(dir, `${fam.name}.gguf`);
    execFileSync(BIN, ['make-model', '--shape', fam.shape, '--type', 'F16', '--vocab', `${VOCAB}/${fam.vocab}`,
                       ...(fam.template ? ['--chat-template', fam.template] : []), '-o', model],
                 { stdio: ['ignore', 'ignore', 'inherit'] });
    const server = await startServer([], { model });
    try {
      const openai = client(server);
      const modelId = (await openai.models.list()).data[0].id;

      // /tokenize: the file's byte-level BPE, special tokens as themselves.
      const t = await http(server, 'POST', '/tokenize', { prompt: `${fam.end[0]}Hello world` });
      assert.equal(t.status, 200, t.text);
      assert.ok(t.json.tokens.includes(fam.end[1]), `${fam.end[0]} is one token: ${t.json.tokens}`);

      // The rendered prompt is the template's: the same number of tokens as
      // jinja2's text, with and without tools.
      const templateText = fam.template
        ? JSON.parse(execFileSync('cat', [fam.template]).toString()).chat_template
        : null;
      for (const withTools of [false, true]) {
        if (!templateText && withTools) continue;  // ChatML from the GGUF has no tools section
        const r = await openai.chat.completions.create({
          model: modelId, messages, max_tokens: 3, temperature: 0, ...(withTools ? { tools } : {}),
        });
        if (templateText) {
          const text = renderWithJinja2(templateText, { withTools, bos: fam.bos, eos: fam.eos[0] });
          const want = await http(server, 'POST', '/tokenize', { prompt: text, add_special_tokens: false });
          assert.equal(r.usage.prompt_tokens, want.json.count,
                       `${fam.name} tools=${withTools}: prompt_tokens vs jinja2's rendering`);
        }
      }

      // Stops at the end-of-turn token: forced with logit_bias, the answer is
      // empty and finished by 'stop'; the same at the vocabulary's EOS.
      for (const [piece, id] of [fam.end, fam.eos]) {
        const r = await openai.chat.completions.create({
          model: modelId, messages, max_tokens: 16, temperature: 0, logit_bias: { [id]: 100 } });
        assert.equal(r.choices[0].finish_reason, 'stop', `${piece} ends the turn`);
        assert.equal(r.choices[0].message.content, '');
        const s = await openai.chat.completions.create({
          model: modelId, messages, max_tokens: 16, temperature: 0, stream: true, logit_bias: { [id]: 100 } });
        let content = '';
        let finish = null;
        for await (const c of s) {
          content += c.choices[0]?.delta?.content ?? '';
          finish = c.choices[0]?.finish_reason ?? finish;
        }
        assert.equal(finish, 'stop');
        assert.equal(content, '');
      }
      // Another control token does not end the turn.
      const other = await openai.chat.completions.create({
        model: modelId, messages, max_tokens: 5, temperature: 0, logit_bias: { [fam.special[1]]: 100 } });
      assert.equal(other.choices[0].finish_reason, 'length');
      assert.equal(other.usage.completion_tokens, 5);
    } finally {
      const { code } = await server.stop();
      assert.equal(code, 0);
    }
  });
}
