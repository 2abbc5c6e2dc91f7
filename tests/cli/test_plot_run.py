"""scripts/plot_run.py draws the profile lift heatmap of any run, the migration matrix of a run
made with --previous and the hierarchy of a two-level run, as PNG files matplotlib can read back; a directory that is not a run is an
error with exit status 2."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import assert_drawn_png, run, temp_dir  # noqa: E402

PLOT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "plot_run.py")


def plot(*args):
    return subprocess.run([sys.executable, PLOT, *args], capture_output=True, text=True,
                          timeout=120)


class PlotRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = cls.dir = temp_dir()
        data = os.path.join(d, "customers.h5")
        run(2, "generate", "--customers", 3000, "--segments", 5, "--seed", 2, "--output", data)
        cls.first = os.path.join(d, "first")
        run(2, "segment", "--input", data, "--k", 5, "--output", cls.first)
        cls.second = os.path.join(d, "second")
        run(2, "segment", "--input", data, "--k", 6, "--seed", 3, "--previous", cls.first,
            "--output", cls.second)
        cls.two_level = os.path.join(d, "two-level")
        run(2, "segment", "--input", data, "--macro-k", 2, "--k", 5, "--output", cls.two_level)

    def assert_chart(self, path):
        return assert_drawn_png(self, path, 200, 300)

    def test_a_run_with_a_previous_run_gets_both_charts(self):
        out = os.path.join(self.dir, "charts")
        proc = plot(self.second, "--output", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(sorted(os.listdir(out)), ["migration_matrix.png", "profile_lift.png"])
        for name in os.listdir(out):
            self.assert_chart(os.path.join(out, name))

    def test_a_first_run_gets_the_lift_heatmap_beside_its_outputs(self):
        proc = plot(self.first)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assert_chart(os.path.join(self.first, "profile_lift.png"))
        self.assertFalse(os.path.exists(os.path.join(self.first, "migration_matrix.png")))

    def test_a_two_level_run_gets_the_hierarchy_with_one_panel_per_macro_segment(self):
        out = os.path.join(self.dir, "hierarchy")
        proc = plot(self.two_level, "--output", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(sorted(os.listdir(out)), ["hierarchy.png", "profile_lift.png"])
        image = self.assert_chart(os.path.join(out, "hierarchy.png"))
        # Two panels side by side: wider than tall.
        self.assertGreater(image.shape[1], image.shape[0])

    def test_a_directory_without_a_run_is_an_error(self):
        proc = plot(self.dir)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no segments.h5", proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
