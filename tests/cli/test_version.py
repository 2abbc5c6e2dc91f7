"""`microseg --version` and `microseg version` print the same text: the version of the project
(CMakeLists.txt), the git commit the build was configured from (a commit of this repository, or
"unknown" outside git), and the versions of MPI, HDF5, Eigen and Boost, each checked against an
independent source: mpiexec --version, h5dump --version, and the C preprocessor on Eigen's and
Boost's own headers."""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def preprocess(header, expression, flags=()):
    """The value of a macro expression after including `header`, as cpp sees it."""
    source = f"#include <{header}>\nMICROSEG_VALUE {expression}\n"
    out = subprocess.run(["cpp", "-x", "c++", "-P", *flags], input=source, capture_output=True,
                         text=True, check=True).stdout
    line = [x for x in out.splitlines() if x.startswith("MICROSEG_VALUE")][0]
    return line.split(None, 1)[1].replace(" ", "")


class VersionReport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = run(1, "--version").stdout
        cls.fields = dict(line.split(": ", 1) for line in cls.text.splitlines()[1:])

    def test_both_spellings_print_the_same(self):
        self.assertEqual(run(1, "version").stdout, self.text)

    def test_the_first_line_is_the_project_version(self):
        with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
            version = re.search(r"project\(microseg VERSION (\S+)", f.read()).group(1)
        self.assertEqual(self.text.splitlines()[0], f"microseg {version}")

    def test_the_git_commit_is_one_of_this_repository(self):
        commit = self.fields["git commit"]
        inside_git = subprocess.run(["git", "-C", ROOT, "rev-parse", "--git-dir"],
                                    capture_output=True).returncode == 0
        if not inside_git:
            self.assertEqual(commit, "unknown")
            return
        self.assertRegex(commit, r"^[0-9a-f]{12,40}(-dirty)?$")
        known = subprocess.run(["git", "-C", ROOT, "cat-file", "-e",
                                commit.split("-")[0] + "^{commit}"], capture_output=True)
        self.assertEqual(known.returncode, 0, f"{commit} is not a commit of {ROOT}")

    def test_mpi_and_hdf5_versions_match_their_own_tools(self):
        mpiexec = os.environ.get("MPIEXEC", "mpiexec")
        reported = subprocess.run([mpiexec, "--version"], capture_output=True, text=True).stdout
        version = re.search(r"\((?:Open MPI|OpenRTE)\) (\d+\.\d+\.\d+)", reported).group(1)
        self.assertTrue(self.fields["MPI"].startswith(f"Open MPI {version} (MPI 3.1)"),
                        self.fields["MPI"])
        self.assertIn(f"running Open MPI v{version}", self.fields["MPI"])
        h5dump = subprocess.run(["h5dump", "--version"], capture_output=True, text=True).stdout
        hdf5 = re.search(r"Version (\d+\.\d+\.\d+)", h5dump).group(1)
        self.assertEqual(self.fields["HDF5"], f"{hdf5} (parallel); running {hdf5}")

    def test_eigen_and_boost_versions_match_their_headers(self):
        eigen_flags = subprocess.run(["pkg-config", "--cflags", "eigen3"], capture_output=True,
                                     text=True, check=True).stdout.split()
        eigen = ".".join(preprocess("Eigen/Core", name, eigen_flags) for name in
                         ("EIGEN_WORLD_VERSION", "EIGEN_MAJOR_VERSION", "EIGEN_MINOR_VERSION"))
        self.assertEqual(self.fields["Eigen"], eigen)
        number = int(preprocess("boost/version.hpp", "BOOST_VERSION"))
        self.assertEqual(self.fields["Boost"],
                         f"{number // 100000}.{number // 100 % 1000}.{number % 100}")

    def test_version_takes_no_options(self):
        proc = run(1, "version", "--k", check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("version: takes no options, not '--k'", proc.stderr)


if __name__ == "__main__":
    unittest.main()
