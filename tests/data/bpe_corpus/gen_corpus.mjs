// Builds the byte-level BPE test corpus (strings.jsonl: one JSON string a
// line) from hand-written fragments and seeded random mixes of them. Pure
// JavaScript, no dependencies; the same output every run.
// Usage: node gen_corpus.mjs > strings.jsonl
const fragments = {
  scripts: [
    "The quick brown fox jumps over the lazy dog.", "Hello, world!", "hello world",
    "Ça va? Très bien, merci. L'été à Paris.", "Größe, Straße, Äpfel, Öl, Übermut",
    "¿Dónde está la biblioteca? ¡Olé!", "Съешь же ещё этих мягких французских булок",
    "Ελληνικά: Γειά σου Κόσμε", "مرحبا بالعالم، كيف حالك؟", "שלום עולם", "नमस्ते दुनिया, आप कैसे हैं?",
    "হ্যালো বিশ্ব", "வணக்கம் உலகம்", "สวัสดีชาวโลก ภาษาไทย", "你好，世界！今天天气很好。",
    "日本語のテキスト、ひらがなとカタカナ。", "안녕하세요 세계", "Tiếng Việt có dấu: Xin chào thế giới",
    "İstanbul'da ılık bir gün", "Zażółć gęślą jaźń", "Բարեւ աշխարհ", "გამარჯობა მსოფლიო",
    "ሰላም ልዑል", "Ọ̀rọ̀ Yorùbá", "ᐊᐃᓐᓇᖅ", "ꦧꦱꦗꦮ", "Ꭰ Ꭱ Ꭲ ᏣᎳᎩ", "Æsir ðæt þing",
    "ﬁ ﬂ ligatures", "ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ", "𝐁𝐨𝐥𝐝 𝑖𝑡𝑎𝑙𝑖𝑐 𝔉𝔯𝔞𝔨𝔱𝔲𝔯",
    "Ⅻ Ⅳ ⅷ roman", "½ ¾ ⅓ fractions", "x² + y³ = z⁴", "H₂O CO₂",
  ],
  emoji: [
    "😀", "👍🏽", "👩‍👩‍👧‍👦", "🧑🏿‍💻", "🏳️‍🌈", "🇯🇵🇺🇸🇩🇪", "1️⃣ #️⃣", "❤️‍🔥", "👨🏻‍❤️‍💋‍👨🏼",
    "🫨🩷🪿", "🤷‍♀️", "☺︎ ☺️", "🐈‍⬛", "👋🏻👋🏼👋🏽👋🏾👋🏿", "emoji🙂inside", "🎉🎉🎉",
  ],
  combining: [
    "e\u0301", "cafe\u0301", "a\u0308o\u0308u\u0308", "n\u0303", "Z\u0351\u036b\u0343a\u0310\u0302l\u0357g\u0334o",
    "\u0301leading mark", "ǅ ǈ ǋ", "ä vs a\u0308", "क्षि", "ก้", "각 vs 각",
  ],
  digits: [
    "0", "7", "42", "123", "1234", "12345", "123456789", "3.14159", "1,234,567.89", "-0.5e-10",
    "2024-12-03", "12:34:56", "+1 (555) 123-4567", "٠١٢٣٤٥٦٧٨٩", "۱۲۳", "１２３", "१२३",
    "v1.2.3", "0x1F600", "0b1010", "1e100", "99 bottles", "3rd 2nd 1st", "10%", "$19.99",
  ],
  whitespace: [
    " ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r", " \n", "\n ", " \t \n ", "\u00a0",
    "\u3000", "\u2009", "\u200b", "\ufeff", "    ", "\n\n\n\n", " \r\n \r\n", "\t\n\t",
  ],
  code: [
    "int main() { return 0; }", "for (int i = 0; i < n; ++i) {\n    sum += a[i];\n}",
    "def f(x):\n    return x ** 2\n", "const x = () => ({a: 1, 'b': [2, 3]});",
    "{\"key\": \"value\", \"n\": [1, 2.5, null, true]}", "SELECT * FROM t WHERE id = 42;",
    "#include <vector>\nstd::vector<int> v{1,2,3};", "if [ -f \"$HOME/.bashrc\" ]; then echo ok; fi",
    "<div class=\"a\">&amp;&lt;</div>", "/^[a-z0-9_-]{3,16}$/", "x+=1;y-=2;z*=3",
    "a->b::c<<d>>e", "// comment\n/* block */", "print(f\"{name!r:>10}\")", "    indented\n\tcode",
    "https://example.com/path?q=1&r=%20#frag", "user@example.com", "C:\\Users\\name\\file.txt",
    "```python\nprint('hi')\n```", "| a | b |\n|---|---|", "***bold*** __under__ ~~strike~~",
  ],
  contractions: [
    "I'm", "you're", "he's", "she'll", "we've", "they'd", "don't", "can't", "won't",
    "I'M", "YOU'RE", "HE'S", "SHE'LL", "WE'VE", "THEY'D", "DON'T", "It'S", "you'Re", "we'Ve",
    "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "''s", "'S'", "it’s", "rock 'n' roll", "'tis",
    "O'Neil's", "the dog's bone's", "x's y't",
  ],
  specials: [
    "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n", "<|eot_id|>", "<|begin_of_text|>",
    "<|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>", "<|endoftext|>",
    "<|end_of_text|>", "text<|eot_id|>more", " <|im_end|> ", "<|im_start|><|im_end|>",
    "<|im_start", "im_end|>", "<|eot_id", "<|", "|>", "<||>", "<|unknown_token|>", "<s>", "</s>",
    "<think>\nLet me see.\n</think>\n\nAnswer", "<tool_call>\n{\"name\": \"f\"}\n</tool_call>",
    "<|vision_start|><|image_pad|><|vision_end|>", "<|python_tag|>print(1)<|eom_id|>",
  ],
  odd: [
    "<0xFF>", "<0x0A>", "\\x00\\n", "\ufffd", "\u200d", "\u200e\u200f", "\ue000", "\u2028\u2029",
    "\u00ad", "\u0085", "a\u0001b", "\u180e", "\u061c", "\u2060",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "!!!!!!!!!!!!", "......", "----====----",
    "Supercalifragilisticexpialidocious", "ÀÁÂÃÄÅàáâãäå", "\u0130\u0131", "ﷺ", "﷽",
  ],
};

