#!/usr/bin/python3
"""An independent recognizer for GBNF grammars, the reference for
tests/grammar_reference_test.cc: its own parser and an Earley recognizer
(left-recursive repetition, nullable rules handled as Aycock and Horspool
do), nothing shared with kvserve's pushdown matcher.

  gbnf_oracle.py check GRAMMAR_FILE < texts   -> "1"/"0" per text
  gbnf_oracle.py gen GRAMMAR_FILE N SEED      -> N candidate texts

Texts are one JSON string per line. gen writes random derivations of the
grammar and their mutations (a character dropped, doubled, replaced or
inserted) plus random strings over the grammar's characters.
"""
import json
import random
import re
import sys


class Grammar:
    def __init__(self, text):
        self.rules = {}  # name -> list of alternatives; a symbol is ("c", neg, ranges) or ("r", name)
        self.n = 0
        self.s = re.sub(r"#[^\n]*", "", text)
        self.i = 0
        while True:
            self.space()
            if self.i >= len(self.s):
                break
            name = self.name()
            self.space()
            assert self.s.startswith("::=", self.i), "expected ::="
            self.i += 3
            self.rules[name] = self.alts()

    def space(self):
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def name(self):
        m = re.compile(r"[A-Za-z0-9_-]+").match(self.s, self.i)
        assert m, "expected a name"
        self.i = m.end()
        return m.group()

    def at_rule(self):
        return re.compile(r"[A-Za-z0-9_-]+\s*::=").match(self.s, self.i) is not None

    def fresh(self, alts):
        self.n += 1
        name = f"_{self.n}"
        self.rules[name] = alts
        return ("r", name)

    def char(self):
        c = self.s[self.i]
        self.i += 1
        if c != "\\":
            return ord(c)
        e = self.s[self.i]
        self.i += 1
        simple = {"n": "\n", "r": "\r", "t": "\t"}
        if e in simple:
            return ord(simple[e])
        if e in "xuU":
            k = {"x": 2, "u": 4, "U": 8}[e]
            v = int(self.s[self.i:self.i + k], 16)
            self.i += k
            return v
        return ord(e)

    def alts(self):
        alts = [[]]
        while True:
            self.space()
            if self.i >= len(self.s) or self.s[self.i] == ")" or self.at_rule():
                return alts
            c = self.s[self.i]
            if c == "|":
                self.i += 1
                alts.append([])
                continue
            if c == '"':
                self.i += 1
                seq = []
                while self.s[self.i] != '"':
                    cp = self.char()
                    seq.append(("c", False, [(cp, cp)]))
                self.i += 1
                term = seq
            elif c == "[":
                self.i += 1
                neg = self.s[self.i] == "^"
                if neg:
                    self.i += 1
                ranges = []
                while self.s[self.i] != "]":
                    lo = self.char()
                    hi = lo
                    if self.s[self.i] == "-" and self.s[self.i + 1] != "]":
                        self.i += 1
                        hi = self.char()
                    ranges.append((lo, hi))
                self.i += 1
                term = [("c", neg, ranges)]
            elif c == ".":
                self.i += 1
                term = [("c", True, [])]
            elif c == "(":
                self.i += 1
                inner = self.alts()
                assert self.s[self.i] == ")"
                self.i += 1
                term = [self.fresh(inner)]
            else:
                term = [("r", self.name())]
            alts[-1].extend(self.repeat(term))

    def repeat(self, term):
        if self.i >= len(self.s):
            return term
        c = self.s[self.i]
        if c not in "*+?{":
            return term
        self.i += 1
        if c == "{":
            m = re.compile(r"(\d+)(,(\d*))?\}").match(self.s, self.i)
            self.i = m.end()
            lo = int(m.group(1))
            hi = lo if m.group(2) is None else (int(m.group(3)) if m.group(3) else None)
        else:
            lo, hi = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
        item = self.fresh([term])
        out = [item] * lo
        if hi is None:  # left-recursive star: S ::= S item | ""
            self.n += 1
            star = f"_{self.n}"
            self.rules[star] = [[("r", star), item], []]
            out.append(("r", star))
        else:
            opt = self.fresh([[item], []])
            out.extend([opt] * (hi - lo))
        return out

    def nullable(self):
        null = set()
        changed = True
        while changed:
            changed = False
            for name, alts in self.rules.items():
                if name not in null and any(all(s[0] == "r" and s[1] in null for s in a) for a in alts):
                    null.add(name)
                    changed = True
        return null


