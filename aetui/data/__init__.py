"""Digits from anywhere: MNIST-format folders, a verified MNIST download, built-in digits.

    from aetui.data import load_dataset
    train_x, train_y, test_x, test_y = load_dataset("mnist")

Images are N × 784 uint8 (0 = background), labels uint8; both stay uint8 in
memory (scale a batch at a time with `as_float`). Natural-image patches
(`load_dataset("patches")`, aetui/data/patches.py) are float32 rows without
labels. No Textual here.
"""

from aetui.data.load import Dataset, as_float, image_layout, load_dataset, load_dataset_for

__all__ = ["Dataset", "as_float", "image_layout", "load_dataset", "load_dataset_for"]
