"""`microseg ingest features`: a customer table becomes the columnar input of `microseg segment`,
checked by hand in every delimiter, identical for 1-4 ranks, with clear errors for bad input."""
import os
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir  # noqa: E402

nan = float("nan")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def read(path):
    with h5py.File(path, "r") as f:
        g = f["customers"]
        out = {"names": list(g.keys()), "id": g["id"][...]}
        for name in g:
            out[name] = g[name][...]
            out[name + ".attrs"] = dict(g[name].attrs)
        out["categories"] = {k: [s.decode() for s in f["categories"][k][...]]
                             for k in f.get("categories", {})}
        if "external_id" in g:
            out["external_id"] = [s.decode() for s in g["external_id"][...]]
        out["ingest"] = dict(f["ingest"].attrs)
    return out


TABLE = """customer_id,age,region,income,channel
101,34,north,52000.5,web
102,,south,,app
103,51,north,61000,
104,29,"west, coast",40000,web
"""


class HandChecked(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()

    def ingest(self, text, *args, ranks=2, name="t"):
        csv = write(os.path.join(self.dir, name + ".csv"), text)
        out = os.path.join(self.dir, name + ".h5")
        proc = run(ranks, "ingest", "features", "--csv", csv, "--output", out, *args)
        return read(out), proc

    def check_table(self, out):
        self.assertEqual(out["names"], ["id", "age", "region", "income", "channel"])
        np.testing.assert_array_equal(out["id"], [101, 102, 103, 104])
        np.testing.assert_array_equal(out["age"], [34, nan, 51, 29])
        np.testing.assert_array_equal(out["income"], [52000.5, nan, 61000, 40000])
        # Codes index the sorted names; an empty cell is NaN.
        self.assertEqual(out["categories"]["region"], ["north", "south", "west, coast"])
        np.testing.assert_array_equal(out["region"], [0, 1, 0, 2])
        self.assertEqual(out["categories"]["channel"], ["app", "web"])
        np.testing.assert_array_equal(out["channel"], [1, 0, nan, 1])
        self.assertEqual(out["region.attrs"]["categories"], "/categories/region")
        self.assertEqual(out["age.attrs"]["missing"], 1)
        self.assertEqual(out["channel.attrs"]["missing"], 1)
        self.assertEqual(out["region.attrs"]["missing"], 0)
        self.assertNotIn("external_id", out)

    def test_comma_table_with_categories_and_empty_cells(self):
        out, proc = self.ingest(TABLE, "--id-column", "customer_id", "--categorical",
                                "region,channel", name="comma")
        self.check_table(out)
        self.assertIn("4 customers × 4 columns", proc.stdout)
        self.assertIn("age: 1 empty cells", proc.stdout)

    def test_tab_semicolon_and_whitespace_tables_give_the_same_result(self):
        for delimiter, sep in (("tab", "\t"), (";", ";"), ("whitespace", "   ")):
            with self.subTest(delimiter=delimiter):
                if delimiter == "whitespace":
                    # No empty cells can be written here; quoted "" marks them instead.
                    text = TABLE.replace(",,", ',"",').replace(",\n", ',""\n')
                else:
                    text = TABLE
                lines = []
                for line in text.splitlines():
                    fields, field, quoted = [], "", False
                    for ch in line:
                        if ch == '"':
                            quoted = not quoted
                            field += ch
                        elif ch == "," and not quoted:
                            fields.append(field)
                            field = ""
                        else:
                            field += ch
                    fields.append(field)
                    lines.append(sep.join(fields))
                out, _ = self.ingest("\n".join(lines) + "\n", "--id-column", "customer_id",
                                     "--categorical", "region,channel", "--delimiter", delimiter,
                                     ranks=3, name="d" + str(len(sep)) + delimiter[0])
                self.check_table(out)

    def test_text_ids_are_mapped_with_external_ids(self):
        text = "key,spend\nC01,1\nC02,2\n\"C;03\",3\n"
        out, proc = self.ingest(text, "--id-column", "key", name="keys")
        self.assertEqual(out["external_id"], ["C01", "C02", "C;03"])
        self.assertEqual(len(set(out["id"].tolist())), 3)
        self.assertTrue(np.all(out["id"] >= 0))
        np.testing.assert_array_equal(out["spend"], [1, 2, 3])
        self.assertIn("/customers/external_id", proc.stdout)
        # The keys are text, which segment skips, and the provenance lives outside /customers,
        # so segment takes only "spend".
        run_dir = os.path.join(self.dir, "keys-run")
        seg = run(2, "segment", "--input", os.path.join(self.dir, "keys.h5"), "--k", 2,
                  "--output", run_dir)
        self.assertIn("3 customers × 1 features", seg.stdout)

    def test_one_to_four_ranks_write_the_same_table(self):
        rng = np.random.default_rng(5)
        n = 5000
        rows = ["id,a,b,c"]
        for i in range(n):
            a = "" if i % 97 == 0 else f"{rng.normal():.6f}"
            rows.append(f"{1000 + 3 * i},{a},{rng.choice(['x', 'y', 'z', 'w'])},{i % 11}")
        text = "\n".join(rows) + "\n"
        outs = [self.ingest(text, "--id-column", "id", "--categorical", "b", ranks=r,
                            name=f"ranks{r}")[0] for r in (1, 2, 3, 4)]
        for r, other in zip((2, 3, 4), outs[1:]):
            for key in ("id", "a", "b", "c"):
                np.testing.assert_array_equal(outs[0][key], other[key], err_msg=f"{key} at {r}")
        np.testing.assert_array_equal(outs[0]["id"], 1000 + 3 * np.arange(n))

    def test_segment_reads_numeric_features(self):
        rng = np.random.default_rng(1)
        rows = ["cid,x,y"] + [f"{i},{rng.normal():.4f},{rng.normal():.4f}" for i in range(200)]
        csv = write(os.path.join(self.dir, "seg.csv"), "\n".join(rows) + "\n")
        out = os.path.join(self.dir, "seg.h5")
        run(2, "ingest", "features", "--csv", csv, "--id-column", "cid", "--output", out)
        run_dir = os.path.join(self.dir, "segrun")
        run(2, "segment", "--input", out, "--k", 3, "--output", run_dir)
        with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
            np.testing.assert_array_equal(f["assignments/id"][...], np.arange(200))


class BadInput(unittest.TestCase):
    def setUp(self):
        self.dir = temp_dir()
        self.out = os.path.join(self.dir, "out.h5")

    def ingest(self, text, *args):
        csv = write(os.path.join(self.dir, "in.csv"), text)
        return run(3, "ingest", "features", "--csv", csv, "--output", self.out, *args,
                   check=False)

    def assert_fails(self, proc, *fragments):
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        for fragment in fragments:
            self.assertIn(fragment, proc.stderr)
        self.assertEqual(proc.stderr.count("microseg: error:"), 1, proc.stderr)
        self.assertFalse(os.path.exists(self.out))

    def long_table(self, bad_line=None, bad_text=None):
        lines = ["id,v,w"] + [f"{i},{i * 0.5},{i % 3}" for i in range(300)]
        if bad_line is not None:
            lines[bad_line - 1] = bad_text
        return "\n".join(lines) + "\n"

    def test_non_numeric_cell_names_line_and_column(self):
        self.assert_fails(self.ingest(self.long_table(280, "279,abc,1"), "--id-column", "id"),
                          "in.csv' line 280, column 2 ('v'): 'abc' is not a finite number",
                          "--categorical")

    def test_wrong_field_count(self):
        self.assert_fails(self.ingest(self.long_table(250, "249,1"), "--id-column", "id"),
                          "line 250: expected 3 fields, found 2")

    def test_duplicate_ids_name_both_lines(self):
        self.assert_fails(self.ingest(self.long_table(290, "7,1,1"), "--id-column", "id"),
                          "customer id 7 appears on lines 9 and 290")

    def test_skip_bad_rows(self):
        proc = self.ingest(self.long_table(100, "98,x,1"), "--id-column", "id",
                           "--skip-bad-rows")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("malformed and skipped 1", proc.stdout)
        self.assertEqual(read(self.out)["ingest"]["bad_rows_skipped"], 1)
        self.assertEqual(len(read(self.out)["id"]), 299)

    def test_header_problems(self):
        for text, args, fragment in [
                ("", ["--id-column", "id"], "is empty"),
                ("id,v\n", ["--id-column", "id"], "no data rows after its header"),
                ("cid,v\n1,2\n", ["--id-column", "id"], "'id' is not in the header"),
                ("cid,v,v\n1,2,3\n", ["--id-column", "cid"], "'v' appears twice"),
                ("cid,id\n1,2\n", ["--id-column", "cid"], "reserved for the customer id"),
                ("cid,a/b\n1,2\n", ["--id-column", "cid"], "cannot name a dataset"),
                ("cid\n1\n", ["--id-column", "cid"], "no feature columns"),
                ("cid,v\n1,2\n", ["--id-column", "cid", "--categorical", "cid"], "id column"),
                ("cid,v\n1,2\n", ["--id-column", "cid", "--categorical", "w"], "'w'")]:
            with self.subTest(text=text, args=args):
                self.assert_fails(self.ingest(text, *args), fragment)


if __name__ == "__main__":
    unittest.main(verbosity=2)
