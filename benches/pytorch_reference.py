#!/usr/bin/env python3
"""PyTorch reference timings for `popdecode bench`.

Needs: Python 3.9+, torch and numpy (`pip install torch numpy`); a CUDA build of torch and an NVIDIA GPU for
`--device cuda`.

Measures: milliseconds per training epoch of the Neuromatch "Decoding Neural Responses" tutorial's decoder
(`DeepNetReLU`: Linear(N, M) -> ReLU -> Linear(M, 1), MSE loss, plain SGD) on the tutorial's full shape,
360 stimuli x N neurons (default 23589) split 216 training / 144 test rows, for each hidden width M; or, as
`popdecode bench` takes them, the bonus tutorial's classifier (`--task classify --classes C`: Linear(M, C) ->
LogSoftmax, NLLLoss on the orientation bin), a deeper net (`--layers 200 100 50`: one network, ReLU between its
hidden layers) and another optimizer (`--optimizer adam|adamw`, torch.optim's defaults).

Rows:
  torch-eager-cpu / torch-eager-cuda  the tutorial's own eager loop, unchanged: forward, loss, zero_grad,
                                      backward, step, `loss.item()`, test forward, test loss `.item()`
                                      (the `.item()` calls synchronise every epoch, as in the tutorial).
  torch-cuda-graph                    (cuda only) the same epoch captured once in a CUDA graph and replayed
                                      once per epoch; both losses are copied into a preallocated GPU tensor
                                      each epoch and read back once after the run.

For each width: one warm-up run of a few epochs, then `--repeats` timed runs of `--epochs` epochs; the
median ms per epoch is reported. With `--json`, one JSON object per row per line, with the same keys as
`popdecode bench --json` rows:
  backend, adapter, hidden, network, optimizer, neurons, n_train, n_test, epochs, ms_per_epoch, epochs_per_s,
  gflops, gbps, min_bytes_per_epoch, floor_ms (null), kernels ({})
  gflops = ((4 n_train + 2 n_test) N M + 2 N M + 10 (n_train + n_test) M
            + sum over the later layers (4 n_train + 2 n_test) outputs inputs) / seconds per epoch / 1e9
  gbps   = 4 ((n_train + n_test) N + 2 M N + 2 K M N) / seconds per epoch / 1e9, K the optimizer's moments
           (0 for SGD, 2 for Adam and AdamW)
A row whose measurement failed (e.g. a CUDA graph capture error) has null numbers and an extra `error` key;
the script then exits with status 1 after printing every row.

Many networks (`--networks 1 10 100`, as `popdecode bench --networks 1,10,100`): for each K, K of the tutorial's
DeepNetReLU(N, M) (one --hidden width, default 10), network k built after torch.manual_seed(k + 1) (popdecode's
seed k + 1, so the same initial weights), trained with plain SGD on masked rows: a K x 360 training-row mask and
its complement, the test mask, one row of each per network (every network the tutorial's split; with --folds
network k trains on the 216 rows that start k * 360 // K places into the split's shuffled order, wrapping, as
`popdecode bench --folds` does). Both rows below run the same epoch: one forward pass over all 360 rows, whose
training rows' masked MSE is the epoch's loss (backward, step) and whose test rows' masked MSE is the previous
epoch's after-the-step test loss (the tutorial's history, one forward pass an epoch; a last forward pass under
no_grad ends each run). The losses go into a preallocated tensor, read once after the run (no per-epoch sync).
  torch-eager-<device>   PyTorch's eager loop over the models: each model's forward, loss, zero_grad, backward
                         and its own torch.optim.SGD's step, model after model, every epoch.
  torch-vmap-<device>    a torch.func ensemble: torch.func.stack_module_state of the K models, and
                         vmap(grad(loss of functional_call(model, params, x))) over the stacked parameters and
                         the masks, x shared; the SGD step by torch._foreach_add_ on the stacked parameters.
Each: one warm-up run of a few epochs, then --repeats timed runs of --epochs epochs from the initial weights;
the median. JSON rows have the keys of `popdecode bench --networks --json` rows: the keys above (ms_per_epoch,
epochs_per_s, gflops and gbps of the whole stack; gflops counts the tutorial's epoch's work per network, not
the masked rows' extra; bytes the matrix once and every network's input weights), and networks, rows
("shared" or "folds"), us_per_network_epoch (ms_per_epoch * 1000 / K), wall_ms_per_epoch (= ms_per_epoch here),
wide_hidden, wide_ms_per_epoch and ratio_to_wide (null here: popdecode's wide network is its own).

Usage:
  python3 benches/pytorch_reference.py [--device cpu|cuda] [--hidden 10 200 1000 | --layers 200 100 50]
                                       [--task regress|classify] [--classes C] [--optimizer sgd|adam|adamw]
                                       [--epochs N] [--neurons N] [--repeats R] [--json] [--data FILE.npz]
  python3 benches/pytorch_reference.py --networks 1 10 100 [--folds] [--device cpu|cuda] [--hidden M]
                                       [--epochs N] [--neurons N] [--repeats R] [--json] [--data FILE.npz]
"""

