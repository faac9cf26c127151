"""One typed settings object for a run, and the rules that make a value valid.

Precedence, highest first: command line > checkpoint (`--load`) > config file
(`--config`) > defaults. Every field's command-line spelling, help text and
check live here, so the parser, the TOML reader and the lab's value prompt
all agree on what `q=0.37` means.
"""

from __future__ import annotations

import dataclasses
import math
import re
import stat
import sys
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from aetui.boundaries.counts import PATCH_TEST_COUNT, check_count, patch_bytes
from aetui.errors import ConfigError

NOISE_TYPES = ("none", "mask", "gaussian", "saltpepper")
LOSSES = ("ce", "mse")
DECODERS = ("sigmoid", "linear")
OPTIMIZERS = ("sgd", "momentum", "adam", "lbfgs")
# Weight initialisations W ~ U(±r) (README, "Reproducing the references"):
# glorot-sigmoid r = 4·√(6/(n_in+k)), glorot r = √(6/(n_in+k)), ufldl r = √(6/(n_in+k+1)).
INITS = ("glorot-sigmoid", "glorot", "ufldl")
DATASETS = ("mnist", "digits", "patches")
WHITENINGS = ("none", "pca", "zca")
MAX_PATCH_SIZE = 16

# What `--dataset patches` changes when the user, the config file and the
# checkpoint leave it unset: the lecture's natural-image setting (Vincent et al.,
# JMLR 2010): 12×12 ZCA patches, 200 tied sigmoid units, linear decoder with squared
# error, Adam lr 0.005, batch 100, Gaussian noise and nothing else (β = 0, λ = 0).
# The paper's σ = 0.5 on whitened images of std ≈ 0.32 is 1.6× the data's spread,
# hence σ given relative to the data (sigma_std). Within a minute most units are local
# oriented edges (README, "Natural image patches"). Applied by dataset_defaults().
PATCH_DEFAULTS: dict[str, Any] = {
    "patch_size": 12, "hidden": 200, "loss": "mse", "decoder": "linear",
    "noise": "gaussian", "sigma_std": 1.6, "beta": 0.0, "l2": 0.0,
    "optimizer": "adam", "lr": 0.005, "batch": 100,
}
# Epochs of `aetui train` and `aetui compare` when --epochs is not given. Patches: the
# DAE's units leave the noise after ~15,000 updates and are local oriented edges by
# ~28,000 (locality / orientation 0.48 / 0.71 after 28 passes over 100,000 patches,
# 0.51 / 0.73 after 36: README, "Natural image patches").
PATCH_EPOCHS = 30
# A learning rate per optimiser that does not diverge in the first epoch, used when
# the optimiser is chosen but the rate is not (tests/test_optimizer_defaults.py runs
# each dataset's defaults with each). Digits: the tutorial's SGD lr 0.1; momentum 0.9
# multiplies the step by ~10, so a tenth of it. Patches: SGD at 0.1 diverges (step 25).
SAFE_LR: dict[str, dict[str, float]] = {
    "digits": {"sgd": 0.1, "momentum": 0.01, "adam": 0.001, "lbfgs": 0.1},
    "patches": {"sgd": 0.03, "momentum": 0.003, "adam": 0.005, "lbfgs": 0.005},
}

# Stated upper limits (README: "Limits and safety"): checked before anything is allocated.
MAX_BATCH = 10_000  # rows per minibatch: the workspace is ~6 × batch × 784 floats
# --threads, $AETUI_THREADS and a lab string's split (labstring.MAX_SPLIT): one ceiling,
# so that every run's own lab string reads back.
MAX_THREADS = 4096
MAX_CONFIG_BYTES = 1 << 20  # a --config file


def _meta(help: str, *, choices: tuple[str, ...] | None = None, model: bool = True) -> dict:
    return {"help": help, "choices": choices, "model": model}


