"""README.md, CONTRIBUTING.md and docs/*.md against the program: no documented option that the
program does not have.

Every `microseg SUBCOMMAND …` command line in those files (code blocks, with `\\` continuations,
and inline code spans) must name a subcommand of `microseg --help`, and every `--option` on it
must be listed by that subcommand's `--help`. Every other `--option` in the text must be an
option of some subcommand, or one of the other tools' options listed below (mpiexec, srun,
sbatch, cmake, ctest …) or of this repository's own scripts (bench/, scripts/), so docs and code
cannot drift apart again.
"""
import glob
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import MICROSEG  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCS = [os.path.join(REPO, name) for name in ("README.md", "CONTRIBUTING.md")] + sorted(
    glob.glob(os.path.join(REPO, "docs", "*.md")))
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
COMMAND = re.compile(r"\bmicroseg\s+([a-z][a-z-]*)")
# Options of the other programs the docs show (mpiexec, srun, sbatch, scancel, cmake, ctest, apt,
# apptainer …). The options of this repository's own scripts are read from their sources below.
OTHER_TOOLS = {
    "--oversubscribe", "--mca", "--hostfile", "--bind-to", "--map-by", "--mpi", "--ntasks",
    "--cpus-per-task", "--time", "--array", "--dependency", "--kill-on-invalid-dep",
    "--kill-on-bad-exit", "--signal", "--requeue", "--open-mode", "--job-name", "--parsable",
    "--batch", "--begin", "--mem-per-cpu", "--nodes", "--export", "--partition", "--build",
    "--install", "--prefix", "--target", "--output-on-failure", "--bind", "--help", "--version",
    "--help-all", "--no-install-recommends", "--fakeroot",
}
# Words that follow a "microseg" that is not the program (a cron line's user field).
NOT_SUBCOMMANDS = {"cd"}


def own_script_options():
    """--options that bench/ and scripts/ programs define (argparse strings, shell case labels)."""
    found = set()
    for pattern in ("bench/*.py", "bench/*.sh", "scripts/*.py", "scripts/*.sh", "scripts/*/*.sh",
                    "scripts/*/*.py"):
        for path in glob.glob(os.path.join(REPO, pattern)):
            with open(path, encoding="utf-8") as f:
                found.update(re.findall(r"[\"'(|\s](--[a-z][a-z0-9-]*)[\"')]", f.read()))
    return found


def program_help(subcommand=None):
    args = [MICROSEG] + ([subcommand] if subcommand else []) + ["--help"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def subcommands():
    text = program_help()
    block = text.split("commands:", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines() if line.strip()]


def code_fragments(path):
    """(line number, text) of each code-block line (continuations joined) and inline code span."""
    fragments, in_block, pending, start = [], False, "", 0
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            if not pending:
                start = number
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            fragments.append((start, pending + line))
            pending = ""
        else:
            fragments.extend((number, span) for span in re.findall(r"`([^`]+)`", line))
    return fragments


def command_options(fragment, subcommand_names=()):
    """[(subcommand, [options])] of the microseg command lines in one fragment; a fragment that
    starts with a subcommand's name and an option (`sweep --macro-k 4`) is one too."""
    found = []
    first = fragment.split(maxsplit=2)
    if len(first) >= 2 and first[0] in subcommand_names and first[1].startswith("--"):
        fragment = "microseg " + fragment
    for match in COMMAND.finditer(fragment):
        rest = re.split(r"\s(?:\||&&|;|#|>|2>)", fragment[match.end():] + " ", maxsplit=1)[0]
        rest = COMMAND.split(rest)[0]  # up to a second microseg command on the same line
        found.append((match.group(1), OPTION.findall(rest)))
    return found


class DocsOptions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.commands = subcommands()
        cls.options = {name: set(OPTION.findall(program_help(name))) for name in cls.commands}
        cls.every_option = set().union(*cls.options.values())
        cls.script_options = own_script_options()

    def test_docs_exist(self):
        self.assertGreaterEqual(len(DOCS), 6)
        for path in DOCS:
            self.assertTrue(os.path.exists(path), path)

    def test_command_lines_use_options_their_subcommand_has(self):
        problems, checked = [], 0
        for path in DOCS:
            for number, fragment in code_fragments(path):
                for subcommand, options in command_options(fragment, self.commands):
                    where = f"{os.path.relpath(path, REPO)}:{number}"
                    if subcommand in NOT_SUBCOMMANDS:
                        continue
                    if subcommand not in self.options:
                        problems.append(f"{where}: 'microseg {subcommand}' is no subcommand")
                        continue
                    for option in options:
                        checked += 1
                        if option not in self.options[subcommand] | {"--help"}:
                            problems.append(f"{where}: microseg {subcommand} has no {option}")
        self.assertEqual(problems, [], "\n".join(problems))
        self.assertGreater(checked, 60)  # the extraction works: the docs show about 100

    def test_every_option_named_anywhere_exists(self):
        problems = []
        for path in DOCS:
            with open(path, encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    for option in OPTION.findall(line):
                        known = self.every_option | self.script_options | OTHER_TOOLS
                        if option not in known:
                            problems.append(f"{os.path.relpath(path, REPO)}:{number}: {option}")
        self.assertEqual(problems, [], "options no subcommand has:\n" + "\n".join(problems))

    def test_the_check_finds_a_wrong_option(self):
        # The extraction itself: a made-up option on a command line is caught.
        found = command_options("mpiexec -n 2 microseg segment --k 8 --no-such-option 3 | tee")
        self.assertEqual(found, [("segment", ["--k", "--no-such-option"])])
        self.assertEqual(command_options("sweep --macro-k 4", self.commands),
                         [("sweep", ["--macro-k"])])
        self.assertNotIn("--no-such-option", self.options["segment"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
