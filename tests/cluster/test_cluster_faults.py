"""Host and network faults on a cluster of namespace hosts end the job cleanly and lose nothing.

Run by tests/cluster/testbed.sh (CTest "cluster: test_cluster_faults"), which builds 3 hosts as
network namespaces on a bridge and passes MICROSEG_CLUSTER_MPIRUN (mpirun on the login node with
the hostfile, the rsh agent and scripts/mpirun-settings.sh). One rank runs on each host, rank R
on host h(R+1), talking over real TCP.

`microseg segment --previous … --checkpoint-every 1` runs across the hosts, and at each phase
(read, seeding, Lloyd iterations, metrics, migration join, write) one fault strikes host h2
(rank 1): SIGKILL of its rank; SIGKILL of every process on the host (node loss); its link cut
and left down; its link dropping every packet (netem) and left so; its rank stopped (SIGSTOP).
A stall of the link shorter than the limits must be ridden out with an identical result.

For every fault: mpirun ends within the stall limit plus a margin; stderr names the phase (the
watchdog's line, or each surviving rank's line on the SIGTERM mpirun ends it with); the exit
status is non-zero and not 2 (bad input); the output directory, which holds a previous good run, is byte for byte as it was (no new file but
hidden temporaries and the checkpoint); and `--resume` afterwards ends bit-identical to an
uninterrupted run. A job that does not end is killed by this harness (never a hang of the
test) and reported as hung.

The results go to a markdown table, BUILD/tests/cluster-faults.md; with MICROSEG_UPDATE_DOCS=1
it also replaces the table in docs/reliability.md (between its fault-table markers).
"""
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import (MICROSEG, directory_bytes, h5diff, manifest_problems, run,  # noqa: E402
                          run_facts, temp_dir)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MPIRUN = os.environ.get("MICROSEG_CLUSTER_MPIRUN", "")
HOSTS = dict(item.split("=") for item in os.environ.get("MICROSEG_CLUSTER_HOSTS", "").split())
PREFIX = os.environ.get("MICROSEG_CLUSTER_PREFIX", "msc-")
RANKS = len(HOSTS)
VICTIM_HOST, VICTIM_RANK = "h2", 1

# The test's scale of the production settings (scripts/mpirun-settings.sh): mpirun gives up a
# silent host after at most 2 + 3 × 2 = 8 s, before the ranks' stall watchdog (STALL_SECONDS),
# and a link stall of SHORT_STALL_SECONDS loses at most 2 probes and must be ridden out.
KEEPALIVE = {"OMPI_MCA_oob_tcp_keepalive_time": "2", "OMPI_MCA_oob_tcp_keepalive_intvl": "2",
             "OMPI_MCA_oob_tcp_keepalive_probes": "3"}
STALL_SECONDS = 12
MARGIN_SECONDS = 5
SHORT_STALL_SECONDS = 3
# Past this a job counts as hung: SIGTERM to mpirun, then SIGKILL to all it started.
HARD_LIMIT_SECONDS = STALL_SECONDS + MARGIN_SECONDS + 20
BAD_INPUT_STATUS = 2
WATCHDOG_STATUS = 76

PHASES = ["read", "seeding", "iteration", "metrics", "migration", "write"]
# The stdout line (--verbose, MICROSEG_PROGRESS_SECONDS=0) after which the run is in the phase.
TRIGGERS = {
    "read": re.compile(r"^microseg segment: "),
    "seeding": re.compile(r"^read [0-9,]+ bytes"),
    "iteration": re.compile(r"^iteration +2 "),
    "metrics": re.compile(r"^metrics …"),
    "migration": re.compile(r"^migration join …"),
    "write": re.compile(r"^migration join: "),
}
PHASE_WORDS = {"read": "read", "seeding": "seeding", "iteration": "iteration",
               "metrics": "metrics", "migration": "migration", "write": "writ"}

RESULTS = []  # one dict per injected fault, for the table


def has_stall_watchdog():
    """Whether this build has the stall watchdog (--stall-timeout) and the `pause-S` injection
    kind; without them a stopped rank hangs the job, and phases are timed by stdout alone."""
    if not MPIRUN:
        return False
    text = subprocess.run([MICROSEG, "segment", "--help"], capture_output=True, text=True).stdout
    return "--stall-timeout" in text


WATCHDOG = has_stall_watchdog()
STALL_OPTION = ["--stall-timeout", STALL_SECONDS] if WATCHDOG else []
# Stages reached once in a run: rank 1 pauses there (MICROSEG_INJECT_FAILURE=1:STAGE:pause-S),
# and the fault strikes while it sleeps, so it cannot miss the phase. Lloyd iterations are many
# and timed by their lines.
PAUSE_SECONDS = 2.5
PAUSED_PHASES = ("read", "seeding", "metrics", "migration", "write") if WATCHDOG else ()
CLOCK_NANOSLEEP = 230  # x86_64 system call number of the pause's sleep


