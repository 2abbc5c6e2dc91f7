"""The batch scripts of scripts/slurm/ on a real single-node Slurm started by this test.

The test installs the Debian packages it needs if they are missing (scripts/install-deps.sh
--slurm), starts munged as the munge user with a fresh key, then slurmctld and slurmd as root with
a generated slurm.conf (the node line from `slurmd -C`, free ports, a private munge socket), and
submits the scripts with sbatch on generated data: segment.sbatch, a sweep as a job array with its
merge step (--dependency=afterok), a sweep task that gets the time-limit signal and is requeued,
and quarterly.sbatch. It stops the daemons it started, by their pids.

It skips (exit status 77, which CTest reports as skipped, with the reason printed) when it cannot
start the daemons: not run as root, or the Slurm packages are missing and cannot be installed.
Run as root with Slurm installed, a daemon that does not start is a failure. Leave it out locally
with `ctest -LE slurm`.
"""
import csv
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import MICROSEG, run  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPTS = os.path.join(REPO, "scripts", "slurm")
DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "srun", "scontrol")
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
            "BOOT_FAIL", "DEADLINE", "PREEMPTED"}
WAIT = float(os.environ.get("MICROSEG_SLURM_WAIT", "150"))  # seconds for one job to finish


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_date(state):
    """The day a job started (YYYY-MM-DD), from scontrol's StartTime: the date in its run
    directory's name."""
    return state[3][:10]


def text(path):
    with open(path) as f:
        return f.read()


class SlurmCluster:
    """munged, slurmctld and slurmd on this host, in a private directory, until stop()."""

    def __init__(self, root):
        self.root = root
        self.daemons = []  # (name, Popen), in start order
        os.makedirs(root)
        # munged runs as the munge user and insists that its socket's directories are reachable.
        for path in (os.path.dirname(root), root):
            os.chmod(path, 0o755)
        self.conf = os.path.join(root, "slurm.conf")
        self.env = dict(os.environ, SLURM_CONF=self.conf)

    def log(self, name):
        return os.path.join(self.root, "log", name)

    def start(self):
        for sub in ("log", "state", "spool"):
            os.makedirs(os.path.join(self.root, sub))
        self._start_munge()
        self._write_conf()
        self._start("slurmctld", ["slurmctld", "-D", "-f", self.conf])
        self._start("slurmd", ["slurmd", "-D", "-f", self.conf])
        deadline = time.time() + 60
        state = ""
        while time.time() < deadline:
            proc = subprocess.run(["sinfo", "-h", "-o", "%t"], env=self.env, capture_output=True,
                                  text=True)
            state = proc.stdout.strip()
            if proc.returncode == 0 and state in ("idle", "mix", "alloc"):
                return
            for name, daemon in self.daemons:
                if daemon.poll() is not None:
                    raise RuntimeError(f"{name} exited with {daemon.returncode}:\n"
                                       + self.tail(f"{name}.out"))
            time.sleep(0.5)
        raise RuntimeError(f"the Slurm node did not become idle (state '{state}'):\n"
                           + self.tail("slurmctld.out") + self.tail("slurmd.out"))

    def _start_munge(self):
        key_dir = os.path.join(self.root, "munge")
        run_dir = os.path.join(self.root, "munge-run")
        os.makedirs(key_dir, mode=0o700)
        os.makedirs(run_dir, mode=0o755)
        key = os.path.join(key_dir, "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(128))
        os.chmod(key, 0o400)
        for path in (key_dir, run_dir, key):
            shutil.chown(path, "munge", "munge")
        self.munge_socket = os.path.join(run_dir, "munge.socket")
        # setpriv execs munged, so the pid we hold is munged's own.
        self._start("munged", ["setpriv", "--reuid=munge", "--regid=munge", "--init-groups",
                               "munged", "--foreground", f"--socket={self.munge_socket}",
                               f"--key-file={key}", f"--log-file={self.log('munged.log')}",
                               f"--pid-file={os.path.join(run_dir, 'munged.pid')}",
                               f"--seed-file={os.path.join(key_dir, 'munged.seed')}"])
        deadline = time.time() + 20
        while time.time() < deadline:
            if os.path.exists(self.munge_socket):
                check = subprocess.run(f"munge -n -S {self.munge_socket} | "
                                       f"unmunge -S {self.munge_socket}", shell=True,
                                       capture_output=True, text=True)
                if check.returncode == 0:
                    return
            time.sleep(0.2)
        raise RuntimeError("munged did not answer on its socket:\n" + self.tail("munged.out"))

    def _write_conf(self):
        node_line = subprocess.run(["slurmd", "-C"], capture_output=True, text=True,
                                   check=True).stdout.splitlines()[0]
        self.node = re.match(r"NodeName=(\S+)", node_line).group(1)
        self.cpus = int(re.search(r"CPUs=(\d+)", node_line).group(1))
        r = self.root
        with open(self.conf, "w") as f:
            f.write(f"""ClusterName=microsegtest
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire is also how long a requeued job waits before it may start again (default 120 s).
AuthInfo=socket={self.munge_socket},cred_expire=10
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={self.log('slurmctld.log')}
SlurmdLogFile={self.log('slurmd.log')}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=3600
{node_line} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=microseg Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
""")

    def _start(self, name, command):
        out = open(self.log(f"{name}.out"), "w")
        daemon = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                  start_new_session=True)
        out.close()
        self.daemons.append((name, daemon))

    def tail(self, name, lines=30):
        path = self.log(name)
        if not os.path.exists(path):
            return f"({name}: no log)\n"
        return f"--- {name} ---\n" + "\n".join(text(path).splitlines()[-lines:]) + "\n"

    def stop(self):
        """SIGTERM to each daemon we started (by pid), newest first; SIGKILL if it lingers."""
        for name, daemon in reversed(self.daemons):
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
                try:
                    daemon.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    daemon.wait()
        self.daemons = []


