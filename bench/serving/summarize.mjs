// Turns the JSON reports of run.sh into Markdown tables and writes them into
// docs/BENCHMARKS.md between <!-- loadgen:MODE:begin --> and
// <!-- loadgen:MODE:end --> (appended when the markers are missing), so a
// rerun replaces its own tables and leaves the rest of the file alone.
// Usage: node summarize.mjs short|long OUTDIR BENCHMARKS.md NAME...
import fs from 'node:fs';
import os from 'node:os';

const [mode, dir, docPath, ...names] = process.argv.slice(2);
const load = (n) => JSON.parse(fs.readFileSync(`${dir}/${n}.json`, 'utf8'));
const num = (v, d = 1) => (typeof v === 'number' ? v.toFixed(d) : 'n/a');
const pct = (v) => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : 'n/a');
const mark = (ok) => (ok ? 'yes' : '**no**');

function row(label, r) {
  const short = r.itl_ms_by_tag && r.itl_ms_by_tag.short ? r.itl_ms_by_tag.short.p99 : null;
  return `| ${label} | ${r.requests_ok}/${r.requests_failed} | ${num(r.ttft_ms.p50)} | ` +
    `${num(r.ttft_ms.p99)} | ${num(r.itl_ms.p50)} | ${num(r.itl_ms.p99)} | ${num(short)} | ` +
    `${num(r.output_tokens_per_s)} | ${num(r.goodput_rps, 2)} | ${pct(r.prefix_cache_hit_rate)} | ` +
    `${pct(r.prefix_cache_hit_rate_after_warmup)} | ${num(r.preemptions, 0)} | ` +
    `${num(r.kv_blocks_used_max, 0)}/${num(r.kv_blocks_total, 0)} | ${pct(r.kv_efficiency)} | ` +
    `${num(r.peak_rss_mb)} | ${num(r.rss_drift_mb)} |`;
}
const header =
  '| run | ok/failed | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms | ITL p99 short ms | ' +
  'out tok/s | goodput rps | prefix hit (server) | prefix hit after warm-up | preemptions | ' +
  'KV blocks max/total | KV efficiency | peak RSS MiB | RSS drift MiB |\n' +
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|';

const lines = [];
const rows = [];
const reports = {};
for (const n of names) {
  const j = load(n);
  reports[n] = j;
  if (j.variants) for (const v of j.variants) rows.push(row(`${n}: ${v.label}`, v.report));
  else rows.push(row(n, j));
}
const cpu = `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}`;
// The machine may be shared: the load average tells a reader how noisy the figures are.
const loadAvg = os.loadavg().map((v) => v.toFixed(1)).join(' / ');
lines.push(`Measured ${new Date().toISOString().slice(0, 10)} on ${cpu} (load average ` +
  `1/5/15 min when the runs ended: ${loadAvg}); reports and SVG plots in \`${dir}\`.`, '',
  header, ...rows, '');