def sleeps_in_pause(pid):
    """Whether the main thread of process `pid` sleeps in the injected pause: clock_nanosleep
    for exactly PAUSE_SECONDS (read from the request in the process's memory), so no other
    sleep (MPI start-up, polling) is taken for it."""
    try:
        with open(f"/proc/{pid}/syscall") as f:
            fields = f.read().split()
        if len(fields) < 4 or fields[0] != str(CLOCK_NANOSLEEP):
            return False
        with open(f"/proc/{pid}/mem", "rb") as memory:
            memory.seek(int(fields[3], 16))
            seconds, nanoseconds = struct.unpack("qq", memory.read(16))
    except (OSError, ValueError, struct.error):
        return False
    return seconds + nanoseconds / 1e9 == PAUSE_SECONDS


def namespace(host):
    return PREFIX + host


def host_pids(host, command=None):
    """The processes in a host's namespace (its orted and ranks), those named `command` only
    when given ("microseg": the ranks, whatever the binary is called)."""
    if command == "microseg":
        command = os.path.basename(MICROSEG)[:15]  # /proc/PID/comm keeps 15 characters
    out = subprocess.run(["ip", "netns", "pids", namespace(host)], capture_output=True,
                         text=True).stdout.split()
    pids = []
    for pid in out:
        try:
            with open(f"/proc/{pid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        if command is None or name == command:
            pids.append(int(pid))
    return pids


def signal_pids(pids, signum):
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def ip(*args):
    subprocess.run(["ip", *args], check=True)


def tc(*args, check=True):
    subprocess.run(["tc", *args], check=check, capture_output=not check)


def loss_qdisc():
    """How a link is made to drop every packet: netem's `loss 100%`, or where the kernel lacks
    netem (sch_netem is a module some kernels leave out) the blackhole qdisc, which drops every
    packet too. Either way the link stays up and nothing gets through."""
    probe = subprocess.run(["tc", "-n", namespace("sw"), "qdisc", "add", "dev", "br0", "root",
                            "netem", "loss", "0%"], capture_output=True)
    if probe.returncode == 0:
        tc("-n", namespace("sw"), "qdisc", "del", "dev", "br0", "root")
        return ["netem", "loss", "100%"]
    return ["blackhole"]


LOSS_QDISC = loss_qdisc() if MPIRUN else []


def drop_all_packets(host):
    """Every packet dropped at both ends of the host's link (egress of the host and of its
    switch port): nothing gets through either way, but the link stays up."""
    tc("-n", namespace(host), "qdisc", "add", "dev", "eth0", "root", *LOSS_QDISC)
    tc("-n", namespace("sw"), "qdisc", "add", "dev", host, "root", *LOSS_QDISC)


def restore_link(host):
    ip("-n", namespace("sw"), "link", "set", host, "up")
    tc("-n", namespace(host), "qdisc", "del", "dev", "eth0", "root", check=False)
    tc("-n", namespace("sw"), "qdisc", "del", "dev", host, "root", check=False)


class Fault:
    """One kind of fault: inject() strikes host VICTIM_HOST, heal() undoes what can be undone."""
    survivable = False

    def __init__(self, name, inject, describe):
        self.name, self.inject, self.describe = name, inject, describe

    def heal(self):
        restore_link(VICTIM_HOST)


def kill_rank():
    pids = host_pids(VICTIM_HOST, "microseg")
    assert len(pids) == 1, f"expected one rank on {VICTIM_HOST}, found {pids}"
    signal_pids(pids, signal.SIGKILL)


def kill_host():
    pids = host_pids(VICTIM_HOST)
    assert pids, f"no process on {VICTIM_HOST}"
    signal_pids(pids, signal.SIGKILL)


def stop_rank():
    pids = host_pids(VICTIM_HOST, "microseg")
    assert len(pids) == 1, f"expected one rank on {VICTIM_HOST}, found {pids}"
    signal_pids(pids, signal.SIGSTOP)


def cut_link():
    ip("-n", namespace("sw"), "link", "set", VICTIM_HOST, "down")


FAULTS = {
    "kill-rank": Fault("kill-rank", kill_rank, "SIGKILL of rank 1"),
    "node-loss": Fault("node-loss", kill_host, "SIGKILL of every process on h2"),
    "link-cut": Fault("link-cut", cut_link, "h2's link down, left down"),
    "link-loss": Fault("link-loss", lambda: drop_all_packets(VICTIM_HOST),
                       "h2's link drops every packet, left so"),
    "rank-stop": Fault("rank-stop", stop_rank, "SIGSTOP of rank 1"),
}
SHORT_STALL = Fault("short-stall", lambda: drop_all_packets(VICTIM_HOST),
                    f"h2's link drops 100% for {SHORT_STALL_SECONDS} s, then heals")
SHORT_STALL.survivable = True


def cluster_command(*args):
    return [MPIRUN, "-n", str(RANKS), MICROSEG, *[str(a) for a in args]]


def cluster_env(extra=None):
    return dict(os.environ, MICROSEG_PROGRESS_SECONDS="0", **KEEPALIVE, **(extra or {}))


def run_cluster(*args):
    """Runs microseg on the cluster without a fault; fails the test when it fails."""
    proc = subprocess.run(cluster_command(*args), capture_output=True, text=True,
                          env=cluster_env(), timeout=HARD_LIMIT_SECONDS * 4)
    if proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


class FaultyRun:
    """A run on the cluster with one fault injected once the run is in `phase`: while rank 1
    sleeps in the pause injected at the phase's stage, or (Lloyd iterations, and builds without
    `pause-S`) when stdout shows the phase."""

    def __init__(self, args, phase, fault):
        self.args, self.phase, self.fault = args, phase, fault
        self.stdout, self.stderr = [], []
        self.triggered = threading.Event()
        self.status = None
        self.seconds = None  # from the injection to the end of mpirun
        self.hung = False
        self.leftovers = []

    def _read(self, stream, lines, trigger):
        for line in stream:
            lines.append(line)
            if trigger is not None and trigger.search(line):
                self.triggered.set()

    def _wait_for_pause(self):
        """Until rank 1's main thread sleeps in the pause injected at the phase's stage."""
        deadline = time.monotonic() + HARD_LIMIT_SECONDS
        while time.monotonic() < deadline:
            if any(sleeps_in_pause(pid) for pid in host_pids(VICTIM_HOST, "microseg")):
                self.triggered.set()
                return
            time.sleep(0.05)

    def run(self):
        paused = self.phase in PAUSED_PHASES
        # Rank 1 pauses at the stage; in the Lloyd iterations it sleeps 100 ms in each (`stall`),
        # which keeps the run there for a few seconds.
        kind = f"pause-{PAUSE_SECONDS}" if paused else "stall"
        extra = {"MICROSEG_INJECT_FAILURE": f"{VICTIM_RANK}:{self.phase}:{kind}"}
        proc = subprocess.Popen(cluster_command(*self.args, "--verbose"), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=cluster_env(extra if paused or self.phase == "iteration"
                                                else None),
                                start_new_session=True)
        trigger = None if paused else TRIGGERS[self.phase]
        readers = [threading.Thread(target=self._read, args=(proc.stdout, self.stdout,
                                                             trigger)),
                   threading.Thread(target=self._read, args=(proc.stderr, self.stderr, None))]
        for reader in readers:
            reader.start()
        try:
            if paused:
                self._wait_for_pause()
            if not self.triggered.wait(HARD_LIMIT_SECONDS):
                raise AssertionError(f"the run never reached {self.phase}:\n" +
                                     "".join(self.stdout + self.stderr))
            injected = time.monotonic()
            self.fault.inject()
            if self.fault.survivable:
                time.sleep(SHORT_STALL_SECONDS)
                self.fault.heal()
            try:
                self.status = proc.wait(timeout=HARD_LIMIT_SECONDS)
            except subprocess.TimeoutExpired:
                self.hung = True
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            self.seconds = time.monotonic() - injected
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            for reader in readers:
                reader.join(timeout=10)
            proc.stdout.close()
            proc.stderr.close()
            self.fault.heal()
            self._clear_hosts()
        return self

    def _clear_hosts(self):
        """Processes left on the hosts once mpirun has ended (a daemon cut off from mpirun ends
        itself after the keepalive time): noted, then killed, so the next run starts clean."""
        time.sleep(0.2)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            left = [(host, pid) for host in HOSTS for pid in host_pids(host)]
            if not left:
                return
            time.sleep(0.2)
        self.leftovers = left
        for _, pid in left:
            signal_pids([pid], signal.SIGCONT)
            signal_pids([pid], signal.SIGKILL)

    def text(self):
        return "".join(self.stderr)


def last_phase_seen(stdout_lines):
    """The phase the run's stdout had reached when it ended."""
    reached = "start"
    for line in stdout_lines:
        for phase in PHASES:
            if TRIGGERS[phase].search(line):
                reached = phase
    return reached


def message_seen(stderr):
    """The line of stderr that says what stopped: microseg's own, else mpirun's."""
    lost = re.search(r"Remote daemon: .* on node (\S+)", stderr)
    if "lost communication with a remote daemon" in stderr and lost:
        return f"mpirun: lost communication with the daemon on node {lost.group(1)}"
    patterns = [r"microseg: .*(stall|no progress|did not complete|stopped answering).*",
                r"microseg: error.*",
                r"microseg: rank \d+ on \S+: (?:received|ended by) SIGTERM.*",
                r".*process rank \d+ .*exited on signal \d+.*",
                r".*exited on signal.*",
                r".*ORTE.*"]
    for pattern in patterns:
        found = re.search(pattern, stderr)
        if found:
            return found.group(0).strip()
    return ""


def names_phase(stderr, phase):
    return any(PHASE_WORDS[phase] in line for line in stderr.splitlines()
               if line.startswith("microseg"))


def setUpModule():
    global DATA, PREVIOUS, REFERENCE, PRIOR
    DATA = temp_dir()
    # Inputs, the previous quarter's run and the good run a faulty run finds in its output
    # directory (another seed) are made on this host (mpiexec): results do not depend on the
    # ranks' placement, and the bed's TCP between namespaces on 2 shared cores is slow.
    quarters = os.path.join(DATA, "quarters")
    run(RANKS, "generate", "--customers", 12000, "--segments", 8, "--quarters", 2,
        "--migration-rate", 0.15, "--churn-rate", 0.05, "--new-customers", 600, "--seed", 5,
        "--output", quarters + "/")
    PREVIOUS = os.path.join(DATA, "previous")
    run(RANKS, "segment", "--input", os.path.join(quarters, "q1.h5"), "--k", 8,
        "--output", PREVIOUS, "--quiet")
    PRIOR = os.path.join(DATA, "prior")
    run(RANKS, *segment_args(PRIOR, seed=8))
    # The uninterrupted run every resumed one must equal, on the cluster.
    REFERENCE = os.path.join(DATA, "reference")
    run_cluster(*segment_args(REFERENCE))


def segment_args(output, seed=7):
    return ["segment", "--input", os.path.join(DATA, "quarters", "q2.h5"), "--k", 8,
            "--previous", PREVIOUS, "--seed", seed, "--checkpoint-every", 4, "--max-iter", 20,
            "--tol", 0, "--silhouette-sample", 1000, *STALL_OPTION, "--output", output]


def tearDownModule():
    table = fault_table(RESULTS)
    path = os.path.join(os.getcwd(), "cluster-faults.md")
    with open(path, "w") as f:
        f.write(table)
    print(f"fault table: {path}\n{table}")
    if os.environ.get("MICROSEG_UPDATE_DOCS") == "1":
        update_docs(table)


def fault_table(results):
    hung = sum(1 for r in results if r["hung"])
    complete = sum(1 for r in results if r["complete_output"])
    injected = len(results)
    lines = [f"Faults injected: **{injected}**; hangs: **{hung}**; outputs that looked complete "
             f"after a failure: **{complete}**; stall limit {STALL_SECONDS} s "
             f"({'--stall-timeout' if WATCHDOG else 'no --stall-timeout in this build'}), "
             f"margin {MARGIN_SECONDS} s; packets dropped with tc qdisc "
             f"`{' '.join(LOSS_QDISC)}`.", "",
             "| fault | phase | ended in phase | seconds to end | exit status | message seen | "
             "output kept | resume identical |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    order = [f for f in FAULTS] + [SHORT_STALL.name]
    for r in sorted(results, key=lambda r: (order.index(r["fault"]), PHASES.index(r["phase"]))):
        status = "hung: killed by the harness" if r["hung"] else str(r["status"])
        message = r["message"].replace("|", "\\|")[:110] or "(none)"
        lines.append(f"| {r['fault']} | {r['phase']} | {r['reached']} | {r['seconds']:.1f} | "
                     f"{status} | `{message}` | {yes(r['output_kept'])} | "
                     f"{yes(r['resume_identical'])} |")
    return "\n".join(lines) + "\n"


def yes(flag):
    return {True: "yes", False: "**no**", None: "–"}[flag]


def update_docs(table):
    path = os.path.join(REPO, "docs", "reliability.md")
    with open(path) as f:
        text = f.read()
    begin, end = "<!-- fault-table:begin -->", "<!-- fault-table:end -->"
    if begin not in text or end not in text:
        raise AssertionError(f"{path} lacks the markers {begin} and {end}")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(head + begin + "\n" + table + end + tail)
    print(f"updated {path}")


class ClusterFaults(unittest.TestCase):
    def strike(self, fault, phase):
        out = os.path.join(temp_dir(), "run")
        shutil.copytree(PRIOR, out)
        before = directory_bytes(out)
        faulty = FaultyRun(segment_args(out), phase, fault).run()
        stderr = faulty.text()
        after = directory_bytes(out)
        kept = all(after.get(name) == data for name, data in before.items())
        new = sorted(set(after) - set(before))
        complete = any(not name.startswith(".") and name != "checkpoint.h5" for name in new)
        result = {"fault": fault.name, "phase": phase, "reached": last_phase_seen(faulty.stdout),
                  "seconds": faulty.seconds, "status": faulty.status, "hung": faulty.hung,
                  "message": message_seen(stderr), "output_kept": kept and not complete,
                  "complete_output": complete, "resume_identical": None}
        RESULTS.append(result)
        log = f"\nstdout:\n{''.join(faulty.stdout)}\nstderr:\n{stderr}"
        if fault.survivable:
            self.assertEqual(faulty.status, 0, log)
            result["output_kept"] = None
            result["resume_identical"] = self.identical_to_reference(out)
            self.assertTrue(result["resume_identical"], log)
            return
        self.assertFalse(faulty.hung, f"hung: killed after {faulty.seconds:.0f} s{log}")
        self.assertNotIn(faulty.status, (0, BAD_INPUT_STATUS), log)
        self.assertLessEqual(faulty.seconds, STALL_SECONDS + MARGIN_SECONDS, log)
        # Every fault names the phase: the watchdog's line, or the line each surviving rank
        # writes when mpirun ends it with SIGTERM.
        self.assertTrue(names_phase(stderr, phase), log)
        if fault is FAULTS["rank-stop"]:
            # Alive but stuck: only the other ranks' stall watchdog can tell, naming the phase.
            self.assertEqual(faulty.status, WATCHDOG_STATUS, log)
            self.assertRegex(stderr, r"microseg: error: rank \d+ on h\d: no progress for "
                             rf"{STALL_SECONDS} s in phase \w+", log)
        self.assertEqual(faulty.leftovers, [], f"processes outlived mpirun by 8 s{log}")
        self.assertTrue(kept, f"the previous output changed{log}")
        self.assertFalse(complete, f"new files {new}{log}")
        # Resumed on this host at 2 ranks: the checkpoint does not depend on the rank count.
        run(2, *segment_args(out), "--resume")
        result["resume_identical"] = self.identical_to_reference(out)
        self.assertTrue(result["resume_identical"], f"resumed output differs{log}")

    def identical_to_reference(self, out):
        status, diff = h5diff(os.path.join(REFERENCE, "segments.h5"),
                              os.path.join(out, "segments.h5"), exclude_attributes=["/run"])
        if status != 0:
            print(diff[:2000])
            return False
        if run_facts(os.path.join(REFERENCE, "segments.h5")) != \
                run_facts(os.path.join(out, "segments.h5")):
            return False
        for name in os.listdir(REFERENCE):
            if name.endswith(".csv"):
                with open(os.path.join(REFERENCE, name), "rb") as a, \
                        open(os.path.join(out, name), "rb") as b:
                    if a.read() != b.read():
                        print(f"{name} differs")
                        return False
        return (not os.path.exists(os.path.join(out, "checkpoint.h5")) and
                manifest_problems(out, "segment") == [])


# Every fault at every phase (a stopped rank hangs a build without the stall watchdog, which is
# then tried only at the iterations, to show the hang). tests/cli/test_stall_watchdog.py stops a
# rank at every phase on one host too.
CASES = [(fault, phase) for fault in ("kill-rank", "node-loss", "link-cut", "link-loss")
         for phase in PHASES]
CASES += [("rank-stop", phase) for phase in (PHASES if WATCHDOG else ["iteration"])]


def add_cases():
    for fault, phase in CASES:
        def case(self, fault=FAULTS[fault], phase=phase):
            self.strike(fault, phase)
        setattr(ClusterFaults, f"test_{fault.replace('-', '_')}_during_{phase}", case)
    for phase in ("iteration", "migration"):
        def survive(self, phase=phase):
            self.strike(SHORT_STALL, phase)
        setattr(ClusterFaults, f"test_short_stall_during_{phase}_is_survived", survive)


add_cases()

if __name__ == "__main__":
    if not MPIRUN:
        sys.exit("run through tests/cluster/testbed.sh, which builds the hosts")
    unittest.main(verbosity=2)
