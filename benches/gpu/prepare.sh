#!/usr/bin/env bash
# Prepares `.gpu/` (ignored by git) for `benches/gpu/run.sh` on a GPU machine that has no network and no
# Rust toolchain: a stripped, xz-compressed release build with the `wgpu` feature and the Python code of the
# two reference implementations. Run on the build machine, from the repository root:
#
#     bash benches/gpu/prepare.sh NVLABS_DIR INTERFACEGAN_DIR
#
# NVLABS_DIR: a checkout of github.com/NVlabs/stylegan3; INTERFACEGAN_DIR: one of github.com/genforce/interfacegan.
# The wgpu build takes about 25 minutes on two cores (docs/generator.md).
set -euo pipefail
nvlabs=${1:?NVLABS_DIR}
interfacegan=${2:?INTERFACEGAN_DIR}
cargo build --release -p interfacegan-cli --features wgpu
rm -rf .gpu && mkdir -p .gpu/nvlabs .gpu/interfacegan
strip -o .gpu/interfacegan-wgpu target/release/interfacegan
xz -9 -T0 .gpu/interfacegan-wgpu
cp -r "$nvlabs"/{dnnlib,torch_utils,training,legacy.py} .gpu/nvlabs/
cp -r "$interfacegan"/models .gpu/interfacegan/
find .gpu -name '__pycache__' -prune -exec rm -rf {} +
du -sb .gpu
echo "carry .gpu; the working tree and it travel together, 64 MiB at most"
