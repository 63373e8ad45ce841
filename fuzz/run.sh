#!/usr/bin/env bash
# Fuzzes every parser of files from strangers with libFuzzer (cargo fuzz), each target for a time
# budget, under a 1 GiB RSS limit, and prints one line of figures per target.
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 60 s, every target)
#
# cargo fuzz needs nightly compiler flags (-Z sanitizer). The project's toolchain is the only one
# these machines can fetch, so the script uses it with RUSTC_BOOTSTRAP=1, which unlocks those
# flags on a release compiler (whose rust-std ships the sanitizer runtimes). The corpora
# start from the fixtures (fuzz/corpus/, not committed); crashes land in fuzz/artifacts/<target>/
# and make the script fail.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(npy pickle pth_zip safetensors onnx manifest)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2
fi
export RUSTC_BOOTSTRAP=1

seed() {
    local target=$1
    shift
    mkdir -p "corpus/$target"
    for f in "$@"; do
        cp -n "$f" "corpus/$target/$(echo "$f" | tr '/' '_')" 2>/dev/null || true
    done
}
fixtures=../fixtures
seed npy $(find "$fixtures" -name '*.npy' -size -64k | sort | head -40)
seed pickle "$fixtures"/golden/nvlabs/sg3r_64.pkl "$fixtures"/golden/nvlabs/sg2_32_orig.pkl "$fixtures"/golden/pggan64/weights_legacy.pth
seed pth_zip "$fixtures"/golden/pggan64/weights_zip.pth "$fixtures"/golden/rosinality/rosinality_32.pt "$fixtures"/golden/genforce/genforce_32.pth
seed safetensors "$fixtures"/golden/pggan64/weights.safetensors
seed onnx "$fixtures"/models/emotion_mini_xception.onnx "$fixtures"/models/gender-v1.onnx
seed manifest seeds/manifest/*.json

cargo fuzz build --release --debug-assertions
failed=0
for target in "${targets[@]}"; do
    mkdir -p "artifacts/$target"
    log="artifacts/$target/run.log"
    if cargo fuzz run --release --debug-assertions "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=1024 -malloc_limit_mb=1024 -timeout=10 \
        -max_len=1048576 -print_final_stats=1 >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed=1
    fi
    executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    corpus=$(find "corpus/$target" -type f | wc -l)
    crashes=$(find "artifacts/$target" -type f ! -name run.log | wc -l)
    echo "fuzz $target: $status, $executions executions in ${seconds} s, corpus $corpus files, $crashes crash files"
    if [ $status = FAILED ]; then
        grep -m5 -E 'ERROR|panicked|Test unit written' "$log" || tail -5 "$log"
    fi
done
exit $failed
