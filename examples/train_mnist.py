"""Train a LeNet-style CNN on MNIST with tinynet: the whole loop on one page.

In the spirit of PyTorch's examples/mnist: a model, the data, a training loop, an
evaluation, a checkpoint. With no arguments it trains on the 5,000 real MNIST digits
bundled with tinynet (no download): about 98% test accuracy in about 20 s on two CPU
cores. The full command line (full data sets, resume, plots) is `tinynet-train-mnist`
(tinynet/train_mnist.py), which uses the same model.

    python examples/train_mnist.py --epochs 3 --device cpu --out runs/example
"""

import argparse
import pathlib
import sys
import time

import numpy as np
from tqdm import tqdm

try:
    import tinynet as tn
except ImportError:  # run from a source checkout without installing: use the checkout
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
    import tinynet as tn
import tinynet.nn.functional as F
from tinynet.data import DataLoader, Subset
from tinynet.data.datasets import mnist_sample

# shared with tinynet-train-mnist: the model, the augmentation, the checked option types
from tinynet.train_mnist import (
    NON_NEGATIVE,
    POSITIVE,
    RATE,
    LeNet,
    device_option,
    existing_run,
    out_option,
    random_shift,
)


def train_epoch(model, loader, opt, sched, device, rng, progress):
    """One pass over the training set; returns the mean loss."""
    model.train()
    total, seen = 0.0, 0
    bar = tqdm(loader, unit="batch", leave=False, disable=not progress)
    for x, y in bar:
        x = random_shift(x, 2, rng)  # move each digit by up to 2 pixels: more data, for free
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()  # one-cycle: the learning rate changes every step
        total, seen = total + loss.item() * len(y), seen + len(y)
        bar.set_postfix(loss=f"{total / seen:.4f}")
    return total / seen


def evaluate(model, loader, device):
    """(mean cross-entropy, accuracy) on the test set."""
    model.eval()
    total, correct = 0.0, 0
    with tn.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            total += F.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.argmax(1) == y).sum().item())
    n = len(loader.dataset)
    return total / n, correct / n


def main(argv=None):
    p = argparse.ArgumentParser(description="Train a LeNet-style CNN on the MNIST sample.")
    p.add_argument("--epochs", type=POSITIVE, default=15, help="passes over the data (15)")
    p.add_argument("--batch-size", type=POSITIVE, default=64, help="images per step (64)")
    p.add_argument("--lr", type=RATE, default=3e-3, help="peak learning rate (3e-3)")
    p.add_argument("--width", type=POSITIVE, default=2, help="LeNet channel multiplier (2)")
    p.add_argument("--limit", type=POSITIVE, help="use only N train and N test images")
    p.add_argument("--seed", type=NON_NEGATIVE, default=0, help="random seed (0)")
    p.add_argument("--device", type=device_option, default="cpu", help="cpu, cuda, cuda:1...")
    p.add_argument("--out", type=out_option, default="runs/example", help="output folder")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    ckpt = args.out / "checkpoint.safetensors"
    if existing_run(args.out) and not (args.overwrite or args.resume):  # never silently replaced
        p.error(f"{args.out} holds another run: pass --resume to continue it, --overwrite to "
                "replace it, or choose another --out")  # fmt: skip
    if args.resume and not ckpt.is_file():
        p.error(f"--resume: no checkpoint in {args.out}")

    # data: standardised with MNIST's mean and std; a fixed random subset with --limit
    train_set, test_set = mnist_sample(True, normalize=True), mnist_sample(False, normalize=True)
    if args.limit:
        pick = np.random.default_rng(0)
        train_set = Subset(train_set, pick.permutation(len(train_set))[: args.limit])
        test_set = Subset(test_set, pick.permutation(len(test_set))[: args.limit])
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    test_loader = DataLoader(test_set, batch_size=1000)

    # model, optimizer, schedule: Adam under a one-cycle learning rate
    tn.manual_seed(args.seed)
    device = tn.device(args.device)
    model = LeNet(args.width).to(device)
    opt = tn.optim.Adam(model.parameters(), lr=args.lr)
    sched = tn.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=len(loader)
    )
    print(f"{len(train_set)} train / {len(test_set)} test images, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters on {device}")  # fmt: skip

    first = 1
    if args.resume:  # same options as the run it continues: the schedule spans --epochs
        state = tn.load(ckpt)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        first = state["epoch"] + 1
        if first > args.epochs:
            p.error(f"--resume: the run in {args.out} already has {state['epoch']} epochs")

    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for epoch in range(first, args.epochs + 1):
        loader.set_epoch(epoch)  # a new shuffle each epoch, reproducible from the seed
        rng = np.random.default_rng([args.seed, epoch])
        train_loss = train_epoch(model, loader, opt, sched, device, rng, not args.no_progress)
        test_loss, acc = evaluate(model, test_loader, device)
        print(f"epoch {epoch:>2}/{args.epochs}  train loss {train_loss:.4f}  "
              f"test loss {test_loss:.4f}  test acc {100 * acc:.2f}%", flush=True)  # fmt: skip
        # one file per run, replaced atomically: the weights and the epoch always agree
        tn.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                 "scheduler": sched.state_dict(), "epoch": epoch}, ckpt)  # fmt: skip

    seconds = time.perf_counter() - start
    print(f"done: test accuracy {100 * acc:.2f}% after {epoch} epochs ({seconds:.1f} s). "
          f"Checkpoint: {ckpt}")  # fmt: skip
    return acc


if __name__ == "__main__":
    main()
