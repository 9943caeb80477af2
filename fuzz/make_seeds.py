#!/usr/bin/env python3
"""Writes the checked-in seed corpus, fuzz/seeds/<target>/, from small valid files: a tiny run folder made by
`popdecode train`, a tiny data set from `popdecode synth`, the .npy members of both, and the small files of
tests/fixtures (hostile ones included). Usage: python3 fuzz/make_seeds.py [PATH/TO/popdecode]"""

import io
import os
import struct
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RUN_FILES = ["summary.json", "history.csv", "predictions.csv", "weights.npz", "tuning.npz"]
SWEEP_FILES = ["summary.json", "networks.csv", "histories.csv", "predictions.csv"]


def join(parts):
    """fuzz/src/readers.rs's `join`: u16 LE lengths of all parts but the last, then the parts."""
    return b"".join(struct.pack("<H", len(p)) for p in parts[:-1]) + b"".join(parts)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def members(npz):
    with zipfile.ZipFile(io.BytesIO(npz)) as z:
        return [z.read(n) for n in z.namelist() if n.endswith(".npy")]


def main():
    exe = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "popdecode")
    seeds = {t: {} for t in ["npz", "npy", "split", "init", "run_folder", "sweep_folder"]}
    with tempfile.TemporaryDirectory() as tmp:
        run = os.path.join(tmp, "run")
        quiet = dict(stdout=subprocess.DEVNULL, check=True)
        subprocess.run([exe, "train", "--neurons", "12", "--stimuli", "16", "--epochs", "3", "--hidden", "3",
                        "--backend", "cpu", "--out", run], **quiet)
        data = os.path.join(tmp, "data.npz")
        subprocess.run([exe, "synth", "--neurons", "5", "--stimuli", "8", "--out", data], **quiet)
        trials = os.path.join(tmp, "trials.npz")
        subprocess.run([exe, "synth", "--neurons", "4", "--stimuli", "4", "--trials", "6", "--out", trials],
                       **quiet)
        files = {f"run_{n}": read(os.path.join(run, n)) for n in os.listdir(run) if n.endswith(".npz")}
        files["data.npz"] = read(data)
        files["trials.npz"] = read(trials)
        # The run: 12 neurons, 3 hidden units, 16 rows.
        seeds["split"]["run_split"] = bytes([15]) + files["run_split.npz"]
        seeds["init"]["run_init"] = bytes([11, 2]) + files["run_init.npz"]
        seeds["init"]["run_weights"] = bytes([11, 2]) + files["run_weights.npz"]
        seeds["run_folder"]["run"] = join([read(os.path.join(run, n)) for n in RUN_FILES])
        # A sweep: 2 lr x 2 folds, and a cv classifier with the baseline, on 12 neurons and 16 stimuli.
        for name, flags in [("sweep", ["sweep", "--vary", "lr=1e-4,1e-3", "--folds", "2"]),
                            ("cv_classify", ["cv", "--folds", "2", "--task", "classify", "--classes", "4",
                                             "--baseline"])]:
            out = os.path.join(tmp, name)
            subprocess.run([exe, *flags, "--neurons", "12", "--stimuli", "16", "--epochs", "3", "--hidden", "3",
                            "--backend", "cpu", "--format", "svg", "--out", out], **quiet)
            seeds["sweep_folder"][name] = join([read(os.path.join(out, n)) for n in SWEEP_FILES])
    hostile = os.path.join(ROOT, "tests", "fixtures", "hostile")
    for name in sorted(os.listdir(hostile)):
        if name.endswith(".npz"):
            files[f"hostile_{name}"] = read(os.path.join(hostile, name))
    seeds["split"]["hostile_nested_split"] = bytes([255]) + files["hostile_nested_split.npz"]
    seeds["init"]["hostile_nested_init"] = bytes([11, 2]) + files["hostile_nested_init.npz"]
    seeds["npy"]["pytorch_out0"] = read(os.path.join(ROOT, "tests", "fixtures", "pytorch-regression", "out0.npy"))
    for name, content in files.items():
        seeds["npz"][name.removesuffix(".npz")] = content
        try:
            for i, m in enumerate(members(content)):
                seeds["npy"][f"{name.removesuffix('.npz')}_{i}"] = m
        except (zipfile.BadZipFile, KeyError, ValueError, OSError):
            pass  # hostile archives need not open
    for target, named in seeds.items():
        folder = os.path.join(HERE, "seeds", target)
        os.makedirs(folder, exist_ok=True)
        for old in os.listdir(folder):
            os.remove(os.path.join(folder, old))
        for name, content in sorted(named.items()):
            with open(os.path.join(folder, name), "wb") as f:
                f.write(content)
        print(f"{target}: {len(named)} seeds, {sum(map(len, named.values()))} bytes")


if __name__ == "__main__":
    main()
