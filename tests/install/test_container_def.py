"""scripts/container/microseg.def, checked without Apptainer (Debian 12 does not package it).

The definition is parsed as Apptainer reads it (header `Key: value` lines, then `%section`s), its
%files sources must exist, its %post must use scripts/install-deps.sh's --build list (every
package of which must be a real Debian package name this machine knows) and its CMake configure
line must configure this tree, and the image's program path must be where that install puts it.
The build and run lines of docs/operations.md must be the ones the file documents. Where an
`apptainer` or `singularity` binary exists, the file is also built for real.
"""
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEF = os.path.join(REPO, "scripts", "container", "microseg.def")
SECTIONS = {"%setup", "%files", "%environment", "%post", "%runscript", "%startscript", "%test",
            "%labels", "%help", "%arguments"}


def parse(path):
    header, sections, current = {}, {}, None
    with open(path) as f:
        for number, line in enumerate(f, 1):
            stripped = line.strip()
            if current is None and (not stripped or stripped.startswith("#")):
                continue
            if stripped.startswith("%"):
                name = stripped.split()[0]
                if name not in SECTIONS:
                    raise ValueError(f"{path}:{number}: unknown section {name}")
                if name in sections:
                    raise ValueError(f"{path}:{number}: section {name} twice")
                current = name
                sections[current] = []
            elif current is None:
                key, sep, value = stripped.partition(":")
                if not sep:
                    raise ValueError(f"{path}:{number}: header line is not 'Key: value'")
                header[key.strip()] = value.strip()
            else:
                sections[current].append(line.rstrip("\n"))
    return header, sections


def shell_lines(body):
    """The section's commands, continuation lines joined."""
    text = "\n".join(body).replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip()]


def build_packages():
    proc = subprocess.run(["bash", "-c", f"source <(sed -n '/^build_packages=(/,/^)/p' "
                           f"{shlex.quote(os.path.join(REPO, 'scripts/install-deps.sh'))}); "
                           "echo \"${build_packages[@]}\""], capture_output=True, text=True)
    return proc.stdout.split()


class ContainerDefinition(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.header, cls.sections = parse(DEF)
        cls.post = shell_lines(cls.sections["%post"])

    def test_header_is_debian_12(self):
        self.assertEqual(self.header.get("Bootstrap"), "docker")
        self.assertEqual(self.header.get("From"), "debian:12")
        for section in ("%files", "%post", "%runscript", "%test", "%help"):
            self.assertIn(section, self.sections)

    def test_files_sources_exist_relative_to_the_repository(self):
        for line in shell_lines(self.sections["%files"]):
            source = line.split()[0]
            self.assertTrue(os.path.exists(os.path.join(REPO, source)), line)

    def test_post_installs_the_build_list_of_install_deps(self):
        self.assertIn("/opt/microseg-src/scripts/install-deps.sh --build", self.post)
        packages = build_packages()
        self.assertIn("libhdf5-openmpi-dev", packages)
        self.assertIn("libopenmpi-dev", packages)
        # Every one is a package Debian 12 knows (apt's cache, no network needed).
        proc = subprocess.run(["apt-cache", "show", "--no-all-versions", *packages],
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_post_configure_line_configures_this_tree(self):
        configure = next(line for line in self.post if line.startswith("cmake -S"))
        words = shlex.split(configure)
        with tempfile.TemporaryDirectory() as build:
            words[words.index("-S") + 1] = REPO
            words[words.index("-B") + 1] = build
            words[0] = os.environ.get("CMAKE", "cmake")
            proc = subprocess.run(words + ["-DMICROSEG_FUZZ=OFF"], capture_output=True, text=True)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            with open(os.path.join(build, "CMakeCache.txt")) as f:
                cache = f.read()
            # The image must be portable: no -march=native.
            self.assertIn("MICROSEG_NATIVE:BOOL=OFF", cache)

    def test_program_path_is_where_the_install_puts_it(self):
        install = next(line for line in self.post if line.startswith("cmake --install"))
        prefix = shlex.split(install)[-1]
        program = f"{prefix}/bin/microseg"
        self.assertIn(program, "\n".join(self.sections["%runscript"]))
        self.assertIn(f"{program} --version", "\n".join(self.sections["%test"]))

    def test_operations_doc_shows_the_build_and_run_lines(self):
        with open(DEF) as f:
            documented = [line[1:].strip() for line in f if re.match(r"#\s+(apptainer|srun)", line)]
        with open(os.path.join(REPO, "docs", "operations.md")) as f:
            operations = f.read()
        self.assertEqual(len(documented), 2)
        for line in documented:
            command = line.split("#")[0].strip()
            self.assertIn(command, operations)

    @unittest.skipUnless(shutil.which("apptainer") or shutil.which("singularity"),
                         "no apptainer or singularity binary (not packaged in Debian 12)")
    def test_builds_with_apptainer(self):
        tool = shutil.which("apptainer") or shutil.which("singularity")
        with tempfile.TemporaryDirectory() as work:
            proc = subprocess.run([tool, "build", os.path.join(work, "microseg.sif"), DEF],
                                  cwd=REPO, capture_output=True, text=True)
            self.assertEqual(proc.returncode, 0, proc.stderr[-4000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
