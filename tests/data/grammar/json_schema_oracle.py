#!/usr/bin/python3
"""The reference for tests/grammar_reference_test.cc: Python's jsonschema
(Debian python3-jsonschema) decides whether a text is valid under a schema.

  json_schema_oracle.py check SCHEMA_FILE < texts   -> one line "1"/"0" per text
  json_schema_oracle.py fuzz SCHEMA_FILE N SEED      -> N candidate texts

Texts are one JSON string per line (the text JSON-encoded). A text is valid
when json.loads parses it (NaN and Infinity refused, as JSON does) and the
value validates under the schema with Draft 2020-12, where numbers keep
their JSON kind: "integer" means a JSON integer, and enum/const compare
3.0 and 3 as different (the default validator equates them; the grammar
writes enum and const values as the schema writes them, and no integer as
3.0).

fuzz writes valid instances and near misses (a value of another type, a
property dropped or added, a string too long, an array too short, ...)
serialized with json.dumps (keys in the schema's order, as the grammar
writes them), so the comparison covers the texts a model could write and
their neighbours.
"""
import json
import random
import sys

import jsonschema


def same(a, b):
    """JSON equality that keeps 3 and 3.0 apart (and True and 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def enum_check(validator, enums, instance, schema):
    if not any(same(instance, e) for e in enums):
        yield jsonschema.ValidationError(f"{instance!r} is not one of {enums!r}")


def const_check(validator, const, instance, schema):
    if not same(instance, const):
        yield jsonschema.ValidationError(f"{const!r} was expected")


def validator_for(schema):
    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _, v: isinstance(v, int) and not isinstance(v, bool))
    cls = jsonschema.validators.extend(
        base, validators={"enum": enum_check, "const": const_check}, type_checker=checker)
    return cls(schema)


def refuse_constant(name):
    raise ValueError(name)


def is_valid(validator, text):
    try:
        value = json.loads(text, parse_constant=refuse_constant)
    except ValueError:
        return False
    return validator.is_valid(value)


def random_string(rng):
    pool = ["", "a", "hello", "héllo", "日本", "quote\"d", "back\\slash", "new\nline", "tab\t",
            "\u0001", "x" * 7, "ok", "red", "celsius", "fixed", "12"]
    s = rng.choice(pool)
    if rng.random() < 0.3:
        s += rng.choice(pool)
    return s


def random_value(rng, depth=0):
    kind = rng.randrange(8 if depth < 2 else 6)
    if kind == 0:
        return rng.randrange(-1000, 1000)
    if kind == 1:
        return round(rng.uniform(-1e4, 1e4), rng.randrange(0, 6))
    if kind == 2:
        return random_string(rng)
    if kind == 3:
        return rng.random() < 0.5
    if kind == 4:
        return None
    if kind == 5:
        return rng.choice([0, 1, 2, 3, -1, 0.5, 3.0])
    if kind == 6:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {random_string(rng): random_value(rng, depth + 1) for _ in range(rng.randrange(3))}


def resolve(schema, root):
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        if ref == "#":
            schema = root
        else:
            _, section, name = ref.split("/", 2)
            schema = root[section][name]
    return schema


def instance(schema, root, rng, depth=0):
    """A value that is often valid under `schema`, sometimes not."""
    schema = resolve(schema, root)
    if schema is True or schema == {} or depth > 6 or rng.random() < 0.08:
        return random_value(rng)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return instance(rng.choice(schema[key]), root, rng, depth + 1)
    types = schema.get("type")
    if types is None:
        types = "object" if "properties" in schema or "additionalProperties" in schema else "array"
    t = rng.choice(types) if isinstance(types, list) else types
    if t == "string":
        lo, hi = schema.get("minLength", 0), schema.get("maxLength", 8)
        return "".join(rng.choice("abé\"\\\n日z") for _ in range(rng.randint(max(lo - 1, 0), hi + 1)))
    if t == "integer":
        return rng.randint(schema.get("minimum", -50) - 1, 500)
    if t == "number":
        return rng.choice([rng.randint(-5, 99), round(rng.uniform(-2, 1e3), 3), 1.5e-7, 2e21])
    if t == "boolean":
        return rng.random() < 0.5
    if t == "null":
        return None
    if t == "array":
        lo, hi = schema.get("minItems", 0), schema.get("maxItems", 4)
        n = rng.randint(max(lo - 1, 0), hi + 1)
        return [instance(schema.get("items", {}), root, rng, depth + 1) for _ in range(n)]
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    out = {}
    if not props:
        extra = schema.get("additionalProperties", {})
        for _ in range(rng.randrange(3)):
            out[random_string(rng)] = instance(extra if isinstance(extra, dict) else {}, root, rng, depth + 1)
        return out
    for name, sub in props.items():
        keep = name in required or rng.random() < 0.5
        if rng.random() < 0.05:
            keep = not keep
        if keep:
            out[name] = instance(sub, root, rng, depth + 1)
    if rng.random() < 0.05:
        out["extra"] = random_value(rng)
    return out


def fuzz(schema, n, seed):
    rng = random.Random(seed)
    texts = []
    while len(texts) < n:
        v = instance(schema, schema, rng)
        text = json.dumps(v, ensure_ascii=False, indent=2 if rng.random() < 0.1 else None)
        r = rng.random()
        if r < 0.05 and len(text) > 1:
            text = text[: rng.randrange(1, len(text))]  # cut short
        elif r < 0.08:
            text = " " + text + "\n"
        texts.append(text)
    return texts


def main():
    mode, schema_file = sys.argv[1], sys.argv[2]
    with open(schema_file, encoding="utf-8") as f:
        schema = json.load(f)
    if mode == "check":
        validator = validator_for(schema)
        for line in sys.stdin:
            print("1" if is_valid(validator, json.loads(line)) else "0")
    elif mode == "fuzz":
        for text in fuzz(schema, int(sys.argv[3]), int(sys.argv[4])):
            print(json.dumps(text, ensure_ascii=False))
    else:
        sys.exit("mode: check or fuzz")


if __name__ == "__main__":
    main()