import argparse
import copy
import inspect
import json
import math
import platform
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

N_STIMULI = 360
DEFAULT_NEURONS = 23589
TRAIN_FRACTION = 0.6  # 216 of 360
SPLIT_SEED = 4  # the tutorial's torch.manual_seed(4); P = torch.randperm(360)
INIT_SEED = 1
LR = 1e-6  # small enough that nothing diverges at any width; speed does not depend on it
WARMUP_EPOCHS = 3


class DeepNetReLU(nn.Module):
    """The tutorial's network, verbatim."""

    def __init__(self, n_inputs, n_hidden):
        super().__init__()
        self.in_layer = nn.Linear(n_inputs, n_hidden)
        self.out_layer = nn.Linear(n_hidden, 1)

    def forward(self, r):
        h = torch.relu(self.in_layer(r))
        return self.out_layer(h)


class DeepNet(nn.Module):
    """Any of popdecode's networks: `in_layer`, then `hidden_layers` (an nn.ModuleList), then `out_layer`, ReLU
    between the hidden layers; a classifier ends in LogSoftmax."""

    def __init__(self, n_inputs, widths, outputs, classify):
        super().__init__()
        self.in_layer = nn.Linear(n_inputs, widths[0])
        self.hidden_layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.out_layer = nn.Linear(widths[-1], outputs)
        self.classify = classify

    def forward(self, r):
        h = torch.relu(self.in_layer(r))
        for layer in self.hidden_layers:
            h = torch.relu(layer(h))
        out = self.out_layer(h)
        return torch.log_softmax(out, dim=1) if self.classify else out


# --------------------------------------------------------------------------------------------------------
# Work and bytes (the same formulas as src/bench.rs)


def flops_per_epoch(n_train, n_test, n, m):
    return (4.0 * n_train + 2.0 * n_test) * n * m + 2.0 * n * m + 10.0 * (n_train + n_test) * m


def network_flops_per_epoch(n_train, n_test, n, widths, outputs):
    sizes = list(widths) + [outputs]
    later = sum((4.0 * n_train + 2.0 * n_test) * o * i for i, o in zip(sizes[:-1], sizes[1:]))
    return flops_per_epoch(n_train, n_test, n, widths[0]) + later


def min_bytes_per_epoch(n_train, n_test, n, m, moments=0):
    return 4.0 * ((n_train + n_test) * n + 2.0 * m * n) + 8.0 * moments * m * n


MOMENTS = {"sgd": 0, "adam": 2, "adamw": 2}
OPTIMIZER_NAMES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}


def describe_network(n, widths, outputs, classify):
    return " -> ".join(str(v) for v in [n] + list(widths) + [outputs]) + (" (log-softmax)" if classify else "")


