"""Two-level runs quarter after quarter (`segment --macro-k M --previous DIR`): stable ids at both
levels, the migration at both levels and each move flagged inside or across macro segments.

The first quarter comes from `microseg generate --macro-segments 4` (12 planted micro-segments,
3 in each planted macro segment, far apart at both levels). The second is a copy written with
h5py in which known customers move: some to another planted micro-segment of the same planted
macro segment (their features replaced by a donor's there), some to a planted micro-segment of
another planted macro segment; some customers are removed, some added, and the rows shuffled.
Every table is checked against counts the test computes itself from both runs' assignments
(pandas), and the outputs are bit-identical on 1 to 4 ranks (h5diff, no tolerance). A small
hand-made table shows a micro-segment whose customers now sit in the other macro segment keeping
its id there. Mixed levels (flat then two-level, two-level then flat) and a broken previous run
are covered at the end.
"""
import json
import os
import shutil
import sys
import unittest

import h5py
import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import h5diff, read_table, run, temp_dir, write_matrix  # noqa: E402

MACRO, MICRO = 4, 12
CUSTOMERS = 9000
WITHIN, ACROSS, REMOVED, ADDED = 120, 140, 110, 90
OPTIONS = ["--macro-k", MACRO, "--k", MICRO, "--micro-k-rule", "sweep", "--restarts", 2,
           "--seed", 3, "--silhouette-sample", 1000]


def assignments(run_dir):
    with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
        frame = {"id": f["assignments/id"][()], "segment": f["assignments/segment"][()]}
        if "macro_segment" in f["assignments"]:
            frame["macro"] = f["assignments/macro_segment"][()]
        return pd.DataFrame(frame)


def dominant(labels, planted):
    """The most frequent label of each planted segment."""
    frame = pd.DataFrame({"label": labels, "planted": planted})
    return frame.groupby("planted")["label"].agg(lambda s: s.value_counts().idxmax()).to_dict()


def crosstab(first, second, column):
    """Customers by previous and new label of `column` over the outer join by id, new customers
    in the row labelled -1 and lost ones in the column labelled -1 (microseg's layout)."""
    both = first.merge(second, on="id", how="outer", suffixes=("_1", "_2"))
    previous = both[f"{column}_1"].fillna(-1).astype(np.int64)
    new = both[f"{column}_2"].fillna(-1).astype(np.int64)
    return pd.crosstab(previous, new)


def stored_matrix(run_dir, name):
    with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
        d = f[f"migration/{name}"]
        return pd.DataFrame(d[()], index=d.attrs["prev_segment_ids"],
                            columns=d.attrs["new_segment_ids"])


def write_quarter(path, ids, x, names, planted, planted_macro):
    write_matrix(path, ids, x, names, dtype=np.float32)
    with h5py.File(path, "a") as f:
        f["customers/planted_segment"] = np.asarray(planted, dtype=np.int32)
        f["customers/planted_macro_segment"] = np.asarray(planted_macro, dtype=np.int32)


