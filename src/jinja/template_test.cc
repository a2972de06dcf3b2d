#include "jinja/template.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "jinja/hf_globals.h"
#include "jinja/json.h"

namespace kvs::jinja {
namespace {

// Renders `src` with the JSON object `ctx` as variables; "ERROR: ..." on failure.
std::string R(std::string_view src, const char* ctx = "{}") {
  auto t = Template::Parse(src);
  if (!t.ok()) return "PARSE ERROR: " + t.status().message();
  Value c = FromJson(nlohmann::ordered_json::parse(ctx));
  std::tm now{};
  now.tm_year = 124;
  now.tm_mon = 6;
  now.tm_mday = 26;
  Dict d = c.AsDict();
  AddHfGlobals(now, &d);
  auto out = (*t)->Render(d);
  if (!out.ok()) return "ERROR: " + out.status().message();
  return *out;
}

TEST(JinjaOutputTest, TextAndExpressions) {
  EXPECT_EQ(R("hello"), "hello");
  EXPECT_EQ(R("{{ 1 + 2 * 3 }}"), "7");
  EXPECT_EQ(R("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }}"), "3 -4 2 3.5 1024");
  EXPECT_EQ(R("{{ 'a' ~ 1 ~ none }}"), "a1None");
  EXPECT_EQ(R("{{ x }}|{{ x.y is defined }}", R"({"x": null})"), "None|False");
  EXPECT_EQ(R("{{ true }} {{ 1.0 }} {{ 1e20 }} {{ 0.1 + 0.2 }}"), "True 1.0 1e+20 0.30000000000000004");
  EXPECT_EQ(R("{{ [1, 'a', none] }} {{ {'k': 'v'} }}"), "[1, 'a', None] {'k': 'v'}");
  EXPECT_EQ(R("{{ missing }}[{{ missing ~ 'x' }}]"), "[x]");
  EXPECT_EQ(R("{{ 'yes' if 1 < 2 else 'no' }}{{ 'z' if false }}"), "yes");
  EXPECT_EQ(R("{{ 'ab' in 'cabd' }} {{ 2 in [1, 2] }} {{ 'k' not in {'k': 1} }}"), "True True False");
  EXPECT_EQ(R("{{ not 0 and 'x' or 'y' }}"), "x");
  EXPECT_EQ(R("{{ \"it's\" }} {{ 'a\\nb' }}"), "it's a\nb");
}

TEST(JinjaOutputTest, SubscriptsAndSlices) {
  const char* ctx = R"({"m": [{"role": "a"}, {"role": "b"}, {"role": "c"}], "s": "héllo"})";
  EXPECT_EQ(R("{% for x in m[::-1] %}{{ x.role }}{% endfor %}", ctx), "cba");
  EXPECT_EQ(R("{{ m[-1]['role'] }}{{ m[1:].__len__ is defined }}{{ (m[1:] | length) }}", ctx), "cFalse2");
  EXPECT_EQ(R("{{ s[1] }}{{ s[::-1] }}{{ s | length }}{{ s[1:3] }}", ctx), "éolléh5él");
  EXPECT_EQ(R("{{ m[5] is defined }}", ctx), "False");
}

TEST(JinjaOutputTest, StringMethods) {
  EXPECT_EQ(R("{{ ' a b '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '\\n\\nq'.lstrip('\\n') }}|{{ 'q  '.rstrip() }}"),
            "a b|a|q|q");
  EXPECT_EQ(R("{{ 'a</think>b'.split('</think>')[-1] }}{{ ' a  b '.split() }}"), "b['a', 'b']");
  EXPECT_EQ(R("{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('x', 'c')) }}"), "TrueTrue");
  EXPECT_EQ(R("{{ 'hello world'.title() }} {{ 'ab'.upper() }} {{ 'AB'.lower() }} {{ 'aXb'.replace('X', '-') }}"),
            "Hello World AB ab a-b");
  EXPECT_EQ(R("{{ '{} and {}'.format(1, 'b') }}"), "1 and b");
}

TEST(JinjaOutputTest, Filters) {
  EXPECT_EQ(R("{{ '  x  ' | trim }}|{{ [3, 4] | first }}{{ [3, 4] | last }}|{{ [1, 2] | join(', ') }}"),
            "x|34|1, 2");
  EXPECT_EQ(R("{{ missing | default('d') }}{{ '' | default('e', true) }}{{ 0 | default(5) }}"), "de0");
  const char* ctx = R"({"m": [{"role": "user", "n": 1}, {"role": "tool", "n": 2}, {"role": "user", "n": 3}]})";
  EXPECT_EQ(R("{{ m | selectattr('role', 'equalto', 'user') | map(attribute='n') | list }}", ctx), "[1, 3]");
  EXPECT_EQ(R("{{ m | rejectattr('role', 'eq', 'user') | list | length }}", ctx), "1");
  EXPECT_EQ(R("{% for k, v in {'a': 1, 'b': 2} | items %}{{ k }}={{ v }};{% endfor %}"), "a=1;b=2;");
  EXPECT_EQ(R("{{ '7' | int + 1 }} {{ 3 | string ~ 'x' }} {{ 'ab' | capitalize }} {{ 'a-b' | replace('-', '+') }}"),
            "8 3x Ab a+b");
  EXPECT_EQ(R("{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}"), "a\n  b\n\n  c|  a\n  b");
  EXPECT_EQ(R("{{ ['a', 'b'] | map('upper') | join }}"), "AB");
}

TEST(JinjaOutputTest, ToJsonMatchesHuggingFace) {
  const char* ctx = R"({"t": {"name": "f", "x": [1, 2.5, true, null], "u": "é\"\n"}})";
  EXPECT_EQ(R("{{ t | tojson }}", ctx), R"({"name": "f", "x": [1, 2.5, true, null], "u": "é\"\n"})");
  EXPECT_EQ(R("{{ {'a': [1, {}], 'b': []} | tojson(indent=2) }}"),
            "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}");
  EXPECT_EQ(R("{{ 'é' | tojson(ensure_ascii=true) }}"), "\"\\u00e9\"");
}

