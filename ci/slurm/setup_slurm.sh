#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine, for tests/test_slurm.py and CI.
#
#   bash ci/slurm/setup_slurm.sh          # install if missing, configure, start, smoke-test
#   bash ci/slurm/setup_slurm.sh --stop   # stop the daemons this script started
#
# What it does (idempotent: a running, healthy cluster is left alone):
#   1. apt-get installs Debian's slurm-wlm and munge if slurmctld/slurmd/munged/sbatch are missing;
#   2. writes /etc/slurm/slurm.conf for ONE node (this machine's hostname, CPU count and memory),
#      addressed as 127.0.0.1 only, one partition (default name "main", as in
#      profiles/slurm/profile.yaml), accounting off (so jobs are tracked with squeue);
#   3. starts munged, slurmctld and slurmd, waits for the node to be idle, runs one `srun true`.
# It exits non-zero with a message starting "SLURM SETUP FAILED:" if the cluster cannot start.
# Root is needed (apt-get, daemons). Environment overrides: SLURM_PARTITION (default main),
# SLURM_CONF_PATH (default /etc/slurm/slurm.conf), SLURM_SETUP_TIMEOUT (seconds, default 60).
set -uo pipefail

PARTITION="${SLURM_PARTITION:-main}"
CONF="${SLURM_CONF_PATH:-/etc/slurm/slurm.conf}"
TIMEOUT="${SLURM_SETUP_TIMEOUT:-60}"
STATE_DIR=/var/spool/slurmctld
SPOOL_DIR=/var/spool/slurmd
LOG_DIR=/var/log/slurm
RUN_DIR=/run/slurm
# A header that marks the config as ours: we rewrite only files that carry it (or none at all).
MARK="# written by ci/slurm/setup_slurm.sh"

say() { echo "[setup_slurm] $*"; }
fail() {
    echo "SLURM SETUP FAILED: $*" >&2
    for f in "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log"; do
        if [ -s "$f" ]; then echo "--- last lines of $f" >&2; tail -n 15 "$f" >&2; fi
    done
    exit 1
}

stop_daemons() {
    # Only the pids our daemons wrote into their pid files: never a broad kill by name.
    for pidfile in "$RUN_DIR/slurmd.pid" "$RUN_DIR/slurmctld.pid" /run/munge/munged.pid; do
        if [ -s "$pidfile" ]; then
            pid=$(cat "$pidfile")
            if kill -0 "$pid" 2>/dev/null; then kill "$pid" && say "stopped pid $pid ($pidfile)"; fi
            rm -f "$pidfile"
        fi
    done
}

if [ "${1:-}" = "--stop" ]; then stop_daemons; exit 0; fi
[ "$(id -u)" = 0 ] || fail "must run as root (apt-get, munged, slurmctld, slurmd); uid is $(id -u)"

# --- 1. packages -----------------------------------------------------------------------------
missing=()
for cmd in slurmctld slurmd munged sbatch squeue srun sinfo scontrol; do
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$cmd")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "missing ${missing[*]}: apt-get install slurm-wlm munge"
    command -v apt-get >/dev/null || fail "apt-get not found: install slurm-wlm and munge by hand"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/tmp/setup_slurm_apt.log 2>&1 || fail "apt-get update failed (see /tmp/setup_slurm_apt.log)"
    apt-get install -y -q --no-install-recommends slurm-wlm munge >>/tmp/setup_slurm_apt.log 2>&1 \
        || fail "apt-get install slurm-wlm munge failed (see /tmp/setup_slurm_apt.log)"
    say "installed: $(dpkg-query -W -f='${Package} ${Version}; ' slurm-wlm munge 2>/dev/null)"
else
    say "slurm and munge already installed ($(slurmd -V 2>/dev/null))"
fi
export PATH="$PATH:/usr/sbin"

# --- 2. slurm.conf -----------------------------------------------------------------------------
HOST=$(hostname -s)
CPUS=$(nproc --all)
MEM_TOTAL_MB=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
# Leave 1 GB (or 10%) to the system so slurmd does not drain the node for "low RealMemory".
REAL_MB=$(( MEM_TOTAL_MB - (MEM_TOTAL_MB / 10 > 1024 ? MEM_TOTAL_MB / 10 : 1024) ))
[ "$REAL_MB" -gt 512 ] || fail "only ${MEM_TOTAL_MB} MB of memory: too little for a SLURM node"
# Loopback only: the daemons bind to the address the hostname resolves to, which must be 127.x.
HOST_ADDR=$(getent ahostsv4 "$HOST" | awk 'NR == 1 {print $1}')
case "$HOST_ADDR" in
    127.*) ;;
    *) fail "hostname $HOST resolves to '${HOST_ADDR:-nothing}', not a loopback address; add '127.0.1.1 $HOST' to /etc/hosts so the cluster stays on loopback" ;;
esac