@dataclass
class Settings:
    """Everything that defines a run. Field names are the option names."""

    # data
    dataset: str = field(
        default="mnist",
        metadata=_meta(
            "mnist (found, or downloaded and verified; falls back to the built-in digits "
            "when it can't be had), digits (the built-in procedural digits), patches "
            "(patches of the natural photographs bundled with scikit-image) or "
            "patches:PATH (of your PNG/JPEG/TIFF file or folder)",
            model=False,
        ),
    )
    data_dir: str | None = field(
        default=None,
        metadata=_meta(
            "folder with the four MNIST-format IDX files (gzipped or not); "
            "overrides $AETUI_DATA_DIR and the cache",
            model=False,
        ),
    )
    limit: int | None = field(
        default=None,
        metadata=_meta("train on only the first N training images", model=False),
    )
    # natural-image patches (--dataset patches[:PATH]; ignored for digits)
    patch_size: int = field(
        default=8, metadata=_meta(f"patch side in pixels, 2..{MAX_PATCH_SIZE}", model=False))
    patch_count: int = field(
        default=100_000, metadata=_meta("training patches sampled (held out: 5,000 more)",
                                        model=False))
    patch_gray: bool = field(
        default=True, metadata=_meta("grey patches (--no-patch-gray: RGB, 3 planes side by "
                                     "side)", model=False))
    patch_mean: bool = field(
        default=True, metadata=_meta("remove each patch's own mean (its brightness)",
                                     model=False))
    patch_contrast: bool = field(
        default=False, metadata=_meta("divide each patch by its own standard deviation "
                                      "(contrast normalisation)", model=False))
    whiten: str = field(
        default="zca", metadata=_meta(
            "whitening of the patches: none, pca (coordinates along the principal "
            "components: filters are then not images) or zca (back in pixel space)",
            choices=WHITENINGS, model=False))
    whiten_eps: float = field(
        default=0.1, metadata=_meta("whitening's ε, as a fraction of the mean eigenvalue, "
                                    "> 0 (larger: less high-frequency boost)", model=False))
    # model
    hidden: int = field(default=200, metadata=_meta("number of hidden units k (1..4096)"))
    tied: bool = field(default=True, metadata=_meta("tied weights, V = Wᵀ (--untied: learn V)"))
    init: str = field(
        default="glorot-sigmoid",
        metadata=_meta("weight initialisation U(±r): glorot-sigmoid (r = 4·√(6/(n_in+k))), "
                       "glorot (r = √(6/(n_in+k))) or ufldl (r = √(6/(n_in+k+1)), untied V "
                       "drawn separately); takes effect at a reset", choices=INITS),
    )
    loss: str = field(
        default="ce",
        metadata=_meta("reconstruction loss: ce (cross-entropy; sigmoid decoder) or mse",
                       choices=LOSSES),
    )
    decoder: str = field(
        default="sigmoid",
        metadata=_meta("decoder output: sigmoid or linear (identity; needs --loss mse)",
                       choices=DECODERS),
    )
    # corruption
    noise: str = field(
        default="mask",
        metadata=_meta("corruption: none, mask (zero with prob. q), gaussian (+σ·N(0,1)), "
                       "saltpepper (a fraction q set to 0 or 1)", choices=NOISE_TYPES),
    )
    q: float = field(default=0.3, metadata=_meta("corruption level for mask/saltpepper, in [0, 1)"))
    sigma: float = field(default=0.5, metadata=_meta("Gaussian noise std σ, ≥ 0"))
    sigma_std: float | None = field(
        default=None, metadata=_meta(
            "Gaussian σ as a multiple of the training data's standard deviation (over "
            "all its values, about their mean), ≥ 0: sets --sigma when the data are "
            "loaded (patches' default: 1.6, the lecture's setting)"))
    # regularizers
    rho: float = field(default=0.05, metadata=_meta("sparsity target ρ, in (0, 1)"))
    beta: float = field(default=0.0, metadata=_meta("sparsity weight β (KL penalty), ≥ 0"))
    l2: float = field(default=0.0, metadata=_meta("L2 weight decay λ on W (and V), ≥ 0"))
    # optimisation
    optimizer: str = field(
        default="sgd",
        metadata=_meta("sgd, momentum (0.9), adam, or lbfgs (full-batch L-BFGS-B over the "
                       "whole training set, one iteration per update; needs --noise none; "
                       "ignores --lr and --batch)", choices=OPTIMIZERS),
    )
    lr: float = field(default=0.1, metadata=_meta("learning rate, > 0"))
    batch: int = field(default=20, metadata=_meta("minibatch size (1..10000)"))
    seed: int = field(default=0, metadata=_meta("random seed (weights, order, corruption)"))

    def validate(self) -> Settings:
        """Raise ConfigError naming the first bad option; return self when all is well."""
        for f in fields(self):
            choices = f.metadata.get("choices")
            value = getattr(self, f.name)
            if choices and value not in choices:
                raise ConfigError(option_name(f.name),
                                  f"must be one of {', '.join(choices)}, got {value!r}")
        _check_dataset(self.dataset)
        _check_int(self, "patch_size", 2, MAX_PATCH_SIZE)
        _check_int(self, "patch_count", 1, None)
        # The ceiling follows from the memory the patches need (aetui.boundaries.counts).
        side, planes = self.patch_size, "grey" if self.patch_gray else "colour"
        check_count("--patch-count", self.patch_count, patch_bytes(side, self.patch_gray),
                    extra_items=PATCH_TEST_COUNT, what=f"{side}×{side} {planes} patch")
        _check_range(self, "whiten_eps", 0.0, math.inf, lo_open=True, hi_open=True)
        _check_int(self, "hidden", 1, 4096)
        _check_int(self, "batch", 1, MAX_BATCH)
        _check_int(self, "seed", 0, 2**32 - 1)
        if self.limit is not None:
            _check_int(self, "limit", 1, None)
        _check_range(self, "q", 0.0, 1.0, lo_open=False, hi_open=True)
        _check_range(self, "rho", 0.0, 1.0, lo_open=True, hi_open=True)
        for name in ("sigma", "beta", "l2"):
            _check_range(self, name, 0.0, math.inf, lo_open=False, hi_open=True)
        if self.sigma_std is not None:
            _check_range(self, "sigma_std", 0.0, math.inf, lo_open=False, hi_open=True)
        _check_range(self, "lr", 0.0, math.inf, lo_open=True, hi_open=True)
        if self.optimizer == "lbfgs" and self.noise != "none":
            raise ConfigError("--optimizer", "lbfgs minimises the objective on clean inputs "
                                             "(full batch): use it with --noise none")
        if self.loss == "ce" and self.decoder == "linear":
            raise ConfigError("--loss", "ce needs the sigmoid decoder (use --loss mse with "
                                        "--decoder linear)")
        return self

    def replace(self, **changes: Any) -> Settings:
        """A validated copy with `changes` applied."""
        return dataclasses.replace(self, **changes).validate()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, source: str = "settings") -> Settings:
        """Settings from a mapping (TOML file, checkpoint); unknown names are an error."""
        known = {f.name: f for f in fields(cls)}
        clean: dict[str, Any] = {}
        for raw_name, value in values.items():
            name = raw_name.replace("-", "_")
            if name not in known:
                raise ConfigError(source, f"unknown setting {raw_name!r}")
            clean[name] = coerce(name, value)
        return cls(**clean).validate()


