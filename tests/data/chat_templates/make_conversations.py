#!/usr/bin/python3
"""Deterministic chat requests for the template comparison test.

  make_conversations.py --seed N --count K --bos TEXT --eos TEXT [--tools] [--thinking]

Prints K JSON lines: {"request": an OpenAI chat request body,
"add_generation_prompt": bool, "context": the variables the template gets}.
"context" is what kvserve's server builds from the request (as Hugging Face
and vLLM do): text parts joined with "\\n", "developer" read as "system",
null content as "", tool-call arguments parsed to an object when they are
one, tools as sent (None when absent), documents None, bos_token/eos_token,
then chat_template_kwargs.
"""
import argparse
import json
import random

WORDS = ["hello", "world", "Ünïcödé", "naïve café", "日本語", "emoji 🦙", "tab\there", "a \"quote\"",
         "it's", "back\\slash", "<b>html</b>", "{{ not jinja }}", "{% raw %}", "  padded  ", "\n\nnewlines\n",
         "x" * 40, "1.5e10", "null", "Ω", "\u00a0nbsp\u00a0"]

TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Get the current weather in a city",
        "parameters": {"type": "object", "properties": {
            "location": {"type": "string", "description": "City and country, e.g. Paris, France"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["location"]}}},
    {"type": "function", "function": {
        "name": "search", "description": "Search the web — returns snippets",
        "parameters": {"type": "object", "properties": {
            "query": {"type": "string"}, "max_results": {"type": "integer", "minimum": 1, "default": 5},
            "filters": {"type": "object", "properties": {"site": {"type": "string"}}}},
            "required": ["query"]}}},
    {"type": "function", "function": {"name": "now", "description": "The time", "parameters": {
        "type": "object", "properties": {}}}},
    {"type": "function", "function": {"name": "calc", "parameters": {
        "type": "object", "properties": {"expr": {"type": "string"}, "precision": {"type": "number"}}}}},
]


def text(rng, lo=1, hi=6):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def content(rng, allow_parts):
    """(request content, template content)"""
    r = rng.random()
    if allow_parts and r < 0.2:
        parts = [text(rng) for _ in range(rng.randint(1, 3))]
        return [{"type": "text", "text": p} for p in parts], "\n".join(parts)
    if r < 0.25:
        return "", ""
    s = text(rng)
    return s, s


def arguments(rng, name):
    args = {"get_weather": {"location": text(rng, 1, 2), "unit": rng.choice(["celsius", "fahrenheit"])},
            "search": {"query": text(rng), "max_results": rng.randint(1, 9), "filters": {"site": "example.org"}},
            "now": {}, "calc": {"expr": "2 * (3 + 4)", "precision": 0.5}}[name]
    return json.dumps(args, ensure_ascii=rng.random() < 0.5)


def conversation(rng, tools, thinking, system=True):
    req_msgs, ctx_msgs = [], []

    def add(req, ctx):
        req_msgs.append(req)
        ctx_msgs.append(ctx)

    if system and rng.random() < 0.5:
        c, t = content(rng, True)
        role = rng.choice(["system", "system", "developer"])
        add({"role": role, "content": c}, {"role": "system", "content": t})
    call_id = 0
    for turn in range(rng.randint(1, 4)):
        c, t = content(rng, True)
        if tools and turn > 0 and rng.random() < 0.2:
            c = t = "<tool_response>\n" + text(rng) + "\n</tool_response>"
        add({"role": "user", "content": c}, {"role": "user", "content": t})
        last = turn == 3 or rng.random() < 0.3
        if last and rng.random() < 0.6:
            break
        if tools and rng.random() < 0.5:
            calls_req, calls_ctx = [], []
            for _ in range(rng.choice([1, 1, 1, 2])):
                name = rng.choice(TOOLS)["function"]["name"]
                args = arguments(rng, name)
                call_id += 1
                cid = "call_%d" % call_id
                calls_req.append({"id": cid, "type": "function", "function": {"name": name, "arguments": args}})
                calls_ctx.append({"id": cid, "type": "function",
                                  "function": {"name": name, "arguments": json.loads(args)}})
            c = None if rng.random() < 0.6 else text(rng)
            req = {"role": "assistant", "content": c, "tool_calls": calls_req}
            add(req, {"role": "assistant", "content": c or "", "tool_calls": calls_ctx})
            for call in calls_req:
                result = json.dumps({"result": text(rng, 1, 3)}, ensure_ascii=False) if rng.random() < 0.7 else text(rng)
                add({"role": "tool", "tool_call_id": call["id"], "content": result},
                    {"role": "tool", "content": result, "tool_call_id": call["id"]})
            if rng.random() < 0.5:
                break
        c, t = content(rng, False)
        req = {"role": "assistant", "content": c}
        ctx = {"role": "assistant", "content": t}
        if thinking:
            r = rng.random()
            if r < 0.3:
                reasoning = text(rng)
                req["reasoning_content"] = reasoning
                ctx["reasoning_content"] = reasoning
            elif r < 0.6:
                req["content"] = ctx["content"] = "<think>\n" + text(rng) + "\n</think>\n\n" + t
        add(req, ctx)
    return req_msgs, ctx_msgs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=80)
    ap.add_argument("--bos", default="")
    ap.add_argument("--eos", default="")
    ap.add_argument("--tools", action="store_true")
    ap.add_argument("--thinking", action="store_true")
    ap.add_argument("--no-system", action="store_true", help="user/assistant turns only")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    for _ in range(args.count):
        req_msgs, ctx_msgs = conversation(rng, args.tools, args.thinking, not args.no_system)
        request = {"model": "m", "messages": req_msgs}
        tools = None
        if args.tools and rng.random() < 0.6:
            tools = rng.sample(TOOLS, rng.randint(1, len(TOOLS)))
            request["tools"] = tools
            request["tool_choice"] = rng.choice(["auto", "none", "required"])
        kwargs = {}
        if args.thinking and rng.random() < 0.5:
            kwargs["enable_thinking"] = rng.random() < 0.5
        if args.tools and rng.random() < 0.3:
            kwargs["tools_in_user_message"] = False
        if rng.random() < 0.2:
            kwargs["date_string"] = "01 Jan 2025"
        if kwargs:
            request["chat_template_kwargs"] = kwargs
        add_generation_prompt = rng.random() < 0.8
        context = {"messages": ctx_msgs, "tools": tools, "documents": None,
                   "add_generation_prompt": add_generation_prompt,
                   "bos_token": args.bos, "eos_token": args.eos}
        context.update(kwargs)
        print(json.dumps({"request": request, "add_generation_prompt": add_generation_prompt,
                          "context": context}, ensure_ascii=False))


if __name__ == "__main__":
    main()
