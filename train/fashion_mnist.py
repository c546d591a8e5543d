"""Minimal reader for the Fashion-MNIST IDX files (plain or gzipped).

Debian's `dataset-fashion-mnist` package installs them under
/usr/share/datasets/fashion-mnist. Override with --data-dir or FTC_FMNIST_DIR.

Normalization used by every ftc reference model:
    x = pixel / 255
    x = (x - MEAN) / STD        with MEAN = 0.2860, STD = 0.3530
"""
import argparse
import gzip
import os
import struct

import numpy as np

DEFAULT_DIR = os.environ.get("FTC_FMNIST_DIR", "/usr/share/datasets/fashion-mnist")
MEAN = 0.2860
STD = 0.3530
SCALE = 1.0 / 255.0

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _open(path):
    """Open `path` or `path.gz`, whichever exists."""
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            return gzip.open(p, "rb") if p.endswith(".gz") else open(p, "rb")
    raise FileNotFoundError(f"neither {path} nor {path}.gz exists "
                            "(install dataset-fashion-mnist or pass --data-dir)")


def read_idx(path):
    """Read an IDX file into a numpy array (only the uint8 type is used here)."""
    with _open(path) as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    count = int(np.prod(dims))
    payload = np.frombuffer(data, dtype=np.uint8, count=count, offset=4 + 4 * ndim)
    return payload.reshape(dims)


def load(split, data_dir=DEFAULT_DIR):
    """Return (images uint8 [N,28,28], labels uint8 [N]) for split 'train' or 'test'."""
    img_name, lbl_name = _FILES[split]
    images = read_idx(os.path.join(data_dir, img_name))
    labels = read_idx(os.path.join(data_dir, lbl_name))
    if images.shape[0] != labels.shape[0]:
        raise ValueError("image/label count mismatch")
    return images, labels


def normalize(images_u8):
    """uint8 [N,28,28] -> float32 [N,1,28,28], normalized as the models expect."""
    x = images_u8.astype(np.float32) * np.float32(SCALE)
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return x[:, None, :, :]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="print Fashion-MNIST statistics")
    ap.add_argument("--data-dir", default=DEFAULT_DIR)
    args = ap.parse_args()
    for split in ("train", "test"):
        x, y = load(split, args.data_dir)
        xf = x.astype(np.float64) / 255.0
        print(f"{split}: {x.shape} labels {y.shape} mean {xf.mean():.4f} std {xf.std():.4f} "
              f"classes {np.bincount(y, minlength=10).tolist()}")
