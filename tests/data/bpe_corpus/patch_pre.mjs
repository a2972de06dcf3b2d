// Writes a copy of a vocabulary GGUF with another tokenizer.ggml.pre, so
// that llama.cpp can be asked how the other pre-tokenizers split the corpus
// (no GGUF of ours carries smollm/default/gpt-2 with a real vocabulary).
// The string value is rewritten in place and the rest of the file shifted;
// this is only valid for a file without tensor data (a vocab-only GGUF).
// Usage: node patch_pre.mjs IN.gguf OUT.gguf NEW_PRE
import {readFileSync, writeFileSync} from "node:fs";

const [inPath, outPath, pre] = process.argv.slice(2);
const buf = readFileSync(inPath);
const key = Buffer.from("tokenizer.ggml.pre");
// The key is stored as u64 length + bytes, then u32 type (8 = string),
// then u64 length + the value.
let at = -1;
for (let i = buf.indexOf(key); i >= 0; i = buf.indexOf(key, i + 1)) {
  if (buf.readBigUInt64LE(i - 8) === BigInt(key.length)) { at = i; break; }
}
if (at < 0 || buf.readUInt32LE(at + key.length) !== 8) throw new Error("no string tokenizer.ggml.pre");
const lenAt = at + key.length + 4;
const oldLen = Number(buf.readBigUInt64LE(lenAt));
const value = Buffer.from(pre);
const len = Buffer.alloc(8);
len.writeBigUInt64LE(BigInt(value.length));
writeFileSync(outPath, Buffer.concat([buf.subarray(0, lenAt), len, value,
                                      buf.subarray(lenAt + 8 + oldLen)]));
