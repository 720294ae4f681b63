#!/usr/bin/python3
"""Executes a notebook headless with a real Jupyter kernel (nbclient) and writes the executed copy.

    /usr/bin/python3 utils/execute-notebook.py IN.ipynb OUT.ipynb [--cwd DIR] [--kernel devise-ts] [--timeout 600]

The kernel runs in --cwd (default: the notebook's own folder), which is what decides how the
notebook's imports resolve. Exits 1 if any cell raised, after writing OUT with every output.
"""
import argparse
import os
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook")
    ap.add_argument("out")
    ap.add_argument("--cwd", default=None)
    ap.add_argument("--kernel", default="devise-ts")
    ap.add_argument("--timeout", type=int, default=600)
    args = ap.parse_args()

    nb = nbformat.read(args.notebook, as_version=4)
    cwd = args.cwd or os.path.dirname(os.path.abspath(args.notebook))
    client = NotebookClient(nb, kernel_name=args.kernel, timeout=args.timeout,
                            resources={"metadata": {"path": cwd}})
    status = 0
    try:
        client.execute()
    except CellExecutionError as err:
        print(str(err), file=sys.stderr)
        status = 1
    nbformat.write(nb, args.out)
    return status


if __name__ == "__main__":
    sys.exit(main())