TEST(JinjaOutputTest, Tests) {
  EXPECT_EQ(R("{{ 'a' is string }}{{ 1 is string }}{{ {} is mapping }}{{ [] is iterable }}{{ none is none }}"),
            "TrueFalseTrueTrueTrue");
  EXPECT_EQ(R("{{ x is defined }}{{ x is undefined }}{{ 1 is number }}{{ true is boolean }}{{ 3 is odd }}"),
            "FalseTrueTrueTrueTrue");
  EXPECT_EQ(R("{{ false is false }}{{ 1 is not none }}{{ 6 is divisibleby 3 }}"), "TrueTrueTrue");
}

TEST(JinjaStatementTest, LoopVariables) {
  EXPECT_EQ(R("{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}"
              "{{ loop.length }}{{ loop.revindex }};{% endfor %}"),
            "10TrueFalse33;21FalseFalse32;32FalseTrue31;");
  EXPECT_EQ(R("{% for x in [1, 2, 3] %}{{ loop.previtem | default('-') }}{% endfor %}"), "-12");
  EXPECT_EQ(R("{% for x in [] %}a{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(R("{% for x in range(10) if x is even %}{{ x }}{{ loop.length }} {% endfor %}"), "05 25 45 65 85 ");
  EXPECT_EQ(R("{% for x in range(5) %}{% if x == 3 %}{% break %}{% endif %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}"),
            "02");
  EXPECT_EQ(R("{% for x in range(3) %}{{ loop.cycle('a', 'b') }}{% endfor %}"), "aba");
}

TEST(JinjaStatementTest, ScopesAndNamespaces) {
  EXPECT_EQ(R("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}"), "1");
  EXPECT_EQ(R("{% set ns = namespace(x=1) %}{% for i in [1, 2] %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}"),
            "4");
  EXPECT_EQ(R("{% if true %}{% set y = 'in if' %}{% endif %}{{ y }}"), "in if");
  EXPECT_EQ(R("{% set a, b = 1, 2 %}{{ b }}{{ a }}"), "21");
  EXPECT_EQ(R("{% set block %}x{{ 1 + 1 }}{% endset %}[{{ block }}]"), "[x2]");
}

TEST(JinjaStatementTest, Macros) {
  EXPECT_EQ(R("{% macro greet(name, punct='!') %}hi {{ name }}{{ punct }}{% endmacro %}"
              "{{ greet('a') }} {{ greet('b', punct='?') }}"),
            "hi a! hi b?");
  EXPECT_EQ(R("{% set g = 'G' %}{% macro m() %}{{ g }}{% endmacro %}{{ m() }}"), "G");
}

TEST(JinjaStatementTest, HuggingFaceGenerationBlockRendersItsBody) {
  EXPECT_EQ(R("{% for m in [1, 2] %}{% generation %}<{{ m }}>{% endgeneration %}{% endfor %}"), "<1><2>");
}

TEST(JinjaStatementTest, InlineIfAndFilterPrecedence) {
  const char* ctx = R"({"messages": [{"role": "user"}, {"role": "assistant"}]})";
  EXPECT_EQ(R("{{ messages | length - 1 }}", ctx), "1");  // (messages | length) - 1
  EXPECT_EQ(R("{{ -2 | abs }}"), "2");                    // the filter applies to -2
  EXPECT_EQ(R("{{ not messages[0].role == 'user' }}", ctx), "False");
  EXPECT_EQ(R("{{ 'a' ~ 'b' | upper }}"), "aB");
}

TEST(JinjaWhitespaceTest, TrimAndLstripBlocks) {
  // trim_blocks: the newline after a block tag goes; lstrip_blocks: the
  // indentation before a block tag alone on its line goes.
  EXPECT_EQ(R("{% if true %}\nyes\n{% endif %}\nend"), "yes\nend");
  EXPECT_EQ(R("  {% if true %}\n  x\n  {% endif %}\n"), "  x\n");
  EXPECT_EQ(R("a  {% if true %}b{% endif %}"), "a  b");
  EXPECT_EQ(R("{{ 'v' }}\nnext"), "v\nnext");
  EXPECT_EQ(R("a\n  {{- 'b' -}}  \n c"), "abc");
  EXPECT_EQ(R("a {%- if true -%} \n b {%- endif %}"), "ab");
  EXPECT_EQ(R("  {%+ if true %}x{% endif %}"), "  x");
  EXPECT_EQ(R("{# comment #}\nx  {#- c -#}  y"), "xy");
  EXPECT_EQ(R("line\n"), "line");  // one trailing newline is dropped
  EXPECT_EQ(R("a\r\nb"), "a\nb");
}

TEST(JinjaHfGlobalsTest, RaiseAndStrftime) {
  EXPECT_EQ(R("{{ raise_exception('Roles must alternate') }}"), "ERROR: chat template: Roles must alternate");
  EXPECT_EQ(R("{{ strftime_now('%d %b %Y') }}"), "26 Jul 2024");
}

TEST(JinjaErrorTest, UnsupportedConstructsNameTheLine) {
  EXPECT_EQ(R("a\n{% raw %}x{% endraw %}"), "PARSE ERROR: line 2: '{% raw %}' is not supported");
  EXPECT_EQ(R("\n\n{% call m() %}x{% endcall %}"), "PARSE ERROR: template line 3: '{% call %}' is not supported");
  EXPECT_EQ(R("{% include 'x' %}"), "PARSE ERROR: template line 1: '{% include %}' is not supported");
  EXPECT_EQ(R("{% for x in y recursive %}{% endfor %}"),
            "PARSE ERROR: template line 1: recursive for loops are not supported");
  EXPECT_EQ(R("{{ x | nosuchfilter }}"), "PARSE ERROR: template line 1: filter 'nosuchfilter' is not supported");
  EXPECT_EQ(R("{% if x %}"), "PARSE ERROR: template line 1: missing '{% endif %}'");
  EXPECT_EQ(R("{{ 1 +"), "PARSE ERROR: line 1: unclosed '{{'");
  EXPECT_EQ(R("{% filter upper %}x{% endfilter %}"), "PARSE ERROR: template line 1: '{% filter %}' is not supported");
  EXPECT_EQ(R("{% extends 'base' %}"), "PARSE ERROR: template line 1: '{% extends %}' is not supported");
  EXPECT_EQ(R("{% endfor %}"), "PARSE ERROR: template line 1: unknown or misplaced tag 'endfor'");
  EXPECT_EQ(R("{% break %}"), "PARSE ERROR: template line 1: 'break' outside a loop");
  EXPECT_EQ(R("{{ 1 < 2 < 3 }}"), "PARSE ERROR: template line 1: chained comparisons are not supported");
  EXPECT_EQ(R("{{ x is nosuchtest }}"), "PARSE ERROR: template line 1: test 'nosuchtest' is not supported");
}

TEST(JinjaErrorTest, RuntimeErrors) {
  EXPECT_EQ(R("{{ 'a' + 1 }}"), "ERROR: template line 1: unsupported operand types for +: 'str' and 'int'");
  EXPECT_EQ(R("{{ x.y }}"), "ERROR: template line 1: 'y' of an undefined value");
  EXPECT_EQ(R("{{ [1].append(2) }}"),
            "ERROR: 'append' modifies its object, which the sandbox does not allow");
}

TEST(JinjaLimitsTest, HostileTemplatesStop) {
  auto t = Template::Parse("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}");
  ASSERT_TRUE(t.ok());
  RenderLimits limits;
  auto out = (*t)->Render({}, limits);
  EXPECT_FALSE(out.ok());
  auto big = Template::Parse("{% set ns = namespace(s='xx') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}");
  ASSERT_TRUE(big.ok());
  EXPECT_FALSE((*big)->Render({}, limits).ok());
  auto rec = Template::Parse("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}");
  ASSERT_TRUE(rec.ok());
  EXPECT_FALSE((*rec)->Render({}, limits).ok());
  EXPECT_FALSE(Template::Parse("{{ " + std::string(5000, '(')).ok());
  // A namespace holding itself renders (and, under ASan, does not leak).
  EXPECT_EQ(R("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns.me.me is defined }}"), "True");
  // So does a loop object holding itself, which outlives its iteration.
  EXPECT_EQ(R("{% for i in range(2) %}{% set loop.me = loop %}{{ loop.me.me.index }}{% endfor %}"), "12");
}

// A loop's object goes with its iteration unless something kept it, and so
// does a namespace() made in the loop's body and dropped by the next
// iteration. The nested loop below, stopped at 2^20 iterations, once held a
// million loop objects (3.6 GB peak and 19 s with a body of "x"), and then
// a million namespaces (1.3 GB and 7.8 s: each was kept for the render's
// end in case it held itself); 48 MB and 2.3 s since. Rendered in a child
// process, whose peak RSS is its own; the bound leaves room for ASan's
// quarantine of freed blocks (467 MB there).
TEST(JinjaLimitsDeathTest, AStoppedLoopStaysSmall) {
  EXPECT_EXIT(
      {
        auto t = Template::Parse(
            "{% for i in range(100000) %}{% for j in range(100000) %}"
            "{% set ns = namespace(a=j, b='text', c=[j, j]) %}{% endfor %}{% endfor %}");
        const bool stopped = t.ok() && !(*t)->Render({}, RenderLimits()).ok();
        struct rusage ru {};
        getrusage(RUSAGE_SELF, &ru);
        std::fprintf(stderr, "stopped %d, peak RSS %ld MiB\n", stopped, ru.ru_maxrss / 1024);
        std::_Exit(stopped && ru.ru_maxrss < (768L << 10) ? 0 : 1);  // ru_maxrss in KiB: 768 MiB
      },
      ::testing::ExitedWithCode(0), "stopped 1");
}

}  // namespace
}  // namespace kvs::jinja