if (mode === 'short') {
  const sp = reports.shared_prefix_ablation;
  if (sp) {
    const [on, off] = sp.variants.map((v) => v.report);
    const ratio = on.ttft_ms.p50 / off.ttft_ms.p50;
    lines.push('Checks (issue #7):', '',
      `- shared-system-prompt, prefix caching on vs off: TTFT p50 ${num(on.ttft_ms.p50)} vs ` +
      `${num(off.ttft_ms.p50)} ms = ${pct(ratio)} of off (goal <= 20%: ${mark(ratio <= 0.2)}); ` +
      `hit rate after warm-up ${pct(on.prefix_cache_hit_rate_after_warmup)} (goal > 90%: ` +
      `${mark(on.prefix_cache_hit_rate_after_warmup > 0.9)}); output tok/s ` +
      `${num(on.output_tokens_per_s)} vs ${num(off.output_tokens_per_s)} (higher: ` +
      `${mark(on.output_tokens_per_s > off.output_tokens_per_s)}).`);
  }
  const lg = reports.long_generation;
  if (lg) {
    lines.push(`- long-generation under a small KV budget: ${lg.requests_failed} failed, server ` +
      `crashed: ${lg.server_crashed}, preemptions ${num(lg.preemptions, 0)}, KV blocks max ` +
      `${num(lg.kv_blocks_used_max, 0)} of ${num(lg.kv_blocks_total, 0)} (never above: ` +
      `${mark(!lg.kv_blocks_used_above_total)}), ITL p99 ${num(lg.itl_ms.p99)} ms, server RSS ` +
      `${num(lg.rss_after_warmup_mb)} -> ${num(lg.rss_end_mb)} MiB after warm-up ` +
      `(drift ${num(lg.rss_drift_mb)} MiB).`);
  }
  const mx = reports.mixed_chunked_ablation;
  if (mx) {
    const [ch, whole] = mx.variants.map((v) => v.report);
    const a = ch.itl_ms_by_tag.short?.p99, b = whole.itl_ms_by_tag.short?.p99;
    lines.push(`- mixed-lengths, ITL p99 of short requests: chunked ${num(a)} ms vs whole ` +
      `prompts ${num(b)} ms (chunked lower: ${mark(a < b)}).`);
  }
  const eff = names.map((n) => reports[n]).flatMap((j) => (j.variants ? j.variants.map((v) => v.report) : [j]))
    .map((r) => r.kv_efficiency).filter((v) => typeof v === 'number');
  lines.push(eff.length
    ? `- KV memory efficiency (tokens held / allocated block slots), mean per run: ` +
      `${eff.map(pct).join(', ')} (goal > 96%).`
    : '- KV memory efficiency: n/a, the server does not export `kvserve_kv_tokens_used` yet.');
  lines.push('');
} else if (mode === 'disagg') {
  const ab = reports.disagg_ablation, alone = reports.disagg_decode_alone;
  if (ab) {
    const [two, one, split] = ab.variants.map((v) => v.report);
    const t = split.kv_transfer || {};
    const itl = (r) => r.itl_ms.p99;
    lines.push('Checks (issue 18; SLO for goodput: TTFT <= 5 s and TPOT <= 300 ms):', '',
      `- decode ITL p99 while long prompts arrive: disaggregated ${num(itl(split))} ms, ` +
      `colocated ${num(itl(two))} ms at 2 threads (${num(itl(two) / itl(split), 2)}x the ` +
      `disaggregated) and ${num(itl(one))} ms at 1 thread.`);
    if (alone) {
      const a = alone.variants[2].report;
      const ratio = itl(split) / itl(a);
      lines.push(`- against decode alone (the same arrivals and output lengths, 4-token ` +
        `prompts, same deployment): ${num(itl(split))} vs ${num(itl(a))} ms = ` +
        `${num(ratio, 2)}x (goal <= 1.2x: ${mark(ratio <= 1.2)}); colocated at 2 threads ` +
        `${num(itl(two))} vs ${num(itl(alone.variants[0].report))} ms alone.`);
    }
    lines.push(`- TTFT p50/p99: disaggregated ${num(split.ttft_ms.p50)}/${num(split.ttft_ms.p99)} ` +
      `ms, colocated 2 threads ${num(two.ttft_ms.p50)}/${num(two.ttft_ms.p99)}, 1 thread ` +
      `${num(one.ttft_ms.p50)}/${num(one.ttft_ms.p99)}; goodput ${num(split.goodput_rps, 2)} vs ` +
      `${num(two.goodput_rps, 2)} and ${num(one.goodput_rps, 2)} req/s; output tok/s ` +
      `${num(split.output_tokens_per_s)} vs ${num(two.output_tokens_per_s)} and ` +
      `${num(one.output_tokens_per_s)}.`,
      `- KV transfer (prefill worker): ${num(t.requests_ok, 0)} requests, ` +
      `${num(t.bytes / 1048576)} MiB, ${num(t.blocks, 0)} blocks; send ${num(t.send_s * 1000)} ms ` +
      `busy against ${num(t.compute_s)} s of prefill compute, ${num(t.exposed_s * 1000)} ms after ` +
      `compute ended; hidden ${pct(t.hidden_ratio)} (goal >= 80%: ${mark(t.hidden_ratio >= 0.8)}); ` +
      `per layer hidden: ${(t.layers || []).map((l) => pct(l.hidden_ratio)).join(', ')}.`, '');
  }
} else {
  const t = reports.tinyllama_shared_prefix;
  if (t) {
    lines.push('llama.cpp llama-server on the same workload (issue #7, random-weight ' +
      'TinyLlama-shape Q8_0, 8 slots, 2 threads): 9-12 output tok/s, TTFT p50 5-7 s, p99 82-89 s.', '',
      `kvserve: ${num(t.output_tokens_per_s)} output tok/s (goal >= 27, 3x the anchor's 9: ` +
      `${mark(t.output_tokens_per_s >= 27)}), TTFT p50 ${num(t.ttft_ms.p50 / 1000, 2)} s, ` +
      `p99 ${num(t.ttft_ms.p99 / 1000, 2)} s (goal <= 16.4 s, a fifth of 82 s: ` +
      `${mark(t.ttft_ms.p99 <= 16400)}).`, '');
  }
}

const begin = `<!-- loadgen:${mode}:begin -->`, end = `<!-- loadgen:${mode}:end -->`;
const title = mode === 'short'
  ? '### Serving scenarios, short runs (`make bench`, stories260K)'
  : mode === 'disagg'
    ? '### Disaggregated against colocated serving, TinyLlama-shape Q8_0 (`bench/serving/run.sh disagg`)'
    : '### Serving, TinyLlama-shape Q8_0 vs llama-server (`make bench-serving`)';
const block = `${begin}\n${title}\n\n${lines.join('\n')}\n${end}`;
let doc = fs.existsSync(docPath) ? fs.readFileSync(docPath, 'utf8') : '# Benchmarks\n';
const i = doc.indexOf(begin), k = doc.indexOf(end);
doc = i >= 0 && k > i ? doc.slice(0, i) + block + doc.slice(k + end.length)
  : `${doc.trimEnd()}\n\n${block}\n`;
fs.writeFileSync(docPath, doc);
console.log(lines.join('\n'));
