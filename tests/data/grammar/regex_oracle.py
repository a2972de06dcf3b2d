#!/usr/bin/python3
"""The reference for guided_regex in tests/grammar_reference_test.cc:
Python's re.fullmatch with re.ASCII (\\d, \\w, \\s in their ASCII meaning,
as kvserve's converter documents).

  regex_oracle.py check PATTERN < texts   -> "1"/"0" per text (JSON string per line)
"""
import json
import re
import sys


def main():
    if sys.argv[1] != "check":
        sys.exit("mode: check")
    pattern = re.compile(sys.argv[2], re.ASCII)
    for line in sys.stdin:
        print("1" if pattern.fullmatch(json.loads(line)) else "0")


if __name__ == "__main__":
    main()
