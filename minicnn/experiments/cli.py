"""Command line of the study: ``python -m minicnn.experiments COMMAND [options]``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import backend
from ..datasets import DatasetError
from . import baseline, report, sweep, zoo

EPILOG = """commands:
  baseline  task 1: train base, print summary, log, accuracy and report (one seed by default)
  width     base, w1, w2, w4, w5, w6, w7
  window    base, k2, k4, k5, dec
  depth     base, d3, d4, d6, d7, d6x3, d3x3
  compare   cmp and mlp, with side-by-side classification reports
  all       every table above, then OUT/index.md
  list      every model id with its table, layers and parameter count

Results go to OUT/<experiment>/results.jsonl (one line per finished run; re-running resumes)
and OUT/<experiment>/report.md with PNG plots."""


class UsageError(Exception):
    """Bad command-line input found after parsing: reported with exit code 2."""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _seeds(text: str) -> list[int]:
    """``3`` means seeds 0, 1, 2; ``0,5,7`` (any comma) is an explicit list."""
    try:
        if "," in text:
            seeds = [int(part) for part in text.split(",") if part.strip()]
            if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
                raise ValueError
            return seeds
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--seeds takes a count (3) or a comma-separated list of distinct non-negative "
            f"seeds (0,5,7); got {text!r}"
        ) from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"--seeds must be at least 1, got {count}")
    return list(range(count))


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--epochs", type=_positive, default=6)
    common.add_argument(
        "--seeds", type=_seeds, default=None, help="a count (default 3; 1 for baseline) or a list"
    )
    common.add_argument("--batch-size", type=_positive, default=128)
    common.add_argument(
        "--device",
        choices=("auto", "cpu", "gpu"),
        default=None,
        help="where to train: the GPU (through CuPy), the CPU, or auto: the GPU when there is "
        "one (default: $MINICNN_DEVICE, else auto)",
    )
    common.add_argument(
        "--jit-compile",
        action="store_true",
        help="on a GPU, capture each training step in a CUDA graph and replay it (the same "
        "results, less host time a step)",
    )
    common.add_argument("--out", type=Path, default=Path("runs"), help="results folder (runs/)")
    common.add_argument("--variants", default=None, help="comma-separated subset of model ids")
    common.add_argument("--max-train", type=_positive, default=None, help="first N train images")
    common.add_argument("--max-test", type=_positive, default=None, help="first N test images")
    common.add_argument(
        "--jobs",
        type=_positive,
        default=1,
        help="parallel worker processes; with --device gpu they share the GPU",
    )
    common.add_argument("--dataset", choices=("fashion_mnist", "cifar10"), default="fashion_mnist")
    common.add_argument("--data-dir", default=None, help="folder holding the dataset files")
    common.add_argument("--fresh", action="store_true", help="ignore (move aside) earlier results")
    common.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None)
    common.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on a Dask cluster, e.g. tcp://host:8786 (pip install 'minicnn[dist]')",
    )
    common.add_argument(
        "--checkpoint-every",
        type=int,
        default=0,
        metavar="N",
        help="save each run's model and optimizer every N epochs; a killed run resumes there",
    )

    parser = argparse.ArgumentParser(
        prog="python -m minicnn.experiments",
        description="Reproduce the study of ../shared/study.md on Fashion-MNIST.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    base = commands.add_parser("baseline", parents=[common], help="task 1 (base model)")
    base.add_argument("--model", default="base", choices=list(zoo.BY_ID), help="model id")
    base.add_argument("--seed", type=int, default=None, help="one seed (same as --seeds N,)")
    for name in ("width", "window", "depth", "compare", "all"):
        commands.add_parser(name, parents=[common], help=f"the {name} experiment")
    commands.add_parser("list", help="every model id of the study")
    return parser


def _list_models() -> int:
    print(f"{'id':<6} {'table':<9} {'params':>10} {'doc %':>6}  layers")
    for spec in zoo.STUDY:
        acc = f"{spec.document_accuracy:.2f}" if spec.document_accuracy is not None else "-"
        print(f"{spec.id:<6} {spec.table:<9} {spec.params:>10,} {acc:>6}  {spec.layers}")
    return 0


def _check_args(args: argparse.Namespace) -> list[str] | None:
    # With --scheduler the GPUs are the workers'; this machine need not have one.
    if not (args.scheduler and args.device == "gpu"):
        try:
            args.device = backend.resolve_device(args.device)
        except (RuntimeError, ValueError) as e:
            raise UsageError(f"--device {args.device}: {e}") from None
    variants = None
    if args.variants:
        variants = [v.strip() for v in args.variants.split(",") if v.strip()]
        unknown = [v for v in variants if v not in zoo.BY_ID]
        if unknown:
            raise UsageError(
                f"unknown model id(s) in --variants: {', '.join(unknown)}; known: "
                f"{', '.join(zoo.BY_ID)}"
            )
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--out {args.out} cannot be created: {e}") from None
    if not os.access(args.out, os.W_OK):
        raise UsageError(f"--out {args.out} is not writable")
    return variants


def _run(args: argparse.Namespace) -> int:
    if args.command == "list":
        return _list_models()
    variants = _check_args(args)
    common = dict(
        epochs=args.epochs,
        batch_size=args.batch_size,
        max_train=args.max_train,
        max_test=args.max_test,
        data_dir=args.data_dir,
        dataset=args.dataset,
        device=args.device,
        jit_compile=args.jit_compile,
    )
    if args.command == "baseline":
        if args.seed is not None and args.seeds is not None:
            raise UsageError("give --seed or --seeds, not both")
        seeds = [args.seed] if args.seed is not None else (args.seeds or [0])
        if args.seed is not None and args.seed < 0:
            raise UsageError(f"--seed must be non-negative, got {args.seed}")
        verbose = 1 if args.verbose is None else args.verbose
        baseline.run_seeds(
            seeds, args.out, fresh=args.fresh, model_id=args.model, verbose=verbose, **common
        )
        return 0
    seeds = args.seeds or [0, 1, 2]
    verbose = 0 if args.verbose is None else args.verbose
    names = list(sweep.EXPERIMENTS) if args.command == "all" else [args.command]
    if args.command == "all":
        names.remove("baseline")  # base is trained as part of width, window and depth
    options = dict(
        variants=variants,
        jobs=args.jobs,
        fresh=args.fresh,
        verbose=verbose,
        checkpoint_every=max(0, args.checkpoint_every),
        scheduler=args.scheduler,
        **common,
    )
    if args.command != "all":
        sweep.run_experiment(args.command, args.out, seeds, **options)
        return 0
    # One pool of workers for every table's runs, then each table's report.
    done = sweep.run_all(names, args.out, seeds, **options)
    reports = {name: path for name, (path, _) in done.items()}
    unique = list({r["key"]: r for _, records in done.values() for r in records}.values())
    print(f"all: index written to {report.write_index(args.out, reports, unique)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except (UsageError, DatasetError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except MemoryError as e:  # CuPy's OutOfMemoryError is one too
        where = "the GPU" if args.device == "gpu" else "this machine"
        print(
            f"error: out of memory on {where} ({e or 'no detail'}). Every finished run is kept; "
            "run the same command with a smaller --batch-size or fewer --jobs.",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(
            "\nInterrupted: every run that finished is kept in its results.jsonl; run the same "
            "command again to train only what is missing.",
            file=sys.stderr,
        )
        return 130
