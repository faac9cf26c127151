"""`aetui probe` (placeholder until its issue lands)."""

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    return subparsers.add_parser("probe", help="(not built yet)")


def run(args: argparse.Namespace) -> int:
    raise SystemExit("aetui probe: not built yet")
