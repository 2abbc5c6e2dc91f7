#!/usr/bin/python3
"""The shape the house style (../shared/STYLE.md) keeps, checked on every source file.

- No function in src/ is longer than 120 lines, unless a comment right above it says why it must
  be (a line holding "long on purpose:").
- No source or header file in src/ or include/ is longer than 600 lines.
- No function in src/ or include/ takes more than 6 parameters.
- src/app holds options, plans and printing: it makes no collective call (no Communicator member
  but rank(), size() and is_root()), calls no function of the distributed layer and includes no
  io or distributed header but the communicator's.

Function extents and signatures come from Universal Ctags (Debian's universal-ctags).
"""
import os
import re
import shutil
import subprocess
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAX_FUNCTION_LINES = 120
MAX_FILE_LINES = 600
MAX_PARAMETERS = 6
LONG_ON_PURPOSE = "long on purpose:"


def sources(*folders, suffixes=(".cpp", ".hpp")):
    for folder in folders:
        for directory, _, files in os.walk(os.path.join(ROOT, folder)):
            for name in sorted(files):
                if name.endswith(suffixes):
                    yield os.path.join(directory, name)


def ctags_functions(paths):
    """(path, name, first line, last line, signature) of every function definition."""
    output = subprocess.run(
        ["ctags", "--languages=C++", "--kinds-C++=f", "--fields=+neS", "-o", "-"] + list(paths),
        check=True, capture_output=True, text=True).stdout
    for line in output.splitlines():
        parts = line.split("\t")
        fields = dict(p.split(":", 1) for p in parts[3:] if ":" in p)
        if "line" in fields and "end" in fields:
            yield (parts[1], parts[0], int(fields["line"]), int(fields["end"]),
                   fields.get("signature", "()"))


def parameter_count(signature):
    """Top-level commas of "(a, b<c, d>, e = {1, 2})" plus one; 0 for "()" and "(void)"."""
    inner = signature.strip()[1:-1].strip()
    if inner in ("", "void"):
        return 0
    depth, count = 0, 1
    for ch in inner:
        if ch in "<([{":
            depth += 1
        elif ch in ">)]}":
            depth -= 1
        elif ch == "," and depth == 0:
            count += 1
    return count


def relative(path):
    return os.path.relpath(path, ROOT)


@unittest.skipIf(shutil.which("ctags") is None, "needs universal-ctags (scripts/install-deps.sh)")
class CodeShape(unittest.TestCase):
    def test_no_function_in_src_is_longer_than_120_lines_without_saying_why(self):
        long_ones = []
        for path, name, first, last, _ in ctags_functions(sources("src")):
            if last - first + 1 <= MAX_FUNCTION_LINES:
                continue
            with open(path) as f:
                above = f.readlines()[max(0, first - 6):first - 1]
            if not any(LONG_ON_PURPOSE in line for line in above):
                long_ones.append(f"{relative(path)}:{first} {name}: {last - first + 1} lines")
        self.assertEqual(long_ones, [])

    def test_no_file_is_longer_than_600_lines(self):
        long_ones = []
        for path in sources("src", "include"):
            with open(path) as f:
                lines = sum(1 for _ in f)
            if lines > MAX_FILE_LINES:
                long_ones.append(f"{relative(path)}: {lines} lines")
        self.assertEqual(long_ones, [])

    def test_no_function_takes_more_than_6_parameters(self):
        wide = [f"{relative(path)}:{first} {name}{signature}"
                for path, name, first, _, signature in ctags_functions(sources("src", "include"))
                if parameter_count(signature) > MAX_PARAMETERS]
        self.assertEqual(wide, [])

    def test_the_command_layer_makes_no_collective_call(self):
        member = re.compile(r"\bcomm\.(?!is_root\(|rank\(|size\()(\w+)\s*\(")
        distributed_call = re.compile(r"\bdistributed::([a-z_0-9]+)\s*\(")
        include = re.compile(r'#include "microseg/(io|distributed)/(\w+)\.hpp"')
        found = []
        for path in sources("src/app", "include/microseg/app"):
            with open(path) as f:
                for number, line in enumerate(f, 1):
                    where = f"{relative(path)}:{number}: {line.strip()}"
                    if member.search(line) or distributed_call.search(line):
                        found.append(where)
                    match = include.search(line)
                    if match and match.group(0).find("distributed/communicator.hpp") < 0:
                        found.append(where)
        self.assertEqual(found, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
