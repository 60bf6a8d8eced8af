"""Draw conv's roofline picture from a saved `benchmarks/conv.py` table (needs matplotlib).

    python benchmarks/conv.py > conv.txt
    python benchmarks/roofline.py conv.txt docs/img/conv_roofline.png

One group of bars per shape and pass: tinynet's and PyTorch's GFLOP/s, and a mark at
NumPy's sgemm rate on a GEMM of that conv's own size in the same run (the roofline of
im2col + GEMM: what tinynet would reach if the copies cost nothing).
"""

from __future__ import annotations

import sys


def parse(path: str) -> tuple[list[dict], list[str]]:
    rows, notes = [], []
    for line in open(path):
        if line.startswith("#"):
            notes.append(line[1:].strip())
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and cells[1] in ("forward", "dX", "dW"):
            rows.append({"shape": cells[0], "pass": cells[1], "tinynet": float(cells[5]),
                         "torch": float(cells[6]), "sgemm": float(cells[7])})  # fmt: skip
    return rows, notes


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, notes = parse(sys.argv[1])
    fig, ax = plt.subplots(figsize=(11, 4.8))
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r["tinynet"] for r in rows], 0.4, label="tinynet")
    ax.bar([x + 0.2 for x in xs], [r["torch"] for r in rows], 0.4, label="PyTorch (oneDNN)")
    ax.scatter(list(xs), [r["sgemm"] for r in rows], marker="_", s=400, color="k", zorder=3,
               label="NumPy sgemm, same size, same run")  # fmt: skip
    ax.set_xticks(list(xs))
    ax.set_xticklabels(
        [f"{r['shape'].split(',')[0]}\n{r['pass']}" for r in rows],
        fontsize=7,
        rotation=45,
        ha="right",
    )
    ax.set_ylabel("GFLOP/s")
    load = next((n.split("load average at start")[1] for n in notes if "load average" in n), "?")
    ax.set_title(f"conv2d passes against the GEMM roofline; {notes[0] if notes else ''}; "
                 f"load average {load.strip()}", fontsize=9)  # fmt: skip
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=100)


if __name__ == "__main__":
    main()
