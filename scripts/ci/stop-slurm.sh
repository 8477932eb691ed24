#!/usr/bin/env bash
# Stops what setup-slurm.sh STATE_DIR started, by the pid files it wrote (never by name: other
# Slurm or munge daemons on the machine are not ours).
S="${1:-${HOME:-/tmp}/.cache/reclf-slurm}"
for p in "$S/slurmd.pid" "$S/slurmctld.pid" "$S/munge/munged.pid"; do
  [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null && rm -f "$p"
done
exit 0
