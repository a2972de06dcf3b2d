#!/usr/bin/python3
"""Renders a chat template with python3-jinja2 as Hugging Face transformers'
apply_chat_template does: ImmutableSandboxedEnvironment with trim_blocks and
lstrip_blocks, the loopcontrols extension, raise_exception, strftime_now and
HF's tojson (ensure_ascii=False, optional indent/separators/sort_keys).

  hf_render.py TEMPLATE_FILE --requests FILE.jsonl [--date 2024-07-26]
  hf_render.py --snippets FILE.jsonl   (each line: {"template": ..., "context": ...})

TEMPLATE_FILE: a Jinja file, or a tokenizer_config.json ("chat_template").
Each request line is a JSON object; its "context" (or the whole object when
it has none) is passed as the template's variables. Prints one line per
request: the rendering as a JSON string, or {"error": message}.
strftime_now formats the fixed --date, so output is reproducible.
"""
import argparse
import datetime
import json
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


def make_env(now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        return now.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def read_template(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        t = json.loads(text)["chat_template"]
        if isinstance(t, list):
            t = next(x["template"] for x in t if x["name"] == "default")
        return t
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("template", nargs="?")
    ap.add_argument("--requests")
    ap.add_argument("--snippets", help="JSONL of {template, context}: each rendered on its own")
    ap.add_argument("--date", default="2024-07-26")
    args = ap.parse_args()
    now = datetime.datetime.strptime(args.date, "%Y-%m-%d")
    out = sys.stdout
    if args.snippets:
        env = make_env(now)
        with open(args.snippets, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                item = json.loads(line)
                try:
                    rendered = env.from_string(item["template"]).render(**item.get("context", {}))
                    out.write(json.dumps(rendered, ensure_ascii=False) + "\n")
                except Exception as e:
                    out.write(json.dumps({"error": str(e)}, ensure_ascii=False) + "\n")
        return
    template = make_env(now).from_string(read_template(args.template))
    with open(args.requests, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            req = json.loads(line)
            ctx = req.get("context", req)
            try:
                rendered = template.render(**ctx)
                out.write(json.dumps(rendered, ensure_ascii=False) + "\n")
            except Exception as e:  # the template's own raise_exception, type errors, ...
                out.write(json.dumps({"error": str(e)}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
