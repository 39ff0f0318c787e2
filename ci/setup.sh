#!/usr/bin/env bash
# System packages the tests need (Debian): Chromium for the HTML-report test, SLURM and munge
# for the cluster test (ci/slurm/setup_slurm.sh configures and starts them). Idempotent.
set -euo pipefail
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