// mulberry32: a small seeded PRNG, so the corpus is the same every run.
let state = 0x6b767365;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];
const kinds = Object.keys(fragments);
const joiners = ["", " ", "  ", "\n", "\t", ", ", ". ", "\r\n", " \n\n", "-", "'", "\u00a0"];

const out = new Set();
// Every fragment alone, with a leading space, and between words.
for (const k of kinds) {
  for (const f of fragments[k]) {
    out.add(f);
    out.add(" " + f);
    out.add("word " + f + " word");
  }
}
// Long digit runs and whitespace runs of every length up to 40.
for (let n = 1; n <= 40; ++n) {
  let d = "";
  for (let i = 0; i < n; ++i) d += String(Math.floor(rand() * 10));
  out.add(d);
  out.add("x" + d + "y");
  out.add(" ".repeat(n));
  out.add("a" + " ".repeat(n) + "b");
  out.add("\n".repeat(n % 7 + 1) + " ".repeat(n));
  out.add("\t".repeat(n % 5 + 1) + "x" + "\r\n".repeat(n % 3 + 1));
}
// Random mixes of 2 to 5 fragments.
while (out.size < 2400) {
  const n = 2 + Math.floor(rand() * 4);
  let s = "";
  for (let i = 0; i < n; ++i) {
    if (i > 0) s += pick(joiners);
    s += pick(fragments[pick(kinds)]);
  }
  out.add(s);
}
for (const s of out) process.stdout.write(JSON.stringify(s) + "\n");
