"""The main job: train a small CNN on MNIST (by default the sample bundled with tinynet).

    tinynet-train-mnist                       # bundled sample, CPU: ~98% in under a minute
    tinynet-train-mnist --dataset fashion-mnist --model classic --optimizer sgd --lr 0.01 \\
        --schedule none --epochs 1            # PyTorch's classic MNIST example recipe
    tinynet-train-mnist --resume runs/sample/checkpoint.safetensors --epochs 15

Also `python examples/train_mnist.py ...`. Shows a tqdm bar with the running loss and
throughput, prints each epoch's train loss and test accuracy, writes to `--out`:
`checkpoint.safetensors` (model, optimizer, scheduler, epoch, history: what `--resume`
needs), `model.safetensors` (the weights alone; loads into the same architecture in
PyTorch; its metadata records the run and epoch they belong to), and, where matplotlib is
installed, `curves.png` and `filters.png`.

Every option is checked before any work (`option`, one argparse `type=` factory): a bad
value is a usage error (exit status 2, no traceback). A new run never replaces another
run's checkpoint: if `--out` holds one, it stops and names `--resume` and `--overwrite`.
"""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import secrets
import sys
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import tinynet as tn
import tinynet.nn as nn
import tinynet.nn.functional as F
from tinynet._files import atomic_path
from tinynet.data import DataLoader, Subset
from tinynet.data.datasets import MNIST, FashionMNIST, mnist_sample

__all__ = [
    "LeNet", "ClassicNet", "build_model", "random_shift", "train", "run", "main", "option",
    "device_option", "out_option", "existing_run",
]  # fmt: skip

# Defaults by dataset (any flag overrides). On the sample the recipe reaches 98.0-98.6% test
# accuracy over seeds 0-7 in about 25 s on 2 CPU cores (docs/performance.md, "Training"):
# a LeNet twice as wide as LeNet-5, Adam under a one-cycle schedule, and random shifts of
# up to 2 pixels, which matter with only 4,000 training digits. On the 60,000-image sets a
# couple of epochs without shifts suffice.
COMMON = dict(model="lenet", width=2, optimizer="adam", lr=3e-3, momentum=0.9,
              weight_decay=0.0, schedule="onecycle", batch_size=64, seed=0)  # fmt: skip
DEFAULTS = {
    "sample": dict(COMMON, epochs=15, augment=2),
    "mnist": dict(COMMON, epochs=2, augment=0),
    "fashion-mnist": dict(COMMON, epochs=2, augment=0),
}
TUNABLE = ("model", "width", "optimizer", "lr", "momentum", "weight_decay", "schedule",
           "batch_size", "seed", "epochs", "augment")  # fmt: skip


# ----- models ---------------------------------------------------------------------------


class LeNet(nn.Module):
    """LeNet-5 with ReLU and max-pooling; `width` multiplies its channels (6, 16) and fc1 (120).

    Shape: (N, 1, 28, 28) -> (N, 10) logits.
    """

    def __init__(self, width: int = 1, num_classes: int = 10):
        super().__init__()
        c1, c2, f1 = 6 * width, 16 * width, 120 * width
        self.conv1 = nn.Conv2d(1, c1, 5, padding=2)
        self.conv2 = nn.Conv2d(c1, c2, 5)
        self.fc1 = nn.Linear(c2 * 5 * 5, f1)
        self.fc2 = nn.Linear(f1, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class ClassicNet(nn.Module):
    """PyTorch's classic MNIST example net without dropout (same state_dict keys).

    conv 32 3x3, relu, conv 64 3x3, relu, max-pool 2, flatten, fc 128, relu, fc 10.
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, num_classes)

    def forward(self, x):
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        x = F.max_pool2d(x, 2).flatten(1)
        return self.fc2(F.relu(self.fc1(x)))


def build_model(name: str, width: int = 2) -> nn.Module:
    if name == "lenet":
        return LeNet(width)
    if name == "classic":
        return ClassicNet()
    raise ValueError(f"unknown model {name!r}; choose lenet or classic")


# ----- data ------------------------------------------------------------------------------


def load_data(dataset: str, root: str | None, download: bool, limit: int | None):
    """(train, test) datasets, standardised with the data set's mean and std."""
    if dataset == "sample":
        train, test = mnist_sample(True, normalize=True), mnist_sample(False, normalize=True)
    else:
        cls = MNIST if dataset == "mnist" else FashionMNIST
        train = cls(root, train=True, download=download, normalize=True)
        test = cls(root, train=False, download=download, normalize=True)
    if limit:
        # a fixed random subset: the files are often sorted by class
        pick = np.random.default_rng(0)
        train = Subset(train, pick.permutation(len(train))[: min(limit, len(train))])
        test = Subset(test, pick.permutation(len(test))[: min(limit, len(test))])
    return train, test


def random_shift(x: tn.Tensor, pixels: int, rng: np.random.Generator) -> tn.Tensor:
    """Translate each image by its own random (dy, dx) in [-pixels, pixels], background-filled.

    Vectorised: a sliding-window view of the padded batch, indexed once per image.
    """
    a = x.numpy()
    n, m = a.shape[0], pixels
    padded = np.pad(a, ((0, 0), (0, 0), (m, m), (m, m)), constant_values=a.min())
    windows = sliding_window_view(padded, a.shape[2:], axis=(2, 3))  # N, C, 2m+1, 2m+1, H, W
    dy, dx = rng.integers(0, 2 * m + 1, size=(2, n))
    return tn.from_numpy(np.ascontiguousarray(windows[np.arange(n), :, dy, dx]))


# ----- training ---------------------------------------------------------------------------


def make_optimizer(cfg: dict, params, steps_per_epoch: int):
    if cfg["optimizer"] == "sgd":
        opt = tn.optim.SGD(params, lr=cfg["lr"], momentum=cfg["momentum"],
                           weight_decay=cfg["weight_decay"])  # fmt: skip
    else:
        opt = tn.optim.Adam(params, lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    sched = None
    if cfg["schedule"] == "onecycle":
        sched = tn.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=cfg["lr"], epochs=cfg["epochs"], steps_per_epoch=steps_per_epoch
        )
    elif cfg["schedule"] == "cos":
        sched = tn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg["epochs"] * steps_per_epoch)
    return opt, sched