new_conf=$(cat <<EOF
$MARK: single-node test cluster, loopback only, no accounting.
ClusterName=pra
SlurmctldHost=${HOST}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
# Accounting off: 'sacct' sees nothing, so the snakemake plugin must poll with squeue.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Finished jobs stay visible to squeue for 5 minutes; the snakemake plugin falls back to sacct
# when MinJobAge is below 3x its first status delay.
MinJobAge=300
ReturnToService=2
StateSaveLocation=${STATE_DIR}
SlurmdSpoolDir=${SPOOL_DIR}
SlurmctldPidFile=${RUN_DIR}/slurmctld.pid
SlurmdPidFile=${RUN_DIR}/slurmd.pid
SlurmctldLogFile=${LOG_DIR}/slurmctld.log
SlurmdLogFile=${LOG_DIR}/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
SlurmctldTimeout=30
SlurmdTimeout=30
# Bind to the address the hostname resolves to (checked to be loopback above), not to 0.0.0.0.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
InactiveLimit=0
KillWait=5
NodeName=${HOST} NodeAddr=127.0.0.1 NodeHostname=${HOST} CPUs=${CPUS} RealMemory=${REAL_MB} State=UNKNOWN
PartitionName=${PARTITION} Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP
EOF
)

if [ -f "$CONF" ] && ! grep -q "^$MARK" "$CONF"; then
    fail "$CONF exists and was not written by this script: refusing to overwrite a real cluster's config"
fi
conf_changed=0
if [ ! -f "$CONF" ] || [ "$(cat "$CONF")" != "$new_conf" ]; then
    mkdir -p "$(dirname "$CONF")"
    printf '%s\n' "$new_conf" >"$CONF"
    conf_changed=1
    say "wrote $CONF: node $HOST (127.0.0.1), $CPUS CPUs, RealMemory=${REAL_MB} MB, partition $PARTITION"
else
    say "$CONF unchanged (node $HOST, $CPUS CPUs, RealMemory=${REAL_MB} MB, partition $PARTITION)"
fi
# Debian's slurm.conf lives in /etc/slurm; the client tools find it there unless SLURM_CONF says otherwise.
if [ "$CONF" != /etc/slurm/slurm.conf ]; then export SLURM_CONF="$CONF"; fi
mkdir -p "$STATE_DIR" "$SPOOL_DIR" "$LOG_DIR" "$RUN_DIR"

# --- 3. daemons -----------------------------------------------------------------------------------
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# munge: the key comes with the Debian package; create one if it is absent.
if [ ! -s /etc/munge/munge.key ]; then
    if command -v mungekey >/dev/null || [ -x /usr/sbin/mungekey ]; then
        /usr/sbin/mungekey --create --keyfile=/etc/munge/munge.key || fail "mungekey could not create /etc/munge/munge.key"
    else
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
    say "created /etc/munge/munge.key"
fi
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/log/munge /var/lib/munge
chmod 0700 /etc/munge; chmod 0400 /etc/munge/munge.key; chmod 0755 /run/munge
if alive /run/munge/munged.pid; then
    say "munged already running (pid $(cat /run/munge/munged.pid))"
else
    runuser -u munge -- /usr/sbin/munged || fail "munged did not start"
    say "started munged (pid $(cat /run/munge/munged.pid 2>/dev/null))"
fi
munge -n | unmunge >/dev/null 2>&1 \
    || fail "munge round trip (munge -n | unmunge) failed; /var/log/munge/munged.log: $(tail -n 5 /var/log/munge/munged.log 2>&1)"

if [ $conf_changed = 1 ]; then
    # A new config needs fresh daemons; stale state from another config confuses slurmctld.
    for pidfile in "$RUN_DIR/slurmd.pid" "$RUN_DIR/slurmctld.pid"; do
        if alive "$pidfile"; then kill "$(cat "$pidfile")"; say "stopped the old $(basename "$pidfile" .pid) for the new config"; sleep 1; fi
    done
fi
if alive "$RUN_DIR/slurmctld.pid"; then
    say "slurmctld already running (pid $(cat "$RUN_DIR/slurmctld.pid"))"
else
    /usr/sbin/slurmctld || fail "slurmctld did not start"
    say "started slurmctld"
fi
if alive "$RUN_DIR/slurmd.pid"; then
    say "slurmd already running (pid $(cat "$RUN_DIR/slurmd.pid"))"
else
    /usr/sbin/slurmd || fail "slurmd did not start"
    say "started slurmd"
fi

# --- 4. wait for the node, then one real job -----------------------------------------------------
deadline=$(( $(date +%s) + TIMEOUT ))
state=""
while [ "$(date +%s)" -lt "$deadline" ]; do
    state=$(sinfo -h -n "$HOST" -o '%T' 2>/dev/null | head -n 1)
    case "$state" in
        idle|mixed|allocated|completing) break ;;
        down*|drain*|fail*) scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 1
done
case "$state" in
    idle|mixed|allocated|completing) say "node $HOST is $state" ;;
    *) fail "node $HOST not ready after ${TIMEOUT}s (state '${state:-none}'; sinfo: $(sinfo 2>&1 | tr '\n' ' '))" ;;
esac
out=$(timeout "$TIMEOUT" srun -p "$PARTITION" -N 1 -n 1 --mem=100 -t 1 hostname 2>&1) \
    || fail "test job 'srun hostname' failed: $out"
say "test job ran on $out; cluster ready: partition $PARTITION, status via squeue (accounting off)"
