"""Command line of the study: ``python -m minicnn.experiments {baseline,list} ...``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import baseline, zoo


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m minicnn.experiments",
        description="Reproduce the study of ../shared/study.md on Fashion-MNIST.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "baseline",
        help="train the study's base model and print summary, log, accuracy and report",
    )
    run.add_argument("--model", default="base", choices=list(zoo.BY_ID), help="model id (base)")
    run.add_argument("--epochs", type=_positive, default=6)
    run.add_argument("--batch-size", type=_positive, default=128)
    run.add_argument("--seed", type=_non_negative, default=0)
    run.add_argument("--data-dir", default=None, help="folder holding the four IDX files")
    run.add_argument("--max-train", type=_positive, default=None, help="use the first N images")
    run.add_argument("--max-test", type=_positive, default=None, help="test on the first N images")
    run.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1)
    run.set_defaults(handler=baseline.run_from_args)

    listing = commands.add_parser("list", help="every model id of the study with its layers")
    listing.set_defaults(handler=_list_models)
    return parser


def _list_models(args: argparse.Namespace) -> int:
    print(f"{'id':<6} {'table':<9} {'params':>10} {'doc %':>6}  layers")
    for spec in zoo.STUDY:
        acc = f"{spec.document_accuracy:.2f}" if spec.document_accuracy is not None else "-"
        print(f"{spec.id:<6} {spec.table:<9} {spec.params:>10,} {acc:>6}  {spec.layers}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
