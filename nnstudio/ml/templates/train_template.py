"""The source of the generated train.py: ordinary Python that ruff lints and the tests import.

`nnstudio.ml.codegen.generate_train_code` writes train.py from a header of its own (the docstring, the
imports, `from model import ...`, the design's DATASET and TRAINING literals) followed by the source of
functions copied from here — the loader of the design's data source, then `split` ... `main` — and of the
real functions NN Studio itself uses (the Playground generator from `nnstudio.data.playground`, the weight
initialisation from `nnstudio.ml.builder`). Everything above the first function is a stand-in for that
header, so this module imports and its functions run in tests; it is never copied.
"""

from __future__ import annotations

import argparse
import csv
import math  # noqa: F401  (train.py's copy of init_weights uses it)
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from nnstudio.core.settings import DatasetSpec, TrainingConfig
from nnstudio.data.playground import _FEATURES, GENERATORS
from nnstudio.data.shapes import make_shapes
from nnstudio.ml.builder import WEIGHTED_MODULES, init_weights
from nnstudio.ml.playground_recipe import PlaygroundL1, batch_bounds, squared_losses

# ---- stand-ins for train.py's header (the generator writes the design's own) ----------------------------

DESIGN_NAME = "template"
TASK = "binary"
INPUT_SHAPE: tuple[int, ...] = (2,)
MODEL_CLASS: type[nn.Module] = nn.Module
HERE = Path(__file__).resolve().parent
DATASET: dict = {**DatasetSpec().to_dict(), "path": ""}
TRAINING: dict = TrainingConfig().to_dict()


def make_points(samples, noise, rng):
    """Stand-in: train.py holds the source of the design's generator (e.g. make_circle) under this name."""
    return GENERATORS[DATASET["name"]](samples, noise, rng)


def load_source(args):
    """Stand-in: train.py binds `load_source` to the one loader its data source needs."""
    return LOADERS[DATASET["source"]](args)


def epoch_batches(epoch, count, batch, shuffle, rank, world):
    """Stand-in: train.py binds `epoch_batches` to its recipe's batch order (shuffled_batches or
    playground_batches)."""
    return RECIPES[TRAINING["recipe"]][1](epoch, count, batch, shuffle, rank, world)


def make_update(optimizer, weights, parameters):
    """Stand-in: train.py binds `make_update` to its recipe's update (plain_update or playground_update)."""
    return RECIPES[TRAINING["recipe"]][2](optimizer, weights, parameters)


# ---- data: one loader per source, each returning (features, targets) ---------------------------------------

def load_playground(args):
    """Generate the points with the dataset's seed and compute the chosen input features."""
    rng = np.random.default_rng(np.random.SeedSequence(DATASET["seed"], spawn_key=(0,)))
    points, labels = make_points(DATASET["samples"], DATASET["noise"], rng)
    x = np.column_stack([_FEATURES[name](points[:, 0], points[:, 1]) for name in DATASET["features"]])
    if TASK == "regression":
        return x.astype(np.float32), labels.astype(np.float32).reshape(-1, 1)
    return x.astype(np.float32), (labels > 0).astype(np.int64)  # class 1 is Playground's +1


def load_shapes(args):
    """NN Studio's procedural shapes images (3×32×32), drawn again from the dataset's seed."""
    rng = np.random.default_rng(np.random.SeedSequence(DATASET["seed"], spawn_key=(0,)))
    x, y, _ = make_shapes(DATASET["samples"], DATASET["noise"], rng)
    return x, y


def load_builtin(args):
    """One of the small datasets that ship inside scikit-learn (nothing is downloaded)."""
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{DATASET['name']}")()
    x = np.asarray(bunch.data, dtype=np.float64)
    if DATASET["name"] == "digits":
        x = x / 16.0  # pixels 0..16 → 0..1
        if DATASET["as_images"]:
            x = x.reshape(len(x), 1, 8, 8)
    if TASK == "regression":
        return x.astype(np.float32), np.asarray(bunch.target, dtype=np.float32).reshape(-1, 1)
    return x.astype(np.float32), np.asarray(bunch.target, dtype=np.int64)


def data_path(given):
    """A relative path is looked up from the current folder, then from this script's folder."""
    path = Path(given).expanduser()
    if not path.is_absolute() and not path.exists():
        path = HERE / path
    if not path.is_file():
        sys.exit(f"cannot find the data file {given!r}: copy it next to train.py or pass --data PATH")
    return path


