#!/usr/bin/env bash
# On a GPU machine, from the repository root with `.gpu/` from `prepare.sh`: issue 22's GPU rows in one
# command (benches/gpu/compare_cuda.py), the table written to $OUT/gpu.md when OUT is set.
set -euo pipefail
xz -dc .gpu/interfacegan-wgpu.xz > /tmp/interfacegan-wgpu
chmod +x /tmp/interfacegan-wgpu
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
PYTHONUNBUFFERED=1 python3 benches/gpu/compare_cuda.py --binary /tmp/interfacegan-wgpu \
    --nvlabs .gpu/nvlabs --interfacegan-repo .gpu/interfacegan ${OUT:+--out "$OUT/gpu.md"} "$@"
