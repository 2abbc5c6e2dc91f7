"""Two runs over time: segment ids stay put, and the migration recovers exactly the changes made
between the two customer tables.

The first table comes from `microseg generate` with well separated planted segments, so each run
recovers the planted segments exactly (checked first: adjusted Rand index 1 against them). The
second table is built from the first with h5py: a known set of customers is moved to another
planted segment (their features replaced by those of a customer of that segment), some are
removed, some are added, two planted segments are left untouched, and the rows are shuffled. The
second run then has to report exactly those moves, new and lost customers, keep every segment's
id, and write the same tables whatever the rank counts of the two runs.
"""
import os
import sys
import unittest

import h5py
import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import read_planted, read_table, run, temp_dir, write_matrix  # noqa: E402

CUSTOMERS = 8000
SEGMENTS = 6
UNTOUCHED = (0, 1)  # planted segments whose customers are left exactly as they were
TOUCHED = (2, 3, 4, 5)
MOVED, REMOVED, ADDED = 150, 120, 100


def assignments(run_dir):
    with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
        return pd.DataFrame({"id": f["assignments/id"][...],
                             "segment": f["assignments/segment"][...],
                             "distance": f["assignments/distance"][...]})


def migration_datasets(run_dir):
    """Every dataset and attribute under /migration (and /model), by path."""
    out = {}
    with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
        for group in ("migration", "model"):
            def visit(name, obj, group=group):
                if isinstance(obj, h5py.Dataset):
                    out[f"{group}/{name}"] = obj[...]
                for key, value in obj.attrs.items():
                    out[f"{group}/{name}@{key}"] = value
            f[group].visititems(visit)
            for key, value in f[group].attrs.items():
                out[f"{group}@{key}"] = value
    out.pop("migration@previous_run")  # the path of the previous run differs on purpose
    return out


def planted_to_segment(planted, segments):
    """The run's segment id of each planted segment; requires an exact recovery."""
    ari = adjusted_rand_score(planted, segments)
    assert ari == 1.0, f"the run did not recover the planted segments exactly (ARI {ari})"
    mapping = {}
    for p in np.unique(planted):
        ids = np.unique(segments[planted == p])
        assert len(ids) == 1
        mapping[int(p)] = int(ids[0])
    return mapping


def first_quarter(d, customers, seed):
    """DIR/q1.h5 with 5 well separated planted segments (generated with `seed`) and its run
    DIR/run1 (k = 5, seed 3, 2 ranks): (ids, x, names, planted, run1, segment_of)."""
    first = os.path.join(d, "q1.h5")
    run(2, "generate", "--customers", customers, "--segments", 5, "--separation", 12, "--seed",
        seed, "--output", first)
    ids, x, names = read_table(first)
    planted = read_planted(first)
    run1 = os.path.join(d, "run1")
    run(2, "segment", "--input", first, "--k", 5, "--seed", 3, "--output", run1)
    segment_of = planted_to_segment(planted, assignments(run1)["segment"].to_numpy())
    return ids, x, names, planted, run1, segment_of


def write_table(path, ids, features, names, planted):
    write_matrix(path, ids, features, names, dtype=np.float32)
    with h5py.File(path, "a") as f:
        f["customers/planted_segment"] = np.asarray(planted, dtype=np.int32)


