"""`aetui filters` (placeholder until its issue lands)."""

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    return subparsers.add_parser("filters", help="(not built yet)")


def run(args: argparse.Namespace) -> int:
    raise SystemExit("aetui filters: not built yet")