def ensure_slurm_installed():
    missing = [d for d in DAEMONS if shutil.which(d) is None and
               not os.path.exists(os.path.join("/usr/sbin", d))]
    if not missing:
        return
    install = subprocess.run([os.path.join(REPO, "scripts", "install-deps.sh"), "--slurm"],
                             capture_output=True, text=True)
    if install.returncode != 0:
        raise RuntimeError(f"cannot install Slurm ({', '.join(missing)} missing):\n"
                           + install.stdout + install.stderr)


class Slurm(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="microseg-slurm-")
        cls.jobs = []
        cls.cluster = None
        try:
            cls.cluster = SlurmCluster(os.path.join(cls.dir, "cluster"))
            cls.cluster.start()
        except BaseException:
            # tearDownClass does not run when setUpClass fails: clean up here (the message
            # already holds the daemons' logs).
            if cls.cluster:
                cls.cluster.stop()
            shutil.rmtree(cls.dir, ignore_errors=True)
            raise
        cls.work = os.path.join(cls.dir, "work")
        os.makedirs(cls.work)
        cls.runs = os.path.join(cls.work, "runs")
        cls.env = dict(cls.cluster.env, MICROSEG_ROOT=REPO, MICROSEG_BIN=MICROSEG,
                       MICROSEG_RUNS=cls.runs)
        cls.data = os.path.join(cls.work, "customers.h5")
        run(2, "generate", "--customers", 3000, "--segments", 4, "--separation", 5, "--seed", 6,
            "--output", cls.data)
        cls.job_file = os.path.join(cls.work, "job.ini")
        with open(cls.job_file, "w") as f:
            f.write(f"input = {cls.data}\nk = 4\nseed = 5\nrestarts = 2\n"
                    "silhouette-sample = 600\n")

    @classmethod
    def tearDownClass(cls):
        if cls.jobs:
            subprocess.run(["scancel", *cls.jobs], env=cls.cluster.env, capture_output=True)
        cls.cluster.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    # --- helpers ----------------------------------------------------------------------------

    def sbatch(self, *args, env=None):
        # The scripts' time-limit signal leads (5-10 min) exceed the tests' short --time, so
        # Slurm would send SIGUSR1 at its first time-limit check, whenever a job outlasts that
        # on a loaded machine; tests that want the signal send it themselves.
        if not any(str(a).startswith("--signal") for a in args):
            args = ("--signal=B:USR1@30", *args)
        proc = subprocess.run(["sbatch", "--parsable", *map(str, args)], cwd=self.work,
                              env=env or self.env, capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        job = proc.stdout.strip().split(";")[0]
        self.jobs.append(job)
        return job

    def job_states(self, job):
        """{job or array task id: (state, exit code, restarts, start, end)} from scontrol."""
        proc = subprocess.run(["scontrol", "-o", "show", "job", job], env=self.env,
                              capture_output=True, text=True)
        states = {}
        for line in proc.stdout.splitlines():
            fields = dict(re.findall(r"(\w+)=(\S*)", line))
            task = fields.get("ArrayTaskId")
            key = f"{fields['ArrayJobId']}_{task}" if task else fields["JobId"]
            states[key] = (fields["JobState"], fields["ExitCode"], int(fields.get("Restarts", 0)),
                           fields.get("StartTime"), fields.get("EndTime"))
        return states

    def wait_for(self, job, log=None):
        deadline = time.time() + WAIT
        while time.time() < deadline:
            states = self.job_states(job)
            if states and all(s[0] in TERMINAL for s in states.values()):
                return states
            time.sleep(0.5)
        self.fail(f"job {job} did not finish in {WAIT:.0f} s: {self.job_states(job)}\n"
                  + self.diagnosis(log))

    def diagnosis(self, log=None):
        """What a failure message needs: the queue, the node, the job's log and the daemons'."""
        def out(*command):
            return subprocess.run(command, env=self.env, capture_output=True, text=True).stdout
        return ("--- squeue ---\n" + out("squeue", "-a") + "--- sinfo -R ---\n"
                + out("sinfo", "-R") + out("sinfo", "-N", "-l")
                + (f"--- {log} ---\n" + text(log) if log and os.path.exists(log) else "")
                + self.cluster.tail("slurmctld.log") + self.cluster.tail("slurmd.log"))

    def assert_completed(self, states, log):
        for job, (state, exit_code, *_) in states.items():
            self.assertEqual((state, exit_code), ("COMPLETED", "0:0"),
                             f"job {job}:\n" + (text(log) if os.path.exists(log) else log))

    # --- tests ------------------------------------------------------------------------------

    def test_segment_sbatch_runs_one_segmentation_with_srun_pmix(self):
        job = self.sbatch("--ntasks=2", "--time=5", os.path.join(SCRIPTS, "segment.sbatch"),
                          os.path.join(REPO, "jobs", "demo.ini"), "--input", self.data)
        log = os.path.join(self.work, f"microseg-segment-{job}.out")
        states = self.wait_for(job, log)
        self.assert_completed(states, log)
        run_dir = os.path.join(self.runs, "segment", f"{start_date(states[job])}-{job}")
        with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
            self.assertEqual(f["run"].attrs["ranks"], 2)
            self.assertEqual(f["run"].attrs["k"], 12)  # from jobs/demo.ini
            self.assertIn("jobs/demo.ini", f["run"].attrs["job_file"])
            self.assertEqual(f["assignments/segment"].shape, (3000,))
        self.assertIn("on 2 ranks", text(log))

    def test_cpus_per_task_gives_each_rank_that_many_threads(self):
        # A hybrid job: one rank with two CPUs; the scripts pass --cpus-per-task to srun and
        # --threads 2 to microseg (scripts/slurm/common.sh, microseg_thread_options).
        job = self.sbatch("--ntasks=1", "--cpus-per-task=2", "--time=5",
                          os.path.join(SCRIPTS, "segment.sbatch"),
                          os.path.join(REPO, "jobs", "demo.ini"), "--input", self.data, "--k", 4)
        log = os.path.join(self.work, f"microseg-segment-{job}.out")
        states = self.wait_for(job, log)
        self.assert_completed(states, log)
        run_dir = os.path.join(self.runs, "segment", f"{start_date(states[job])}-{job}")
        with open(os.path.join(run_dir, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual((manifest["ranks"], manifest["threads_per_rank"]), (1, 2), text(log))

    def test_srun_mpi_plugin_comes_from_microseg_srun_mpi(self):
        # A plugin this Slurm does not have: the step fails, and srun's message names it, so the
        # variable reached srun (the default pmix is what every other test here runs with).
        env = dict(self.env, MICROSEG_SRUN_MPI="no_such_plugin")
        job = self.sbatch("--ntasks=1", "--time=5", os.path.join(SCRIPTS, "segment.sbatch"),
                          os.path.join(REPO, "jobs", "demo.ini"), "--input", self.data, "--k", 4,
                          env=env)
        log = os.path.join(self.work, f"microseg-segment-{job}.out")
        states = self.wait_for(job, log)
        self.assertNotEqual(states[job][1], "0:0", text(log))
        self.assertIn("no_such_plugin", text(log))

    def test_installed_segment_sbatch_finds_microseg_on_path(self):
        # An installed tree (cmake --install), submitted from a directory that is no clone, with
        # no MICROSEG_* variable: the script finds common.sh and the program through PATH.
        prefix = os.path.join(self.work, "prefix")
        subprocess.run([os.environ.get("CMAKE", "cmake"), "--install",
                        os.environ["MICROSEG_BUILD_DIR"], "--prefix", prefix],
                       check=True, capture_output=True)
        env = {k: v for k, v in self.env.items() if not k.startswith("MICROSEG_")}
        env["PATH"] = f"{prefix}/bin:{env.get('PATH', '/usr/bin:/bin')}"
        job = self.sbatch("--ntasks=2", "--time=5",
                          os.path.join(prefix, "share/microseg/slurm/segment.sbatch"),
                          os.path.join(prefix, "share/microseg/jobs/demo.ini"), "--input",
                          self.data, "--k", 4, env=env)
        log = os.path.join(self.work, f"microseg-segment-{job}.out")
        states = self.wait_for(job, log)
        self.assert_completed(states, log)
        # Runs go under the submit directory (MICROSEG_ROOT defaults to it).
        run_dir = os.path.join(self.work, "runs", "segment", f"{start_date(states[job])}-{job}")
        with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
            self.assertEqual(f["run"].attrs["ranks"], 2)
            self.assertEqual(f["assignments/segment"].shape, (3000,))

    def test_sweep_array_tasks_and_merge_after_all_succeed(self):
        proc = subprocess.run([os.path.join(SCRIPTS, "submit-sweep.sh"), "--tasks", "2",
                               "--sbatch", "--ntasks=1 --time=5", self.job_file, "2:7",
                               "--silhouette-sample", "500"], cwd=self.work, env=self.env,
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        fields = dict(re.findall(r"(\w+)=(\S+)", proc.stdout))
        self.jobs += [fields["array"], fields["merge"]]
        merge_log = os.path.join(self.work, f"microseg-sweep-merge-{fields['merge']}.out")
        tasks = self.wait_for(fields["array"])
        self.assertEqual(len(tasks), 2)
        self.assert_completed(tasks, "array tasks")
        merge = self.wait_for(fields["merge"], merge_log)
        self.assert_completed(merge, merge_log)
        # The merge started only after every task had ended.
        merge_start = merge[fields["merge"]][3]
        self.assertTrue(all(merge_start >= end for *_, end in tasks.values()), (merge, tasks))
        sweep = fields["dir"]
        self.assertRegex(sweep, re.escape(os.path.join(self.runs, "sweep", ""))
                         + r"\d{4}-\d\d-\d\d-" + fields["array"] + "$")
        with open(os.path.join(sweep, "sweep.csv")) as f:
            self.assertEqual([int(row["k"]) for row in csv.DictReader(f)], [2, 3, 4, 5, 6, 7])
        self.assertEqual(sorted(os.listdir(os.path.join(sweep, "models"))),
                         [f"k-{k:04d}.h5" for k in range(2, 8)])
        self.assertTrue(os.path.getsize(os.path.join(sweep, "sweep.png")) > 10000)
        # The same table as one sweep over every k, run here with mpiexec.
        local = os.path.join(self.work, "local-sweep")
        run(2, "sweep", "--config", self.job_file, "--k", "2:7", "--silhouette-sample", 500,
            "--output", local)
        self.assertEqual(text(os.path.join(sweep, "sweep.csv")),
                         text(os.path.join(local, "sweep.csv")))

    def test_time_limit_signal_is_forwarded_and_the_task_requeued_and_resumed(self):
        data = os.path.join(self.work, "bigger.h5")
        run(2, "generate", "--customers", 30000, "--segments", 6, "--separation", 4, "--seed", 2,
            "--output", data)
        job_file = os.path.join(self.work, "bigger.ini")
        with open(job_file, "w") as f:
            f.write(f"input = {data}\nseed = 3\nrestarts = 3\nsilhouette-sample = 2000\n")
        array = self.sbatch("--array=0-0", "--ntasks=2", "--time=10",
                            os.path.join(SCRIPTS, "sweep-array.sbatch"), job_file, "2:16")
        task = f"{array}_0"
        log = os.path.join(self.work, f"microseg-sweep-{array}_0.out")
        deadline = time.time() + WAIT

        def fitted():
            found = glob.glob(os.path.join(self.runs, "sweep", f"*-{array}", "tasks", "0",
                                           "models", "k-*.h5"))
            return os.path.dirname(found[0]) if found else None
        while not fitted():
            state = self.job_states(array).get(task, ("PENDING",))[0]
            if state in TERMINAL or time.time() > deadline:
                self.fail(f"task {task} is {state} and has fitted no k yet\n" + self.diagnosis(log))
            time.sleep(0.05)
        models = fitted()
        # What Slurm does at --signal=B:USR1@…: SIGUSR1 to the batch shell only.
        subprocess.run(["scancel", "--signal=USR1", "--batch", task], env=self.env, check=True)
        states = self.wait_for(task, log)
        self.assert_completed(states, log)
        self.assertEqual(states[task][2], 1, "the task should have been requeued once")
        output = text(log)
        self.assertIn("SIGUSR1: the time limit is near; forwarding it to the job step", output)
        # The ranks got the signal and stopped together between iterations, not killed by it.
        self.assertRegex(output, r"stopped on SIGUSR1 (while fitting|before) k = \d+")
        self.assertIn(f"stopped with status 75 after the signal; requeueing job {array}", output)
        self.assertNotIn("User defined signal", output)
        self.assertIn("(restart 1)", output)
        kept = re.findall(r"k = (\d+): finished earlier, kept", output)
        self.assertGreaterEqual(len(kept), 1, output)
        self.assertLess(len(kept), 15, "every k had finished before the signal")
        with open(os.path.join(os.path.dirname(models), "sweep.csv")) as f:
            self.assertEqual([int(row["k"]) for row in csv.DictReader(f)], list(range(2, 17)))

    def test_segment_job_checkpoints_on_the_time_limit_signal_and_resumes_after_requeue(self):
        data = os.path.join(self.work, "resume.h5")
        run(2, "generate", "--customers", 4000, "--segments", 8, "--separation", 1.5, "--seed", 3,
            "--output", data)
        options = ["--k", 10, "--restarts", 2, "--seed", 7, "--silhouette-sample", 500]
        reference = os.path.join(self.work, "resume-reference")
        run(2, "segment", "--input", data, "--output", reference, *options)
        job_file = os.path.join(self.work, "resume.ini")
        with open(job_file, "w") as f:
            f.write(f"input = {data}\n")
        # Iterations slowed by the fault-injection hook (rank 0 sleeps 100 ms after each), so
        # the signal arrives mid-fit; segment.sbatch adds --resume --checkpoint-every 5.
        job = self.sbatch("--ntasks=2", "--time=10", os.path.join(SCRIPTS, "segment.sbatch"),
                          job_file, *options,
                          env=dict(self.env, MICROSEG_INJECT_FAILURE="0:iteration:stall",
                                   MICROSEG_CHECKPOINT_EVERY="5",
                                   MICROSEG_PROGRESS_SECONDS="0"))  # every iteration logged
        log = os.path.join(self.work, f"microseg-segment-{job}.out")
        deadline = time.time() + WAIT
        while not (os.path.exists(log) and "restart 0  iteration    7 " in text(log)):
            state = self.job_states(job).get(job, ("PENDING",))[0]
            if state in TERMINAL or time.time() > deadline:
                self.fail(f"job {job} is {state} before iteration 7\n" + self.diagnosis(log))
            time.sleep(0.05)
        # What Slurm does at --signal=B:USR1@…: SIGUSR1 to the batch shell only.
        subprocess.run(["scancel", "--signal=USR1", "--batch", job], env=self.env, check=True)
        states = self.wait_for(job, log)
        self.assert_completed(states, log)
        self.assertEqual(states[job][2], 1, "the job should have been requeued once")
        output = text(log)
        self.assertIn("checkpoint: restart 0, iteration 5 written to", output)
        stop = re.search(r"microseg: stopped on SIGUSR1 after iteration (\d+) of restart 0: "
                         r"checkpoint written to ([^;\s]+);", output)
        self.assertIsNotNone(stop, output)
        self.assertIn("after the signal; requeueing job " + job + " (restart 1)", output)
        self.assertIn(f"resuming from {stop.group(2)}: restart 0, after iteration "
                      f"{stop.group(1)}", output)
        self.assertNotIn("User defined signal", output)  # the ranks stopped, not killed
        run_dir = os.path.dirname(stop.group(2))
        self.assertEqual(sorted(os.listdir(run_dir)),
                         ["manifest.json", "profiles.csv", "quality.csv", "segments.h5"])
        # Bit for bit the uninterrupted run's outputs; /run's attributes hold timings and ranks.
        diff = subprocess.run(["h5diff", "--exclude-attribute", "/run",
                               os.path.join(reference, "segments.h5"),
                               os.path.join(run_dir, "segments.h5")],
                              capture_output=True, text=True)
        self.assertEqual(diff.returncode, 0, diff.stdout + diff.stderr)
        for name in ("profiles.csv", "quality.csv"):
            self.assertEqual(text(os.path.join(reference, name)), text(os.path.join(run_dir, name)))

    def test_a_stopped_rank_ends_the_step_with_status_76_and_the_job_is_requeued(self):
        # Rank 1 stops itself (SIGSTOP) when the metrics start, in every attempt. Rank 0's stall
        # watchdog ends the step after 3 s without progress (MICROSEG_STALL_TIMEOUT), srun
        # --kill-on-bad-exit ends the stopped task, and the script requeues the job once
        # (MICROSEG_MAX_REQUEUES=1); the second attempt stops the same way and is not requeued.
        job = self.sbatch("--ntasks=2", "--time=10", os.path.join(SCRIPTS, "segment.sbatch"),
                          self.job_file,
                          env=dict(self.env, MICROSEG_INJECT_FAILURE="1:metrics:sigstop",
                                   MICROSEG_STALL_TIMEOUT="3", MICROSEG_MAX_REQUEUES="1"))
        log = os.path.join(self.work, f"microseg-segment-{job}.out")
        states = self.wait_for(job, log)
        output = text(log)
        self.assertEqual(states[job][:3], ("FAILED", "3:0", 1), output)
        self.assertRegex(output, r"microseg: error: rank 0 on \S+: no progress for 3 s in phase "
                         r"metrics \(")
        self.assertIn("stopped with status 76 (a rank or the network stopped answering); "
                      f"requeueing job {job} (restart 1)", output)
        self.assertIn("not requeueing: already requeued 1 times", output)

    def test_quarterly_moves_latest_only_after_a_successful_run(self):
        quarterly = os.path.join(SCRIPTS, "quarterly.sbatch")
        runs = os.path.join(self.runs, "quarterly")
        latest = os.path.join(runs, "latest")

        def submit(quarter, job_file):
            job = self.sbatch("--ntasks=2", "--time=5", quarterly, job_file, "--input", self.data,
                              env=dict(self.env, MICROSEG_QUARTER=quarter))
            log = os.path.join(self.work, f"microseg-quarterly-{job}.out")
            return job, log, self.wait_for(job, log)

        quarterly_job = os.path.join(REPO, "jobs", "quarterly.ini")
        first, log, states = submit("2026Q1", quarterly_job)
        self.assert_completed(states, log)
        first_dir = os.readlink(latest)
        self.assertEqual(first_dir, f"2026Q1-{start_date(states[first])}-{first}")
        self.assertIn("previous=\n", text(os.path.join(runs, first_dir, "quarterly.txt")))

        broken = os.path.join(self.work, "broken.ini")
        with open(broken, "w") as f:
            f.write("k = 4\nclusters = 9\n")
        failed, log, states = submit("2026Q2", broken)
        self.assertEqual(states[failed][0], "FAILED", text(log))
        self.assertIn("unknown key 'clusters'", text(log))
        self.assertEqual(os.readlink(latest), first_dir)

        second, log, states = submit("2026Q2", quarterly_job)
        self.assert_completed(states, log)
        second_dir = os.readlink(latest)
        self.assertEqual(second_dir, f"2026Q2-{start_date(states[second])}-{second}")
        self.assertIn(f"previous={os.path.join(runs, first_dir)}\n",
                      text(os.path.join(runs, second_dir, "quarterly.txt")))
        self.assertIn(f"previous run: {os.path.join(runs, first_dir)}", text(log))
        self.assertTrue(os.path.exists(os.path.join(latest, "segments.h5")))


    def test_quarterly_resubmits_itself_for_the_next_quarter_after_success(self):
        quarterly = os.path.join(SCRIPTS, "quarterly.sbatch")
        # A begin two hours ahead stands in for the next quarter's first day, so the successor
        # stays pending; it is cancelled at once.
        begin = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() + 7200))
        env = dict(self.env, MICROSEG_RUNS=os.path.join(self.work, "runs-resubmit"),
                   MICROSEG_QUARTER="2026Q4", MICROSEG_RESUBMIT="1",
                   MICROSEG_RESUBMIT_BEGIN=begin)
        job = self.sbatch("--ntasks=2", "--time=5", quarterly,
                          os.path.join(REPO, "jobs", "quarterly.ini"), "--input", self.data,
                          env=env)
        log = os.path.join(self.work, f"microseg-quarterly-{job}.out")
        self.assert_completed(self.wait_for(job, log), log)
        found = re.search(r"successor for 2027Q1 \(quarter starts 2027-01-01T02:00:00\) is job "
                          r"(\d+), begin (\S+)", text(log))
        self.assertIsNotNone(found, text(log))
        successor = found.group(1)
        self.jobs.append(successor)
        try:
            self.assertEqual(found.group(2), begin)
            proc = subprocess.run(["scontrol", "-o", "show", "job", successor], env=self.env,
                                  capture_output=True, text=True)
            fields = dict(re.findall(r"(\w+)=(\S*)", proc.stdout))
            self.assertEqual((fields.get("JobState"), fields.get("Reason")),
                             ("PENDING", "BeginTime"), proc.stdout)
            self.assertEqual(fields.get("StartTime"), begin, proc.stdout)
            self.assertEqual(fields.get("NumTasks"), "2", proc.stdout)
            self.assertTrue(fields.get("Command", "").endswith("quarterly.sbatch"), proc.stdout)
            queue = subprocess.run(["squeue", "-h", "-j", successor, "-o", "%T %r"],
                                   env=self.env, capture_output=True, text=True).stdout.split()
            self.assertEqual(queue, ["PENDING", "BeginTime"])
        finally:
            subprocess.run(["scancel", successor], env=self.env, capture_output=True)


SKIP_STATUS = 77  # tests/CMakeLists.txt: SKIP_RETURN_CODE


def reason_to_skip():
    """Why the daemons cannot be started here, or None."""
    if os.geteuid() != 0:
        return ("not run as root: the test starts munged as the munge user and slurmctld and "
                "slurmd as root")
    try:
        ensure_slurm_installed()
    except RuntimeError as error:
        return str(error)
    return None


if __name__ == "__main__":
    reason = reason_to_skip()
    if reason:
        print(f"SKIPPED: the Slurm test cannot start Slurm here: {reason}", flush=True)
        sys.exit(SKIP_STATUS)
    unittest.main(verbosity=2)
