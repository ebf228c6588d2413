"""`nnstudio open-playground LINK [-o DESIGN]`: turn a TensorFlow Playground share link into a design.

With `-o` the design is saved (atomically) and nothing opens; without it the window opens on the design,
unsaved. What the link held that could not be used is printed, one line each, on stderr; it never stops
the import. Exit 2 when the text is not a Playground link at all or the file cannot be written.
"""

from __future__ import annotations

import argparse
import sys

from nnstudio.core.errors import NNStudioError

EXIT_OK, EXIT_BAD_INPUT = 0, 2
PROG = "nnstudio open-playground"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("link", metavar="LINK",
                        help="a Playground share link, e.g. 'https://playground.tensorflow.org/#activation=tanh"
                             "&dataset=circle&networkShape=4,2' (quote it: & is special in shells)")
    parser.add_argument("-o", "--output", metavar="DESIGN", help="save the design here instead of opening it")


def main(args: argparse.Namespace) -> int:
    from nnstudio.io import save_design
    from nnstudio.io.playground_link import describe_import, design_from_link

    try:
        design, state = design_from_link(args.link)
    except NNStudioError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for line in describe_import(state):
        print(f"{PROG}: {line}", file=sys.stderr)
    if args.output:
        try:
            save_design(design, args.output)
        except NNStudioError as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"wrote {args.output}")
        return EXIT_OK
    from nnstudio.gui.shell.app import run

    return run(design=design)
