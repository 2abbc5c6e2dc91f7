"""`cpack -G DEB` makes a Debian package that declares what it needs: dpkg-deb shows a package
named microseg at the project's version whose Depends name the shared libraries the program
links (Open MPI, parallel HDF5, Boost, libgomp, libcrypto, as dpkg-shlibdeps found them) and
openmpi-bin, each satisfied by a package installed here; its contents are the installed tree
under /usr; and extracted into a scratch root (dpkg-deb -x) the program runs and its
modulefile names /usr."""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import temp_dir  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ["MICROSEG_BUILD_DIR"]
VERSION = re.search(r"project\(microseg VERSION (\S+)",
                    open(os.path.join(ROOT, "CMakeLists.txt")).read()).group(1)


def call(*args):
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def satisfied(relation):
    """Whether an installed package satisfies `name (op version)`."""
    match = re.match(r"^(\S+)(?: \((\S+) (\S+)\))?$", relation.strip())
    name, op, version = match.groups()
    status = subprocess.run(["dpkg-query", "-W", "-f=${Status} ${Version}", name],
                            capture_output=True, text=True)
    if status.returncode != 0 or "install ok installed" not in status.stdout:
        return False
    if op is None:
        return True
    installed = status.stdout.split()[-1]
    ops = {">=": "ge", "<=": "le", ">>": "gt", "<<": "lt", "=": "eq"}
    return subprocess.run(["dpkg", "--compare-versions", installed, ops[op],
                           version]).returncode == 0


class DebianPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = temp_dir()
        call(os.environ.get("CPACK", "cpack"), "-G", "DEB", "--config",
             os.path.join(BUILD, "CPackConfig.cmake"), "-B", cls.work)
        debs = [name for name in os.listdir(cls.work) if name.endswith(".deb")]
        assert len(debs) == 1, debs
        cls.deb = os.path.join(cls.work, debs[0])
        cls.fields = {}
        for line in call("dpkg-deb", "-f", cls.deb).splitlines():
            key, _, value = line.partition(": ")
            cls.fields[key] = value
        cls.contents = [line.split()[-1] for line in call("dpkg-deb", "-c", cls.deb).splitlines()]

    def test_the_control_fields_name_the_package_and_its_version(self):
        self.assertEqual(os.path.basename(self.deb), f"microseg_{VERSION}_amd64.deb")
        self.assertEqual(self.fields["Package"], "microseg")
        self.assertEqual(self.fields["Version"], VERSION)
        self.assertEqual(self.fields["Architecture"], "amd64")

    def test_it_depends_on_the_libraries_it_links_and_all_are_installable(self):
        depends = self.fields["Depends"]
        for library in ("libopenmpi3", "libhdf5-openmpi-103", "libboost-program-options1.74.0",
                        "libboost-serialization1.74.0", "libgomp1", "libssl3", "openmpi-bin"):
            self.assertIn(library, depends)
        # The serial HDF5 would not do: microseg opens files with MPI-IO.
        self.assertNotRegex(depends, r"libhdf5-103\b")
        for relation in depends.split(","):
            alternatives = relation.split("|")
            with self.subTest(dependency=relation.strip()):
                self.assertTrue(any(satisfied(a) for a in alternatives),
                                f"nothing installed here satisfies {relation.strip()}")

    def test_it_holds_the_installed_tree_under_usr(self):
        for path in ("./usr/bin/microseg", "./usr/bin/microseg-plot-run",
                     "./usr/include/microseg/version.hpp", "./usr/lib/libmicroseg.a",
                     "./usr/lib/cmake/microseg/microsegConfig.cmake",
                     "./usr/lib/pkgconfig/microseg.pc",
                     "./usr/share/bash-completion/completions/microseg",
                     "./usr/share/microseg/slurm/segment.sbatch",
                     "./usr/share/microseg/jobs/demo.ini",
                     f"./usr/share/modulefiles/microseg/{VERSION}"):
            self.assertIn(path, self.contents)
        if os.environ.get("MICROSEG_MAN_PAGE") != "off":  # unless configured without it
            self.assertIn("./usr/share/man/man1/microseg.1", self.contents)
        self.assertFalse([p for p in self.contents if not p.startswith("./usr/")])

    def test_extracted_into_a_scratch_root_the_program_runs(self):
        root = os.path.join(self.work, "root")
        call("dpkg-deb", "-x", self.deb, root)
        out = call(os.path.join(root, "usr/bin/microseg"), "--version")
        self.assertEqual(out.splitlines()[0], f"microseg {VERSION}")
        with open(os.path.join(root, f"usr/share/modulefiles/microseg/{VERSION}")) as f:
            self.assertIn("set prefix /usr\n", f.read())


if __name__ == "__main__":
    unittest.main()