def encode_targets(values):
    """Whole numbers (at most 20 distinct) and text are classes in sorted order; other numbers regress."""
    try:
        numbers = np.array([float(v) for v in values], dtype=np.float64)
    except ValueError:
        numbers = None
    if numbers is not None:
        distinct = np.unique(numbers)
        if len(distinct) <= 20 and np.array_equal(distinct, np.round(distinct)):
            return np.searchsorted(distinct, numbers).astype(np.int64)
        return numbers.astype(np.float32).reshape(-1, 1)
    index = {label: i for i, label in enumerate(sorted(set(values)))}
    return np.array([index[v] for v in values], dtype=np.int64)


def load_csv(args):
    """A CSV table with a header row; the target column is DATASET["target"] (empty: the last column)."""
    path = data_path(args.data)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
        handle.seek(0)
        delimiter = "," if "," in first else ";" if ";" in first else "\t" if "\t" in first else ","
        rows = [row for row in csv.reader(handle, delimiter=delimiter) if any(cell.strip() for cell in row)]
    header = [cell.strip() for cell in rows[0]]
    while len(header) > 1 and not header[-1]:
        header.pop()
    target = DATASET["target"].strip()
    folded = [name.casefold() for name in header]
    if not target:
        column = len(header) - 1
    elif target in header:
        column = header.index(target)
    elif target.casefold() in folded:
        column = folded.index(target.casefold())
    else:
        sys.exit(f"{path}: there is no column {target!r}; the columns are {', '.join(header)}")
    body = [row[:len(header)] for row in rows[1:]]
    features = [[float(row[i]) for i in range(len(header)) if i != column] for row in body]
    return np.array(features, dtype=np.float32), encode_targets([row[column].strip() for row in body])


def load_npz(args):
    """An NPZ archive with features X (n, k), (n, H, W) or (n, C, H, W) and targets y (nothing is unpickled)."""
    path = data_path(args.data)
    with np.load(path, allow_pickle=False) as archive:
        x, y = archive["X"], archive["y"]
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    elif x.ndim == 3:
        x = x.reshape(x.shape[0], 1, *x.shape[1:])
    if y.ndim == 2 and y.shape[1] != 1:
        return x.astype(np.float32), y.astype(np.float32)
    flat = y.reshape(-1)
    labels = [str(v) for v in flat] if flat.dtype.kind in "US" else list(flat)
    return x.astype(np.float32), encode_targets(labels)


LOADERS = {"playground": load_playground, "builtin": load_builtin, "csv": load_csv, "npz": load_npz}


# ---- split, model, loss and optimiser (copied into every train.py) -----------------------------------------

def split(x, y):
    """Shuffle with the dataset's seed, split by the training percentage, standardise on the training part."""
    count = len(y)
    n_train = min(max(count * DATASET["train_percent"] // 100, 1), count - 1)
    order = np.random.default_rng(np.random.SeedSequence(DATASET["seed"], spawn_key=(1,))).permutation(count)
    x_train, y_train, x_val, y_val = x[order[:n_train]], y[order[:n_train]], x[order[n_train:]], y[order[n_train:]]
    if DATASET["standardize"]:
        axes = (0,) if x_train.ndim == 2 else (0, *range(2, x_train.ndim))  # per feature, or per channel
        mean = x_train.mean(axis=axes, dtype=np.float64, keepdims=True)
        std = x_train.std(axis=axes, dtype=np.float64, keepdims=True)
        std[~(std > 1e-12)] = 1.0
        x_train = ((x_train - mean) / std).astype(np.float32)
        x_val = ((x_val - mean) / std).astype(np.float32)
    return x_train, y_train, x_val, y_val


# ---- model, loss and optimiser -----------------------------------------------------------------------------

def count_correct(scores, y):
    if TASK == "binary":
        return ((scores.squeeze(1) > 0).long() == y).sum()
    if TASK == "multiclass":
        return (scores.argmax(dim=1) == y).sum()
    return torch.zeros((), device=scores.device)


def regularised_weights(model):
    """The weights of Linear and convolution layers: what L1 / L2 act on (never biases or BatchNorm scales)."""
    return [m.weight for m in model.modules() if isinstance(m, WEIGHTED_MODULES)]


def make_optimizer(model, lr):
    """As NN Studio does it: L2 is weight decay on the regularised weights only; L1 is added to their
    gradients after backward (add_l1_gradient). Neither is part of the reported loss."""
    name, momentum = TRAINING["optimizer"], TRAINING["momentum"]
    weights = regularised_weights(model)
    chosen = {id(w) for w in weights}
    others = [p for p in model.parameters() if id(p) not in chosen]
    decay = TRAINING["regularization_rate"] if TRAINING["regularization"] == "l2" else 0.0
    groups = [g for g in ({"params": weights, "weight_decay": decay}, {"params": others, "weight_decay": 0.0})
              if g["params"]]
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr)
    if name in ("momentum", "nesterov"):
        if momentum <= 0:
            sys.exit("SGD with momentum needs a momentum above 0: set TRAINING['momentum']")
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=name == "nesterov")
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    if name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr)
    return torch.optim.Adagrad(groups, lr=lr)


