"""`aetui compare` (placeholder until its issue lands)."""

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    return subparsers.add_parser("compare", help="(not built yet)")


def run(args: argparse.Namespace) -> int:
    raise SystemExit("aetui compare: not built yet")
