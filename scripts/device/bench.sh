#!/usr/bin/env bash
# The GPU benchmark rows of BENCHMARKS.md: µs per training epoch of the tutorial's network (216 training and
# 144 test rows of synthetic data) with `popdecode bench --json` (GFLOP/s, GB/s, the copy-bandwidth floor and each
# kernel's own time come with every row), and PyTorch's eager loop and CUDA graph on the same GPU in the same
# call, when torch with CUDA is importable; and stacks of 1, 10 and 100 networks of M = 10 trained together
# (`bench --networks`, beside one network of 10, 100 and 1,000 units) with PyTorch's eager loop over as many
# models and a torch.func ensemble.
#
# Usage, from anywhere:  OUT=/path/for/results bash scripts/device/bench.sh ["FLAGS" ...]
#   PARTS="fast long previous torch wide networks"   which parts run (that default, or any of them, plus "sweep";
#                                           "none" for only the flag sets given as arguments):
#     fast      popdecode bench --backend gpu --hidden 10,200,1000 --json       (100-epoch runs, 5 a row)
#     long      popdecode bench --hidden 10 --epochs 1000 --repeats 3 --json, LONG_RUNS times (default 3)
#     previous  the same with the three-dispatch plan's previous kernel choices
#               (--k-lanes 64 --grad-unroll false --forward-unroll false)
#     torch     python3 benches/pytorch_reference.py --device cuda --hidden 10 200 1000 --json
#     wide      popdecode bench --hidden 10,200,1000 --neurons 100000 --epochs 50 --json
#     networks  popdecode bench --backend gpu --networks 1,10,100 --json (stacks of M = 10 through train_stack,
#               each beside one network of K x 10 units; 100-epoch runs, 5 a row), then
#               python3 benches/pytorch_reference.py --networks 1 10 100 --device cuda --json (when torch with
#               CUDA imports; 100-epoch runs, 5 a row)
#     sweep     the kernel-choice sweep at M = 10 (1000-epoch runs; the table under "What made the M = 10 epoch
#               faster") and at M = 20 and 50 (300-epoch runs)
#   "FLAGS" ...   each further argument is one set of `popdecode bench` flags, timed as
#                 popdecode bench --hidden $SWEEP_HIDDEN --epochs $SWEEP_EPOCHS --repeats 3 --json FLAGS
#                 (defaults 10 and 1000); "" times the defaults
#   LONG_RUNS=3   how many times "long" runs
#   POPDECODE=path (default target/release/popdecode), SMALL=1 (a smoke test: 2,000 neurons, 8,000 and 5 epochs
#   for "wide", at most 100 epochs a run), STEP_S=300 (seconds one command may take)
# Every command's output is in "$OUT/bench-<part>....txt" or "$OUT/torch-cuda.txt" (one JSON object a row after
# any log lines); "$OUT/steps.txt" lists each
# step's exit status and seconds, "$OUT/machine.txt" the machine, binary, loader and driver.
# Exits 1 if any step failed.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PARTS=${PARTS:-fast long previous torch wide networks}
LONG_RUNS=${LONG_RUNS:-3}
SWEEP_HIDDEN=${SWEEP_HIDDEN:-10}
SWEEP_EPOCHS=${SWEEP_EPOCHS:-1000}
describe_machine bench.sh

long=1000 mid=300 wide_n=100000 wide_epochs=50
if [ "$SMALL" = 1 ]; then
  long=100 mid=100 wide_n=8000 wide_epochs=5
  if [ "$SWEEP_EPOCHS" -gt 100 ]; then SWEEP_EPOCHS=100; fi
fi
bench=("$POPDECODE" bench)
size=(${SIZE[@]+"${SIZE[@]}"})

# timed NAME HIDDEN EPOCHS FLAGS...: one `popdecode bench` row set, 3 timed runs each.
timed() {
  local name=$1 hidden=$2 epochs=$3
  shift 3
  step "bench-$name" "${bench[@]}" --hidden "$hidden" --epochs "$epochs" --repeats 3 --json \
    ${size[@]+"${size[@]}"} "$@"
}

if has_part fast; then
  step bench-fast "${bench[@]}" --backend gpu --hidden 10,200,1000 --json ${size[@]+"${size[@]}"}
fi

if has_part long; then
  for i in $(seq 1 "$LONG_RUNS"); do
    timed "long-M10-run$i" 10 "$long"
  done
fi

if has_part previous; then
  timed previous-choices-M10 10 "$long" --k-lanes 64 --grad-unroll false --forward-unroll false
fi

if has_part torch; then
  if python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
    torch_size=()
    if [ "$SMALL" = 1 ]; then torch_size=(--neurons 2000); fi
    step torch-cuda python3 benches/pytorch_reference.py --device cuda --hidden 10 200 1000 --json \
      ${torch_size[@]+"${torch_size[@]}"}
  else
    skip torch-cuda "python3 cannot import torch with CUDA available"
  fi
fi

if has_part wide; then
  step bench-wide-N$wide_n "${bench[@]}" --hidden 10,200,1000 --neurons "$wide_n" --epochs "$wide_epochs" --json
fi

