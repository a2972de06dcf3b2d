// Expected ids from llama.cpp (node-llama-cpp 3.21.1, vocab-only GGUF,
// special tokens parsed, no BOS): one line of ids per line of strings.jsonl.
// Usage: node oracle_llamacpp.mjs NODE_LLAMA_CPP_DIR VOCAB.gguf < strings.jsonl > out.ids
import {pathToFileURL} from "node:url";
import {readFileSync} from "node:fs";

const [dir, vocab] = process.argv.slice(2);
const {getLlama} = await import(pathToFileURL(dir + "/node_modules/node-llama-cpp/dist/index.js"));
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath: vocab, gpuLayers: 0, vocabOnly: true});
const lines = readFileSync(0, "utf8").split("\n").filter((l) => l.length > 0);
let out = "";
for (const line of lines) {
  out += model.tokenize(JSON.parse(line), /*specialTokens=*/true).join(" ") + "\n";
}
process.stdout.write(out);
await model.dispose();
await llama.dispose();
