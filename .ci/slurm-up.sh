#!/usr/bin/env bash
# Bring up a single-node Slurm (munge + slurmctld + slurmd) on this machine, as root.
# Idempotent: installs only what is missing, keeps an existing munge key, restarts nothing
# that already answers. Exits non-zero with a clear message if the node does not come up idle.
set -euo pipefail

WAIT_S=${SLURM_UP_WAIT_S:-30}
die() { echo "slurm-up: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q || die "apt-get update failed"
  apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null || die "apt-get install slurm-wlm munge failed"
fi

# munge: a key, its run dir, the daemon
mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge 2>/dev/null || true
chmod 0700 /etc/munge /var/lib/munge /var/log/munge
chmod 0755 /run/munge
chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  if id munge >/dev/null 2>&1; then
    su -s /bin/sh munge -c munged || munged --force || die "munged did not start"
  else
    munged --force || die "munged did not start"
  fi
  for _ in $(seq 1 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null 2>&1 || die "munge does not answer"
fi

HOST=$(hostname -s)
CPUS=$(nproc)
FREE_MB=$(awk '/MemAvailable/ {print int($2/1024)}' /proc/meminfo)
MEM_MB=$(( FREE_MB * 9 / 10 ))
[ "$MEM_MB" -gt 100 ] || MEM_MB=100

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm
CONF=/etc/slurm/slurm.conf
NEW=$(mktemp /etc/slurm/slurm.conf.XXXXXX)
cat >"$NEW" <<CONF
ClusterName=sciml
SlurmctldHost=${HOST}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SchedulerType=sched/backfill
MaxArraySize=10001
MinJobAge=30
KillWait=5
NodeName=${HOST} CPUs=${CPUS} RealMemory=${MEM_MB} State=UNKNOWN
PartitionName=debug Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP
CONF
# keep the old file (and running daemons) when only the free-memory figure moved
if [ -f "$CONF" ] && diff -q <(grep -v '^NodeName' "$CONF") <(grep -v '^NodeName' "$NEW") >/dev/null; then
  rm -f "$NEW"
else
  chmod 0644 "$NEW"; mv "$NEW" "$CONF"
fi

if ! scontrol ping 2>/dev/null | grep -q UP; then
  slurmctld || die "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
fi
if ! pgrep -x slurmd >/dev/null; then
  slurmd || die "slurmd did not start (see /var/log/slurm/slurmd.log)"
fi

for _ in $(seq 1 $(( WAIT_S * 2 ))); do
  state=$(sinfo -h -N -n "$HOST" -o '%T' 2>/dev/null | head -n1 || true)
  case "$state" in
    idle|mixed|allocated|completing) echo "slurm-up: node $HOST $state ($CPUS CPUs, ${MEM_MB} MB)"; exit 0 ;;
  esac
  sleep 0.5
done
die "node $HOST not idle after ${WAIT_S}s (state: ${state:-none}); see /var/log/slurm/"
