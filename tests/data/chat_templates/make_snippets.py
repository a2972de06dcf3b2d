#!/usr/bin/python3
"""Prints snippets as JSON lines ({template, context}): small templates, each on the language feature it
names, rendered by both jinja2 (hf_render.py --snippets) and our
interpreter in tests/chat_template_e2e_test.cc."""
import json

CTX = {"messages": [{"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "  Héllo Wörld  \n"},
                    {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nHi!", "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": 1, "b": [1.5, None]}}}]},
                    {"role": "tool", "content": "{\"ok\": true}", "tool_call_id": "c1"}],
       "tools": [{"type": "function", "function": {"name": "f", "description": "ünï", "parameters": {"type": "object"}}}],
       "n": 7, "f": 2.5, "big": 12345678901234, "s": "a,b,,c", "e": "", "none": None, "t": True,
       "d": {"z": 1, "a": [1, 2], "m": {"k": "v"}}}

SNIPPETS = [
    # output and literals
    "{{ 1 }}|{{ 1.0 }}|{{ 1.5e-7 }}|{{ 123456789012345678.0 }}|{{ 0.1 }}|{{ -0.0 }}|{{ 1e16 }}|{{ 1e15 }}",
    "{{ 'a' 'b' }}|{{ \"q'\" }}|{{ '\\u00e9\\x41' }}|{{ 'a\\\\b' }}|{{ '\\z' }}",
    "{{ none }}|{{ true }}|{{ False }}|{{ [] }}|{{ {} }}|{{ (1, 2) }}|{{ [1, [2, 'x']] }}",
    "{{ ['it\\'s', \"a\\\"b\", 'new\\nline'] }}",
    "{{ d }}|{{ messages[2].tool_calls[0].function }}",
    "{{ n + f }}|{{ n - 10 }}|{{ n * f }}|{{ n / 2 }}|{{ n // 2 }}|{{ n % 3 }}|{{ -n % 3 }}|{{ 2 ** -1 }}|{{ n ** 2 }}",
    "{{ 7.5 // 2 }}|{{ -7.5 % 2 }}|{{ 1 / 3 }}|{{ 2 / 3 * 3 }}|{{ big * 1000 }}",
    "{{ 'ab' * 3 }}|{{ [1] * 2 }}|{{ 'a' ~ 1 ~ 1.5 ~ none ~ true }}|{{ [1] + [2] }}",
    "{{ 1 == 1.0 }}|{{ 'a' < 'b' }}|{{ [1, 2] < [1, 3] }}|{{ 2 >= 2 }}|{{ none == none }}|{{ 1 != 'a' }}",
    "{{ 'b' in 'abc' }}|{{ 3 in [1, 2] }}|{{ 'z' in d }}|{{ 'q' not in d }}|{{ x in [] }}",
    "{{ 0 or 'x' }}|{{ 1 and 0 }}|{{ '' or [] or 'last' }}|{{ not none }}|{{ not (1 and '') }}",
    "{{ 'y' if t else 'n' }}|{{ 'y' if e else 'n' }}|[{{ 'y' if e }}]|{{ 1 if 0 else 2 if 0 else 3 }}",
    "{{ '%s and %d' % ('a', 3) }}|{{ '%5.2f|%-4s|%03d|%%|%r' % (f, 'x', n, 'q') }}|{{ 'v=%s' % d }}|{{ '%x' % 255 }}",
    "{{ '[%6s][%-6s][%.2s][%8.3s][%5d][%-5d][%e]' % ('héj', 'ab', 'héllo', 'abcdef', -42, 7, 12345.678) }}",
    "{{ (1, 2) == [1, 2] }}|{{ (1, 2) == (1, 2) }}|{{ [1, 2] == [1, 2] }}",
    # access
    "{{ messages[0].role }}|{{ messages[-1]['content'] }}|{{ d.z }}|{{ d['a'][1] }}|{{ d.missing is defined }}|{{ d.m.k }}",
    "{{ messages[1:3] | length }}|{{ messages[::2] | map(attribute='role') | join(',') }}|{{ messages[-2:] | map(attribute='role') | list }}",
    "{{ s[::-1] }}|{{ s[1:4] }}|{{ s[-1] }}|{{ s[10:] }}|{{ s[::3] }}|{{ 'héllo'[1:3] }}|{{ [1,2,3][5:1:-1] }}",
    "{{ d.items() | list }}|{{ d.keys() | list }}|{{ d.values() | list | length }}|{{ d.get('z') }}|{{ d.get('q', 'dflt') }}|{{ d.get('q') }}",
    # string methods
    "{{ messages[1].content.strip() }}|{{ messages[1].content.lstrip() }}|{{ messages[1].content.rstrip() }}|{{ 'xxhixx'.strip('x') }}",
    "{{ s.split(',') }}|{{ s.split(',', 1) }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(none, 1) }}",
    "{{ 'Hello'.upper() }}|{{ 'Hello'.lower() }}|{{ 'hello wORLD x2y'.title() }}|{{ 'hELLO'.capitalize() }}|{{ 'ÉTÉ'.lower() }}|{{ 'straße'.upper() }}",
    "{{ 'abc'.startswith('a') }}|{{ 'abc'.endswith('bc') }}|{{ 'abc'.startswith(('x', 'a')) }}|{{ 'a-b-c'.replace('-', '+') }}|{{ 'aaa'.replace('a', 'b', 2) }}",
    "{{ '{} + {} = {}'.format(1, 2.5, 'x') }}|{{ '{0}{1}{0}'.format('a', 'b') }}|{{ '{name}!'.format(name='n') }}",
    "{{ ', '.join(['a', 'b']) }}|{{ 'banana'.count('an') }}|{{ 'banana'.find('n') }}|{{ 'abc'.find('z') }}",
    "{{ messages[2].content.split('</think>')[-1].lstrip('\\n') }}|{{ messages[2].content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}",
    # filters
    "{{ messages[1].content | trim }}|{{ 'xyx' | trim('x') }}|{{ s | length }}|{{ d | length }}|{{ d | count }}|{{ none | default('x') }}|{{ missing | default('m') }}|{{ e | default('E', true) }}",
    "{{ [3, 1, 2] | first }}|{{ [3, 1, 2] | last }}|{{ 'abc' | first }}|{{ [] | first is defined }}|{{ [3, 1, 2] | sort }}|{{ [3, 1, 2] | sort(reverse=true) | join }}|{{ ['b', 'A', 'c'] | sort }}",
    "{{ messages | map(attribute='role') | join(', ') }}|{{ messages | selectattr('role', 'eq', 'user') | list | length }}|{{ messages | rejectattr('role', 'in', ['user', 'tool']) | map(attribute='role') | list }}",
    "{{ messages | selectattr('tool_calls', 'defined') | list | length }}|{{ messages | selectattr('tool_calls') | list | length }}|{{ [0, 1, '', 'x'] | select | list }}|{{ [1, 2, 3, 4] | select('odd') | list }}|{{ [1, 2, 3, 4] | reject('even') | list }}",
    "{{ d | items | list }}|{{ d | dictsort }}|{{ d | list }}|{{ 'ab' | list }}|{{ [1, 1, 2] | unique | list }}|{{ [1, 5, 2] | max }}|{{ [4, 2, 6] | min }}|{{ [1, 2.5] | sum }}",
    "{{ 3 | string ~ 'x' }}|{{ '12' | int + 1 }}|{{ '3.7' | int }}|{{ 'x' | int }}|{{ 'x' | int(5) }}|{{ '2.5' | float }}|{{ 3 | float }}|{{ -3 | abs }}|{{ 2.567 | round(1) }}|{{ 2.5 | round }}",
    "{{ 'hello world' | title }}|{{ 'HELLO' | lower }}|{{ 'x' | upper }}|{{ 'hi there' | capitalize }}|{{ 'a.b' | replace('.', '::') }}|{{ '<&>' | e }}|{{ '<x>' | safe }}",
    "{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent(1, blank=true) }}|{{ 'x' | indent('> ', first=true) }}",
    "{{ tools | tojson }}|{{ d | tojson }}|{{ 'é\\n\"' | tojson }}|{{ [1.0, 2.5e-8, none, true] | tojson }}",
    "{{ d | tojson(indent=2) }}|{{ [] | tojson(indent=2) }}|{{ {'a': {}} | tojson(indent=4) }}",
    "{{ d | tojson(sort_keys=true) }}|{{ d | tojson(separators=[',', ':']) }}|{{ 'é' | tojson(ensure_ascii=true) }}",
    "{{ messages | map('tojson') | first }}|{{ ['a', 'b'] | map('upper') | list }}|{{ [' a ', 'b '] | map('trim') | join('|') }}",
    "{{ range(5) | list }}|{{ range(2, 10, 3) | list }}|{{ range(5, 0, -2) | list }}|{{ range(0) | list }}",
    # tests
    "{{ s is string }}|{{ n is number }}|{{ n is integer }}|{{ f is float }}|{{ t is boolean }}|{{ d is mapping }}|{{ messages is iterable }}|{{ s is iterable }}|{{ n is iterable }}|{{ none is none }}",
    "{{ x is defined }}|{{ x is undefined }}|{{ n is odd }}|{{ n is even }}|{{ 9 is divisibleby 3 }}|{{ n is eq 7 }}|{{ n is ne 7 }}|{{ t is true }}|{{ e is false }}|{{ 'a' is lower }}|{{ 'A' is upper }}",
    "{{ n is gt 3 }}|{{ n is lt 3 }}|{{ n is ge 7 }}|{{ 2 is in [1, 2] }}|{{ none is sameas none }}|{{ range is callable }}|{{ s is sequence }}|{{ n is not none }}|{{ x is not defined }}",
    # statements
    "{% for m in messages %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{% if not loop.first %}{{ loop.previtem.role }}{% endif %}{% if not loop.last %}{{ loop.nextitem.role }}{% endif %};{% endfor %}",
    "{% for m in messages if m.role != 'system' %}{{ loop.index }}/{{ loop.length }}:{{ m.role }} {% else %}none{% endfor %}|{% for x in [] %}x{% else %}empty{% endfor %}",
    "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}|{% for k in d %}{{ k }}{% endfor %}|{% for c in 'héj' %}[{{ c }}]{% endfor %}",
    "{% for i in range(10) %}{% if i is even %}{% continue %}{% endif %}{% if i > 6 %}{% break %}{% endif %}{{ i }}{% endfor %}",
    "{% for i in range(3) %}{{ loop.cycle('a', 'b') }}{% for j in range(2) %}{{ loop.index }}{% endfor %}{% endfor %}",
    "{% set x = 1 %}{% for i in range(3) %}{% set x = x + i %}{{ x }}{% endfor %}|{{ x }}",
    "{% set ns = namespace(total=0, names=[]) %}{% for m in messages %}{% set ns.total = ns.total + 1 %}{% set ns.names = ns.names + [m.role] %}{% endfor %}{{ ns.total }} {{ ns.names }}",
    "{% set a, b = [1, 2] %}{{ a }}{{ b }}|{% set t = 1, 'x' %}{{ t }}|{% set blk %}\n  in {{ n }}\n{% endset %}[{{ blk }}]",
    "{% if n > 5 %}big{% elif n > 2 %}mid{% else %}small{% endif %}|{% if none %}a{% elif e %}b{% else %}c{% endif %}",
    "{% macro m(a, b=2, c='c') %}{{ a }}-{{ b }}-{{ c }}{% endmacro %}{{ m(1) }}|{{ m(1, 3) }}|{{ m(1, c='z') }}|{{ m() }}|{{ m(b=5, a=0) }}",
    "{% macro outer(x) %}<{{ inner(x) }}>{% endmacro %}{% macro inner(y) %}{{ y * 2 }}{% endmacro %}{{ outer(4) }}",
    "{% set g = 'global' %}{% macro show() %}{{ g }}{{ n }}{% endmacro %}{{ show() }}",
    "{% if messages[0].role == 'system' %}{% set sys = messages[0].content %}{% set messages = messages[1:] %}{% endif %}{{ sys }}|{{ messages | length }}",
    "{{ raise_exception('bad') if n > 100 else 'fine' }}",
    "{{ strftime_now('%Y-%m-%d %A %B %d') }}|{{ strftime_now('%d %b %Y') }}",
    # whitespace control
    "a\n{% if true %}\n  b\n{% endif %}\nc",
    "  {% for i in range(2) %}\n    x{{ i }}\n  {% endfor %}\nend",
    "a  {%- if true -%}  b  {%- endif -%}  c",
    "{{- '  a  ' -}}   |   {{- 'b' }}  \n  {{ 'c' -}}  \n  d",
    "x {# c #} y\n  {# line comment #}\nz {#- strip -#} w",
    "a\n  {%+ if true %}keep{% endif %}\n  {% if true +%}\nnotrim{% endif %}",
    "line1\n\t{% if true %}\n\tindented\n\t{% endif %}\nline2\n",
    "{% for m in messages %}\n{{ m.role }}\n{% endfor %}\n",
    "{%- set x = 1 -%}\n\n   {{ x }}   \n\n{%- set y = 2 %}\n  {{ y }}",
    "text{% if true %}  \n  after{% endif %}",
    "a\r\nb\r{% if true %}\r\nc{% endif %}",
    # errors (both sides must refuse)
    "{{ 'a' + 1 }}",
    "{{ x.y }}",
    "{{ [1].append(2) }}",
    "{{ 1 / 0 }}",
    "{{ none.x }}{{ none | length }}",
    "{{ raise_exception('no ' ~ n) }}",
    "{% for a, b in [1, 2] %}{% endfor %}",
    "{{ undefined_fn() }}",
    "{{ '%d' % 'x' }}",
    "{{ '%s %s' % ('a',) }}",
]


def main():
    for t in SNIPPETS:
        print(json.dumps({"template": t, "context": CTX}, ensure_ascii=False))


if __name__ == "__main__":
    main()