def evaluate(model: nn.Module, loader: DataLoader, device) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) over a loader."""
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    with tn.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            total_loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.argmax(1) == y).sum().item())
            seen += len(y)
    model.train()
    return total_loss / seen, correct / seen


def save_checkpoint(path: pathlib.Path, model, opt, sched, epoch: int, history: dict, cfg: dict,
                    run_id: str = "") -> None:  # fmt: skip
    """checkpoint.safetensors, then model.safetensors, both stamped with run id and epoch.

    Two files cannot be replaced in one step; the weights file's metadata says which run
    and epoch it holds, and `sync_weights` (called on --resume) rewrites it from the
    checkpoint if a crash came between the two writes.
    """
    tn.save(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict() if sched is not None else None,
            "epoch": epoch,
            "history": history,
            "config": cfg,
            "run": run_id,
        },
        path,
    )
    save_weights(path.with_name("model.safetensors"), model.state_dict(), epoch, run_id)


def save_weights(path: pathlib.Path, state_dict: dict, epoch: int, run_id: str) -> None:
    """model.safetensors: the weights alone, with the run id and epoch in its metadata."""
    tn.save(state_dict, path, metadata={"epoch": str(epoch), "run": run_id})


def sync_weights(ckpt_path: pathlib.Path, checkpoint: dict) -> bool:
    """Make model.safetensors hold the checkpoint's weights; True if it had to be rewritten."""
    from tinynet.serialization import read_metadata

    weights = ckpt_path.with_name("model.safetensors")
    want = {"epoch": str(checkpoint["epoch"]), "run": str(checkpoint.get("run", ""))}
    try:
        meta = read_metadata(weights)
    except (OSError, ValueError):
        meta = {}
    if all(meta.get(k) == v for k, v in want.items()):
        return False
    save_weights(weights, checkpoint["model"], int(checkpoint["epoch"]), want["run"])
    return True


def save_plots(history: dict, model: nn.Module, out: pathlib.Path) -> list[pathlib.Path]:
    """curves.png (loss, accuracy) and filters.png (first conv layer); [] without matplotlib."""
    try:
        from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        print("matplotlib is not installed: no plots (pip install matplotlib)")
        return []
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    if history["step_loss"]:
        at, loss = np.asarray(history["step_loss"]).T
        ax1.plot(at, loss, color="0.75", lw=1, label="train (running)")
    ax1.plot(epochs, history["train_loss"], "o-", label="train (epoch mean)")
    ax1.plot(epochs, history["test_loss"], "s-", label="test")
    ax1.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="loss")
    ax1.legend()
    ax2.plot(epochs, 100 * np.asarray(history["test_acc"]), "o-", color="C2")
    ax2.set(xlabel="epoch", ylabel="%", title="test accuracy")
    ax2.grid(alpha=0.3)
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    curves = out / "curves.png"
    with atomic_path(curves) as tmp:
        fig.savefig(tmp, dpi=100, format="png")

    w = model.conv1.weight.detach().cpu().numpy()[:, 0]  # (F, kH, kW), first input channel
    cols = math.ceil(math.sqrt(len(w)))
    rows = math.ceil(len(w) / cols)
    fig = Figure(figsize=(cols * 0.9, rows * 0.9 + 0.4), layout="constrained")
    lim = float(np.abs(w).max()) or 1.0
    for i, ax in enumerate(fig.subplots(rows, cols, squeeze=False).ravel()):
        ax.set_axis_off()
        if i < len(w):
            ax.imshow(w[i], cmap="RdBu_r", vmin=-lim, vmax=lim)
    fig.suptitle(f"conv1 filters ({len(w)} x {w.shape[1]}x{w.shape[2]})")
    filters = out / "filters.png"
    with atomic_path(filters) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return [curves, filters]


