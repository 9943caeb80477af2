#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each, one after the other, starting from the checked-in seeds
# (fuzz/seeds/TARGET) and the corpus of earlier campaigns (fuzz/corpus/TARGET, where new inputs are kept), then
# prints each target's corpus size and result. Exits non-zero if any target found a crash or failed to run.
#
#   fuzz/campaign.sh 600                  # the 10-minute campaign
#   SANITIZER=address fuzz/campaign.sh 60 # with AddressSanitizer (the readers are safe Rust; the default is none)
set -u
seconds=${1:?usage: fuzz/campaign.sh SECONDS}
case $seconds in '' | *[!0-9]*) echo "SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.." || exit 2
sanitizer=${SANITIZER:-none}
fuzz=(cargo +nightly fuzz)
"${fuzz[@]}" build -O -s "$sanitizer" || { echo "cargo fuzz build failed (cargo install cargo-fuzz?)" >&2; exit 2; }
mkdir -p fuzz/logs
failed=0
results=()
for target in $("${fuzz[@]}" list); do
    mkdir -p "fuzz/corpus/$target"
    log="fuzz/logs/$target.log"
    # -rss_limit_mb: an input that makes a reader allocate what it merely asks for is a finding too.
    "${fuzz[@]}" run -O -s "$sanitizer" "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1
    rc=$?
    size=$(find "fuzz/corpus/$target" -type f | wc -l)
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        result="ok"
    else
        failed=1
        artifact=$(grep -o 'Test unit written to [^ ]*' "$log" | tail -n 1 | sed 's/Test unit written to //')
        result="FAILED (exit $rc${artifact:+; reproducer $artifact}; log $log)"
    fi
    results+=("$(printf '%-12s corpus %6s files  %10s runs  %s' "$target" "$size" "${runs:-?}" "$result")")
done
echo
echo "fuzz campaign: ${seconds} s a target, sanitizer $sanitizer"
printf '%s\n' "${results[@]}"
exit "$failed"
