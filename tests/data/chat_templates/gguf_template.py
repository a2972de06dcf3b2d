#!/usr/bin/python3
"""Prints a GGUF file's tokenizer.chat_template (exit 1 when it has none)."""
import struct
import sys

TYPE_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def main(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"GGUF":
        sys.exit("not a GGUF file")
    pos = 8
    n_tensors, n_kv = struct.unpack_from("<QQ", data, pos)
    pos += 16

    def string():
        nonlocal pos
        (n,) = struct.unpack_from("<Q", data, pos)
        s = data[pos + 8:pos + 8 + n]
        pos += 8 + n
        return s

    def skip(t):
        nonlocal pos
        if t == 8:
            string()
        elif t == 9:
            et, n = struct.unpack_from("<IQ", data, pos)
            pos += 12
            for _ in range(n):
                skip(et)
        else:
            pos += TYPE_SIZES[t]

    for _ in range(n_kv):
        key = string().decode()
        (t,) = struct.unpack_from("<I", data, pos)
        pos += 4
        if key == "tokenizer.chat_template" and t == 8:
            sys.stdout.write(string().decode("utf-8"))
            return
        skip(t)
    sys.exit("no tokenizer.chat_template")


if __name__ == "__main__":
    main(sys.argv[1])
