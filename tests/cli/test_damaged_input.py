"""A damaged input file whose chunk index does not fit the file: one clear message naming the file
and dataset, exit status 2 and no output, at 1 and 3 ranks alike (each rank reads other chunks,
so the check must not depend on which rank reads the damaged one). Found by the HDF5 input fuzz
run (tests/fuzz/hdf5_fuzz.py, docs/reliability.md): before the check, a chunk address past the
end of the file was read as garbage and reported as a file changed during the run, and an index
entry naming another chunk's bytes failed at 1 rank but was read at 2."""
import os
import struct
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fuzz"))
from hdf5_regions import find_regions  # noqa: E402
from microseg_run import run, temp_dir  # noqa: E402


def columns_table(path):
    """600 customers, three features, 64-row chunks (ten per dataset)."""
    rng = np.random.default_rng(3)
    with h5py.File(path, "w") as f:
        g = f.create_group("customers")
        g.create_dataset("id", data=np.arange(600, dtype=np.int64) + 7, chunks=(64,))
        for name in ("age", "frequency", "monetary"):
            g.create_dataset(name, data=rng.normal(size=600), chunks=(64,))


def with_chunk_address(source, target, dataset, row, address):
    """A copy of `source` in which the chunk index entry of `dataset`'s chunk at `row` names
    `address` (a callable of the file's bytes and chunks) instead of its own."""
    regions = find_regions(source)
    chunks = regions.chunks
    own = [c for c in chunks if c[0] == dataset and c[1][0] == row][0][2]
    with open(source, "rb") as f:
        data = bytearray(f.read())
    # The child pointer of the chunk's entry, in one of the chunk B-trees.
    found = [data.find(struct.pack("<Q", own), begin, end)
             for begin, end in regions.ranges["chunk_index"]]
    at = max(found)
    assert at >= 0 and found.count(at) == 1
    data[at:at + 8] = struct.pack("<Q", address(data, chunks))
    with open(target, "wb") as f:
        f.write(data)


class DamagedInput(unittest.TestCase):
    def setUp(self):
        self.dir = temp_dir()
        self.good = os.path.join(self.dir, "good.h5")
        columns_table(self.good)

    def assert_refused(self, path, *fragments):
        for ranks in (1, 3):
            out = os.path.join(self.dir, f"out{ranks}")
            proc = run(ranks, "segment", "--input", path, "--k", 2, "--output", out, check=False)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertEqual(proc.stderr.count("microseg: error:"), 1, proc.stderr)
            for fragment in (os.path.basename(path), "is damaged") + fragments:
                self.assertIn(fragment, proc.stderr)
            self.assertFalse(os.path.exists(out) and os.listdir(out), "output written")

    def test_the_good_file_is_read(self):
        run(3, "segment", "--input", self.good, "--k", 2, "--output",
            os.path.join(self.dir, "good-out"))

    def test_a_chunk_past_the_end_of_the_file(self):
        path = os.path.join(self.dir, "past-end.h5")
        with_chunk_address(self.good, path, "/customers/monetary", 512,
                           lambda data, chunks: len(data) + 4096)
        self.assert_refused(path, "/customers/monetary", "chunk at element (512)",
                            "does not fit")

    def test_two_index_entries_on_the_same_bytes(self):
        path = os.path.join(self.dir, "overlap.h5")
        with_chunk_address(self.good, path, "/customers/age", 512,
                           lambda data, chunks: [c for c in chunks if c[0] == "/customers/age"
                                                 and c[1][0] == 0][0][2])
        self.assert_refused(path, "/customers/age", "overlap")


if __name__ == "__main__":
    unittest.main()