def make_row(backend, adapter, widths, neurons, n_train, n_test, epochs, seconds, error=None, outputs=1,
             classify=False, optimizer="sgd"):
    hidden = widths[0]
    bytes_ = min_bytes_per_epoch(n_train, n_test, neurons, hidden, MOMENTS[optimizer])
    ok = seconds is not None and seconds > 0 and math.isfinite(seconds)
    row = {
        "backend": backend,
        "adapter": adapter,
        "hidden": hidden,
        "network": describe_network(neurons, widths, outputs, classify),
        "optimizer": OPTIMIZER_NAMES[optimizer],
        "neurons": neurons,
        "n_train": n_train,
        "n_test": n_test,
        "epochs": epochs,
        "ms_per_epoch": seconds * 1e3 if ok else None,
        "epochs_per_s": 1.0 / seconds if ok else None,
        "gflops": network_flops_per_epoch(n_train, n_test, neurons, widths, outputs) / seconds / 1e9 if ok else None,
        "gbps": bytes_ / seconds / 1e9 if ok else None,
        "min_bytes_per_epoch": bytes_,
        "floor_ms": None,
        "kernels": {},
    }
    if error is not None:
        row["error"] = error
    return row


# --------------------------------------------------------------------------------------------------------
# Data


def load_data(path, neurons):
    """(resp [rows x N] float32, stimuli [rows x 1] float32)."""
    if path is None:
        n = DEFAULT_NEURONS if neurons is None else neurons
        rng = np.random.default_rng(0)
        resp = (rng.standard_normal((N_STIMULI, n), dtype=np.float32) * np.float32(0.44)).astype(np.float32)
        stimuli = np.arange(N_STIMULI, dtype=np.float32)
    else:
        try:
            with np.load(path) as z:
                resp = np.asarray(z["resp"], dtype=np.float32)
                stimuli = np.asarray(z["stimuli"], dtype=np.float32)
        except (OSError, KeyError, ValueError) as e:
            sys.exit(f"error: --data {path}: {e} (expected an .npz with keys 'resp' (360 x N) and 'stimuli' (360,))")
        if resp.ndim != 2:
            sys.exit(f"error: --data {path}: 'resp' has shape {resp.shape}, expected (stimuli, neurons)")
        stimuli = stimuli.reshape(-1)
        if stimuli.shape[0] != resp.shape[0]:
            sys.exit(f"error: --data {path}: {stimuli.shape[0]} stimuli but {resp.shape[0]} response rows")
        if neurons is not None:
            if neurons > resp.shape[1]:
                sys.exit(f"error: --neurons {neurons}: the data has only {resp.shape[1]} neurons")
            resp = np.ascontiguousarray(resp[:, :neurons])
    return resp, stimuli.reshape(-1, 1)


def class_labels(stimuli, classes):
    """The bonus tutorial's stimulus_class: digitize(ori, linspace(0, 360, C + 1)) - 1, as int64."""
    bins = np.linspace(0, 360, classes + 1)
    return (np.digitize(np.mod(stimuli.reshape(-1), 360.0), bins) - 1).clip(0, classes - 1).astype(np.int64)


def split(resp, stimuli, device):
    """The tutorial's split: torch.manual_seed(4); P = torch.randperm(360); first 60% train."""
    rows = resp.shape[0]
    n_train = int(round(TRAIN_FRACTION * rows))
    torch.manual_seed(SPLIT_SEED)
    P = torch.randperm(rows)
    r = torch.from_numpy(resp)
    s = torch.from_numpy(stimuli)
    train_data = r[P[:n_train]].contiguous().to(device)
    train_labels = s[P[:n_train]].contiguous().to(device)
    test_data = r[P[n_train:]].contiguous().to(device)
    test_labels = s[P[n_train:]].contiguous().to(device)
    return train_data, train_labels, test_data, test_labels


# --------------------------------------------------------------------------------------------------------
# Timing


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def new_net(n, m, device, net=None):
    """The tutorial's DeepNetReLU for the tutorial's case (net None), else a DeepNet of net's settings."""
    torch.manual_seed(INIT_SEED)
    if net is None:
        return DeepNetReLU(n, m).to(device)
    return DeepNet(n, net["widths"], net["outputs"], net["classify"]).to(device)


