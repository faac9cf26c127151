"""The README's natural-image figure: PCA against autoencoders on patches of the
photographs bundled with scikit-image, with the locality and orientation measures.

A sweep around the patch defaults (README, "Natural image patches"), same seed:
β = 0 and β = 3, each at absolute σ = 0, 0.1, 0.2; prints one line per set and
writes the PCA components next to a selection of the models' filters as a small
PNG. The README's table and figure come from `aetui compare --dataset patches`
(the DAE at σ = 1.6 × the data's std beside the weight-decay AE), 30 epochs.

    python scripts/patches_figure.py --epochs 15 --png docs/patches.png
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aetui.config import PATCH_DEFAULTS, Settings
from aetui.data import image_layout, load_dataset_for
from aetui.experiments.experiments import NoiseComparison
from aetui.figures.png import save_panels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--units", type=int, default=24, help="filters per set in the PNG")
    parser.add_argument("--png", default=None)
    args = parser.parse_args()

    base = Settings(**{**PATCH_DEFAULTS, "dataset": "patches"})
    data = load_dataset_for(base, progress=False)
    shape, channels = image_layout(base)
    print(f"{data.source}: {len(data.train_x):,} patches {shape[0]}×{shape[1]}, "
          f"{base.whiten} ε={base.whiten_eps:g}, {data.train_x.shape[1]} → {base.hidden} "
          f"tied, {base.loss}/{base.decoder}, {base.optimizer} lr {base.lr:g}, λ {base.l2:g}, "
          f"batch {base.batch}, {args.epochs} epochs, seed {base.seed}")
    sets: list[tuple[str, object]] = []
    for beta in (0.0, 3.0):
        started = time.perf_counter()
        result = NoiseComparison(base.replace(beta=beta), tuple(data), (0.0, 0.1, 0.2),
                                 epochs=args.epochs, probe=False, filter_count=args.units,
                                 image_shape=shape, channels=channels,
                                 edge_measures=True).run()
        if not sets:
            sets.append((f"PCA ({len(result.pca_filters)} of {data.train_x.shape[1]})",
                         result))
        for r in result.runs:
            sets.append((f"β={beta:g} {r.label}", r))
        print(f"(β = {beta:g}: {time.perf_counter() - started:.0f} s)")
    print(f"{'set':<24}{'locality':>10}{'orientation':>13}{'held-out':>10}{'ρ̂':>7}")
    for label, item in sets:
        if label.startswith("PCA"):
            m = item.pca_measures
            print(f"{label:<24}{m['locality']:>10.3f}{m['orientation']:>13.3f}")
        else:
            print(f"{label:<24}{item.locality:>10.3f}{item.orientation:>13.3f}"
                  f"{item.val_loss:>10.3f}{item.rho_hat_mean:>7.3f}")
    if args.png:
        keep = ("PCA", "β=0 vanilla", "β=0 σ=0.2", "β=3 vanilla", "β=3 σ=0.1", "β=3 σ=0.2")
        panels = []
        for label, item in sets:
            if label.startswith(keep):
                images = item.pca_filters if label.startswith("PCA") else item.filters
                panels.append((label.replace("vanilla", "no noise"), images[: args.units]))
        saved = save_panels(args.png, panels, shape, cols=6, scale=4)
        print(f"wrote {saved}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
