# Shared by check.sh and bench.sh (sourced, not run): the binary, the Vulkan loader and driver, the results
# folder, and `step`, which runs one command with its output saved under "$OUT".
# Environment: OUT (required), POPDECODE (default target/release/popdecode), STEP_S (seconds a step may take,
# default 300), SMALL=1 (a smoke test: 2,000 neurons instead of the tutorial's 23,589).

: "${OUT:?set OUT to the folder for the results}"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

POPDECODE=${POPDECODE:-target/release/popdecode}
case $POPDECODE in
  */*) ;;
  *) POPDECODE=$(command -v "$POPDECODE" || echo "$POPDECODE") ;;
esac
if [ -f "$POPDECODE" ]; then POPDECODE=$(realpath "$POPDECODE"); fi

# Run from the repository's root whatever the caller's folder.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
if [ ! -x "$POPDECODE" ]; then
  echo "error: no popdecode binary at $POPDECODE (build it with scripts/device/prepare.sh, or set POPDECODE)" >&2
  exit 2
fi
POPDECODE=$(realpath "$POPDECODE")

STEP_S=${STEP_S:-300}
SMALL=${SMALL:-0}
SIZE=()
if [ "$SMALL" = 1 ]; then SIZE=(--neurons 2000); fi

# The Vulkan loader prepare.sh fetched (Debian's libvulkan1), if it travelled here: used before the system's.
if [ -f .device/vulkan/lib/libvulkan.so.1 ]; then
  export LD_LIBRARY_PATH="$ROOT/.device/vulkan/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  LOADER="$ROOT/.device/vulkan/lib/libvulkan.so.1 ($(cat .device/vulkan/VERSION 2>/dev/null || echo 'version unknown'))"
else
  LOADER="the system's"
fi
# NVIDIA's Vulkan driver manifest, where the lent machines and the usual packages put it.
ICD=""
for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
  /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$f" ]; then ICD=$f; break; fi
done
if [ -n "$ICD" ]; then export VK_DRIVER_FILES=$ICD VK_ICD_FILENAMES=$ICD; fi
export WGPU_BACKEND=${WGPU_BACKEND:-vulkan}

# What ran where: appended to by each script ($1 names it).
describe_machine() {
  {
    echo "== $1, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "host: $(uname -srm), $(nproc) CPUs"
    local version md5
    version=$("$POPDECODE" --version 2>&1 | head -n 1)
    md5=$(md5sum <"$POPDECODE" | cut -d ' ' -f 1)
    echo "binary: $POPDECODE ($version, md5 $md5)"
    if [ -f .device/build.txt ]; then sed 's/^/build: /' .device/build.txt; fi
    echo "vulkan loader: $LOADER"
    echo "vulkan driver manifest: ${ICD:-none found, the loader searches its default places}"
    echo "WGPU_BACKEND=$WGPU_BACKEND SMALL=$SMALL STEP_S=$STEP_S"
    if command -v nvidia-smi >/dev/null 2>&1; then
      nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
    else
      echo "nvidia-smi: not found"
    fi
  } >>"$OUT/machine.txt"
}

# step NAME COMMAND...: runs COMMAND with stdout and stderr in "$OUT/NAME.txt", notes its exit status and
# seconds in "$OUT/steps.txt", prints the output's last lines, and never stops the script.
FAILED=0
step() {
  local name=$1 rc start ms seconds note
  shift
  echo "== $name: $*"
  start=$(date +%s%N)
  if timeout "$STEP_S" "$@" >"$OUT/$name.txt" 2>&1; then rc=0; else rc=$?; fi
  ms=$((($(date +%s%N) - start) / 1000000))
  seconds="$((ms / 1000)).$((ms % 1000 / 100))"
  tail -n "${TAIL_LINES:-6}" "$OUT/$name.txt"
  printf '%s\texit %s\t%s s\t%s\n' "$name" "$rc" "$seconds" "$*" >>"$OUT/steps.txt"
  note=""
  if [ "$rc" = 124 ]; then note=", timed out (STEP_S=$STEP_S)"; fi
  echo "== $name: exit $rc after $seconds s$note"
  if [ "$rc" != 0 ]; then FAILED=$((FAILED + 1)); fi
}

# skip NAME WHY: notes a step that was not run.
skip() {
  echo "== $1: skipped ($2)"
  printf '%s\tskipped\t\t%s\n' "$1" "$2" >>"$OUT/steps.txt"
}

# has_part NAME: whether PARTS (space-separated) names NAME.
has_part() {
  case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}