if has_part networks; then
  net_epochs=()
  if [ "$SMALL" = 1 ]; then net_epochs=(--epochs 10 --repeats 2); fi
  step bench-networks "${bench[@]}" --backend gpu --networks 1,10,100 --json ${size[@]+"${size[@]}"} \
    ${net_epochs[@]+"${net_epochs[@]}"}
  if python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
    step torch-networks-cuda python3 benches/pytorch_reference.py --networks 1 10 100 --device cuda --json \
      ${size[@]+"${size[@]}"} ${net_epochs[@]+"${net_epochs[@]}"}
  elif [ "$SMALL" = 1 ] && python3 -c 'import torch' >/dev/null 2>&1; then
    # The smoke test tries the script's ensemble code on the CPU, so that a mistake in it costs no device time.
    step torch-networks-cpu python3 benches/pytorch_reference.py --networks 1 10 100 --device cpu --json \
      ${size[@]+"${size[@]}"} --epochs 3 --repeats 1
  else
    skip torch-networks-cuda "python3 cannot import torch with CUDA available"
  fi
fi

if has_part sweep; then
  # M = 10, 1000-epoch runs: the kernel choices of the sweep table (tiles, k-lanes, unrolls, k-split), each
  # other flag left explicit, since today's GPU defaults are tiles 4,5,1, 16 lanes and both unrolls.
  prev=(--tiles 4,5,1 --k-lanes 64 --grad-unroll false --forward-unroll false)
  timed sweep-M10-previous 10 "$long" "${prev[@]}"
  timed sweep-M10-t451-l64-gu 10 "$long" --tiles 4,5,1 --k-lanes 64 --grad-unroll true --forward-unroll false
  timed sweep-M10-t451-l64-gu-rs2 10 "$long" --tiles 4,5,1 --k-lanes 64 --grad-unroll true --forward-unroll false --row-split 2
  timed sweep-M10-t451-l64-gu-rs8 10 "$long" --tiles 4,5,1 --k-lanes 64 --grad-unroll true --forward-unroll false --row-split 8
  timed sweep-M10-t451-l16-gu 10 "$long" --tiles 4,5,1 --k-lanes 16 --grad-unroll true --forward-unroll false
  timed sweep-M10-t451-l8-gu 10 "$long" --tiles 4,5,1 --k-lanes 8 --grad-unroll true --forward-unroll false
  timed sweep-M10-t451-l4-gu 10 "$long" --tiles 4,5,1 --k-lanes 4 --grad-unroll true --forward-unroll false
  timed sweep-M10-default 10 "$long" --tiles 4,5,1 --k-lanes 16 --grad-unroll true --forward-unroll true
  timed sweep-M10-t2101-l16-gu 10 "$long" --tiles 2,10,1 --k-lanes 16 --grad-unroll true --forward-unroll false
  timed sweep-M10-t2101-l16-gu-fu 10 "$long" --tiles 2,10,1 --k-lanes 16 --grad-unroll true --forward-unroll true
  timed sweep-M10-t2101-l16-gu-fu-ks96 10 "$long" --tiles 2,10,1 --k-lanes 16 --grad-unroll true --forward-unroll true --k-split 96
  timed sweep-M10-t2101-l8-gu 10 "$long" --tiles 2,10,1 --k-lanes 8 --grad-unroll true --forward-unroll false
  timed sweep-M10-t1101-l8-gu 10 "$long" --tiles 1,10,1 --k-lanes 8 --grad-unroll true --forward-unroll false
  timed sweep-M10-t4101-l16-gu 10 "$long" --tiles 4,10,1 --k-lanes 16 --grad-unroll true --forward-unroll false
  timed sweep-M10-t851-l8-gu 10 "$long" --tiles 8,5,1 --k-lanes 8 --grad-unroll true --forward-unroll false
  timed sweep-M10-t2102-l16-gu 10 "$long" --tiles 2,10,2 --k-lanes 16 --grad-unroll true --forward-unroll false
  timed sweep-M10-t451-l8-gu-ks384 10 "$long" --tiles 4,5,1 --k-lanes 8 --grad-unroll true --forward-unroll false --k-split 384
  timed sweep-M10-t451-l8-gu-ks768 10 "$long" --tiles 4,5,1 --k-lanes 8 --grad-unroll true --forward-unroll false --k-split 768
  # M = 20 and 50, 300-epoch runs: the new defaults, the previous choices, tiles 2,10,1 with both unrolls.
  timed sweep-M20-50-default 20,50 "$mid" --tiles 4,5,1
  timed sweep-M20-50-previous 20,50 "$mid" "${prev[@]}"
  timed sweep-M20-50-t2101-gu-fu 20,50 "$mid" --tiles 2,10,1 --grad-unroll true --forward-unroll true
fi

# Further flag sets from the command line.
i=0
for flags in "$@"; do
  i=$((i + 1))
  read -ra extra <<<"$flags"
  tag=$(printf '%s' "${flags:-defaults}" | tr ' ,' '-_' | tr -cd 'A-Za-z0-9._-' | tr -s '-' | sed 's/^-//' | cut -c1-80)
  timed "variant$i-M${SWEEP_HIDDEN//,/_}-$tag" "$SWEEP_HIDDEN" "$SWEEP_EPOCHS" ${extra[@]+"${extra[@]}"}
done

echo "== bench.sh: $FAILED failed step(s); outputs in $OUT"
cat "$OUT/steps.txt"
[ "$FAILED" = 0 ]