def make_schedule(optimizer, epochs):
    name = TRAINING["schedule"]
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, TRAINING["step_size"], gamma=TRAINING["gamma"])
    if name == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=TRAINING["gamma"])
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    return None


@torch.no_grad()
def evaluate(model, x, y, loss_fn, chunk=4096):
    """Mean loss and accuracy over a whole set, in chunks so a large set fits in memory."""
    model.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(y), chunk):
        scores = model(x[start:start + chunk])
        n = len(scores)
        loss_sum += float(loss_fn(scores, y[start:start + chunk])) * n
        correct += int(count_correct(scores, y[start:start + chunk]))
    return loss_sum / max(len(y), 1), correct / max(len(y), 1)


# ---- the training recipe: PyTorch's usual way, or TensorFlow Playground's (TRAINING["recipe"]) ------------

def make_loss():
    if TASK == "binary":
        bce = nn.BCEWithLogitsLoss()
        return lambda scores, y: bce(scores.squeeze(1), y.float())
    if TASK == "multiclass":
        return nn.CrossEntropyLoss()
    return {"mse": nn.MSELoss(), "mae": nn.L1Loss(), "huber": nn.HuberLoss()}[TRAINING["regression_loss"]]


@torch.no_grad()
def add_l1_gradient(weights):
    """L1 regularisation: rate * sign(w) added to each weight's gradient."""
    if TRAINING["regularization"] == "l1" and TRAINING["regularization_rate"] > 0:
        for w in weights:
            if w.grad is not None:
                w.grad.add_(torch.sign(w), alpha=TRAINING["regularization_rate"])


def shuffled_batches(epoch, count, batch, shuffle, rank, world):
    """PyTorch's usual order: a new shuffle every epoch, then batches of `batch` (the last one may be short)."""
    order = torch.randperm(count, generator=shuffle)
    if world > 1:  # like DistributedSampler: pad to a multiple of the world size, then deal round-robin
        order = torch.cat([order, order[:(-len(order)) % world]])[rank::world]
    return [order[start:start + batch] for start in range(0, len(order), batch)]


