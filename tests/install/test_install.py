"""`cmake --install` lays out microseg as a site or a downstream project uses it: a separate
CMake project (tests/install) finds the installed package with find_package(microseg) alone,
links microseg::microseg, and fits k-means through the public API under mpiexec, with the same
centroids bit for bit on 1 and 3 ranks; the pkg-config file compiles and links a program with
mpicxx; the environment module puts the installed microseg on PATH and names the Slurm
directory; every installed file is where docs/operations.md says."""
import hashlib
import os
import re
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import MPIEXEC, temp_dir  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ["MICROSEG_BUILD_DIR"]
CMAKE = os.environ.get("CMAKE", "cmake")
VERSION = re.search(r"project\(microseg VERSION (\S+)",
                    open(os.path.join(ROOT, "CMakeLists.txt")).read()).group(1)


def call(*args, **kwargs):
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc.stdout


class InstalledTree(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = temp_dir()
        cls.prefix = os.path.join(cls.work, "prefix")
        call(CMAKE, "--install", BUILD, "--prefix", cls.prefix)
        libdirs = [d for d in ("lib", "lib64", "lib/x86_64-linux-gnu")
                   if os.path.exists(os.path.join(cls.prefix, d, "libmicroseg.a"))]
        cls.libdir = os.path.join(cls.prefix, libdirs[0]) if libdirs else None

    def test_the_layout_is_the_documented_one(self):
        p = self.prefix
        self.assertIsNotNone(self.libdir, "no libmicroseg.a installed")
        executables = ["bin/microseg", "bin/microseg-plot-run", "bin/microseg-plot-sweep",
                       "share/microseg/slurm/segment.sbatch",
                       "share/microseg/slurm/quarterly.sbatch",
                       "share/microseg/slurm/sweep-array.sbatch",
                       "share/microseg/slurm/sweep-merge.sbatch",
                       "share/microseg/slurm/submit-sweep.sh"]
        files = ["include/microseg/version.hpp", "include/microseg/core/sha256.hpp",
                 "include/microseg/distributed/kmeans_fit.hpp",
                 "share/microseg/slurm/common.sh", "share/microseg/jobs/demo.ini",
                 "share/bash-completion/completions/microseg",
                 "share/microseg/jobs/quarterly.ini", f"share/modulefiles/microseg/{VERSION}",
                 os.path.join(self.libdir, "cmake/microseg/microsegConfig.cmake"),
                 os.path.join(self.libdir, "cmake/microseg/microsegConfigVersion.cmake"),
                 os.path.join(self.libdir, "pkgconfig/microseg.pc")]
        if os.environ.get("MICROSEG_MAN_PAGE") != "off":  # unless configured without it
            files.append("share/man/man1/microseg.1")
        for name in executables + files:
            path = os.path.join(p, name)
            with self.subTest(file=name):
                self.assertTrue(os.path.isfile(path), f"{path} is not installed")
                if name in executables:
                    self.assertTrue(os.stat(path).st_mode & stat.S_IXUSR, f"{path} not executable")
        # Every public header of the source tree is installed.
        source = os.path.join(ROOT, "include", "microseg")
        for root, _, names in os.walk(source):
            for name in names:
                relative = os.path.relpath(os.path.join(root, name), source)
                self.assertTrue(os.path.isfile(os.path.join(p, "include/microseg", relative)),
                                relative)
        version = call(os.path.join(p, "bin/microseg"), "--version")
        self.assertEqual(version.splitlines()[0], f"microseg {VERSION}")

    def test_a_downstream_cmake_project_fits_kmeans_under_mpiexec(self):
        build = os.path.join(self.work, "downstream")
        # Nothing but the prefix: MPI, HDF5, Eigen, Boost, OpenMP come from the package.
        call(CMAKE, "-S", HERE, "-B", build, f"-DCMAKE_PREFIX_PATH={self.prefix}")
        call(CMAKE, "--build", build)
        program = os.path.join(build, "fit_kmeans")
        centroids = {}
        for ranks in (1, 3):
            out = call(MPIEXEC, "--oversubscribe", "--bind-to", "none", "-n", ranks, program,
                       timeout=120)
            self.assertIn(f"microseg {VERSION}: k-means on 30 rows, {ranks} ranks", out)
            centroids[ranks] = sorted(tuple(float(v) for v in line.split()[1:])
                                      for line in out.splitlines()
                                      if line.startswith("centroid "))
        planted = [(0.0, 0.0), (0.0, 10.0), (10.0, 0.0)]
        self.assertEqual(len(centroids[1]), 3)
        for got, want in zip(centroids[1], planted):
            self.assertAlmostEqual(got[0], want[0], delta=0.1)
            self.assertAlmostEqual(got[1], want[1], delta=0.1)
        self.assertEqual(centroids[1], centroids[3])

    def test_the_pkg_config_file_compiles_and_links_a_program(self):
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(self.libdir, "pkgconfig"))
        flags = call("pkg-config", "--cflags", "--libs", "microseg", env=env).split()
        self.assertIn(f"-I{os.path.join(self.prefix, 'include')}",
                      [os.path.normpath(f) if f.startswith("-I/") else f for f in flags])
        source = os.path.join(self.work, "digest.cpp")
        with open(source, "w") as f:
            f.write('#include <iostream>\n#include "microseg/core/sha256.hpp"\n'
                    '#include "microseg/version.hpp"\n'
                    'int main() { std::cout << microseg::version_number << " "\n'
                    '  << microseg::sha256_hex("microseg") << "\\n"; }\n')
        program = os.path.join(self.work, "digest")
        call("mpicxx", "-std=c++17", source, "-o", program, *flags)
        expected = hashlib.sha256(b"microseg").hexdigest()
        self.assertEqual(call(program).split(), [VERSION, expected])

    def test_the_environment_module_puts_the_installed_tree_on_path(self):
        man = os.environ.get("MICROSEG_MAN_PAGE") != "off"  # unless configured without it
        script = ("source /usr/share/modules/init/bash && "
                  f"module use '{self.prefix}/share/modulefiles' && module load microseg && "
                  'command -v microseg && echo "$MICROSEG_SLURM_DIR" && '
                  'echo "$MICROSEG_JOBS_DIR" && microseg --version | head -n 1 && '
                  + ("man -w microseg && " if man else "") +
                  "man -w bash >/dev/null && echo system-pages && "
                  "module unload microseg && (command -v microseg || echo gone)")
        env = {k: v for k, v in os.environ.items() if k != "MANPATH"}
        lines = call("bash", "-c", script, env=dict(env, PATH="/usr/bin:/bin")).splitlines()
        self.assertEqual(lines, [os.path.join(self.prefix, "bin/microseg"),
                                 os.path.join(self.prefix, "share/microseg/slurm"),
                                 os.path.join(self.prefix, "share/microseg/jobs"),
                                 f"microseg {VERSION}"]
                         + ([os.path.join(self.prefix, "share/man/man1/microseg.1")] if man else [])
                         + ["system-pages", "gone"])

    def test_the_installed_segment_sbatch_finds_microseg_on_path_alone(self):
        # segment.sbatch as Slurm runs it (a copy in a spool directory, the submit directory
        # elsewhere, no MICROSEG_* variable) with a stand-in srun that runs the step with
        # mpiexec; tests/slurm runs the installed scripts on a real Slurm.
        work = os.path.join(self.work, "submit")
        spool, shims = os.path.join(work, "spool"), os.path.join(work, "shims")
        os.makedirs(spool)
        os.makedirs(shims)
        with open(os.path.join(shims, "srun"), "w") as f:
            # srun's own options (--mpi, --kill-on-bad-exit, --cpus-per-task) come first.
            f.write(f'#!/bin/bash\nwhile [[ "$1" == --mpi=* || "$1" == --kill-on-bad-exit=* '
                    f'|| "$1" == --cpus-per-task=* ]]; do shift; done\n'
                    f'exec {MPIEXEC} --oversubscribe -n "$SLURM_NTASKS" "$@"\n')
        os.chmod(os.path.join(shims, "srun"), 0o755)
        script = os.path.join(spool, "slurm_script")
        with open(os.path.join(self.prefix, "share/microseg/slurm/segment.sbatch")) as f:
            text = f.read()
        with open(script, "w") as f:
            f.write(text)
        data = os.path.join(work, "customers.h5")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MICROSEG_")}
        env.update(PATH=f"{shims}:{self.prefix}/bin:/usr/bin:/bin", SLURM_JOB_ID="4242",
                   SLURM_NTASKS="2", SLURM_SUBMIT_DIR=work)
        call(os.path.join(self.prefix, "bin/microseg"), "generate", "--customers", 500,
             "--output", data)
        out = subprocess.run(["bash", script,
                              os.path.join(self.prefix, "share/microseg/jobs/demo.ini"),
                              "--input", data, "--k", "3"],
                             cwd=spool, env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        runs = os.path.join(work, "runs", "segment")
        [run_dir] = os.listdir(runs)
        self.assertTrue(run_dir.endswith("-4242"))
        self.assertTrue(os.path.isfile(os.path.join(runs, run_dir, "segments.h5")))


if __name__ == "__main__":
    unittest.main()