def is_patches(dataset: str) -> bool:
    """True for `patches` and `patches:PATH`."""
    return dataset == "patches" or dataset.startswith("patches:")


def dataset_defaults(dataset: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults that differ from Settings' for this dataset (PATCH_DEFAULTS for patches),
    adjusted to what the user `given` (names → values): an optimiser chosen without a
    rate gets SAFE_LR's rate, and a --sigma given without --sigma-std is not
    overridden by a relative default."""
    kind = "patches" if is_patches(str(dataset)) else "digits"
    defaults = dict(PATCH_DEFAULTS) if kind == "patches" else {}
    given = given or {}
    if "sigma" in given and "sigma_std" not in given:
        defaults.pop("sigma_std", None)
    optimizer = given.get("optimizer", defaults.get("optimizer", Settings.optimizer))
    if "lr" not in given and optimizer in SAFE_LR[kind]:
        defaults["lr"] = SAFE_LR[kind][optimizer]
    return defaults


def default_epochs(dataset: str) -> int:
    """Passes over the data when --epochs is not given: 1, or PATCH_EPOCHS on patches."""
    return PATCH_EPOCHS if is_patches(str(dataset)) else 1


def data_std(x, block: int = 10_000) -> float:
    """Standard deviation of all the values of the rows of x (uint8 pixels scaled by
    1/255, floats as they are), about their overall mean: the unit of --sigma-std."""
    import numpy as np

    total = squares = 0.0
    count = 0
    for start in range(0, len(x), block):
        chunk = np.asarray(x[start:start + block])
        chunk = chunk / 255.0 if chunk.dtype == np.uint8 else chunk.astype(np.float64)
        total += float(chunk.sum())
        squares += float(np.square(chunk).sum())
        count += chunk.size
    if count == 0:
        return 0.0
    mean = total / count
    return math.sqrt(max(squares / count - mean * mean, 0.0))


def resolve_sigma(settings: Settings, train_x) -> Settings:
    """The settings with a relative σ (sigma_std) turned into --sigma for this data:
    σ = sigma_std × data_std(train_x); unchanged when sigma_std is not set."""
    if settings.sigma_std is None:
        return settings
    return settings.replace(sigma=float(settings.sigma_std) * data_std(train_x),
                            sigma_std=None)


def _check_dataset(value: Any) -> None:
    if not isinstance(value, str) or not (value in DATASETS or (
            value.startswith("patches:") and len(value) > len("patches:"))):
        raise ConfigError("--dataset", f"must be one of {', '.join(DATASETS)} or "
                                       f"patches:PATH, got {value!r}")


def option_name(name: str) -> str:
    """The command-line spelling of a field: data_dir -> --data-dir."""
    return "--" + name.replace("_", "-")


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Settings))


def field_help(name: str) -> str:
    return _field(name).metadata["help"]


def field_choices(name: str) -> tuple[str, ...] | None:
    return _field(name).metadata.get("choices")


def _field(name: str) -> dataclasses.Field:
    for f in fields(Settings):
        if f.name == name:
            return f
    raise ConfigError(name, "unknown setting")


# Numbers as typed: ASCII digits only (int() and float() also take spaces, `1_0` and
# other scripts' digits); README "Limits and safety".
INT_TEXT = re.compile(r"[+-]?[0-9]+")
_FLOAT_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _underflows(value: Any, number: float) -> bool:
    """A non-zero value below float64's normal range (1e-320 is subnormal; 1e-400 is 0)."""
    if number != 0.0:
        return abs(number) < sys.float_info.min
    mantissa = re.split("[eE]", str(value))[0]
    return isinstance(value, str) and bool(re.search("[1-9]", mantissa))


_TRUE = {"1", "true", "yes", "on", "tied"}
_FALSE = {"0", "false", "no", "off", "untied"}


def coerce(name: str, value: Any) -> Any:
    """Convert `value` (a string from a prompt, or a TOML value) to the field's type."""
    f = _field(name.replace("-", "_"))
    kind = str(f.type)
    option = option_name(f.name)
    if value is None:
        if "None" in kind:
            return None
        raise ConfigError(option, "needs a value")
    try:
        if kind.startswith("bool"):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError
        if kind.startswith("int"):
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            if isinstance(value, str) and not INT_TEXT.fullmatch(value):
                raise ValueError  # no spaces, `1_0` or other scripts' digits
            return int(value)
        if kind.startswith("float"):
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, str) and not _FLOAT_TEXT.fullmatch(value):
                raise ValueError
            number = float(value)
            if not math.isfinite(number) or _underflows(value, number):
                raise ValueError
            return number
        if not isinstance(value, str):
            raise TypeError
        return value
    except (TypeError, ValueError, OverflowError):
        expected = kind.split(" ")[0].split("|")[0]
        raise ConfigError(option, f"expected {expected}, got {value!r}") from None