class TwoLevelRunsOverTime(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = cls.dir = temp_dir()
        cls.q1 = os.path.join(d, "q1.h5")
        run(2, "generate", "--customers", CUSTOMERS, "--segments", MICRO, "--separation", 24,
            "--macro-segments", MACRO, "--macro-separation", 60, "--seed", 7, "--output", cls.q1)
        ids, x, names = read_table(cls.q1)
        with h5py.File(cls.q1, "r") as f:
            planted = f["customers/planted_segment"][()]
            planted_macro = f["customers/planted_macro_segment"][()]
        cls.run1 = os.path.join(d, "run1")
        run(2, "segment", "--input", cls.q1, "--output", cls.run1, *OPTIONS)
        cls.first = assignments(cls.run1)
        np.testing.assert_array_equal(cls.first["id"], ids)
        # The same data again against run 1: nothing may move.
        cls.rerun = os.path.join(d, "rerun")
        run(3, "segment", "--input", cls.q1, "--output", cls.rerun, "--previous", cls.run1,
            *OPTIONS)

        # Movers and donors are customers run 1 put with the rest of their planted segment.
        micro_of = dominant(cls.first["segment"], planted)
        core = np.flatnonzero(cls.first["segment"].to_numpy() ==
                              np.array([micro_of[p] for p in planted]))
        rng = np.random.default_rng(2026)
        movers = rng.choice(core, WITHIN + ACROSS, replace=False)
        cls.within_ids, cls.across_ids = ids[movers[:WITHIN]], ids[movers[WITHIN:]]
        removed = rng.choice(np.setdiff1d(np.arange(len(ids)), movers), REMOVED, replace=False)
        donors = {t: np.setdiff1d(core[planted[core] == t], np.union1d(movers, removed))
                  for t in range(MICRO)}
        x2, planted2 = x.copy(), planted.copy()
        for n, row in enumerate(movers):
            same = [t for t in range(MICRO) if t % MACRO == planted[row] % MACRO and
                    t != planted[row]]
            other = [t for t in range(MICRO) if t % MACRO != planted[row] % MACRO]
            target = int(rng.choice(same if n < WITHIN else other))
            x2[row] = x[rng.choice(donors[target])]
            planted2[row] = target
        added_planted = rng.choice(MICRO, ADDED)
        added_x = np.stack([x[rng.choice(donors[int(t)])] for t in added_planted])
        keep = np.setdiff1d(np.arange(len(ids)), removed)
        ids2 = np.concatenate([ids[keep], ids.max() + 1 + np.arange(ADDED)])
        x2 = np.concatenate([x2[keep], added_x])
        planted2 = np.concatenate([planted2[keep], added_planted])
        order = rng.permutation(len(ids2))
        cls.q2 = os.path.join(d, "q2.h5")
        write_quarter(cls.q2, ids2[order], x2[order], names, planted2[order],
                      planted2[order] % MACRO)
        cls.planted = dict(zip(ids.tolist(), planted.tolist()))
        cls.planted2 = dict(zip(ids2.tolist(), planted2.tolist()))

        cls.run2 = {}
        for ranks in (1, 2, 3, 4):
            out = os.path.join(d, f"run2-{ranks}")
            proc = run(ranks, "segment", "--input", cls.q2, "--output", out, "--previous",
                       cls.run1, *OPTIONS)
            cls.run2[ranks] = out
            if ranks == 2:
                cls.log = proc.stdout
        cls.out = cls.run2[2]
        cls.second = assignments(cls.out)
        with h5py.File(os.path.join(cls.out, "segments.h5"), "r") as f:
            cls.attrs = dict(f["migration"].attrs)
            cls.moves = pd.DataFrame({key: f[f"migration/moves/{key}"][()] for key in (
                "id", "previous_segment", "new_segment", "previous_macro_segment",
                "new_macro_segment", "across_macro")})

    def test_a_rerun_of_the_same_data_keeps_every_id_and_reports_no_move(self):
        second = assignments(self.rerun)
        np.testing.assert_array_equal(second["segment"], self.first["segment"])
        np.testing.assert_array_equal(second["macro"], self.first["macro"])
        with h5py.File(os.path.join(self.rerun, "segments.h5"), "r") as f:
            m = f["migration"]
            for name in ("moved_customers", "macro_moved_customers",
                         "moved_within_macro_customers", "moved_across_macro_customers"):
                self.assertEqual(m.attrs[name], 0, name)
            self.assertEqual(m.attrs["macro_share_stayed"], 1.0)
            for name in ("fresh_segment_ids", "retired_segment_ids", "macro_fresh_segment_ids",
                         "macro_retired_segment_ids"):
                self.assertEqual(len(m[name]), 0, name)
            self.assertEqual(len(m["moves/id"]), 0)
            counts = m["macro_counts"][()]
            self.assertEqual(np.trace(counts[:-1, :-1]), CUSTOMERS)
            with h5py.File(os.path.join(self.run1, "segments.h5"), "r") as g:
                for name in ("model/segment_ids", "model/macro/segment_ids",
                             "model/macro_of_segment"):
                    np.testing.assert_array_equal(f[name][()], g[name][()], name)

    def test_the_macro_level_is_recovered_and_keeps_its_ids(self):
        planted_macro_1 = np.array([self.planted[i] % MACRO for i in self.first["id"]])
        planted_macro_2 = np.array([self.planted2[i] % MACRO for i in self.second["id"]])
        self.assertEqual(adjusted_rand_score(planted_macro_1, self.first["macro"]), 1.0)
        self.assertEqual(adjusted_rand_score(planted_macro_2, self.second["macro"]), 1.0)
        self.assertEqual(dominant(self.first["macro"], planted_macro_1),
                         dominant(self.second["macro"], planted_macro_2))
        with h5py.File(os.path.join(self.out, "segments.h5"), "r") as f:
            self.assertEqual(len(f["migration/macro_fresh_segment_ids"]), 0)
            self.assertEqual(len(f["migration/macro_retired_segment_ids"]), 0)

    def test_micro_ids_stay_with_their_planted_segments(self):
        first = dominant(self.first["segment"], [self.planted[i] for i in self.first["id"]])
        second = dominant(self.second["segment"], [self.planted2[i] for i in self.second["id"]])
        self.assertEqual(first, second)
        self.assertGreater(self.attrs["share_stayed"], 0.95)

    def test_migration_counts_at_both_levels_are_the_crosstabs_of_the_assignments(self):
        for name, column in (("counts", "segment"), ("macro_counts", "macro")):
            stored = stored_matrix(self.out, name)
            expected = crosstab(self.first, self.second, column)
            expected = expected.reindex(index=stored.index, columns=stored.columns, fill_value=0)
            np.testing.assert_array_equal(stored.to_numpy(), expected.to_numpy(), name)
        self.assertEqual(self.attrs["lost_customers"], REMOVED)
        self.assertEqual(self.attrs["new_customers"], ADDED)
        csv = pd.read_csv(os.path.join(self.out, "macro_migration_matrix.csv"),
                          index_col="previous_macro_segment", dtype=str)
        # The shared matrix: every count, 1 to 9 customers as "<10" (--privacy-min-count 10).
        shown = [["<10" if 0 < c < 10 else str(c) for c in row]
                 for row in stored_matrix(self.out, "macro_counts").to_numpy()]
        self.assertEqual(csv.to_numpy().tolist(), shown)
        flows = pd.read_csv(os.path.join(self.out, "macro_migration.csv")).set_index("macro_segment")
        both = self.first.merge(self.second, on="id", suffixes=("_1", "_2"))
        for macro, row in flows.iterrows():
            self.assertEqual(row["stayed"], ((both["macro_1"] == macro) &
                                             (both["macro_2"] == macro)).sum())
            self.assertEqual(row["new_size"], (self.second["macro"] == macro).sum())

    def test_moves_carry_both_macro_segments_and_the_across_flag(self):
        both = self.first.merge(self.second, on="id", suffixes=("_1", "_2"))
        moved = both[both["segment_1"] != both["segment_2"]]
        found = self.moves.set_index("id").loc[moved["id"]]
        self.assertEqual(len(self.moves), len(moved))
        np.testing.assert_array_equal(found["previous_macro_segment"], moved["macro_1"])
        np.testing.assert_array_equal(found["new_macro_segment"], moved["macro_2"])
        across = (moved["macro_1"] != moved["macro_2"]).to_numpy()
        np.testing.assert_array_equal(found["across_macro"].astype(bool), across)
        self.assertEqual(self.attrs["moved_across_macro_customers"], across.sum())
        self.assertEqual(self.attrs["moved_within_macro_customers"], (~across).sum())
        self.assertEqual(self.attrs["macro_moved_customers"],
                         (both["macro_1"] != both["macro_2"]).sum())

    def test_known_movers_are_flagged_by_kind(self):
        moves = self.moves.set_index("id")
        for ids, across in ((self.across_ids, 1), (self.within_ids, 0)):
            listed = moves.loc[moves.index.intersection(ids)]
            self.assertGreaterEqual(len(listed), 0.95 * len(ids))
            self.assertTrue((listed["across_macro"] == across).all(), listed)
        self.assertGreaterEqual(self.attrs["moved_across_macro_customers"], 0.95 * ACROSS)
        self.assertGreaterEqual(self.attrs["moved_within_macro_customers"], 0.95 * WITHIN)

    def test_outputs_are_bit_identical_on_1_to_4_ranks(self):
        reference = os.path.join(self.run2[1], "segments.h5")
        for ranks in (2, 3, 4):
            with self.subTest(ranks=ranks):
                status, report = h5diff(reference, os.path.join(self.run2[ranks], "segments.h5"),
                                        exclude_attributes=["/run"])
                self.assertEqual(status, 0, report)
                for name in ("migration.csv", "migration_matrix.csv", "at_risk.csv",
                             "macro_migration.csv", "macro_migration_matrix.csv", "profiles.csv"):
                    with open(os.path.join(self.run2[1], name), "rb") as a, \
                            open(os.path.join(self.run2[ranks], name), "rb") as b:
                        self.assertEqual(a.read(), b.read(), name)

    def test_summary_and_manifest_count_each_kind_of_move(self):
        within = self.attrs["moved_within_macro_customers"]
        across = self.attrs["moved_across_macro_customers"]
        self.assertIn(f"micro moves: {within} inside their macro segment, {across} across macro "
                      "segments", self.log)
        self.assertIn("macro segments keep their ids", self.log)
        with open(os.path.join(self.out, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual(manifest["migration"]["moved_within_macro_customers"], within)
        self.assertEqual(manifest["migration"]["moved_across_macro_customers"], across)
        self.assertEqual(manifest["migration"]["macro_moved_customers"],
                         self.attrs["macro_moved_customers"])
        listed = {entry["file"] for entry in manifest["outputs"]}
        self.assertTrue({"macro_migration.csv", "macro_migration_matrix.csv"} <= listed)

    def test_mixed_levels_compare_the_micro_level_only(self):
        flat = os.path.join(self.dir, "flat")
        run(2, "segment", "--input", self.q1, "--k", MICRO, "--seed", 3, "--output", flat)
        # A two-level run after a flat one: macro ids as a first run's, micro ids kept.
        after_flat = os.path.join(self.dir, "two-level-after-flat")
        proc = run(2, "segment", "--input", self.q1, "--output", after_flat, "--previous", flat,
                   *OPTIONS)
        self.assertIn("has one level", proc.stdout)
        with h5py.File(os.path.join(after_flat, "segments.h5"), "r") as f:
            self.assertNotIn("macro_counts", f["migration"])
            self.assertNotIn("across_macro", f["migration/moves"])
            np.testing.assert_array_equal(f["model/macro/segment_ids"][()], np.arange(MACRO))
        self.assertFalse(os.path.exists(os.path.join(after_flat, "macro_migration.csv")))
        flat_labels = assignments(flat)["segment"]
        both = assignments(after_flat)["segment"]
        self.assertEqual(dominant(both, flat_labels), {s: s for s in set(flat_labels)})
        # A flat run after a two-level one keeps the micro ids.
        flat_after = os.path.join(self.dir, "flat-after-two-level")
        proc = run(2, "segment", "--input", self.q2, "--k", MICRO, "--seed", 3, "--output",
                   flat_after, "--previous", self.run1)
        self.assertIn("is two-level", proc.stdout)
        with h5py.File(os.path.join(flat_after, "segments.h5"), "r") as f:
            self.assertNotIn("macro_counts", f["migration"])
            self.assertGreater(f["migration"].attrs["share_stayed"], 0.9)

    def test_a_broken_previous_run_is_refused_with_nothing_written(self):
        def copy_without(name, path):
            broken = os.path.join(self.dir, name)
            shutil.copytree(self.run1, broken)
            with h5py.File(os.path.join(broken, "segments.h5"), "a") as f:
                del f[path]
            return broken

        no_file = os.path.join(self.dir, "no-segments")
        os.makedirs(no_file, exist_ok=True)
        cases = [
            ([no_file], "holds no segments.h5"),
            ([copy_without("no-macro-centroids", "model/macro/centroids")],
             "/model/macro/centroids"),
            ([copy_without("no-macro-quality", "macro/quality")], "/macro/quality"),
            ([self.run1, "--features", "age,income,monetary"], "segmented other features"),
        ]
        for n, (extra, fragment) in enumerate(cases):
            out = os.path.join(self.dir, f"refused-{n}")
            with self.subTest(fragment=fragment):
                proc = run(2, "segment", "--input", self.q2, "--output", out, *OPTIONS,
                           "--previous", *extra, check=False)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(fragment, proc.stderr)
                self.assertFalse(os.path.exists(os.path.join(out, "segments.h5")))
                self.assertFalse(os.path.exists(os.path.join(out, "migration.csv")))


class MicroSegmentFollowsItsCustomers(unittest.TestCase):
    """Two macro segments along a line: A holds micro-segments at 0, 10 and a bridge at 49, B
    holds 90 and 100. In the second quarter the bridge sits at 51, now nearer B's centre: it
    moves to macro segment B, keeps its micro id there, and its customers count as moved at the
    macro level but stayed at the micro level."""

    CENTRES = {0: 0.0, 1: 10.0, 2: 49.0, 3: 90.0, 4: 100.0}
    PER_SEGMENT = 400

    @classmethod
    def table(cls, path, bridge):
        rng = np.random.default_rng(11)
        planted = np.repeat(np.arange(5), cls.PER_SEGMENT)
        centres = np.array([cls.CENTRES[p] if p != 2 else bridge for p in planted])
        x = np.column_stack([centres + rng.normal(0, 1, len(planted)),
                             rng.normal(0, 1, len(planted))])
        ids = 1000 + np.arange(len(planted))
        write_matrix(path, ids, x, ["position", "noise"], dtype=np.float32)
        return ids, planted

    @classmethod
    def setUpClass(cls):
        d = temp_dir()
        options = ["--macro-k", 2, "--k", 5, "--micro-k-rule", "proportional", "--scale", "none",
                   "--restarts", 3, "--seed", 1, "--init", "kmeans++"]
        cls.ids, cls.planted = cls.table(os.path.join(d, "q1.h5"), 49.0)
        cls.table(os.path.join(d, "q2.h5"), 51.0)
        cls.run1, cls.run2 = os.path.join(d, "run1"), os.path.join(d, "run2")
        run(2, "segment", "--input", os.path.join(d, "q1.h5"), "--output", cls.run1, *options)
        run(3, "segment", "--input", os.path.join(d, "q2.h5"), "--output", cls.run2,
            "--previous", cls.run1, *options)

    def test_the_bridge_keeps_its_id_in_the_other_macro_segment(self):
        first, second = assignments(self.run1), assignments(self.run2)
        bridge = self.planted == 2
        self.assertEqual(first["segment"][bridge].nunique(), 1)
        bridge_id = first["segment"][bridge].iloc[0]
        np.testing.assert_array_equal(second["segment"], first["segment"])
        macro_a = first["macro"][self.planted == 0].iloc[0]
        macro_b = first["macro"][self.planted == 4].iloc[0]
        self.assertTrue((first["macro"][bridge] == macro_a).all())
        self.assertTrue((second["macro"][bridge] == macro_b).all())
        self.assertTrue((second["macro"][~bridge] == first["macro"][~bridge]).all())
        with h5py.File(os.path.join(self.run2, "segments.h5"), "r") as f:
            segment_ids = list(f["model/segment_ids"][()])
            self.assertEqual(f["model/macro_of_segment"][segment_ids.index(bridge_id)], macro_b)
            m = f["migration"].attrs
            self.assertEqual(m["moved_customers"], 0)
            self.assertEqual(m["moved_across_macro_customers"], 0)
            self.assertEqual(m["macro_moved_customers"], self.PER_SEGMENT)
            counts = f["migration/macro_counts"]
            row = list(counts.attrs["prev_segment_ids"]).index(macro_a)
            col = list(counts.attrs["new_segment_ids"]).index(macro_b)
            self.assertEqual(counts[row, col], self.PER_SEGMENT)


if __name__ == "__main__":
    unittest.main(verbosity=2)
