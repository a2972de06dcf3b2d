// llama.cpp's prompt-processing and generation speed through node-llama-cpp
// (its npm package ships llama.cpp's libraries but no llama-bench binary).
// Mirrors `kvserve bench`: pp = a prompt of P random tokens from an empty
// context in batches of up to 512; tg = N decode steps from an empty
// context; mean +- sd over R repetitions after a warm-up. Greedy sampling
// of each generated token is included in tg (llama-bench has none; it is
// an argmax over the vocabulary, small next to the forward pass).
// Usage: node llamacpp_bench.mjs MODEL THREADS P N R  -> one JSON line.
import {getLlama} from "node-llama-cpp";

const [modelPath, threadsArg, pArg, nArg, rArg] = process.argv.slice(2);
const threads = Number(threadsArg ?? 2), P = Number(pArg ?? 512), N = Number(nArg ?? 128);
const R = Number(rArg ?? 3);

const llama = await getLlama({gpu: false, build: "never", maxThreads: threads, logLevel: "error"});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const context = await model.createContext({
  contextSize: Math.max(P, N) + 64, batchSize: 512, sequences: 1,
  threads: {ideal: threads, min: threads},
});
const seq = context.getSequence();

let state = 42;
function randomTokens(n) {
  const out = [];
  for (let i = 0; i < n; ++i) {
    state = (state * 1103515245 + 12345) % 2147483648;
    out.push(100 + (state % 31900));
  }
  return out;
}
const now = () => Number(process.hrtime.bigint()) / 1e9;
const stat = (v) => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0;
  return [m, sd];
};

await seq.evaluateWithoutGeneratingNewTokens(randomTokens(Math.min(P, 64)));  // warm-up
await seq.clearHistory();
const pp = [], tg = [];
for (let r = 0; r < R; ++r) {
  if (P > 0) {
    const prompt = randomTokens(P);
    const t0 = now();
    await seq.evaluateWithoutGeneratingNewTokens(prompt);
    pp.push(P / (now() - t0));
    await seq.clearHistory();
  }
  if (N > 0) {
    const t0 = now();
    let steps = 0;
    for await (const token of seq.evaluate(randomTokens(1), {temperature: 0})) {
      if (++steps >= N) break;
    }
    tg.push(N / (now() - t0));
    await seq.clearHistory();
  }
}
const [ppm, pps] = pp.length ? stat(pp) : [0, 0];
const [tgm, tgs] = tg.length ? stat(tg) : [0, 0];
console.log(JSON.stringify({model: modelPath, backend: "llama.cpp (node-llama-cpp 3.21.1)", threads,
  n_prompt: P, n_gen: N, reps: R, pp_tps: ppm, pp_sd: pps, tg_tps: tgm, tg_sd: tgs}));
await context.dispose();
await model.dispose();
await llama.dispose();
