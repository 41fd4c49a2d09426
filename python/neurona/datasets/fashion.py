"""Fashion-MNIST: 28x28 grayscale images of 10 kinds of clothing (Zalando, MIT licence).

`fashion_mnist()` never downloads. It reads the standard gzip IDX files from the first of
these directories that has them:

1. the `path` argument (an error if the files are not there);
2. `$NEURONA_DATA/fashion-mnist`, then `$NEURONA_DATA` itself;
3. `/usr/share/datasets/fashion-mnist`;
4. `~/.cache/neurona/fashion-mnist`;

and otherwise falls back to the stratified subset shipped inside the package
(`fashion_mnist_subset.npz`: 10 000 training and 2 000 test images, 1 000 and 200 per class,
made by `scripts/make_fashion_subset.py`). The result says where its data came from in
`.source`, and the choice is logged on the `neurona.datasets` logger (printed with
`verbose=True`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data._convert import to_tensor
from ._idx import IdxError, read_idx

log = logging.getLogger("neurona.datasets")

CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
EMBEDDED_FILE = Path(__file__).with_name("fashion_mnist_subset.npz")
EMBEDDED = "embedded"

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension


@dataclass(frozen=True)
class ImageSplit:
    """One split of an image classification set.

    `images`: float32 Tensor (N, 1, 28, 28) in [0, 1]; `labels`: int64 Tensor (N,);
    `classes`: class names, indexed by label; `source`: the directory the files were read from,
    or "embedded" for the subset shipped in the package; `split`: "train" or "test".
    Unpacks as `images, labels = fashion_mnist()`.
    """

    images: object
    labels: object
    classes: tuple
    source: str
    split: str

    def __iter__(self):
        yield self.images
        yield self.labels

    def __len__(self) -> int:
        return len(np.asarray(self.labels))


def _find_file(directory: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        p = directory / name
        if p.is_file():
            return p
    return None


def _has_split(directory: Path, split: str) -> bool:
    return all(_find_file(directory, stem) is not None for stem in _FILES[split])


def candidate_dirs() -> list[tuple[Path, str]]:
    """The directories searched after an explicit path, in order, each with why it is there."""
    out = []
    env = os.environ.get("NEURONA_DATA")
    if env:
        out.append((Path(env) / "fashion-mnist", "$NEURONA_DATA"))
        out.append((Path(env), "$NEURONA_DATA"))
    out.append((SYSTEM_DIR, "system directory"))
    out.append((Path.home() / ".cache" / "neurona" / "fashion-mnist", "user cache"))
    return out


def read_split(directory, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Read one split's IDX files from `directory`: uint8 images (N, 28, 28), uint8 labels."""
    directory = Path(directory)
    img_stem, lbl_stem = _FILES[split]
    img_path, lbl_path = _find_file(directory, img_stem), _find_file(directory, lbl_stem)
    if img_path is None or lbl_path is None:
        raise FileNotFoundError(
            f"no Fashion-MNIST {split} files in {directory}: expected {img_stem}.gz and "
            f"{lbl_stem}.gz (or uncompressed)"
        )
    images = read_idx(img_path, _IMAGES_MAGIC)
    labels = read_idx(lbl_path, _LABELS_MAGIC)
    if images.shape[1:] != (28, 28):
        raise IdxError(f"{img_path}: expected 28x28 images, got shape {images.shape}")
    if images.shape[0] != labels.shape[0]:
        raise IdxError(
            f"{directory}: {images.shape[0]} images but {labels.shape[0]} labels for the "
            f"{split} split"
        )
    if labels.size and labels.max() >= len(CLASSES):
        raise IdxError(f"{lbl_path}: label {labels.max()} out of range 0..9")
    return images, labels


def read_embedded(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The shipped subset's uint8 images (N, 28, 28) and labels for `split`."""
    with np.load(EMBEDDED_FILE, allow_pickle=False) as z:
        return z[f"{split}_images"], z[f"{split}_labels"]


def _locate(path, split: str) -> tuple[Path | None, str]:
    if path is not None:
        path = Path(path)
        if not _has_split(path, split):
            raise FileNotFoundError(
                f"fashion_mnist(path={os.fspath(path)!r}): the {split} files "
                f"{' and '.join(s + '.gz' for s in _FILES[split])} are not there"
            )
        return path, "path argument"
    for directory, why in candidate_dirs():
        if _has_split(directory, split):
            return directory, why
    return None, "no Fashion-MNIST files found on disk; using the subset shipped in the package"


def _load_one(path, split: str, verbose: bool) -> ImageSplit:
    directory, why = _locate(path, split)
    if directory is None:
        images, labels = read_embedded(split)
        source = EMBEDDED
        msg = f"fashion_mnist: {split} split, {len(labels)} images from the embedded subset ({why})"
    else:
        images, labels = read_split(directory, split)
        source = os.fspath(directory)
        msg = f"fashion_mnist: {split} split, {len(labels)} images from {source} ({why})"
    log.info(msg)
    if verbose:
        print(msg)
    x = (images.astype(np.float32) / np.float32(255.0)).reshape(-1, 1, 28, 28)
    return ImageSplit(to_tensor(x), to_tensor(labels), CLASSES, source, split)


def fashion_mnist(path=None, split: str = "train", verbose: bool = False):
    """Load Fashion-MNIST (see the module doc for where it looks; it never downloads).

    `split`: "train", "test", or "both" (returns `(train, test)`). Each split is an
    `ImageSplit` with `.images` (float32, (N, 1, 28, 28), in [0, 1]), `.labels` (int64),
    `.classes` and `.source`; it unpacks as `images, labels`.
    """
    if split == "both":
        return _load_one(path, "train", verbose), _load_one(path, "test", verbose)
    if split not in _FILES:
        raise ValueError(f"split must be 'train', 'test' or 'both', got {split!r}")
    return _load_one(path, split, verbose)