def new_optimizer(name, params, learning_rate):
    if name == "adam":
        return optim.Adam(params, lr=learning_rate)
    if name == "adamw":
        return optim.AdamW(params, lr=learning_rate)
    return optim.SGD(params, lr=learning_rate)


def train_eager(net, loss_fn, train_data, train_labels, test_data, test_labels, n_epochs, learning_rate,
                optimizer_name="sgd"):
    """The tutorial's (bonus) train loop, exactly. Returns seconds for the epoch loop."""
    optimizer = new_optimizer(optimizer_name, net.parameters(), learning_rate)
    train_loss = np.zeros(n_epochs)
    test_loss = np.zeros(n_epochs)
    device = train_data.device
    sync(device)
    t0 = time.perf_counter()
    for i in range(n_epochs):
        out = net(train_data)
        loss = loss_fn(out, train_labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        train_loss[i] = loss.item()
        out_test = net(test_data)
        test_loss[i] = loss_fn(out_test, test_labels).item()
    sync(device)
    seconds = time.perf_counter() - t0
    if not (np.all(np.isfinite(train_loss)) and np.all(np.isfinite(test_loss))):
        print("warning: non-finite loss in the eager run", file=sys.stderr)
    return seconds


def bench_eager(data, m, epochs, repeats, net=None):
    """The eager loop's median seconds per epoch: the tutorial's network of width m (net None), or the network
    net describes (widths, outputs, classify, optimizer), trained on its own labels (data's, or the bins)."""
    train_data, train_labels, test_data, test_labels = data
    device = train_data.device
    n = train_data.shape[1]
    optimizer_name = "sgd" if net is None else net["optimizer"]
    loss_fn = nn.NLLLoss() if net is not None and net["classify"] else nn.MSELoss()
    model = new_net(n, m, device, net)
    train_eager(model, loss_fn, *data, min(epochs, WARMUP_EPOCHS), LR, optimizer_name)
    per_epoch = []
    for _ in range(repeats):
        model = new_net(n, m, device, net)
        per_epoch.append(train_eager(model, loss_fn, *data, epochs, LR, optimizer_name) / epochs)
    del model
    return statistics.median(per_epoch)


def bench_cuda_graph(data, m, epochs, repeats):
    """The same epoch (forward, MSE loss, backward, SGD step, test forward and test loss) captured in one CUDA
    graph, following PyTorch's whole-network capture recipe, replayed once per epoch."""
    train_data, train_labels, test_data, test_labels = data  # static inputs: they never change
    device = train_data.device
    n = train_data.shape[1]
    loss_fn = nn.MSELoss()
    net = new_net(n, m, device)
    sgd_kwargs = {"lr": LR}
    if "capturable" in inspect.signature(optim.SGD.__init__).parameters:
        sgd_kwargs["capturable"] = True
    optimizer = optim.SGD(net.parameters(), **sgd_kwargs)

    def step():
        out = net(train_data)
        loss = loss_fn(out, train_labels)
        loss.backward()
        optimizer.step()
        with torch.no_grad():  # the same kernels as the tutorial's test forward, without keeping its graph
            test_loss = loss_fn(net(test_data), test_labels)
        return torch.stack((loss.detach(), test_loss))

    # Warm up on a side stream (as the docs describe) before capture.
    s = torch.cuda.Stream(device)
    s.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(s):
        for _ in range(3):
            optimizer.zero_grad(set_to_none=True)
            step()
    torch.cuda.current_stream(device).wait_stream(s)
    sync(device)

    # Capture. Grads are None here, so the captured backward allocates them from the graph's private pool and
    # each replay writes them afresh (no zero_grad needed inside the graph).
    g = torch.cuda.CUDAGraph()
    optimizer.zero_grad(set_to_none=True)
    with torch.cuda.graph(g):
        static_losses = step()
    sync(device)

    history = torch.zeros((epochs, 2), device=device, dtype=torch.float32)

    def run(n_epochs):
        history.zero_()
        sync(device)
        t0 = time.perf_counter()
        for i in range(n_epochs):
            g.replay()
            history[i].copy_(static_losses)
        sync(device)
        seconds = time.perf_counter() - t0
        losses = history[:n_epochs].cpu().numpy()  # read once, after the run
        if not np.all(np.isfinite(losses)):
            raise RuntimeError("non-finite loss in the CUDA graph run")
        if np.all(losses == 0.0):
            raise RuntimeError("the CUDA graph run wrote no losses")
        return seconds

    run(min(epochs, WARMUP_EPOCHS))
    per_epoch = [run(epochs) / epochs for _ in range(repeats)]
    del g, static_losses, history, optimizer, net
    return statistics.median(per_epoch)


# --------------------------------------------------------------------------------------------------------
# Many networks: PyTorch's eager loop over the models, and a torch.func ensemble


def stack_masks(order, n_train, rows, k_networks, folds, device):
    """(train, test) masks, K x rows float32: the split's rows for every network, or (folds) network k's
    n_train rows starting k * rows // K places into `order` (training rows then test rows), wrapping."""
    train = torch.zeros((k_networks, rows), dtype=torch.float32)
    for k in range(k_networks):
        start = k * rows // k_networks if folds else 0
        chosen = [order[(start + i) % rows] for i in range(n_train)]
        train[k, chosen] = 1.0
    return train.to(device), (1.0 - train).to(device)


def new_models(n, m, k_networks, device):
    models = []
    for k in range(k_networks):
        torch.manual_seed(k + 1)
        models.append(DeepNetReLU(n, m).to(device))
    return models


def masked_losses(out, y, train_mask, test_mask):
    """One network's masked MSE on its training rows and on its test rows, from outputs on every row."""
    err = (out - y).squeeze(-1) ** 2
    return (err * train_mask).sum() / train_mask.sum(), (err * test_mask).sum() / test_mask.sum()


def run_eager_stack(models, x, y, train_masks, test_masks, n_epochs, learning_rate):
    """The eager loop over the models, every epoch. Returns seconds for the epoch loop and the history
    (epochs + 1 x K x (training loss, previous epoch's test loss))."""
    k_networks = len(models)
    optimizers = [optim.SGD(net.parameters(), lr=learning_rate) for net in models]
    history = torch.zeros((n_epochs + 1, k_networks, 2), device=x.device)
    sync(x.device)
    t0 = time.perf_counter()
    for i in range(n_epochs):
        for k, (net, opt) in enumerate(zip(models, optimizers)):
            train, test = masked_losses(net(x), y, train_masks[k], test_masks[k])
            opt.zero_grad()
            train.backward()
            opt.step()
            history[i, k, 0] = train.detach()
            history[i, k, 1] = test.detach()  # the previous epoch's test loss
    with torch.no_grad():
        for k, net in enumerate(models):
            history[n_epochs, k, 1] = masked_losses(net(x), y, train_masks[k], test_masks[k])[1]
    sync(x.device)
    seconds = time.perf_counter() - t0
    if not bool(torch.isfinite(history).all()):
        print("warning: non-finite loss in the eager stack run", file=sys.stderr)
    return seconds, history


def run_vmap_stack(models, x, y, train_masks, test_masks, n_epochs, learning_rate):
    """The torch.func ensemble. Returns seconds for the epoch loop (stacking the parameters excluded) and the
    history, as run_eager_stack."""
    from torch.func import functional_call, grad, stack_module_state, vmap

    params, buffers = stack_module_state(models)
    params = {name: p.detach().clone() for name, p in params.items()}
    base = copy.deepcopy(models[0]).to("meta")

    def loss(p, b, train_mask, test_mask):
        train, test = masked_losses(functional_call(base, (p, b), (x,)), y, train_mask, test_mask)
        return train, (train.detach(), test.detach())

    step = vmap(grad(loss, has_aux=True), in_dims=(0, 0, 0, 0))
    forward = vmap(lambda p, b, tm, sm: masked_losses(functional_call(base, (p, b), (x,)), y, tm, sm)[1],
                   in_dims=(0, 0, 0, 0))
    names = list(params)
    tensors = [params[k] for k in names]
    history = torch.zeros((n_epochs + 1, len(models), 2), device=x.device)
    sync(x.device)
    t0 = time.perf_counter()
    for i in range(n_epochs):
        grads, (train, test) = step(params, buffers, train_masks, test_masks)
        torch._foreach_add_(tensors, [grads[k] for k in names], alpha=-learning_rate)
        history[i, :, 0] = train
        history[i, :, 1] = test
    with torch.no_grad():
        history[n_epochs, :, 1] = forward(params, buffers, train_masks, test_masks)
    sync(x.device)
    seconds = time.perf_counter() - t0
    if not bool(torch.isfinite(history).all()):
        print("warning: non-finite loss in the vmap stack run", file=sys.stderr)
    return seconds, history


def bench_stack(run, x, y, masks, m, k_networks, epochs, repeats):
    """`run`'s median seconds per epoch over `repeats` runs from fresh models, after one warm-up run."""
    n = x.shape[1]
    run(new_models(n, m, k_networks, x.device), x, y, *masks, min(epochs, WARMUP_EPOCHS), LR)
    per_epoch = []
    for _ in range(repeats):
        models = new_models(n, m, k_networks, x.device)
        per_epoch.append(run(models, x, y, *masks, epochs, LR)[0] / epochs)
    return statistics.median(per_epoch)


def make_stack_row(backend, adapter, m, neurons, n_train, n_test, epochs, k_networks, folds, seconds, error=None):
    row = make_row(backend, adapter, [m], neurons, n_train, n_test, epochs, seconds, error=error)
    ok = row["ms_per_epoch"] is not None
    bytes_ = min_bytes_per_epoch(n_train, n_test, neurons, k_networks * m)
    row.update({
        "gflops": k_networks * network_flops_per_epoch(n_train, n_test, neurons, [m], 1) / seconds / 1e9 if ok
        else None,
        "gbps": bytes_ / seconds / 1e9 if ok else None,
        "min_bytes_per_epoch": bytes_,
        "networks": k_networks,
        "rows": "folds" if folds else "shared",
        "us_per_network_epoch": seconds * 1e6 / k_networks if ok else None,
        "wall_ms_per_epoch": row["ms_per_epoch"],
        "wide_hidden": None,
        "wide_ms_per_epoch": None,
        "ratio_to_wide": None,
    })
    return row


def main_networks(args, device, adapter, epochs):
    """--networks: the eager loop and the torch.func ensemble for each K. Returns the exit status."""
    resp, stimuli = load_data(args.data, args.neurons)
    rows, n = resp.shape
    n_train = int(round(TRAIN_FRACTION * rows))
    torch.manual_seed(SPLIT_SEED)
    order = torch.randperm(rows).tolist()  # the tutorial's split: the first n_train rows train
    x = torch.from_numpy(resp).contiguous().to(device)
    y = torch.from_numpy(stimuli).contiguous().to(device)
    m = args.hidden[0] if args.hidden else 10
    print(
        f"data: {'synthetic' if args.data is None else args.data}, {rows} stimuli x {n} neurons, "
        f"{n_train} train / {rows - n_train} test ({'folds' if args.folds else 'shared split'}); networks "
        f"{' '.join(map(str, args.networks))} of hidden {m}; {epochs} epochs x {args.repeats} repeats",
        file=sys.stderr,
    )
    if not args.json:
        print(STACK_HEADER, flush=True)
    failed = False
    for k_networks in args.networks:
        masks = stack_masks(order, n_train, rows, k_networks, args.folds, device)
        for name, run in (("eager", run_eager_stack), ("vmap", run_vmap_stack)):
            backend = f"torch-{name}-{device.type}"
            try:
                seconds = bench_stack(run, x, y, masks, m, k_networks, epochs, args.repeats)
                row = make_stack_row(backend, adapter, m, n, n_train, rows - n_train, epochs, k_networks,
                                     args.folds, seconds)
            except Exception as e:  # report and carry on with the others
                failed = True
                msg = f"{type(e).__name__}: {e}".replace("\n", " ")
                print(f"{backend} with {k_networks} networks failed: {msg}", file=sys.stderr)
                row = make_stack_row(backend, adapter, m, n, n_train, rows - n_train, epochs, k_networks,
                                     args.folds, None, error=msg)
            print_stack_row(row, args.json)
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return 1 if failed else 0


# --------------------------------------------------------------------------------------------------------
# Output


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


TABLE_HEADER = "{:<18} {:>6} {:>7} {:>10} {:>9} {:>9} {:>8}".format(
    "backend", "hidden", "neurons", "ms/epoch", "epochs/s", "GFLOP/s", "GB/s"
)


def print_row(row, as_json):
    if as_json:
        print(json.dumps(row), flush=True)
        return
    if row.get("error") is not None:
        print(f"{row['backend']:<18} {row['hidden']:>6} {row['neurons']:>7}  error: {row['error']}", flush=True)
        return
    print(
        "{:<18} {:>6} {:>7} {:>10.3f} {:>9.1f} {:>9.1f} {:>8.1f}".format(
            row["backend"],
            row["hidden"],
            row["neurons"],
            row["ms_per_epoch"],
            row["epochs_per_s"],
            row["gflops"],
            row["gbps"],
        ),
        flush=True,
    )


STACK_HEADER = "{:<18} {:>8} {:>6} {:>7} {:>6} {:>10} {:>13} {:>9} {:>8}".format(
    "backend", "networks", "hidden", "neurons", "rows", "ms/epoch", "us/net-epoch", "GFLOP/s", "GB/s"
)


def print_stack_row(row, as_json):
    if as_json:
        print(json.dumps(row), flush=True)
        return
    head = f"{row['backend']:<18} {row['networks']:>8} {row['hidden']:>6} {row['neurons']:>7} {row['rows']:>6}"
    if row.get("error") is not None:
        print(f"{head}  error: {row['error']}", flush=True)
        return
    print(
        "{} {:>10.3f} {:>13.2f} {:>9.1f} {:>8.1f}".format(
            head, row["ms_per_epoch"], row["us_per_network_epoch"], row["gflops"], row["gbps"]
        ),
        flush=True,
    )


def positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Time the Neuromatch decoding tutorial's PyTorch training loop (ms per epoch).",
    )
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--hidden", type=positive_int, nargs="+", default=None, metavar="M",
                   help="hidden widths, one network each (default: 10 200 1000)")
    p.add_argument("--layers", type=positive_int, nargs="+", default=None, metavar="M",
                   help="one deeper network instead: its hidden layers' widths, first to last (e.g. 200 100 50)")
    p.add_argument("--task", choices=["regress", "classify"], default="regress",
                   help="regress the angle (MSE, the tutorial) or classify its bin (NLL, the bonus tutorial)")
    p.add_argument("--classes", type=positive_int, default=20, help="bins for --task classify (default: 20)")
    p.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], default="sgd",
                   help="torch.optim.SGD, Adam or AdamW with their defaults (default: sgd)")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="epochs per timed run (default: 100 on cuda, 20 on cpu)")
    p.add_argument("--neurons", type=positive_int, default=None,
                   help=f"neurons N (default: {DEFAULT_NEURONS}, or all of --data's)")
    p.add_argument("--repeats", type=positive_int, default=5, help="timed runs per width (default: 5)")
    p.add_argument("--json", action="store_true", help="one JSON object per row per line")
    p.add_argument("--data", default=None, metavar="FILE.npz",
                   help="an .npz with 'resp' (360 x N) and 'stimuli' (360,); default: synthetic data")
    p.add_argument("--networks", type=positive_int, nargs="+", default=None, metavar="K",
                   help="time stacks of K networks of one --hidden width (default 10): PyTorch's eager loop over "
                        "the models and a torch.func ensemble (vmap), with per-network row masks")
    p.add_argument("--folds", action="store_true",
                   help="with --networks: each network its own training rows, as popdecode bench --folds")
    args = p.parse_args(argv)
    if args.hidden is not None and args.layers is not None:
        p.error("--hidden and --layers: give one or the other")
    if args.folds and args.networks is None:
        p.error("--folds: it is for --networks")
    if args.networks is not None:
        if args.layers is not None or args.task != "regress" or args.optimizer != "sgd":
            p.error("--networks: stacks of the tutorial's network only (no --layers, --task classify or "
                    "--optimizer)")
        if args.hidden is not None and len(args.hidden) != 1:
            p.error("--networks: one --hidden width")

    if args.device == "cuda" and not torch.cuda.is_available():
        print(
            f"error: --device cuda: CUDA is not available to this torch ({torch.__version__}, "
            f"built with CUDA {torch.version.cuda}); install a CUDA build of torch on a machine with an "
            "NVIDIA GPU, or use --device cpu",
            file=sys.stderr,
        )
        return 2

    device = torch.device(args.device)
    epochs = args.epochs if args.epochs is not None else (100 if device.type == "cuda" else 20)

    if device.type == "cuda":
        name = torch.cuda.get_device_name(0)
        adapter = f"{name} (torch {torch.__version__})"
        print(
            f"torch {torch.__version__} (CUDA {torch.version.cuda}), device: {name}, "
            f"TF32 matmul: {torch.backends.cuda.matmul.allow_tf32}",
            file=sys.stderr,
        )
    else:
        threads = torch.get_num_threads()
        name = cpu_name()
        adapter = f"{name} ({threads} threads, torch {torch.__version__})"
        print(f"torch {torch.__version__}, device: {name}, torch.get_num_threads() = {threads}", file=sys.stderr)

    if args.networks is not None:
        return main_networks(args, device, adapter, epochs)

    resp, stimuli = load_data(args.data, args.neurons)
    classify = args.task == "classify"
    if classify:
        stimuli = class_labels(stimuli, args.classes)
    data = split(resp, stimuli, device)
    outputs = args.classes if classify else 1
    tutorial = args.layers is None and not classify and args.optimizer == "sgd"
    networks = [args.layers] if args.layers is not None else [[m] for m in (args.hidden or [10, 200, 1000])]
    n_train, n_test, n = data[0].shape[0], data[2].shape[0], data[0].shape[1]
    print(
        f"data: {'synthetic' if args.data is None else args.data}, {resp.shape[0]} stimuli x {n} neurons, "
        f"{n_train} train / {n_test} test; {epochs} epochs x {args.repeats} repeats per width",
        file=sys.stderr,
    )
    if not args.json:
        print(TABLE_HEADER, flush=True)

    failed = False
    eager_backend = f"torch-eager-{device.type}"
    for widths in networks:
        m = widths[0]
        net = None if tutorial else {"widths": widths, "outputs": outputs, "classify": classify,
                                     "optimizer": args.optimizer}
        shape = dict(outputs=outputs, classify=classify, optimizer=args.optimizer)
        try:
            seconds = bench_eager(data, m, epochs, args.repeats, net)
            row = make_row(eager_backend, adapter, widths, n, n_train, n_test, epochs, seconds, **shape)
        except Exception as e:  # report and carry on with the other widths
            failed = True
            row = make_row(eager_backend, adapter, widths, n, n_train, n_test, epochs, None,
                           error=f"{type(e).__name__}: {e}", **shape)
        print_row(row, args.json)
        if device.type == "cuda":
            torch.cuda.empty_cache()

    # The graph rows come after every eager row, so a failed capture cannot cost an eager row.
    if device.type == "cuda" and tutorial:
        for m in [w[0] for w in networks]:
            try:
                seconds = bench_cuda_graph(data, m, epochs, args.repeats)
                row = make_row("torch-cuda-graph", adapter, [m], n, n_train, n_test, epochs, seconds)
            except Exception as e:
                failed = True
                msg = f"{type(e).__name__}: {e}".replace("\n", " ")
                print(f"torch-cuda-graph at hidden {m} failed: {msg}", file=sys.stderr)
                row = make_row("torch-cuda-graph", adapter, [m], n, n_train, n_test, epochs, None, error=msg)
                try:
                    torch.cuda.synchronize()
                except Exception:
                    pass
            print_row(row, args.json)
            try:
                torch.cuda.empty_cache()
            except Exception:
                pass
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
