"""The ``discodock`` command line: ``dock | train | benchmark | prepare | screen | screen-merge``.

Each subcommand lives in ``discodock.commands.<name>`` and exposes ``add_arguments(parser)`` and
``run(args) -> int``; they are imported only when chosen, so ``discodock --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from discodock import __version__
from discodock.errors import InputError

# name -> one-line help; the module discodock.commands.<name> implements it.
SUBCOMMANDS = {
    "dock": "dock ligands into a protein and write ranked poses (SDF + PDB)",
    "train": "train the score model, the latent prior or the confidence model",
    "benchmark": "RMSD success rates on complexes in the PDBBind layout",
    "prepare": "preprocess complexes in the PDBBind layout into an on-disk cache",
    "serve": "a web page and JSON API to dock and view poses in 3-D (needs the web extra)",
    "screen": "virtual screening: dock a ligand library into one receptor (sharded, resumable, Parquet out)",
    "screen-merge": "merge screen shards into one ranked hit table",
}


def _load(name: str):
    return importlib.import_module(f"discodock.commands.{name.replace('-', '_')}")


def build_parser(load_commands: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="discodock",
        description="Docking small molecules into proteins with discrete-latent diffusion (DisCo-DiffDock).",
    )
    parser.add_argument("--version", action="version", version=f"discodock {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(SUBCOMMANDS) + "}")
    for name, help_text in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        # Only the chosen command's module is imported (its arguments are needed to parse it).
        if name == load_commands:
            _load(name).add_arguments(p)
    return parser


# Options whose value may start with "-" (a negative coordinate): argparse would take it for an option.
_SIGNED_VALUE_OPTIONS = ("--pocket-center",)


def _glue_signed_values(argv: list[str]) -> list[str]:
    out, i = [], 0
    while i < len(argv):
        if argv[i] in _SIGNED_VALUE_OPTIONS and i + 1 < len(argv) and argv[i + 1].startswith("-"):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    argv = _glue_signed_values(list(sys.argv[1:] if argv is None else argv))
    chosen = next((a for a in argv if a in SUBCOMMANDS), None)
    parser = build_parser(load_commands=chosen)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(_load(args.command).run(args) or 0)
    except InputError as err:
        print(f"discodock {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"discodock {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