def matches(sym, cp):
    inside = any(lo <= cp <= hi for lo, hi in sym[2])
    return inside != sym[1]


def recognize(g, text, root="root"):
    null = g.nullable()
    cps = [ord(c) for c in text]
    # An item: (rule, alternative index, dot, origin).
    sets = [set() for _ in range(len(cps) + 1)]
    for k in range(len(g.rules[root])):
        sets[0].add((root, k, 0, 0))
    for pos in range(len(cps) + 1):
        todo = list(sets[pos])
        while todo:
            item = todo.pop()
            name, k, dot, origin = item
            alt = g.rules[name][k]
            if dot == len(alt):  # complete: advance what waited for `name`
                for (n2, k2, d2, o2) in list(sets[origin]):
                    a2 = g.rules[n2][k2]
                    if d2 < len(a2) and a2[d2] == ("r", name):
                        new = (n2, k2, d2 + 1, o2)
                        if new not in sets[pos]:
                            sets[pos].add(new)
                            todo.append(new)
                continue
            sym = alt[dot]
            if sym[0] == "r":
                for k2 in range(len(g.rules[sym[1]])):
                    new = (sym[1], k2, 0, pos)
                    if new not in sets[pos]:
                        sets[pos].add(new)
                        todo.append(new)
                if sym[1] in null:
                    new = (name, k, dot + 1, origin)
                    if new not in sets[pos]:
                        sets[pos].add(new)
                        todo.append(new)
            elif pos < len(cps) and matches(sym, cps[pos]):
                sets[pos + 1].add((name, k, dot + 1, origin))
    return any(n == root and d == len(g.rules[n][k]) and o == 0 for (n, k, d, o) in sets[len(cps)])


def derive(g, rng, name="root", depth=0):
    alts = g.rules[name]
    if depth > 12:  # prefer the shortest alternative when deep
        alts = sorted(alts, key=len)[:1]
    out = []
    for sym in rng.choice(alts):
        if sym[0] == "r":
            out.append(derive(g, rng, sym[1], depth + 1))
        else:
            out.append(chr(pick(sym, rng)))
    return "".join(out)


def pick(sym, rng):
    if not sym[1]:
        lo, hi = rng.choice(sym[2])
        return rng.randint(lo, hi)
    while True:
        cp = rng.choice([rng.randint(0x20, 0x7E), rng.randint(0xA0, 0x3FF), 0x1F600, 0x65E5])
        if matches(sym, cp):
            return cp


def alphabet(g):
    chars = set("ab01 ,\n\"-")
    for alts in g.rules.values():
        for alt in alts:
            for sym in alt:
                if sym[0] == "c":
                    for lo, hi in sym[2]:
                        chars.update(chr(c) for c in (lo, hi, (lo + hi) // 2) if c < 0x110000)
    return sorted(chars)


def gen(g, n, seed):
    rng = random.Random(seed)
    chars = alphabet(g)
    out = []
    while len(out) < n:
        r = rng.random()
        if r < 0.15:
            out.append("".join(rng.choice(chars) for _ in range(rng.randrange(8))))
            continue
        try:
            s = derive(g, rng)
        except RecursionError:
            continue
        if len(s) > 120:
            continue
        if r > 0.5 and s:
            i = rng.randrange(len(s))
            op = rng.randrange(4)
            s = [s[:i] + s[i + 1:], s[:i] + s[i] + s[i:], s[:i] + rng.choice(chars) + s[i + 1:],
                 s[:i] + rng.choice(chars) + s[i:]][op]
        out.append(s)
    return out


def main():
    mode, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        g = Grammar(f.read())
    sys.setrecursionlimit(10000)
    if mode == "check":
        for line in sys.stdin:
            print("1" if recognize(g, json.loads(line)) else "0")
    elif mode == "gen":
        for s in gen(g, int(sys.argv[3]), int(sys.argv[4])):
            print(json.dumps(s, ensure_ascii=False))
    else:
        sys.exit("mode: check or gen")


if __name__ == "__main__":
    main()
