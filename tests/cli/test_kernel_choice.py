"""The instruction-set variants give the same segmentation bit for bit: a whole run (k-means||
seeding, whose candidate reduction has its own AVX2 and AVX-512 distance code, then Lloyd with the
assignment kernels) under MICROSEG_KERNEL=portable, avx2 and avx512, as far as this CPU runs
them, compared with h5diff and no tolerance. A node with an older CPU in the same job, or a rerun
on other hardware, must not change a customer's segment."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import h5diff, run, temp_dir  # noqa: E402


def cpu_flags():
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def runnable_kernels():
    """The variants this CPU runs, by the rule of supported_kernels() in src/core/assignment.cpp."""
    flags = cpu_flags()
    kernels = ["portable"]
    if {"avx2", "fma"} <= flags:
        kernels.append("avx2")
    if {"avx512f", "avx512vl", "avx512dq"} <= flags:
        kernels.append("avx512")
    return kernels


class SameSegmentsWhateverTheKernel(unittest.TestCase):
    def test_whole_run_is_identical_under_every_kernel(self):
        kernels = runnable_kernels()
        if len(kernels) < 2:
            self.skipTest("this CPU runs only the portable kernel: nothing to compare")
        work = temp_dir()
        data = os.path.join(work, "customers.h5")
        run(2, "generate", "--customers", 30000, "--segments", 40, "--seed", 7, "--output", data)
        outputs = {}
        for kernel in kernels:
            out = os.path.join(work, kernel)
            # k = 300 makes the seeding's reduction work on ~1,200 weighted candidates.
            run(2, "segment", "--input", data, "--k", 300, "--init", "kmeans-parallel", "--seed", 3,
                "--max-iter", 30, "--output", out, env={"MICROSEG_KERNEL": kernel})
            outputs[kernel] = os.path.join(out, "segments.h5")
        for kernel in kernels[1:]:
            status, report = h5diff(outputs["portable"], outputs[kernel],
                                    exclude_attributes=("/run",))
            self.assertEqual(status, 0, f"portable and {kernel} differ:\n{report[:3000]}")


if __name__ == "__main__":
    unittest.main()
