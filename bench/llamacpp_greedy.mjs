// llama.cpp's greedy continuation of a prompt, through node-llama-cpp (the
// reference for tests/families_test.cc's expectations).
// Usage: node llamacpp_greedy.mjs MODEL N ID,ID,...   (a prompt of token ids)
//        node llamacpp_greedy.mjs MODEL N text:STRING (llama.cpp tokenizes it,
//          with special tokens and the file's BOS rule)
// -> one JSON line {"prompt": [...], "tokens": [...]} with N generated ids
// (fewer at EOS), plus "text" and "output" (the continuation detokenized with
// special tokens shown) for a text prompt.
import {getLlama} from "node-llama-cpp";

const [modelPath, nArg, promptArg] = process.argv.slice(2);
const n = Number(nArg);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const isText = promptArg.startsWith("text:");
const text = isText ? promptArg.slice(5) : null;
let prompt;
if (isText) {
  prompt = model.tokenize(text, true).map(Number);
  if (model.tokens.bos != null && model.tokens.shouldPrependBosToken) prompt.unshift(Number(model.tokens.bos));
} else {
  prompt = promptArg.split(",").map(Number);
}
const context = await model.createContext({contextSize: prompt.length + n + 16, sequences: 1});
const seq = context.getSequence();
const tokens = [];
for await (const t of seq.evaluate(prompt, {temperature: 0})) {
  tokens.push(Number(t));
  if (tokens.length >= n) break;
}
const result = {prompt, tokens};
if (isText) {
  result.text = text;
  result.output = model.detokenize(tokens, true);
}
console.log(JSON.stringify(result));
await context.dispose();
await model.dispose();
await llama.dispose();