def load_toml(path: str | Path) -> dict[str, Any]:
    """The settings mapping in a TOML file (flat, or under an [aetui] table)."""
    p = Path(path)
    try:
        # Checked before opening: opening a FIFO blocks, /dev/zero never ends.
        info = p.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError("--config", f"{p} is not a regular file")
        if info.st_size > MAX_CONFIG_BYTES:
            raise ConfigError("--config", f"{p} is {info.st_size:,} bytes, more than the "
                                          f"{MAX_CONFIG_BYTES:,}-byte limit for a config file")
        with p.open("rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError("--config", f"no such file: {p}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError("--config", f"{p} is not UTF-8 text (byte {exc.start})") from None
    except (OSError, tomllib.TOMLDecodeError, RecursionError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ConfigError("--config", f"cannot read {p}: {reason}") from None
    if isinstance(data.get("aetui"), dict):
        data = data["aetui"]
    for key in data:
        if key.replace("-", "_") not in field_names():
            raise ConfigError("--config", f"{p}: unknown setting {key!r}")
    return data


def _check_int(s: Settings, name: str, lo: int, hi: int | None) -> None:
    value = getattr(s, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(option_name(name), f"expected an integer, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        bound = f"from {lo} to {hi}" if hi is not None else f"at least {lo}"
        raise ConfigError(option_name(name), f"must be {bound}, got {value}")


def _check_range(s: Settings, name: str, lo: float, hi: float, *, lo_open: bool,
                 hi_open: bool) -> None:
    value = getattr(s, name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(option_name(name), f"expected a finite number, got {value!r}")
    too_low = value <= lo if lo_open else value < lo
    too_high = value >= hi if hi_open else value > hi
    if too_low or too_high:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        interval = f"must be ≥ {lo:g}" if hi == math.inf and not lo_open else (
            f"must be > {lo:g}" if hi == math.inf else f"must be in {left}{lo:g}, {hi:g}{right}")
        raise ConfigError(option_name(name), f"{interval}, got {value:g}")