class MigrationBetweenTwoRuns(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = cls.dir = temp_dir()
        cls.first = os.path.join(d, "q1.h5")
        run(2, "generate", "--customers", CUSTOMERS, "--segments", SEGMENTS, "--separation", 12,
            "--seed", 5, "--output", cls.first)
        ids, x, names = read_table(cls.first)
        planted = read_planted(cls.first)
        cls.names = names

        # Run 1 at 3 ranks (and again at 1 rank, for a previous run made on another rank count).
        cls.run1 = os.path.join(d, "run1")
        run(3, "segment", "--input", cls.first, "--k", SEGMENTS, "--seed", 1, "--output", cls.run1)
        cls.run1_one_rank = os.path.join(d, "run1-1rank")
        run(1, "segment", "--input", cls.first, "--k", SEGMENTS, "--seed", 1, "--output",
            cls.run1_one_rank)
        first = assignments(cls.run1)
        np.testing.assert_array_equal(first["id"], ids)
        cls.segment_of = planted_to_segment(planted, first["segment"].to_numpy())

        # The second table: moves, removals and additions inside the touched planted segments.
        rng = np.random.default_rng(2026)
        touched_rows = np.flatnonzero(np.isin(planted, TOUCHED))
        moved = rng.choice(touched_rows, MOVED, replace=False)
        removed = rng.choice(np.setdiff1d(touched_rows, moved), REMOVED, replace=False)
        donors = {t: np.setdiff1d(np.flatnonzero(planted == t), np.union1d(moved, removed))
                  for t in TOUCHED}
        x2, planted2 = x.copy(), planted.copy()
        cls.moves = {}
        for row in moved:
            target = int(rng.choice([t for t in TOUCHED if t != planted[row]]))
            x2[row] = x[rng.choice(donors[target])]
            planted2[row] = target
            cls.moves[int(ids[row])] = (cls.segment_of[int(planted[row])], cls.segment_of[target])
        added_planted = rng.choice(TOUCHED, ADDED)
        added_x = np.stack([x[rng.choice(donors[int(t)])] for t in added_planted])
        added_ids = ids.max() + 1 + np.arange(ADDED)
        keep = np.setdiff1d(np.arange(len(ids)), removed)
        ids2 = np.concatenate([ids[keep], added_ids])
        x2 = np.concatenate([x2[keep], added_x])
        planted2 = np.concatenate([planted2[keep], added_planted])
        order = rng.permutation(len(ids2))  # a different customer order than the first table
        cls.second = os.path.join(d, "q2.h5")
        write_table(cls.second, ids2[order], x2[order], names, planted2[order])
        cls.removed_ids = ids[removed]
        cls.removed_segments = [cls.segment_of[int(p)] for p in planted[removed]]
        cls.added_ids = added_ids
        cls.added_segments = [cls.segment_of[int(p)] for p in added_planted]
        cls.planted2 = dict(zip(ids2.tolist(), planted2.tolist()))

        # Run 2 against run 1 on 2 and on 4 ranks, and against the 1-rank run 1 on 1 rank.
        cls.run2 = {}
        for ranks, previous in ((2, cls.run1), (4, cls.run1), (1, cls.run1_one_rank)):
            out = os.path.join(d, f"run2-{ranks}")
            proc = run(ranks, "segment", "--input", cls.second, "--k", SEGMENTS, "--seed", 11,
                       "--previous", previous, "--output", out)
            cls.run2[ranks] = out
        cls.log = proc.stdout
        cls.first_assignments = first
        cls.second_assignments = assignments(cls.run2[2])
        with h5py.File(os.path.join(cls.run2[2], "segments.h5"), "r") as f:
            cls.counts = f["migration/counts"][...]
            cls.prev_labels = f["migration/counts"].attrs["prev_segment_ids"]
            cls.new_labels = f["migration/counts"].attrs["new_segment_ids"]
            cls.attrs = dict(f["migration"].attrs)
            cls.moves_found = pd.DataFrame({
                key: f["migration/moves"][key][...]
                for key in ("id", "previous_segment", "new_segment", "previous_distance",
                            "new_distance", "at_risk")})
            cls.value_mean = dict(zip(f["profiles/segment_id"][...],
                                      f["profiles/value_mean"][...]))
            cls.fresh = f["migration/fresh_segment_ids"][...]
            cls.retired = f["migration/retired_segment_ids"][...]

    def count(self, previous, new):
        """The counts cell of previous id (None: new customers) and new id (None: lost)."""
        row = list(self.prev_labels).index(-1 if previous is None else previous)
        col = list(self.new_labels).index(-1 if new is None else new)
        return self.counts[row, col]

    def test_second_run_recovers_the_changed_planted_segments(self):
        second = self.second_assignments
        planted = np.array([self.planted2[i] for i in second["id"]])
        self.assertEqual(adjusted_rand_score(planted, second["segment"]), 1.0)

    def test_every_segment_keeps_its_id(self):
        second = self.second_assignments
        expected = [self.segment_of[self.planted2[i]] for i in second["id"]]
        np.testing.assert_array_equal(second["segment"], expected)
        self.assertEqual(len(self.fresh), 0)
        self.assertEqual(len(self.retired), 0)

    def test_untouched_segments_keep_their_id_and_their_customers(self):
        first, second = self.first_assignments, self.second_assignments
        for planted in UNTOUCHED:
            segment = self.segment_of[planted]
            before = set(first["id"][first["segment"] == segment])
            after = set(second["id"][second["segment"] == segment])
            self.assertEqual(before, after, f"planted segment {planted} (id {segment})")
            self.assertEqual(self.count(segment, segment), len(before))

    def test_moves_are_exactly_the_moved_customers(self):
        found = {int(r.id): (int(r.previous_segment), int(r.new_segment))
                 for r in self.moves_found.itertuples()}
        self.assertEqual(found, self.moves)
        self.assertEqual(self.attrs["moved_customers"], MOVED)

    def test_counts_matrix_holds_stayed_moved_new_and_lost_customers(self):
        moved_between = pd.Series(list(self.moves.values())).value_counts()
        first = self.first_assignments
        common = first[~first["id"].isin(self.removed_ids)]
        for previous in self.prev_labels[:-1]:
            for new in self.new_labels[:-1]:
                if previous == new:
                    stayed = ((common["segment"] == previous) &
                              ~common["id"].isin(list(self.moves))).sum()
                    self.assertEqual(self.count(previous, new), stayed)
                else:
                    self.assertEqual(self.count(previous, new),
                                     moved_between.get((previous, new), 0), (previous, new))
        lost = pd.Series(self.removed_segments).value_counts()
        joined = pd.Series(self.added_segments).value_counts()
        for segment in self.prev_labels[:-1]:
            self.assertEqual(self.count(segment, None), lost.get(segment, 0))
        for segment in self.new_labels[:-1]:
            self.assertEqual(self.count(None, segment), joined.get(segment, 0))
        self.assertEqual(self.count(None, None), 0)
        self.assertEqual(self.attrs["lost_customers"], REMOVED)
        self.assertEqual(self.attrs["new_customers"], ADDED)
        self.assertEqual(self.attrs["common_customers"], CUSTOMERS - REMOVED)
        self.assertEqual(self.counts.sum(), CUSTOMERS + ADDED)

    def test_share_stayed_and_agreement_on_common_customers(self):
        common = self.first_assignments.merge(self.second_assignments, on="id",
                                              suffixes=("_1", "_2"))
        self.assertAlmostEqual(self.attrs["share_stayed"],
                               (CUSTOMERS - REMOVED - MOVED) / (CUSTOMERS - REMOVED), places=15)
        self.assertAlmostEqual(self.attrs["adjusted_rand_index"],
                               adjusted_rand_score(common["segment_1"], common["segment_2"]),
                               places=12)
        self.assertAlmostEqual(self.attrs["adjusted_mutual_information"],
                               adjusted_mutual_info_score(common["segment_1"],
                                                          common["segment_2"]), places=12)

    def test_moves_carry_both_distances_and_flag_moves_to_lower_value(self):
        found = self.moves_found.merge(self.first_assignments, on="id").merge(
            self.second_assignments, on="id", suffixes=("_1", "_2"))
        np.testing.assert_array_equal(found["previous_distance"], found["distance_1"])
        np.testing.assert_array_equal(found["new_distance"], found["distance_2"])
        lower = [self.value_mean[n] < self.value_mean[p]
                 for p, n in zip(found["previous_segment"], found["new_segment"])]
        np.testing.assert_array_equal(found["at_risk"].astype(bool), lower)
        self.assertEqual(self.attrs["at_risk_customers"], sum(lower))
        self.assertGreater(sum(lower), 0)
        self.assertLess(sum(lower), MOVED)

    def test_migration_csv_agrees_with_the_counts(self):
        flows = pd.read_csv(os.path.join(self.run2[2], "migration.csv")).set_index("segment")
        for segment in self.new_labels[:-1]:
            row = flows.loc[segment]
            previous_size = sum(self.count(segment, n if n >= 0 else None)
                                for n in self.new_labels)
            stayed = self.count(segment, segment)
            self.assertEqual(row["previous_size"], previous_size)
            self.assertEqual(row["stayed"], stayed)
            self.assertEqual(row["lost_customers"], self.count(segment, None))
            self.assertEqual(row["new_customers"], self.count(None, segment))
            self.assertEqual(row["net"], row["new_size"] - row["previous_size"])
            self.assertAlmostEqual(row["retention"], stayed / previous_size, places=15)
        matrix = pd.read_csv(os.path.join(self.run2[2], "migration_matrix.csv"),
                             index_col="previous_segment", dtype=str)
        self.assertEqual(matrix.loc["new", "lost"], "0")
        with h5py.File(os.path.join(self.run2[2], "segments.h5"), "r") as f:
            counts = f["migration/counts"][...]
        self.assertEqual(counts.sum(), CUSTOMERS + ADDED)
        # The shared matrix shows every count, except 1 to 9 customers as "<10"
        # (--privacy-min-count 10, the default), cell by cell in the same order.
        expected = [[f"<{10}" if 0 < c < 10 else str(c) for c in row] for row in counts]
        self.assertEqual(matrix.to_numpy().tolist(), expected)

    def test_tables_are_identical_for_any_rank_counts_of_the_two_runs(self):
        reference = migration_datasets(self.run2[2])
        self.assertIn("migration/counts", reference)
        self.assertGreater(len(reference["migration/at_risk/id"]), 0)
        for ranks in (4, 1):
            other = migration_datasets(self.run2[ranks])
            self.assertEqual(sorted(reference), sorted(other))
            for name, value in reference.items():
                with self.subTest(ranks=ranks, name=name):
                    np.testing.assert_array_equal(value, other[name])
            for csv in ("migration.csv", "migration_matrix.csv", "profiles.csv", "at_risk.csv"):
                with open(os.path.join(self.run2[2], csv), "rb") as a, \
                        open(os.path.join(self.run2[ranks], csv), "rb") as b:
                    self.assertEqual(a.read(), b.read(), csv)

    def test_log_summarises_the_migration(self):
        self.assertIn(f"{MOVED} moved", self.log)
        self.assertIn(f"{ADDED} new, {REMOVED} lost", self.log)


class FreshAndRetiredIds(unittest.TestCase):
    """A planted segment disappears (its id is retired), then comes back as new customers: it
    gets a fresh id, never the retired one."""

    @classmethod
    def setUpClass(cls):
        d = cls.dir = temp_dir()
        ids, x, names, planted, cls.run1, cls.segment_of = first_quarter(d, 5000, 6)
        gone = planted == 4
        cls.gone_id = cls.segment_of[4]
        without = os.path.join(d, "q2.h5")
        write_table(without, ids[~gone], x[~gone], names, planted[~gone])
        cls.run2 = os.path.join(d, "run2")
        run(3, "segment", "--input", without, "--k", 4, "--seed", 3, "--previous", cls.run1,
            "--output", cls.run2)
        back = os.path.join(d, "q3.h5")
        cls.returning_ids = ids.max() + 1 + np.arange(gone.sum())
        write_table(back, np.concatenate([ids[~gone], cls.returning_ids]),
                    np.concatenate([x[~gone], x[gone]]), names,
                    np.concatenate([planted[~gone], planted[gone]]))
        cls.run3 = os.path.join(d, "run3")
        run(2, "segment", "--input", back, "--k", 5, "--seed", 3, "--previous", cls.run2,
            "--output", cls.run3)

    def model(self, run_dir):
        with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
            return (list(f["model/segment_ids"][...]), int(f["model"].attrs["next_segment_id"]),
                    list(f["model/retired_segment_ids"][...]),
                    list(f["migration/fresh_segment_ids"][...]),
                    list(f["migration/retired_segment_ids"][...]))

    def test_a_vanished_segment_retires_its_id(self):
        segment_ids, next_id, retired, fresh, retired_now = self.model(self.run2)
        self.assertEqual(sorted(segment_ids), sorted(set(range(5)) - {self.gone_id}))
        self.assertEqual((next_id, retired, fresh, retired_now),
                         (5, [self.gone_id], [], [self.gone_id]))
        second = assignments(self.run2)
        self.assertNotIn(self.gone_id, set(second["segment"]))
        first = assignments(self.run1).merge(second, on="id", suffixes=("_1", "_2"))
        np.testing.assert_array_equal(first["segment_1"], first["segment_2"])

    def test_a_returning_segment_gets_a_fresh_id_never_the_retired_one(self):
        segment_ids, next_id, retired, fresh, retired_now = self.model(self.run3)
        self.assertEqual(fresh, [5])
        self.assertEqual(retired_now, [])
        self.assertEqual(retired, [self.gone_id])  # retired ids accumulate across runs
        self.assertEqual(next_id, 6)
        self.assertIn(5, segment_ids)
        self.assertNotIn(self.gone_id, segment_ids)
        third = assignments(self.run3)
        returning = third[third["id"].isin(self.returning_ids)]
        self.assertEqual(set(returning["segment"]), {5})
        self.assertEqual((third["segment"] == 5).sum(), len(self.returning_ids))
        with h5py.File(os.path.join(self.run3, "segments.h5"), "r") as f:
            counts = f["migration/counts"][...]
            new_labels = list(f["migration/counts"].attrs["new_segment_ids"])
        self.assertEqual(counts[-1, new_labels.index(5)], len(self.returning_ids))


class MatchDistanceCutoff(unittest.TestCase):
    """Same k in both runs, but one planted segment moved far away: the optimal matching still
    pairs it with its old self, and the cut-off breaks that pair, so the moved segment gets a
    fresh id and its old id is retired; the other segments keep theirs."""

    @classmethod
    def setUpClass(cls):
        d = cls.dir = temp_dir()
        ids, x, names, planted, cls.run1, cls.segment_of = first_quarter(d, 4000, 9)
        moved = planted == 2
        x2 = x.copy()
        for name in ("age", "novelty_seeking"):
            j = names.index(name)
            x2[moved, j] += 25 * x[:, j].std()
        second = os.path.join(d, "q2.h5")
        write_table(second, ids, x2, names, planted)
        cls.moved_ids = ids[moved]
        cls.run2 = os.path.join(d, "run2")
        cls.log = run(3, "segment", "--input", second, "--k", 5, "--seed", 3, "--previous",
                      cls.run1, "--output", cls.run2).stdout
        cls.run2_uncut = os.path.join(d, "run2-uncut")
        run(1, "segment", "--input", second, "--k", 5, "--seed", 3, "--previous", cls.run1,
            "--match-max-distance", "none", "--output", cls.run2_uncut)
        with h5py.File(os.path.join(cls.run1, "segments.h5"), "r") as f:
            cls.spread = np.sqrt(f["quality"].attrs["inertia"] / len(ids))

    def test_the_moved_segment_gets_a_fresh_id_and_its_old_id_is_retired(self):
        old = self.segment_of[2]
        second = assignments(self.run2)
        with h5py.File(os.path.join(self.run2, "segments.h5"), "r") as f:
            self.assertEqual(list(f["migration/fresh_segment_ids"][...]), [5])
            self.assertEqual(list(f["migration/retired_segment_ids"][...]), [old])
            self.assertEqual(list(f["model/retired_segment_ids"][...]), [old])
            self.assertEqual(f["model"].attrs["next_segment_id"], 6)
            self.assertAlmostEqual(f["migration"].attrs["match_max_distance"], 2 * self.spread,
                                   delta=1e-9 * self.spread)
            drift = dict(zip(f["migration/segments/segment_id"][...],
                             f["migration/segments/drift"][...]))
        self.assertTrue(np.isnan(drift[old]) and np.isnan(drift[5]))
        moved = second["id"].isin(self.moved_ids)
        self.assertEqual(set(second.loc[moved, "segment"]), {5})
        # Every other customer keeps the id of its planted segment.
        first = assignments(self.run1).merge(second, on="id", suffixes=("_1", "_2"))
        kept = ~first["id"].isin(self.moved_ids)
        np.testing.assert_array_equal(first.loc[kept, "segment_1"], first.loc[kept, "segment_2"])
        self.assertNotIn(old, set(second["segment"]))
        self.assertIn("1 of them matched beyond the cut-off", self.log)

    def test_without_a_cutoff_the_moved_segment_keeps_its_id(self):
        with h5py.File(os.path.join(self.run2_uncut, "segments.h5"), "r") as f:
            self.assertEqual(len(f["migration/fresh_segment_ids"]), 0)
            self.assertEqual(f["migration"].attrs["match_max_distance"], np.inf)
            drift = dict(zip(f["migration/segments/segment_id"][...],
                             f["migration/segments/drift"][...]))
        self.assertGreater(drift[self.segment_of[2]], 2 * self.spread)
        self.assertEqual(set(assignments(self.run2_uncut)["segment"]), set(range(5)))


class WarmStart(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = cls.dir = temp_dir()
        cls.data = os.path.join(d, "q1.h5")
        run(2, "generate", "--customers", 4000, "--segments", 5, "--separation", 4, "--seed", 8,
            "--output", cls.data)
        cls.run1 = os.path.join(d, "run1")
        run(2, "segment", "--input", cls.data, "--k", 5, "--seed", 2, "--log1p", "income,monetary",
            "--output", cls.run1)

    def test_warm_start_begins_at_the_previous_centroids(self):
        # One Lloyd step from converged centroids on the same data changes nothing, which a fresh
        # seeding followed by one step would not reproduce.
        out = os.path.join(self.dir, "warm")
        run(3, "segment", "--input", self.data, "--previous", self.run1, "--warm-start",
            "--log1p", "income,monetary", "--max-iter", 1, "--output", out)
        with h5py.File(os.path.join(self.run1, "segments.h5"), "r") as a, \
                h5py.File(os.path.join(out, "segments.h5"), "r") as b:
            self.assertEqual(b["run"].attrs["k"], 5)
            self.assertEqual(b["run"].attrs["warm_start"], 1)
            self.assertEqual(b["run"].attrs["iterations"], 1)
            np.testing.assert_array_equal(a["assignments/segment"][...],
                                          b["assignments/segment"][...])
            np.testing.assert_allclose(a["centroids/original"][...], b["centroids/original"][...],
                                       rtol=1e-6)
            self.assertEqual(b["migration"].attrs["share_stayed"], 1.0)
        cold = os.path.join(self.dir, "cold")
        run(3, "segment", "--input", self.data, "--previous", self.run1, "--k", 5,
            "--log1p", "income,monetary", "--max-iter", 1, "--output", cold)
        with h5py.File(os.path.join(cold, "segments.h5"), "r") as f:
            self.assertLess(f["migration"].attrs["share_stayed"], 1.0)

    def test_warm_start_with_more_segments_adds_keyed_kmeans_plus_plus_seeds(self):
        outs = {}
        for ranks in (1, 3):
            outs[ranks] = os.path.join(self.dir, f"warm-more-{ranks}")
            run(ranks, "segment", "--input", self.data, "--previous", self.run1, "--warm-start",
                "--k", 7, "--log1p", "income,monetary", "--output", outs[ranks])
        one, three = (h5py.File(os.path.join(outs[r], "segments.h5"), "r") for r in (1, 3))
        with one, three:
            self.assertEqual(one["run"].attrs["k"], 7)
            for name in ("assignments/segment", "centroids/scaled", "model/segment_ids"):
                np.testing.assert_array_equal(one[name][...], three[name][...], name)
            # The five previous segments stay where they were and keep their ids.
            self.assertEqual(sorted(one["model/segment_ids"][...]), list(range(7)))
            self.assertEqual(list(one["migration/fresh_segment_ids"][...]), [5, 6])
            self.assertEqual(len(one["migration/retired_segment_ids"]), 0)

    def test_warm_start_with_fewer_segments_keeps_the_largest_previous_ones(self):
        out = os.path.join(self.dir, "warm-fewer")
        run(2, "segment", "--input", self.data, "--previous", self.run1, "--warm-start",
            "--k", 3, "--max-iter", 1, "--match-max-distance", "none",
            "--log1p", "income,monetary", "--output", out)
        with h5py.File(os.path.join(self.run1, "segments.h5"), "r") as f:
            sizes = dict(zip(f["profiles/segment_id"][...], f["profiles/size"][...]))
        largest = sorted(sorted(sizes, key=lambda s: (-sizes[s], s))[:3])
        with h5py.File(os.path.join(out, "segments.h5"), "r") as f:
            self.assertEqual(f["run"].attrs["k"], 3)
            self.assertEqual(sorted(f["model/segment_ids"][...]), largest)
            self.assertEqual(sorted(f["migration/retired_segment_ids"][...]),
                             sorted(set(sizes) - set(largest)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
