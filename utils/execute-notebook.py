#!/usr/bin/python3
"""Executes a notebook headless with a real Jupyter kernel (nbclient) and writes the executed copy.

    /usr/bin/python3 utils/execute-notebook.py IN.ipynb OUT.ipynb [--cwd DIR] [--kernel devise-ts] [--timeout 600] [--optimize-png]

The kernel runs in --cwd (default: the notebook's own folder), which is what decides how the
notebook's imports resolve. Exits 1 if any cell raised, after writing OUT with every output.
--optimize-png re-encodes the PNG outputs losslessly (same pixels, Pillow's optimize) where that is smaller:
Chromium's PNGs of photo figures are a fifth larger than they need be, and a committed notebook has a size budget.
"""
import argparse
import base64
import io
import os
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def optimize_pngs(nb) -> None:
    """Re-encodes every image/png output losslessly where that is smaller (a no-op without Pillow)."""
    try:
        from PIL import Image
    except ImportError:
        return
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/png" not in data:
                continue
            raw = base64.b64decode(data["image/png"])
            buf = io.BytesIO()
            Image.open(io.BytesIO(raw)).save(buf, "PNG", optimize=True)
            if buf.tell() < len(raw):
                data["image/png"] = base64.b64encode(buf.getvalue()).decode("ascii")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook")
    ap.add_argument("out")
    ap.add_argument("--cwd", default=None)
    ap.add_argument("--kernel", default="devise-ts")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--optimize-png", action="store_true")
    ap.add_argument("--no-execute", action="store_true", help="only rewrite IN as OUT (with --optimize-png)")
    args = ap.parse_args()

    nb = nbformat.read(args.notebook, as_version=4)
    cwd = args.cwd or os.path.dirname(os.path.abspath(args.notebook))
    client = NotebookClient(nb, kernel_name=args.kernel, timeout=args.timeout,
                            resources={"metadata": {"path": cwd}})
    status = 0
    try:
        if not args.no_execute:
            client.execute()
    except CellExecutionError as err:
        print(str(err), file=sys.stderr)
        status = 1
    if args.optimize_png:
        optimize_pngs(nb)
    nbformat.write(nb, args.out)
    return status


if __name__ == "__main__":
    sys.exit(main())
