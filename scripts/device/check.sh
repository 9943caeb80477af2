#!/usr/bin/env bash
# The real-GPU check: does popdecode on this machine's GPU (wgpu through Vulkan) agree with its f64 CPU reference,
# at the tutorial's full size, on the fast path (M = 10, 200, 1000) and on every feature of the general path
# (classification, penalties, a deeper net, the circular loss, Adam, momentum with mini-batches); and does a
# 50-epoch `popdecode train` of each run there (its time and result). Nothing here needs PyTorch.
#
# Usage, from anywhere:  OUT=/path/for/results bash scripts/device/check.sh
#   PARTS="tutorial general stack"  which parts run (default all three; "none" for only `info`): tutorial =
#                             check at M = 10, 200, 1000 and train at M = 10; general = check then train for
#                             each general-path flag set below; stack = a sweep of 40 networks (2 lr x 2 neuron
#                             counts x 5 folds x 2 repeats) trained in stacks on the GPU and on the CPU, their
#                             networks.csv compared (test and training losses within 1e-3, compare's rule)
#   POPDECODE=path            the binary (default target/release/popdecode)
#   SMALL=1                   2,000 neurons instead of 23,589 (a smoke test, e.g. on a software adapter)
#   STEP_S=300                seconds one command may take;  TRAIN=0  skips the train runs
# Every command's output is in "$OUT/<step>.txt"; "$OUT/steps.txt" lists each step's exit status and seconds,
# "$OUT/machine.txt" the machine, binary, loader and driver. Exits 1 if any step failed.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PARTS=${PARTS:-tutorial general stack}
TRAIN=${TRAIN:-1}
describe_machine check.sh

# Run folders of `train` can be large (weights.npz is M x N floats): they go to a scratch folder, and only
# their summary.json and history.csv are kept under $OUT.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# check_and_train NAME FLAGS...: `popdecode check FLAGS`, then (TRAIN=1) `popdecode train --quiet FLAGS`.
check_and_train() {
  local name=$1
  shift
  step "check-$name" "$POPDECODE" check ${SIZE[@]+"${SIZE[@]}"} "$@"
  if [ "$TRAIN" = 1 ]; then
    step "train-$name" "$POPDECODE" train --quiet --backend gpu ${SIZE[@]+"${SIZE[@]}"} \
      --out "$scratch/$name" "$@"
    for f in summary.json history.csv; do
      if [ -f "$scratch/$name/$f" ]; then cp "$scratch/$name/$f" "$OUT/train-$name.$f"; fi
    done
    rm -rf "${scratch:?}/$name"
  fi
}

step info "$POPDECODE" info

if has_part tutorial; then
  # The tutorial's network (Linear(N, M) -> ReLU -> Linear(M, 1), MSE, lr 1e-4): the fast path.
  check_and_train tutorial-M10
  step check-tutorial-M200 "$POPDECODE" check ${SIZE[@]+"${SIZE[@]}"} --hidden 200
  step check-tutorial-M1000 "$POPDECODE" check ${SIZE[@]+"${SIZE[@]}"} --hidden 1000
fi

if has_part general; then
  # The general path (src/gpu/general/): each feature BENCHMARKS.md's general-path table lists.
  check_and_train classify --task classify
  check_and_train classify-l2-l1 --task classify --l2 1e-2 --l1 5e-4
  check_and_train classify-deep --task classify --hidden 200,100,50
  check_and_train circular --loss circular --lr 2
  check_and_train adam --optimizer adam --lr 1e-3
  check_and_train momentum-batch32 --momentum 0.9 --lr 1e-5 --batch-size 32
fi

if has_part stack; then
  # The stacked path (src/gpu/stack/) against the fast CPU backend's stacks on the same sweep.
  counts="1000,23589"
  if [ "$SMALL" = 1 ]; then counts="200,2000"; fi
  for backend in gpu cpu; do
    step "sweep-stack-$backend" "$POPDECODE" sweep ${SIZE[@]+"${SIZE[@]}"} --vary lr=1e-4,1e-3 \
      --vary "neurons=$counts" --folds 5 --repeats 2 --backend "$backend" --format svg --quiet \
      --out "$scratch/sweep-$backend"
    for f in summary.json networks.csv; do
      if [ -f "$scratch/sweep-$backend/$f" ]; then cp "$scratch/sweep-$backend/$f" "$OUT/sweep-stack-$backend.$f"; fi
    done
  done
  step sweep-stack-compare python3 -c '
import csv, math, sys
g, c = (list(csv.DictReader(open(p))) for p in sys.argv[1:3])
assert len(g) == len(c) == 40, (len(g), len(c))
for col in ["test_loss", "train_loss"]:
    a = [float(r[col]) for r in g]
    b = [float(r[col]) for r in c]
    err = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)) / sum(y * y for y in b))
    print(f"{col}: gpu against cpu, relative error {err:.2e} (tolerance 1e-3)")
    assert err <= 1e-3, col
' "$OUT/sweep-stack-gpu.networks.csv" "$OUT/sweep-stack-cpu.networks.csv"
fi

echo "== check.sh: $FAILED failed step(s); outputs in $OUT"
cat "$OUT/steps.txt"
[ "$FAILED" = 0 ]