def plain_update(optimizer, weights, parameters):
    """The step after backward: L1 as rate * sign(w) on the gradients, clipping, then the optimizer."""
    def update(lr):
        add_l1_gradient(weights)
        if TRAINING["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(parameters, TRAINING["grad_clip"])
        optimizer.step()

    return update


def make_playground_loss():
    """Playground's loss: ½(tanh(out) − t)² on t = ±1, or ½(out − y)² for regression (squared_losses)."""
    mean = squared_losses(TASK)[0]
    if TASK == "binary":  # classes 0 / 1 as a column of floats, as the scores come
        return lambda scores, y: mean(scores, y.reshape(-1, 1).to(scores.dtype))
    return mean


def playground_batches(epoch, count, batch, shuffle, rank, world):
    """Playground's order: the training set as split() shuffled it once, walked in that order every epoch;
    a trailing partial batch carries into the next epoch's first update (batch_bounds)."""
    order, bounds = batch_bounds(count, batch, epoch - 1)
    return [order[lo:hi] for lo, hi in bounds]


def playground_update(optimizer, weights, parameters):
    """Playground's step: L2 is the optimizer's weight decay; L1 goes around the step with its clamp at zero
    (a weight that crosses zero is set to 0 and its link stays dead: PlaygroundL1)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        sys.exit("the Playground recipe trains in one process: run python train.py, not torchrun")
    l1 = PlaygroundL1(weights) if TRAINING["regularization"] == "l1" else None

    def update(lr):
        if TRAINING["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(parameters, TRAINING["grad_clip"])
        if l1 is None:
            optimizer.step()
            return
        l1.before_step()
        optimizer.step()
        l1.after_step(lr, TRAINING["regularization_rate"])

    return update


RECIPES = {"pytorch": (make_loss, shuffled_batches, plain_update),
           "playground": (make_playground_loss, playground_batches, playground_update)}


# ---- one process, or many under torchrun -------------------------------------------------------------------

def start_processes(device_name):
    """(rank, world size, device); joins the process group when torchrun started several processes."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and device_name in ("auto", "cuda")
    if world > 1:
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    if cuda:
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    elif device_name in ("auto", "cuda"):
        device = torch.device("cpu")
    else:
        device = torch.device(device_name)
    return (dist.get_rank() if world > 1 else 0), world, device


def save_weights(model, path):
    """Write the state_dict atomically: a temporary file, then a rename."""
    path = Path(path)
    state = {name: value.detach().cpu() for name, value in model.state_dict().items()}
    temporary = path.with_name(f".{path.name}.tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=TRAINING["epochs"])
    parser.add_argument("--batch-size", type=int, default=TRAINING["batch_size"],
                        help="samples per step over all processes (each of N processes takes 1/N)")
    parser.add_argument("--lr", type=float, default=TRAINING["learning_rate"])
    parser.add_argument("--seed", type=int, default=TRAINING["seed"])
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--data", default=DATASET["path"], help="the CSV or NPZ file (CSV / NPZ datasets)")
    parser.add_argument("--start-from", default=None, help="weights to start from (e.g. weights.pt)")
    parser.add_argument("--output", default="trained-weights.pt", help="where to save the trained weights")
    args = parser.parse_args(argv)

    rank, world, device = start_processes(args.device)
    torch.manual_seed(args.seed)
    x_train, y_train, x_val, y_val = (torch.from_numpy(np.ascontiguousarray(a)).to(device)
                                      for a in split(*load_source(args)))
    if tuple(x_train.shape[1:]) != INPUT_SHAPE:
        sys.exit(f"the data gives samples of shape {tuple(x_train.shape[1:])}, the model takes {INPUT_SHAPE}")

    model = MODEL_CLASS()
    playground = TRAINING["recipe"] == "playground"
    init_weights(model, "playground" if playground else TRAINING["init"])  # Playground's own under its recipe
    if args.start_from:
        model.load_state_dict(torch.load(args.start_from, map_location="cpu", weights_only=True), strict=True)
    model.to(device)
    net = model
    if world > 1:
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    loss_fn = make_loss()
    optimizer = make_optimizer(model, args.lr)
    weights = regularised_weights(model)
    update = make_update(optimizer, weights, list(net.parameters()))
    schedule = make_schedule(optimizer, args.epochs)
    batch = max(1, min(args.batch_size, len(y_train)) // world)
    shuffle = torch.Generator().manual_seed(args.seed)  # the same on every process, so the shards agree
    if rank == 0:
        print(f"{DESIGN_NAME}: {len(y_train)} training and {len(y_val)} validation samples, "
              f"{world} process(es) on {device}, batch {batch * world}")

    for epoch in range(1, args.epochs + 1):
        net.train()
        totals = torch.zeros(3, device=device)  # loss sum, correct, samples: summed on the device, no syncs
        for index in epoch_batches(epoch, len(y_train), batch, shuffle, rank, world):
            index = index.to(device)
            if len(index) < 2:  # BatchNorm cannot normalise a batch of one sample
                continue
            scores = net(x_train[index])
            loss = loss_fn(scores, y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # under DDP the gradients are averaged over the processes here
            update(optimizer.param_groups[0]["lr"])
            totals += torch.stack([loss.detach() * len(index), count_correct(scores.detach(), y_train[index]),
                                   torch.tensor(float(len(index)), device=device)])
        if schedule is not None:
            schedule.step()
        if world > 1:
            dist.all_reduce(totals)
        if rank == 0:
            loss_sum, correct, samples = totals.tolist()
            train_loss, train_accuracy = loss_sum / max(samples, 1), correct / max(samples, 1)
            if playground:  # Playground reports the whole training set's loss with the current weights
                train_loss, train_accuracy = evaluate(model, x_train, y_train, loss_fn)
            val_loss, val_accuracy = evaluate(model, x_val, y_val, loss_fn)
            line = f"epoch {epoch:>4}/{args.epochs}  loss {train_loss:.4f}  val_loss {val_loss:.4f}"
            if TASK != "regression":
                line += f"  accuracy {train_accuracy:.3f}  val_accuracy {val_accuracy:.3f}"
            print(line, flush=True)

    if rank == 0:
        save_weights(model, args.output)
        print(f"saved the trained weights to {args.output}")
    stop_processes(world)


def stop_processes(world):
    """Leave the process group together, then end the process without the interpreter's teardown.

    Every rank waits at a barrier until rank 0 has saved, then all destroy the group. That is not enough
    on its own: once DistributedDataParallel has wrapped a model, the gloo process group and its threads
    stay alive after destroy_process_group, and a rank that then runs Python's normal exit now and then
    aborts there ("terminate called without an active exception", no Python frame on the stack), so
    torchrun kills the others. Everything is saved and flushed by now, so each rank leaves with os._exit.
    """
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
