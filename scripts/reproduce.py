#!/usr/bin/env python
"""aetui's numbers for the README's reproduction table, one reference setup per call.

    python scripts/reproduce.py dA --q 0.3 --init glorot   # Theano tutorial's dA
    python scripts/reproduce.py ufldl --png ufldl.png      # UFLDL's MNIST sparse AE
    python scripts/reproduce.py logreg                     # raw-pixel softmax regression

Each prints one JSON line. Defaults are the references' sizes (dA: the first
50,000 training images, 15 epochs; UFLDL: the first 10,000, 400 L-BFGS
iterations); --limit, --epochs and --iterations shrink them (the tests run
every README command that way). MNIST comes from ../shared/mnist when there,
else from aetui's usual places (--data-dir to choose).
"""

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARED_MNIST = REPO.parent / "shared" / "mnist"


def _data(args):
    from aetui.data import load_dataset

    data_dir = args.data_dir
    if data_dir is None and (SHARED_MNIST / "train-images-idx3-ubyte.gz").exists():
        data_dir = str(SHARED_MNIST)
    return load_dataset("mnist", data_dir=data_dir, limit=args.limit, progress=False,
                        allow_fallback=False)


def run_dA(args) -> dict:
    """784 → 500 tied, sigmoid, cross-entropy, SGD lr 0.1, batch 20, masking q (code/dA.py)."""
    from aetui.config import Settings
    from aetui.engine import objective
    from aetui.experiments import analysis
    from aetui.training.trainer import Trainer

    data = _data(args)
    settings = Settings(hidden=500, tied=True, loss="ce", noise="mask" if args.q else "none",
                        q=args.q, optimizer="sgd", lr=0.1, batch=20, init=args.init, seed=0)
    trainer = Trainer(settings, data.train_x, data.test_x)
    trainer.run(max_epochs=args.epochs)
    costs = [h["train_loss"] for h in trainer.history]
    W = trainer.weights().W
    # The tutorial's pictures show units 0..99.
    smoothness = analysis.filter_smoothness(objective.normalized_filters(W, range(100)))
    return {"setup": "dA", "q": args.q, "init": args.init, "images": len(data.train_x),
            "epochs": len(costs), "cost_epoch_1": costs[0], "cost_last": costs[-1],
            "train_floor": objective.cross_entropy_floor(data.train_x),
            "held_out": trainer.history[-1]["val_recon"],
            "held_out_floor": trainer.val_floor, "smoothness": smoothness}


def run_ufldl(args) -> dict:
    """784 → 196 untied, sigmoid, squared error, ρ = 0.1, UFLDL's β = 3 → 6, λ = 3e-3,
    full-batch L-BFGS, UFLDL's initialisation (UFLDL Tutorial, Exercise:Vectorization)."""
    from aetui.config import Settings
    from aetui.engine import engine, objective
    from aetui.training.trainer import Trainer

    data = _data(args)
    settings = Settings(hidden=196, tied=False, init="ufldl", loss="mse", decoder="sigmoid",
                        noise="none", rho=0.1, beta=6.0, l2=3e-3, optimizer="lbfgs", seed=0)
    trainer = Trainer(settings, data.train_x, data.test_x)
    trainer.run(max_steps=args.iterations)
    params = trainer.weights()
    _, rho_hat = engine.held_out(params, data.train_x, "mse")
    if args.png:
        from aetui.figures.png import save_grid

        save_grid(args.png, objective.normalized_filters(params.W),
                  label=f"UFLDL sparse AE: {params.W.shape[1]} filters, "
                        f"{trainer.step} L-BFGS iterations")
    last = trainer.history[-1] if trainer.history else {}
    return {"setup": "ufldl", "images": len(data.train_x), "iterations": trainer.step,
            "objective": last.get("train_loss"), "rho_hat_mean": float(rho_hat.mean()),
            "stopped": trainer.message, "png": args.png}


def run_logreg(args) -> dict:
    """Softmax regression on raw pixels (the tutorial's logistic_sgd.py figure), by the
    same probe aetui uses for its features."""
    from aetui.engine.model import init_params
    from aetui.experiments import analysis

    data = _data(args)
    params = init_params(data.train_x.shape[1], 1, seed=0, tied=True)  # unused by "raw"
    acc = analysis.probe_accuracies(params, data.train_x, data.train_y, data.test_x,
                                    data.test_y, which=("raw",))
    return {"setup": "logreg", "images": len(data.train_x), "test_accuracy": acc["raw"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("setup", choices=("dA", "ufldl", "logreg"))
    parser.add_argument("--q", type=float, default=0.0, help="dA: masking level")
    parser.add_argument("--init", default="glorot-sigmoid", help="dA: initialisation")
    parser.add_argument("--epochs", type=int, default=15, help="dA: epochs")
    parser.add_argument("--iterations", type=int, default=400, help="ufldl: L-BFGS iterations")
    parser.add_argument("--limit", type=int, default=None,
                        help="training images (default: the reference's)")
    parser.add_argument("--png", default=None, help="ufldl: write its filters here")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    if args.limit is None:
        args.limit = {"dA": 50_000, "ufldl": 10_000, "logreg": None}[args.setup]
    started = time.perf_counter()
    result = {"dA": run_dA, "ufldl": run_ufldl, "logreg": run_logreg}[args.setup](args)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
