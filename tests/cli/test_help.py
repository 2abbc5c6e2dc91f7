"""`microseg CMD --help` lists every option of every command with its default (or that it is
required) and an example of the option as typed, worded alike everywhere; the bash completion
script offers exactly the commands of `microseg --help` and, for each, the options its --help
lists; the man page, generated from the --help texts, documents every option of every command."""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COMPLETION = os.path.join(ROOT, "scripts", "completion", "microseg.bash")


def commands():
    """The commands `microseg --help` lists."""
    text = run(1, "--help").stdout
    block = text.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines()]


def options(help_text):
    """{option: its description, whitespace joined} from Boost's option listing."""
    found, name = {}, None
    for line in help_text.splitlines():
        match = re.match(r"^  --([a-z0-9-]+)(?: \[=arg\(=\w+\)\]| arg)?\s*(.*)$", line)
        if match:
            name = match.group(1)
            found[name] = match.group(2)
        elif name and line.startswith("     "):
            found[name] += " " + line.strip()
        else:
            name = None
    return {key: " ".join(value.split()) for key, value in found.items()}


def help_of(command):
    """{variant: --help text}: ingest's two kinds are one text, split by its option groups, and
    so are generate and generate campaign."""
    text = run(1, command, "--help").stdout
    if command == "generate":
        plain, campaign = text.split("microseg generate campaign options:")
        return {"generate": plain + text.split("options of every command:")[1],
                "generate campaign": campaign}
    if command != "ingest":
        return {command: text}
    features, transactions = text.split("microseg ingest transactions options:")
    return {"ingest features": features.split("microseg ingest features options:")[1]
            + text.split("options of every command:")[1],
            "ingest transactions": transactions}


def completions(*words):
    """What the completion script offers after `microseg WORDS...` (the last may be partial)."""
    words = ["microseg", *words]
    array = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    script = (f"source '{COMPLETION}'; COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}; "
              "_microseg; printf '%s\\n' \"${COMPREPLY[@]}\"")
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    return sorted(line for line in out.stdout.splitlines() if line)


class HelpTexts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.commands = commands()
        cls.helps = {}
        for command in cls.commands:
            cls.helps.update(help_of(command))

    def test_every_command_is_documented(self):
        self.assertEqual(self.commands, ["generate", "segment", "assign", "ingest", "sweep",
                                         "sweep-merge", "promote", "forecast", "evaluate",
                                         "reproduce",
                                         "version"])

    def test_every_option_has_a_default_and_an_example(self):
        self.assertGreater(sum(len(options(text)) for text in self.helps.values()), 60)
        for variant, text in self.helps.items():
            for name, description in options(text).items():
                with self.subTest(command=variant, option=name):
                    self.assertRegex(description,
                                     rf"\((required[^;]*|default: [^;]+); e\.g\. --{name}\b",
                                     f"--{name}: {description}")

    def test_the_completion_offers_the_commands_and_each_commands_options(self):
        self.assertEqual(completions(""), sorted(self.commands + ["--help", "--help-all",
                                                                  "--version"]))
        self.assertEqual(completions("ingest", ""), ["features", "transactions"])
        self.assertEqual(completions("generate", "ca"), ["campaign"])
        for variant, text in self.helps.items():
            words = variant.split()
            with self.subTest(command=variant):
                expected = sorted([f"--{name}" for name in options(text)] + ["--help"])
                self.assertEqual(completions(*words, "--"), expected)

    def test_the_completion_offers_the_values_of_enumerated_options(self):
        self.assertEqual(completions("segment", "--scale", ""),
                         ["minmax", "none", "robust", "zscore"])
        self.assertEqual(completions("sweep", "--lloyd", "p"), ["plain", "pruned"])
        self.assertEqual(completions("segment", "--k", "12", "--mer"), ["--merge-small"])

    def test_the_man_page_documents_every_option_of_every_command(self):
        page = os.environ["MICROSEG_MAN_PAGE"]  # the build's microseg.1 (tests/CMakeLists.txt)
        if page == "off":
            self.skipTest("configured with -DMICROSEG_MAN_PAGE=OFF")
        rendered = subprocess.run(["man", "-l", page], capture_output=True, text=True, check=True,
                                  env=dict(os.environ, MANWIDTH="100", MAN_KEEP_FORMATTING="0")
                                  ).stdout
        rendered = re.sub(r".\x08", "", rendered)  # overstrike bold and underline
        self.assertIn("microseg", rendered.splitlines()[0].lower())
        for variant, text in self.helps.items():
            for name in options(text):
                with self.subTest(command=variant, option=name):
                    self.assertRegex(rendered, rf"--{name}\b")
        for command in self.commands:
            self.assertIn(f"microseg {command}", rendered)


if __name__ == "__main__":
    unittest.main()
