#!/usr/bin/env bash
# A multi-host test bed on one machine: "hosts" as network namespaces joined by a bridge, so Open
# MPI starts its daemons and ranks on them through its rsh launcher and the ranks talk over real
# TCP, and a test can cut or stall one host's link or kill every process on it.
#
#   tests/cluster/testbed.sh [--hosts N] COMMAND [ARG...]
#
# builds the bed, runs COMMAND with the variables below, removes the bed (a trap: also when
# COMMAND fails or the script is interrupted) and exits with COMMAND's status. Exit status 77
# (CTest SKIP_RETURN_CODE) with a message when the bed cannot be built here: not root, a tool
# missing, or the kernel refuses network namespaces or veth pairs.
#
# Layout (nothing is added to, or changed in, the root namespace; the bed lives entirely in
# namespaces of its own, named msc-*, so its addresses cannot clash with the machine's):
#   msc-sw      the switch: bridge br0, one port per host (h1 … hN, login), no address
#   msc-login   the login node 10.213.0.10: mpirun runs here; no ranks
#   msc-h1 …    the compute hosts 10.213.0.11, .12, …: one orted each, the ranks
# Each host namespace has lo up and eth0, the other end of a veth pair whose switch end is a
# port of br0. The hosts are named by address in the hostfile (no /etc/hosts entries) and get a
# UTS namespace of their own in the agent, so each reports its own host name (h1, h2, …).
#
# Variables for COMMAND:
#   MICROSEG_CLUSTER_MPIRUN    a script: mpirun in the login namespace with the hostfile, the
#                              bed's transport flags and scripts/mpirun-settings.sh (pass -n and
#                              the program)
#   MICROSEG_CLUSTER_HOSTS     "h1=10.213.0.11 h2=10.213.0.12 …"
#   MICROSEG_CLUSTER_PREFIX    the namespace prefix (msc-): host h1 is namespace msc-h1, its
#                              switch port is interface h1 in msc-sw
#   MICROSEG_CLUSTER_DIR       the bed's scratch directory (agent, hostfile), removed afterwards
#
# One bed at a time on a machine (flock on /run/lock/microseg-cluster.lock); namespaces msc-*
# left by a bed that was killed (SIGKILL cannot be trapped) are removed by the next one.
set -euo pipefail

hosts=3
if [[ "${1:-}" == --hosts ]]; then
  hosts="$2"
  shift 2
