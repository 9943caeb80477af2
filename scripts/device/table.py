#!/usr/bin/env python3
"""Turns the JSON rows that bench.sh saved (`popdecode bench --json`, `benches/pytorch_reference.py --json`) into
rows of BENCHMARKS.md's table: backend | M | N | µs/epoch | epochs/s | GFLOP/s | GB/s | floor µs | kernels µs |
epoch / kernels; and the rows of many networks (`popdecode bench --networks --json`,
`benches/pytorch_reference.py --networks ... --json`: any row with a `networks` key) in a second table:
backend | K | M | N | rows | epochs | µs/epoch of the stack | µs/network-epoch | wall µs/epoch | wide M |
wide µs/epoch | stack / wide | GFLOP/s | GB/s. Measures nothing itself.

Usage: python3 scripts/device/table.py OUT/bench-fast.txt OUT/torch-cuda.txt ...   (or a results folder)
"""

import json
import pathlib
import sys


def fmt(x, digits=1):
    return "" if x is None else f"{x:,.{digits}f}"


def rows(path):
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            yield json.loads(line)


def us(ms):
    return None if ms is None else 1000 * ms


def networks_table(found):
    print("| file | backend | K | M | N | rows | epochs | µs/epoch (stack) | µs/network-epoch | wall µs/epoch "
          "| wide M | wide µs/epoch | stack / wide | GFLOP/s | GB/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for path, r in found:
        print(
            f"| {path.stem} | {r.get('backend')} | {r.get('networks')} | {r.get('hidden')} "
            f"| {r.get('neurons') or 0:,} | {r.get('rows') or ''} | {r.get('epochs')} "
            f"| {fmt(us(r.get('ms_per_epoch')))} | {fmt(r.get('us_per_network_epoch'), 2)} "
            f"| {fmt(us(r.get('wall_ms_per_epoch')))} | {r.get('wide_hidden') or ''} "
            f"| {fmt(us(r.get('wide_ms_per_epoch')))} | {fmt(r.get('ratio_to_wide'), 2)} "
            f"| {fmt(r.get('gflops'), 0)} | {fmt(r.get('gbps'), 0)} |"
            + (f" error: {r['error']}" if r.get("error") else "")
        )


def main(args):
    paths = []
    for a in args or ["."]:
        p = pathlib.Path(a)
        paths += sorted(p.glob("*.txt")) if p.is_dir() else [p]
    stacks = [(path, r) for path in paths for r in rows(path) if "networks" in r]
    if stacks and len(stacks) == sum(1 for path in paths for _ in rows(path)):
        networks_table(stacks)
        return
    print("| file | backend | M | N | epochs | µs/epoch | epochs/s | GFLOP/s | GB/s | floor µs | kernels µs | epoch / kernels |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for path in paths:
        for r in rows(path):
            if "networks" in r:
                continue
            ms = r.get("ms_per_epoch")
            kernels = r.get("kernels") or {}
            names = ", ".join(f"{k} {fmt(1000 * v)}" for k, v in kernels.items())
            ratio = fmt(ms / sum(kernels.values()), 2) if ms and kernels and sum(kernels.values()) else ""
            floor = r.get("floor_ms")
            print(
                f"| {path.stem} | {r.get('backend')} | {r.get('hidden')} | {r.get('neurons') or 0:,} | {r.get('epochs')} "
                f"| {fmt(None if ms is None else 1000 * ms)} | {fmt(r.get('epochs_per_s'), 0)} "
                f"| {fmt(r.get('gflops'), 0)} | {fmt(r.get('gbps'), 0)} "
                f"| {fmt(None if floor is None else 1000 * floor)} | {names} | {ratio} |"
                + (f" error: {r['error']}" if r.get("error") else "")
            )
    if stacks:
        print()
        networks_table(stacks)


if __name__ == "__main__":
    main(sys.argv[1:])
