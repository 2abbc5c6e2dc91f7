# shellcheck shell=bash
# Open MPI settings for jobs started with mpirun across hosts (sourced by scripts/common.sh and by
# the multi-host test bed, tests/cluster/testbed.sh; docs/operations.md, "Host and network
# faults"). A value already in the environment wins.
#
# mpirun learns that a host is gone only from its TCP connection to that host's daemon (orted): a
# host that loses power or its link closes nothing. Open MPI's defaults probe an idle connection
# after 300 s, then 9 times 20 s apart, so a lost host is noticed after 8 minutes; worse, once a
# rank's failure (or microseg's stall watchdog) has made mpirun send the order to end the job,
# the message to the lost daemon waits unacknowledged, the kernel stops keepalive probing for
# the retransmissions and gives up only after net.ipv4.tcp_retries2 (about 15 minutes): the
# mpirun that did not end for 13 minutes, even on SIGTERM (issue 14; tests/cluster measures it).
#
# With keepalive after TIME idle seconds and PROBES probes INTVL seconds apart, mpirun notices a
# silent host within about TIME + PROBES × INTVL seconds (here 20 + 4 × 10 = 60), reports
# "ORTE has lost communication with a remote daemon … on node HOST" and ends the whole job
# itself. Keep that below microseg's --stall-timeout (default 300 s), so mpirun has given the
# host up before the ranks' watchdog ends them; and above the longest network stall a job should
# ride out (a stall shorter than INTVL × (PROBES − 1) never ends the job).
export OMPI_MCA_oob_tcp_keepalive_time="${OMPI_MCA_oob_tcp_keepalive_time:-20}"
export OMPI_MCA_oob_tcp_keepalive_intvl="${OMPI_MCA_oob_tcp_keepalive_intvl:-10}"
export OMPI_MCA_oob_tcp_keepalive_probes="${OMPI_MCA_oob_tcp_keepalive_probes:-4}"
