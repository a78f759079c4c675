#!/usr/bin/env bash
# A real one-node SLURM on this machine, for the tests marked `slurm` (needs root).
#   bash scripts/slurm_cluster.sh up      install (Debian slurm-wlm + munge) if needed, start
#   bash scripts/slurm_cluster.sh down    cancel jobs, stop the daemons
#   bash scripts/slurm_cluster.sh status
# No accounting database: sacct does not work, so the test profile (profiles/slurm-test) uses
# --slurm-no-account and --slurm-status-command squeue.
set -euo pipefail

conf_dir=/etc/slurm
spool=/var/spool/slurm-test

install() {
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
  fi
}

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
  mkdir -p "$conf_dir" "$spool/ctld" "$spool/d" /var/log/slurm
  cat >"$conf_dir/slurm.conf" <<CONF
ClusterName=invertibility-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
StateSaveLocation=$spool/ctld
SlurmdSpoolDir=$spool/d
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  # no cgroup.conf: proctrack/linuxproc and task/none need none (22.05 has no 'disabled')
  rm -f "$conf_dir/cgroup.conf"
}

start_munge() {
  mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
  fi
  chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
  chmod 400 /etc/munge/munge.key
  pgrep -x munged >/dev/null || runuser -u munge -- munged
}

up() {
  install
  write_conf
  start_munge
  pgrep -x slurmctld >/dev/null || slurmctld
  pgrep -x slurmd >/dev/null || slurmd
  for _ in $(seq 60); do
    if sinfo -h -o "%T" 2>/dev/null | grep -qE "idle|mix|alloc"; then
      scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
      echo "SLURM is up: $(sinfo -h -o '%P %D %T %c CPUs')"
      return 0
    fi
    sleep 1
  done
  echo "SLURM did not come up; see /var/log/slurm/" >&2
  tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
  return 1
}

down() {
  scancel --user=root >/dev/null 2>&1 || true
  pkill -x slurmd || true
  pkill -x slurmctld || true
  pkill -x munged || true
  echo "SLURM is down"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  status) sinfo && squeue ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