fi
if [[ $# -eq 0 ]]; then
  echo "usage: $0 [--hosts N] COMMAND [ARG...]" >&2
  exit 2
fi

skip() {
  echo "testbed: SKIPPED: $*" >&2
  exit 77
}

[[ $EUID -eq 0 ]] || skip "needs root (network namespaces, veth pairs, tc)"
for tool in ip tc unshare flock mpirun; do
  command -v "$tool" >/dev/null || skip "'$tool' is not installed"
done

prefix=msc-
subnet=10.213.0
switch="${prefix}sw"
login="${prefix}login"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

exec 9>/run/lock/microseg-cluster.lock
flock -w 900 9 || { echo "testbed: another bed held the lock for 15 minutes" >&2; exit 1; }

namespaces() {
  ip netns list | awk '{print $1}' | grep "^${prefix}" || true
}

# Every process in the bed's namespaces is killed before a namespace is deleted: a namespace
# outlives its mount in /run/netns while a process holds it.
remove_bed() {
  local ns pid
  for ns in $(namespaces); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill -CONT "$pid" 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
    done
  done
  for ns in $(namespaces); do
    ip netns del "$ns" 2>/dev/null || true
  done
  [[ -n "${scratch:-}" ]] && rm -rf "$scratch"
  return 0
}

stale="$(namespaces)"
if [[ -n "$stale" ]]; then
  echo "testbed: removing namespaces left by a bed that was killed:" $stale >&2
  remove_bed
fi

scratch=""
trap remove_bed EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
scratch="$(mktemp -d /tmp/microseg-cluster.XXXXXX)"

ip netns add "$switch" 2>/dev/null || skip "the kernel refuses network namespaces (ip netns add)"
ip -n "$switch" link set lo up
ip -n "$switch" link add br0 type bridge 2>/dev/null || skip "no bridge support in the kernel"
ip -n "$switch" link set br0 up

# add_host NAME ADDRESS: namespace PREFIX+NAME, eth0 at ADDRESS/24, port NAME on the switch.
add_host() {
  local name="$1" address="$2" ns="${prefix}$1"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$switch" link add "$name" type veth peer name eth0 netns "$ns" 2>/dev/null ||
    skip "the kernel refuses veth pairs"
  ip -n "$switch" link set "$name" master br0 up
  ip -n "$ns" addr add "$address/24" dev eth0
  ip -n "$ns" link set eth0 up
}

add_host login "$subnet.10"
host_list=""
: >"$scratch/hostfile"
for ((i = 1; i <= hosts; i++)); do
  add_host "h$i" "$subnet.$((10 + i))"
  echo "$subnet.$((10 + i)) slots=1" >>"$scratch/hostfile"
  host_list+="h$i=$subnet.$((10 + i)) "
done

# Open MPI's rsh launcher calls the agent as `agent HOST COMMAND...`, as it would call ssh: the
# command is run by a shell in the host's namespace, under the host's own name.
cat >"$scratch/agent" <<EOF
#!/bin/sh
while [ "\${1#-}" != "\$1" ]; do shift; done
host="\$1"
shift
case "\$host" in
EOF
for ((i = 1; i <= hosts; i++)); do
  echo "  $subnet.$((10 + i))|h$i) name=h$i ;;" >>"$scratch/agent"
done
cat >>"$scratch/agent" <<EOF
  *) echo "testbed agent: unknown host '\$host'" >&2; exit 255 ;;
esac
exec ip netns exec "${prefix}\$name" unshare --uts /bin/sh -c "hostname \$name; \$*"
EOF
chmod 755 "$scratch/agent"

# mpirun on the login node: the rsh agent above, the daemons and ranks wired to each other
# directly over the bed's subnet only (TCP; no shared memory, which would bypass the links), and
# the site settings every launch uses (scripts/mpirun-settings.sh). The hosts share this
# machine's cores, which Open MPI cannot see (one slot per host): waiting ranks yield the CPU, as
# they do by themselves on a node Open MPI knows to be oversubscribed.
cat >"$scratch/mpirun" <<EOF
#!/bin/sh
. "$repo/scripts/mpirun-settings.sh"
exec ip netns exec "$login" mpirun --hostfile "$scratch/hostfile" \\
  --mca plm_rsh_agent "$scratch/agent" --mca plm_rsh_no_tree_spawn 1 --mca routed direct \\
  --mca btl tcp,self --mca oob_tcp_if_include $subnet.0/24 --mca btl_tcp_if_include $subnet.0/24 \\
  --mca mpi_yield_when_idle 1 --bind-to none "\$@"
EOF
chmod 755 "$scratch/mpirun"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export MICROSEG_CLUSTER_MPIRUN="$scratch/mpirun" MICROSEG_CLUSTER_HOSTS="${host_list% }"
export MICROSEG_CLUSTER_PREFIX="$prefix" MICROSEG_CLUSTER_DIR="$scratch"

# The bed works when every host answers by name over it; otherwise the test fails here.
status=0
"$scratch/mpirun" -n "$hosts" hostname >"$scratch/check" 2>&1 || status=$?
if [[ $status -ne 0 || "$(sort "$scratch/check" | tr '\n' ' ')" != "$(seq -f 'h%g' 1 "$hosts" | tr '\n' ' ')" ]]; then
  echo "testbed: mpirun across the bed failed (status $status):" >&2
  cat "$scratch/check" >&2
  exit 1
fi
echo "testbed: $hosts hosts up ($host_list), mpirun on $login ($subnet.10)"

# In the background, so a SIGTERM or SIGINT to the bed is handled at once (bash runs traps only
# between commands): the command is ended with it and the bed removed.
command_pid=""
trap '[[ -n "$command_pid" ]] && kill -TERM "$command_pid" 2>/dev/null; exit 130' INT
trap '[[ -n "$command_pid" ]] && kill -TERM "$command_pid" 2>/dev/null; exit 143' TERM
"$@" &
command_pid=$!
status=0
wait "$command_pid" || status=$?
exit "$status"
