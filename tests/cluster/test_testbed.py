"""The multi-host test bed (tests/cluster/testbed.sh) builds its hosts, runs ranks on them over
TCP, and leaves nothing behind: no namespace, interface, address, process or scratch directory,
whether the command it ran succeeded, failed, or the bed itself was stopped by SIGTERM.

Skipped (exit status 77, as CTest's SKIP_RETURN_CODE) when the bed reports it cannot be built
here (not root, a tool missing, no network namespaces).
"""
import glob
import os
import signal
import subprocess
import sys
import time
import unittest

BED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testbed.sh")
SKIPPED = 77


def machine_state():
    """What the bed must not leave: namespaces, root-namespace interfaces and addresses, bed
    scratch directories."""
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    addresses = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout
    return {"netns": sorted(line.split()[0] for line in netns.splitlines() if line.strip()),
            "links": sorted(line.split(":")[1].strip() for line in links.splitlines()),
            "addresses": sorted(" ".join(line.split()[1:4]) for line in addresses.splitlines()),
            "scratch": sorted(glob.glob("/tmp/microseg-cluster.*"))}


def bed(*command, **kwargs):
    return subprocess.run([BED, *command], capture_output=True, text=True, timeout=120, **kwargs)


class TestBed(unittest.TestCase):
    def setUp(self):
        self.before = machine_state()

    def tearDown(self):
        self.assertEqual(machine_state(), self.before)

    def test_ranks_run_on_every_host_over_tcp_between_namespaces(self):
        # Each rank prints its host name and the address of its eth0, from inside its host.
        proc = bed("sh", "-c", '"$MICROSEG_CLUSTER_MPIRUN" -n 3 sh -c '
                   '\'echo "$(hostname) $(ip -4 -o addr show eth0 | cut -d" " -f7)"\'')
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = sorted(line for line in proc.stdout.splitlines() if not line.startswith("testbed"))
        self.assertEqual(lines, ["h1 10.213.0.11/24", "h2 10.213.0.12/24", "h3 10.213.0.13/24"])
        self.assertNotIn(os.uname().nodename, lines)

    def test_a_failing_command_passes_its_status_on_and_the_bed_is_removed(self):
        proc = bed("sh", "-c", "exit 3")
        self.assertEqual(proc.returncode, 3, proc.stderr)

    def test_a_bed_stopped_by_sigterm_removes_itself_and_its_processes(self):
        # A job running on the hosts when the bed is stopped: killed with the namespaces.
        proc = subprocess.Popen([BED, "sh", "-c", '"$MICROSEG_CLUSTER_MPIRUN" -n 3 sleep 300'],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if subprocess.run(["pgrep", "-x", "orted"], capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 143, stderr)
        time.sleep(0.5)
        self.assertEqual(subprocess.run(["pgrep", "-f", "sleep 300"], capture_output=True,
                                        text=True).stdout, "")


if __name__ == "__main__":
    probe = bed("true")
    if probe.returncode == SKIPPED:
        print(probe.stderr, end="")
        sys.exit(SKIPPED)
    if probe.returncode != 0:
        sys.exit(f"the test bed does not come up:\n{probe.stdout}{probe.stderr}")
    unittest.main(verbosity=2)
