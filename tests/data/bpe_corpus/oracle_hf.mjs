// Expected ids from Hugging Face's JavaScript tokenizers (@huggingface/
// tokenizers, as used by transformers.js) reading a tokenizer.json: no
// special tokens added, added tokens matched in the text.
// Usage: node oracle_hf.mjs NODE_MODULES_DIR HF_DIR < strings.jsonl > out.ids
import {pathToFileURL} from "node:url";
import {readFileSync} from "node:fs";

const [modules, hfDir] = process.argv.slice(2);
const {Tokenizer} = await import(
    pathToFileURL(modules + "/@huggingface/tokenizers/dist/tokenizers.mjs"));
const tok = new Tokenizer(JSON.parse(readFileSync(hfDir + "/tokenizer.json", "utf8")),
                          JSON.parse(readFileSync(hfDir + "/tokenizer_config.json", "utf8")));
const lines = readFileSync(0, "utf8").split("\n").filter((l) => l.length > 0);
let out = "";
for (const line of lines) {
  out += tok.encode(JSON.parse(line), {add_special_tokens: false}).ids.join(" ") + "\n";
}
process.stdout.write(out);