def train(cfg: dict, *, data: str | None = None, download: bool = False, device: str = "cpu",
          out: pathlib.Path, resume: str | None = None, progress: bool = True,
          checkpoint: dict | None = None) -> dict:  # fmt: skip
    """Train with the resolved configuration `cfg` (DEFAULTS[dataset] plus "dataset" and
    "limit"); resume from `checkpoint` (what `tn.load` read from `resume`) if given.

    Returns:
        the history: per epoch "train_loss", "test_loss", "test_acc", "seconds", and
        "step_loss" ([fractional epoch, loss] about 20 times per epoch).
    """
    from tqdm.auto import tqdm

    dataset, dev, out = cfg["dataset"], tn.device(device), pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    train_set, test_set = load_data(dataset, data, download, cfg["limit"])
    loader = DataLoader(train_set, batch_size=cfg["batch_size"], shuffle=True, seed=cfg["seed"])
    test_loader = DataLoader(test_set, batch_size=1000)

    tn.manual_seed(cfg["seed"])
    model = build_model(cfg["model"], cfg["width"]).to(dev)
    opt, sched = make_optimizer(cfg, model.parameters(), len(loader))
    history = {"train_loss": [], "test_loss": [], "test_acc": [], "seconds": [], "step_loss": []}
    start, run_id = 0, secrets.token_hex(8)
    if checkpoint is not None:
        run_id = str(checkpoint.get("run", ""))
        if resume is not None and sync_weights(pathlib.Path(resume), checkpoint):
            weights = pathlib.Path(resume).with_name("model.safetensors")
            print(f"rewrote {weights} from the checkpoint (epoch {checkpoint['epoch']}): "
                  "a save had been cut short")  # fmt: skip
        model.load_state_dict(checkpoint["model"])
        opt.load_state_dict(checkpoint["optimizer"])
        if sched is not None and checkpoint.get("scheduler") is not None:
            sched.load_state_dict(checkpoint["scheduler"])
        elif cfg["schedule"] == "none":  # continue at a constant lr, not where a schedule ended
            for group in opt.param_groups:
                group["lr"] = cfg["lr"]
        history = {k: list(v) for k, v in checkpoint["history"].items()}
        start = int(checkpoint["epoch"])
        print(f"resumed from {resume} after epoch {start}")

    n_params = sum(p.numel() for p in model.parameters())
    print(f"{dataset}: {len(train_set)} train / {len(test_set)} test images; "
          f"{cfg['model']} ({n_params:,} parameters) on {dev}")  # fmt: skip
    print("config: " + ", ".join(f"{k}={cfg[k]}" for k in TUNABLE))
    if start >= cfg["epochs"]:
        print(f"nothing to do: the checkpoint has {start} epochs; pass --epochs N > {start}")
        return history

    t_run = time.perf_counter()
    ckpt = out / "checkpoint.safetensors"
    every = max(1, len(loader) // 20)  # read the loss back (a device sync) ~20 times per epoch
    for epoch in range(start, cfg["epochs"]):
        loader.set_epoch(epoch)  # the shuffle and the shifts of each epoch depend on seed+epoch
        rng = np.random.default_rng([cfg["seed"], epoch])
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg['epochs']}", unit="batch",
                   leave=False, disable=not progress, dynamic_ncols=True)  # fmt: skip
        t0 = time.perf_counter()
        seen, loss_sum, pending = 0, 0.0, []
        for i, (x, y) in enumerate(bar, 1):
            if cfg["augment"]:
                x = random_shift(x, cfg["augment"], rng)
            x, y = x.to(dev), y.to(dev)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            pending.append((loss.detach(), len(y)))
            if i % every == 0 or i == len(loader):
                chunk = sum(t.item() * n for t, n in pending)
                chunk_n = sum(n for _, n in pending)
                loss_sum, seen, pending = loss_sum + chunk, seen + chunk_n, []
                history["step_loss"].append([epoch + i / len(loader), chunk / chunk_n])
                rate = seen / (time.perf_counter() - t0)
                bar.set_postfix(loss=f"{loss_sum / seen:.4f}", img_s=f"{rate:.0f}")
        bar.close()
        train_time = time.perf_counter() - t0
        test_loss, test_acc = evaluate(model, test_loader, dev)
        history["train_loss"].append(loss_sum / seen)
        history["test_loss"].append(test_loss)
        history["test_acc"].append(test_acc)
        history["seconds"].append(train_time)
        print(f"epoch {epoch + 1:>2}/{cfg['epochs']}  train loss {loss_sum / seen:.4f}  "
              f"test loss {test_loss:.4f}  test acc {100 * test_acc:.2f}%  "
              f"({train_time:.1f} s, {seen / train_time:.0f} img/s)", flush=True)  # fmt: skip
        save_checkpoint(ckpt, model, opt, sched, epoch + 1, history, cfg, run_id)

    total = time.perf_counter() - t_run
    plots = save_plots(history, model, out)
    print(f"done: test accuracy {100 * history['test_acc'][-1]:.2f}% after {cfg['epochs']} "
          f"epochs ({total:.1f} s). Checkpoint: {ckpt}"
          + (f"; plots: {', '.join(str(p) for p in plots)}" if plots else ""))  # fmt: skip
    return history


