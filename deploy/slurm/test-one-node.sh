#!/usr/bin/env bash
# Installs Slurm on this machine as a one-node cluster (Debian packages slurm-wlm and
# munge, host name localhost), runs a bundled scenario as a 4-task array sweep with
# deploy/slurm/sweep.sbatch, waits for the dependent merge job, and checks that the
# merged folder holds the same bytes as the same sweep run without Slurm.
#
#   sudo deploy/slurm/test-one-node.sh        (as root; Debian or Ubuntu)
#
# Not part of .ci/run: it installs system packages and starts daemons (munged,
# slurmctld, slurmd), which CI should not do on every commit. It leaves them
# running; `pkill -x slurmd; pkill -x slurmctld; pkill -x munged` (or a reboot)
# stops them.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

say() { printf '== %s\n' "$*"; }

if [ ! -x target/release/hasim ]; then
    say "building hasim"
    cargo build --release
fi
export HASIM=$ROOT/target/release/hasim

say "installing slurm-wlm and munge"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge
fi
slurmctld -V

say "starting munged"
if [ ! -s /etc/munge/munge.key ]; then
    if command -v mungekey >/dev/null; then mungekey --create --force; else create-munge-key -f; fi
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if ! pgrep -x munged >/dev/null; then
    runuser -u munge -- munged
fi
munge -n | unmunge | grep STATUS

say "writing /etc/slurm/slurm.conf (one node: localhost, $(nproc) CPUs)"
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=hasim
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=localhost CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

say "starting slurmctld and slurmd"
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd -N localhost
for _ in $(seq 1 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then break; fi
    sleep 1
done
sinfo

WORK=$(mktemp -d /tmp/hasim-slurm.XXXXXX)
chmod 755 "$WORK"
SCENARIO=scenarios/crash-failover.toml
ARGS=(--seeds 4 --set run.duration=30s)

say "submitting a 4-task array sweep of $SCENARIO into $WORK/sweep"
ARRAY=$(sbatch --parsable --array=1-4 --chdir="$ROOT" --output="$WORK/task-%A_%a.out" \
    deploy/slurm/sweep.sbatch "$WORK/sweep" "$SCENARIO" "${ARGS[@]}")
echo "array job $ARRAY"

say "waiting for the shards and the merge job"
for _ in $(seq 1 600); do
    if [ -s "$WORK/sweep/merged/manifest.json" ] && ! squeue -h | grep -q .; then break; fi
    sleep 1
done
squeue
sacct -X -n -o JobID,JobName,State,ExitCode 2>/dev/null || true
for f in "$WORK"/task-*.out "$WORK"/sweep/merge-*.out; do
    echo "--- $(basename "$f")"
    tail -n 3 "$f"
done
test -s "$WORK/sweep/merged/manifest.json"

say "the same sweep on one machine, without Slurm"
"$HASIM" compare "$SCENARIO" "${ARGS[@]}" --out "$WORK/single" > /dev/null

say "comparing every file but manifest.json"
status=0
for f in "$WORK"/single/*; do
    name=$(basename "$f")
    [ "$name" = manifest.json ] && continue
    if cmp -s "$f" "$WORK/sweep/merged/$name"; then
        echo "same  $name ($(stat -c %s "$f") bytes)"
    else
        echo "DIFFERENT  $name"
        status=1
    fi
done
extra=$(cd "$WORK/sweep/merged" && ls | grep -vxF -f <(cd "$WORK/single" && ls) || true)
if [ -n "$extra" ]; then echo "only in the merged folder: $extra"; status=1; fi
grep -E '"status"|"planned"|"written"' "$WORK/sweep/merged/manifest.json"
if [ $status -eq 0 ]; then say "OK: the merged Slurm sweep equals the single-machine run"; fi
exit $status
