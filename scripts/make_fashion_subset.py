"""Make the Fashion-MNIST subset shipped inside neurona (used when the full set is not on disk).

From the full training set it takes 1 000 images per class (10 000) and from the test set 200
per class (2 000), chosen with a fixed seed, kept in their original order, and writes them as
uint8 to python/neurona/datasets/fashion_mnist_subset.npz (zip-deflated, about 5.3 MB) with the
original indices, so anyone can check the subset against the full files. Running it again on
the same files gives a byte-identical output.

    python scripts/make_fashion_subset.py [--src DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
from neurona.datasets.fashion import EMBEDDED_FILE, SYSTEM_DIR, read_split

SEED = 20261122
PER_CLASS = {"train": 1000, "test": 200}


def stratified_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """`per_class` random indices of each class (classes in order 0..9), sorted."""
    picks = []
    for c in range(10):
        members = np.flatnonzero(labels == c)
        if len(members) < per_class:
            raise SystemExit(f"class {c} has only {len(members)} samples, need {per_class}")
        picks.append(rng.permutation(members)[:per_class])
    return np.sort(np.concatenate(picks))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=SYSTEM_DIR, help="directory of the IDX .gz files")
    ap.add_argument("--out", type=Path, default=EMBEDDED_FILE, help="the .npz to write")
    args = ap.parse_args()

    rng = np.random.default_rng(SEED)
    arrays = {}
    for split, k in PER_CLASS.items():
        images, labels = read_split(args.src, split)
        idx = stratified_indices(labels, k, rng)
        arrays[f"{split}_images"] = np.ascontiguousarray(images[idx], dtype=np.uint8)
        arrays[f"{split}_labels"] = labels[idx].astype(np.uint8)
        arrays[f"{split}_indices"] = idx.astype(np.int32)
        counts = np.bincount(labels[idx], minlength=10)
        print(f"{split}: {len(idx)} images, per class {counts.tolist()}")
    arrays["seed"] = np.array(SEED, dtype=np.int64)
    np.savez_compressed(args.out, **arrays)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, sha256 {digest})")


if __name__ == "__main__":
    main()