# ----- command line ------------------------------------------------------------------------


def option(convert, what: str, *, low=None, inclusive: bool = False):
    """An argparse `type=` that converts a value and checks it, so bad input is a usage error.

    Args:
        convert: int or float (text -> value; floats must be finite: no nan, no inf).
        what: the value's description in the message ("a positive integer").
        low: the values must exceed `low` (or equal it when `inclusive`).

    Example:
        >>> p.add_argument("--epochs", type=option(int, "a positive integer", low=0))
    """

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        bad = isinstance(value, float) and not math.isfinite(value)
        if low is not None and not bad:
            bad = value < low if inclusive else value <= low
        if bad:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse


def device_option(text: str) -> str:
    """An argparse `type=`: a device that exists and works here ("cuda" needs CuPy and a GPU)."""
    try:
        tn.device(text)
    except (RuntimeError, ValueError, TypeError) as e:
        raise argparse.ArgumentTypeError(f"{text!r} cannot be used here: {e}") from None
    return text


def out_option(text: str) -> pathlib.Path:
    """An argparse `type=`: a folder that is, or can be made, writable (not a file)."""
    path = pathlib.Path(text).expanduser()
    probe = path
    while not probe.exists():  # the nearest existing folder decides whether it can be made
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        where = "is" if probe == path else f"is below {probe}, which is"
        raise argparse.ArgumentTypeError(f"{text!r} {where} a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{text!r}: cannot write to {probe} (permission denied)")
    return path


def existing_run(out: pathlib.Path) -> pathlib.Path | None:
    """The checkpoint (or weights file) of an earlier run in `out`, if there is one."""
    for name in ("checkpoint.safetensors", "model.safetensors"):
        if (out / name).exists():
            return out / name
    return None


