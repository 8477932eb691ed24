#!/usr/bin/env bash
# The cluster test tier (test/engine/slurm/) needs a Slurm controller to submit to. This starts a
# one-node Slurm on 127.0.0.1 from Debian's slurm-wlm and munge: private munge key and socket and
# all state under STATE_DIR (default ~/.cache/reclf-slurm), so nothing system-wide is configured.
# No accounting (sacct), no GPUs declared, one partition 'debug'.
# Usage: setup-slurm.sh [STATE_DIR]; stop with stop-slurm.sh [STATE_DIR].
# On success it prints the path of slurm.conf on stdout (export it as SLURM_CONF, as .ci/run does).
# It always exits 0: when apt, root or the daemons are missing it prints why on stderr and prints
# nothing on stdout, and the tier then skips with the reason.
set -uo pipefail

S="${1:-${HOME:-/tmp}/.cache/reclf-slurm}"
mkdir -p "$S" && S="$(cd "$S" && pwd)"
skip() { echo "slurm: $*; the Slurm tier will skip" >&2; exit 0; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  command -v apt-get >/dev/null || skip 'no apt-get here to install slurm-wlm and munge'
  [ "$(id -u)" = 0 ] || skip 'not root, cannot apt-get install slurm-wlm and munge'
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurm-wlm munge; } >"$S/apt.log" 2>&1 \
    || skip "slurm-wlm/munge could not be installed (apt log: $S/apt.log)"
fi
[ "$(id -u)" = 0 ] || skip 'not root: slurmd must run as root to start jobs'

# Already up (a second call, or a cluster left by an earlier run): reuse it.
if [ -f "$S/slurm.conf" ] && SLURM_CONF="$S/slurm.conf" sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
  echo "slurm: already running ($S)" >&2
  echo "$S/slurm.conf"; exit 0
fi
bash "$(dirname "$0")/stop-slurm.sh" "$S" >/dev/null 2>&1

mkdir -p "$S"/{spool,state,log,munge}
HOST="$(hostname -s)"
CPUS="$(nproc)"
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
PORT="${RECLF_SLURM_PORT:-16817}"
# MinJobAge keeps finished jobs visible to squeue/scontrol a while (no accounting to ask instead);
# KillWait is the grace between SIGTERM and SIGKILL on scancel/time limit (the engine checkpoints in it);
# cred_expire is also how long a requeued job waits before it may start again (120 s by default).
cat >"$S/slurm.conf" <<CONF
ClusterName=reclf-local
SlurmctldHost=$HOST(127.0.0.1)
AuthType=auth/munge
AuthInfo=socket=$S/munge/munge.socket.2,cred_expire=10
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$PORT
SlurmdPort=$(( PORT + 1 ))
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=1024
ReturnToService=2
MpiDefault=none
MinJobAge=600
KillWait=30
JobRequeue=1
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
[ -f "$S/munge/munge.key" ] || dd if=/dev/urandom bs=1 count=1024 of="$S/munge/munge.key" 2>/dev/null
chmod 700 "$S/munge"; chmod 400 "$S/munge/munge.key"
munged --force --key-file="$S/munge/munge.key" --socket="$S/munge/munge.socket.2" \
  --pid-file="$S/munge/munged.pid" --log-file="$S/log/munged.log" --seed-file="$S/munge/munge.seed" \
  || skip "munged did not start (log: $S/log/munged.log)"
export SLURM_CONF="$S/slurm.conf"
slurmctld -f "$SLURM_CONF" || skip "slurmctld did not start (log: $S/log/slurmctld.log)"
slurmd -f "$SLURM_CONF" || skip "slurmd did not start (log: $S/log/slurmd.log)"
for _ in $(seq 1 30); do
  if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    echo "slurm: one-node cluster up on 127.0.0.1:$PORT ($CPUS CPUs, state in $S)" >&2
    echo "$SLURM_CONF"; exit 0
  fi
  sleep 1
done
bash "$(dirname "$0")/stop-slurm.sh" "$S" >/dev/null 2>&1
skip "the node did not come up within 30 s (logs in $S/log)"
