// llama.cpp's greedy continuation of a prompt given as token ids, through
// node-llama-cpp (the reference for tests/families_test.cc's expectations).
// Usage: node llamacpp_greedy.mjs MODEL N ID,ID,...  -> one JSON line
// {"prompt": [...], "tokens": [...]} with N generated ids (fewer at EOS).
import {getLlama} from "node-llama-cpp";

const [modelPath, nArg, idsArg] = process.argv.slice(2);
const n = Number(nArg);
const prompt = idsArg.split(",").map(Number);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const context = await model.createContext({contextSize: prompt.length + n + 16, sequences: 1});
const seq = context.getSequence();
const tokens = [];
for await (const t of seq.evaluate(prompt, {temperature: 0})) {
  tokens.push(Number(t));
  if (tokens.length >= n) break;
}
console.log(JSON.stringify({prompt, tokens}));
await context.dispose();
await model.dispose();
await llama.dispose();
