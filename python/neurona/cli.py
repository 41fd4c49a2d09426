"""The ``neurona`` command (also ``python -m neurona``). Each subcommand is a function
registered in ``COMMANDS``; ``neurona --help`` lists them."""

from __future__ import annotations

import argparse
import sys


def _demo(args) -> int:
    from neurona.demo import run

    losses = run(epochs=args.epochs, seed=args.seed)
    return 0 if losses[-1] < losses[0] else 1


def _info(args) -> int:
    import neurona

    print(f"neurona {neurona.__version__}")
    print(f"threads: {neurona.get_num_threads()}")
    print(f"matmul kernel: {neurona.isa()}")
    print(f"cuda available: {neurona.cuda.is_available()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurona", description="neurona: deep learning with a fast Rust core")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train a small network on two spirals and print the loss falling")
    demo.add_argument("--epochs", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)
    info = sub.add_parser("info", help="print version, threads, the matmul kernel and CUDA availability")
    info.set_defaults(func=_info)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
