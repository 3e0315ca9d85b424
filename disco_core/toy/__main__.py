"""``python -m disco_core.toy --out DIR [--seed S] [--config configs/toy.yaml]``: run the 2-D experiment."""

from __future__ import annotations

import argparse
import json
import sys

from disco_core.toy.config import load_config
from disco_core.toy.runner import run_toy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m disco_core.toy",
        description="DisCo-Diff's 2-D experiment: 8 Gaussians on a circle, EDM baseline vs one discrete latent.",
    )
    parser.add_argument("--out", required=True, help="output folder for toy.json and toy.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", default=None, help="YAML file overriding the built-in defaults")
    parser.add_argument("--quiet", action="store_true", help="print only the final JSON")
    args = parser.parse_args(argv)
    result = run_toy(args.out, seed=args.seed, config=load_config(args.config), verbose=not args.quiet)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