POSITIVE = option(int, "a positive integer", low=0)
NON_NEGATIVE = option(int, "an integer >= 0", low=0, inclusive=True)
RATE = option(float, "a finite number >= 0", low=0.0, inclusive=True)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tinynet-train-mnist",
        description="Train a small CNN on MNIST with tinynet (default: the bundled sample).",
    )
    p.add_argument(
        "--dataset",
        choices=list(DEFAULTS),
        help="the bundled 5,000-digit sample (default), or a full set read from --data",
    )
    p.add_argument(
        "--data",
        metavar="DIR",
        default=None,
        help="folder of the IDX files (default: $TINYNET_DATA/<dataset> or "
        "~/.cache/tinynet/<dataset>)",
    )
    p.add_argument("--download", action="store_true", help="download the full set if missing")
    p.add_argument(
        "--device", type=device_option, default="cpu", help="cpu (default), cuda, cuda:1, ..."
    )
    p.add_argument(
        "--model",
        choices=["lenet", "classic"],
        help="LeNet-style CNN, or PyTorch's classic MNIST example net (no dropout)",
    )
    p.add_argument(
        "--width", type=POSITIVE, help="LeNet channel multiplier (default 2; LeNet-5 is 1)"
    )
    p.add_argument("--epochs", type=POSITIVE, help="total epochs (sample: 15, full sets: 2)")
    p.add_argument("--batch-size", type=POSITIVE, help="default 64")
    p.add_argument("--optimizer", choices=["sgd", "adam"], help="default adam")
    p.add_argument("--lr", type=RATE, help="learning rate (the peak one under onecycle); 3e-3")
    p.add_argument("--momentum", type=RATE, help="SGD momentum (0.9)")
    p.add_argument("--weight-decay", type=RATE, help="default 0")
    p.add_argument("--schedule", choices=["onecycle", "cos", "none"], help="default onecycle")
    p.add_argument(
        "--augment",
        type=NON_NEGATIVE,
        metavar="PIXELS",
        help="random shifts of up to PIXELS (sample: 2, full sets: 0)",
    )
    p.add_argument(
        "--seed", type=NON_NEGATIVE, help="seeds the init, the shuffle and the shifts (0)"
    )
    p.add_argument("--limit", type=POSITIVE, metavar="N", help="use only N train and N test images")
    p.add_argument(
        "--out", type=out_option, default=None, help="output folder (default: runs/<dataset>)"
    )
    p.add_argument(
        "--resume",
        metavar="CKPT",
        help="continue from a checkpoint.safetensors (its settings are the defaults)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="start a new run even though --out holds another run's checkpoint (replaced "
        "after the first epoch)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _load_resume(p: argparse.ArgumentParser, path: str) -> dict:
    if not os.path.isfile(path):
        p.error(f"argument --resume: no checkpoint file at {path!r}")
    try:
        checkpoint = tn.load(path, device="cpu")
    except ValueError as e:
        p.error(f"argument --resume: {e}")
    if not isinstance(checkpoint, dict) or not {"model", "optimizer", "epoch", "config"} <= set(
        checkpoint
    ):
        p.error(f"argument --resume: {path} is not a training checkpoint of this script")
    return checkpoint


def run(argv=None) -> dict:
    """Parse the command line, train, and return the history (what `main` does, minus exit)."""
    p = parser()
    args = p.parse_args(argv)
    checkpoint, saved = None, {}
    if args.resume:
        checkpoint = _load_resume(p, args.resume)
        saved = checkpoint["config"]
        if args.dataset and args.dataset != saved["dataset"]:
            p.error(f"--resume: the checkpoint was trained on {saved['dataset']}")
    dataset = args.dataset or saved.get("dataset", "sample")
    # precedence: the data set's defaults < the checkpoint's settings < flags given now
    cfg = dict(DEFAULTS[dataset], dataset=dataset, limit=None)
    cfg.update({k: v for k, v in saved.items() if k in cfg})
    given = {k: getattr(args, k) for k in (*TUNABLE, "limit") if getattr(args, k) is not None}
    if checkpoint is not None:
        for k in ("model", "width"):
            if k in given and given[k] != cfg[k]:
                p.error(f"--resume: the checkpoint is a {k}={cfg[k]} model, not {given[k]}")
        schedule = given.get("schedule", cfg["schedule"])
        if schedule != "none" and given.get("epochs", saved["epochs"]) != saved["epochs"]:
            p.error(
                f"--resume: this run's {schedule} schedule spans {saved['epochs']} epochs; "
                "to train past it, add --schedule none (a constant lr)"
            )
    cfg.update(given)
    if cfg["schedule"] == "none" and checkpoint is not None:
        checkpoint["scheduler"] = None
    out = args.out or (
        pathlib.Path(args.resume).parent if args.resume else pathlib.Path("runs") / dataset
    )
    if args.out is None:
        try:
            out_option(str(out))
        except argparse.ArgumentTypeError as e:
            p.error(f"the default output folder: {e}; choose one with --out")
    earlier = existing_run(out)
    ckpt = out / "checkpoint.safetensors"
    resuming_here = bool(args.resume) and ckpt.is_file() and os.path.samefile(ckpt, args.resume)
    if earlier is not None and not args.overwrite and not resuming_here:
        p.error(
            f"{out} holds another run ({earlier.name}); a new run would replace it. "
            f"Continue that run with --resume {ckpt}, or pass --overwrite to replace it, "
            "or choose another folder with --out"
        )
    return train(
        cfg,
        data=args.data,
        download=args.download,
        device=args.device,
        out=out,
        resume=args.resume,
        progress=not args.no_progress,
        checkpoint=checkpoint,
    )


def main(argv=None) -> int:
    """Console entry point `tinynet-train-mnist`."""
    try:
        run(argv)
    except KeyboardInterrupt:
        print("\ninterrupted; the last finished epoch is in the checkpoint: continue with --resume")
        return 130
    except FileNotFoundError as e:  # a data set that is not there: the message says what to do
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
