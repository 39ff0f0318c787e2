#!/usr/bin/env bash
# System programs some tests need (Debian, as root): Chromium for the HTML-report test, SLURM and
# munge for the cluster test (ci/slurm/setup_slurm.sh configures and starts them). Idempotent.
# Where it cannot run (not root, or no apt-get) it changes nothing, says so in one line and exits
# 0: only the tests that need these programs are then skipped, each with its reason.
set -euo pipefail
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then why="not root (uid $(id -u))"; else why="no apt-get"; fi
  echo "ci/setup.sh: $why: system set-up (Chromium, SLURM, munge) skipped; the tests that need them are skipped with that reason"
  exit 0
fi
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v slurmctld >/dev/null 2>&1 || need+=(slurm-wlm)
command -v munged >/dev/null 2>&1 || need+=(munge)
if [ ${#need[@]} -gt 0 ]; then
  echo "ci/setup.sh: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Start the one-node cluster for the whole test session: with SLURM installed but no controller,
# every snakemake start waits ~10 s on the SLURM plugin's `scontrol show config`. A failure here
# is not fatal: tests/test_slurm.py runs the same script and fails loudly with its message.
bash "$(dirname "$0")/slurm/setup_slurm.sh" || echo "ci/setup.sh: the SLURM cluster did not start (tests/test_slurm.py will say why)"
