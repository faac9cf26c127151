"""`aetui tour`: the lab on the tour's first chapter; `aetui tour --check`: every
chapter's claim checked headless (aetui/tour/check.py), one JSON line per claim,
then a table."""

from __future__ import annotations

import argparse
import json
import sys
import time

from aetui.errors import ConfigError


def add_parser(subparsers) -> argparse.ArgumentParser:
    from aetui.commands import common, lab

    p = subparsers.add_parser(
        "tour",
        help="a guided tour of the lecture (7.3–7.5): each chapter's settings, panel and "
             "claim, checked live; --check runs every claim headless",
        description="Open the lab on the tour's first chapter (T opens/leaves the tour, "
        "PageDown/PageUp move between chapters), or with --check run every chapter's "
        "experiment headless and print one JSON line per claim, then a table. Exit 0 "
        "whatever the verdicts.",
    )
    common.add_settings_options(p)
    lab.add_lab_options(p)
    group = p.add_argument_group("tour")
    group.add_argument("--check", action="store_true",
                       help="run every chapter's experiment headless and print the verdicts")
    group.add_argument("--quick", action="store_true",
                       help="with --check: small models and few epochs (≤ 3 minutes on 2 "
                            "cores with --dataset digits)")
    group.add_argument("--chapter", default=None, metavar="N[,N…]",
                       help="with --check: only these chapters, e.g. 7.4.3,7.5.2")
    return p


def run(args: argparse.Namespace) -> int:
    from aetui.tour.chapters import BY_NUMBER

    numbers = None
    if args.chapter is not None:
        numbers = [part.strip() for part in args.chapter.split(",") if part.strip()]
        unknown = [n for n in numbers if n not in BY_NUMBER]
        if unknown or not numbers:
            raise ConfigError("--chapter", f"no chapter {', '.join(unknown) or '(none)'}; "
                                           f"chapters: {', '.join(BY_NUMBER)}")
    if not args.check:
        if args.quick or numbers:
            option = "--quick" if args.quick else "--chapter"
            raise ConfigError(option, "only with --check")
        from aetui.commands import lab

        args.tour = True
        return lab.run(args)
    return check(args, numbers)


def check(args: argparse.Namespace, numbers: list[str] | None) -> int:
    from aetui.commands import common
    from aetui.tour.check import FULL, QUICK, TourCheck

    size = QUICK if args.quick else FULL
    if args.quick and not hasattr(args, "dataset"):
        args.dataset = "digits"  # quick is offline
    settings, _ = common.settings_from_args(args)
    if getattr(args, "limit", None) is None and size.limit is not None:
        settings = settings.replace(limit=size.limit)
    threads = common.resolve_threads(args.threads)

    from aetui.data import load_dataset_for

    data = load_dataset_for(settings, progress=False)
    if data.note:
        print(f"aetui: {data.note}", file=sys.stderr)
    if data.train_y is None:
        raise ConfigError("--dataset", "the tour's digit chapters need labelled digits "
                                       "(mnist or digits)")
    results = []

    def on_claim(result) -> None:
        results.append(result)
        print(json.dumps(result.to_json(), ensure_ascii=False), flush=True)

    started = time.perf_counter()
    runner = TourCheck(settings, tuple(data), size, threads=threads, on_claim=on_claim,
                       on_progress=lambda text: print(f"aetui: {text}", file=sys.stderr,
                                                      flush=True))
    _, interrupted = common.run_interruptibly(lambda: runner.run(numbers), lambda: None,
                                              "aetui-tour")
    print_table(results, f"{data.name}, {len(data.train_x):,} training images, "
                         f"{'quick' if args.quick else 'full'} size, {threads} threads, "
                         f"{time.perf_counter() - started:.0f} s")
    return 128 + interrupted if interrupted else 0


def print_table(results, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"tour check: {title}")
    for name, justify in (("chapter", "left"), ("claim", "left"), ("measured", "right"),
                          ("threshold", "right"), ("verdict", "left"), ("time", "right")):
        table.add_column(name, justify=justify)
    for r in results:
        table.add_row(r.chapter, r.claim, f"{r.measured:.4g}", f"{r.sense} {r.threshold:g}",
                      "holds" if r.holds else "does not hold", f"{r.seconds:.0f} s")
    Console(stderr=False, width=120).print(table)
