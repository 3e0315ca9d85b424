"""Image data that exists offline: scikit-learn's bundled digits, a ``.npy`` array, or a folder of images.

Every loader returns an ``ImageSet``: images as a float tensor ``[N, C, H, W]`` scaled to [-1, 1] and
optional integer class labels ``[N]``. ``split`` makes a fixed, seeded train / test split (stratified by
class when there are labels), so every run and every model sees the same held-out images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")


@dataclass(frozen=True)
class ImageSet:
    """Images ``[N, C, H, W]`` in [-1, 1] and, when known, labels ``[N]`` (long) with ``num_classes``."""

    images: torch.Tensor
    labels: torch.Tensor | None = None
    num_classes: int = 0

    def __post_init__(self) -> None:
        if self.images.ndim != 4:
            raise ValueError(f"images must be [N, C, H, W], got shape {tuple(self.images.shape)}")
        if self.labels is not None and self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"labels must be [N={self.images.shape[0]}], got shape {tuple(self.labels.shape)}")

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def subset(self, index: torch.Tensor | np.ndarray) -> ImageSet:
        index = torch.as_tensor(index, dtype=torch.long)
        labels = None if self.labels is None else self.labels[index]
        return ImageSet(images=self.images[index], labels=labels, num_classes=self.num_classes)

    def to(self, device: torch.device | str) -> ImageSet:
        """The same set with its tensors on ``device``."""
        labels = None if self.labels is None else self.labels.to(device)
        return ImageSet(images=self.images.to(device), labels=labels, num_classes=self.num_classes)

    def onehot(self, index: torch.Tensor | None = None) -> torch.Tensor | None:
        """Labels as one-hot ``[N, num_classes]`` floats (the models' ``cond``), or None without labels."""
        if self.labels is None or not self.num_classes:
            return None
        labels = self.labels if index is None else self.labels[index]
        return F.one_hot(labels, self.num_classes).to(self.images.dtype)


def resize(images: torch.Tensor, size: int | None) -> torch.Tensor:
    """Bilinear resize of ``[N, C, H, W]`` to ``size x size`` (``None`` or the current size: unchanged)."""
    if size is None or tuple(images.shape[-2:]) == (size, size):
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True).clamp(-1, 1)


def load_digits(*, size: int | None = None) -> ImageSet:
    """scikit-learn's 1,797 handwritten digits (8 x 8, 17 grey levels 0..16) scaled to [-1, 1], labels 0..9.

    ``size`` (e.g. 16) resizes bilinearly; ``None`` keeps the native 8 x 8. The data ship inside
    scikit-learn, so no network is needed.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32)[:, None] / 8.0 - 1.0
    labels = torch.as_tensor(bunch.target, dtype=torch.long)
    return ImageSet(images=resize(images, size), labels=labels, num_classes=10)


def _to_nchw(array: np.ndarray, source: str | Path) -> torch.Tensor:
    """An ``[N, H, W]``, ``[N, H, W, C]`` or ``[N, C, H, W]`` array (C in 1, 3, 4) as float ``[N, C, H, W]`` in [-1, 1].

    Integer arrays are read as 0..255; float arrays must lie in [0, 1] or [-1, 1] (the former is rescaled).
    Store other ranges (such as digits' 0..16) as floats in one of those.
    """
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4:
        if array.shape[-1] in (1, 3, 4) and array.shape[1] not in (1, 3, 4):
            array = np.transpose(array, (0, 3, 1, 2))
    else:
        raise ValueError(f"{source}: expected an image array [N, H, W], [N, H, W, C] or [N, C, H, W], got shape {array.shape}")
    if array.shape[1] == 4:
        array = array[:, :3]  # drop alpha
    if array.shape[0] == 0:
        raise ValueError(f"{source}: no images")
    if np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_:
        x = array.astype(np.float32) / 255.0 * 2.0 - 1.0
    elif np.issubdtype(array.dtype, np.floating):
        x = array.astype(np.float32)
        if not np.isfinite(x).all():
            raise ValueError(f"{source}: the image array has NaN or infinite values")
        lo, hi = float(x.min()), float(x.max())
        if lo >= 0.0 and hi <= 1.0:
            x = x * 2.0 - 1.0
        elif lo < -1.0 - 1e-6 or hi > 1.0 + 1e-6:
            raise ValueError(f"{source}: float images must lie in [0, 1] or [-1, 1], found [{lo:.3g}, {hi:.3g}]")
    else:
        raise ValueError(f"{source}: unsupported array dtype {array.dtype}")
    return torch.from_numpy(np.ascontiguousarray(x))


def _labels_from_array(labels: np.ndarray, n: int, source: str | Path) -> tuple[torch.Tensor, int]:
    labels = np.asarray(labels).reshape(-1)
    if labels.shape[0] != n or not np.issubdtype(labels.dtype, np.integer) or (labels < 0).any():
        raise ValueError(f"{source}: labels must be {n} non-negative integers, got shape {labels.shape}, dtype {labels.dtype}")
    return torch.as_tensor(labels, dtype=torch.long), int(labels.max()) + 1


def load_npy(path: str | Path, *, labels: str | Path | None = None, size: int | None = None) -> ImageSet:
    """Images from a ``.npy`` array (see ``_to_nchw`` for accepted layouts), optional labels from another.

    A ``.npz`` file may hold both, under the names ``images`` (or ``x``) and ``labels`` (or ``y``).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: image array file not found")
    label_array = None
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises several kinds for a bad file
        raise ValueError(f"{path}: not a readable .npy/.npz array ({type(exc).__name__})") from exc
    if isinstance(loaded, np.lib.npyio.NpzFile):
        names = set(loaded.files)
        key = next((k for k in ("images", "x") if k in names), None)
        if key is None:
            raise ValueError(f"{path}: .npz file has no 'images' or 'x' array (found {sorted(names)})")
        array = loaded[key]
        label_key = next((k for k in ("labels", "y") if k in names), None)
        label_array = loaded[label_key] if label_key else None
    else:
        array = loaded
    images = _to_nchw(array, path)
    if labels is not None:
        labels = Path(labels)
        if not labels.is_file():
            raise ValueError(f"{labels}: label array file not found")
        label_array = np.load(labels, allow_pickle=False)
    if label_array is None:
        return ImageSet(images=resize(images, size))
    y, num_classes = _labels_from_array(label_array, images.shape[0], labels or path)
    return ImageSet(images=resize(images, size), labels=y, num_classes=num_classes)


def load_folder(path: str | Path, *, size: int | None = None, grayscale: bool | None = None) -> ImageSet:
    """Images from a folder; sub-folders, if any, are classes (sorted by name: class 0, 1, ...).

    All images are resized to ``size`` (default: the first image's size; they must then all match).
    ``grayscale`` forces one channel (True) or three (False); by default grey when every image is grey.
    """
    from PIL import Image

    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"{root}: image folder not found")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir())
    groups = [(i, d) for i, d in enumerate(class_dirs)] if class_dirs else [(None, root)]
    files: list[tuple[Path, int | None]] = []
    for label, folder in groups:
        files += [(f, label) for f in sorted(folder.iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise ValueError(f"{root}: no image files ({', '.join(IMAGE_SUFFIXES)}) found")
    pictures = []
    for f, _ in files:
        try:
            with Image.open(f) as img:
                pictures.append(img.convert("RGB") if img.mode not in ("L", "RGB") else img.copy())
        except Exception as exc:  # PIL raises several kinds for unreadable files
            raise ValueError(f"{f}: not a readable image ({type(exc).__name__})") from exc
    if grayscale is None:
        grayscale = all(p.mode == "L" for p in pictures)
    mode = "L" if grayscale else "RGB"
    target = (size, size) if size else pictures[0].size
    arrays = []
    for (f, _), pic in zip(files, pictures):
        if size is None and pic.size != target:
            raise ValueError(f"{f}: size {pic.size} differs from {target}; pass a size to resize all images")
        pic = pic.convert(mode)
        if pic.size != target:
            pic = pic.resize(target, Image.BILINEAR)
        arrays.append(np.asarray(pic, dtype=np.uint8))
    images = _to_nchw(np.stack(arrays), root)
    if class_dirs:
        labels = torch.tensor([label for _, label in files], dtype=torch.long)
        return ImageSet(images=images, labels=labels, num_classes=len(class_dirs))
    return ImageSet(images=images)


def load_images(source: str, *, size: int | None = None, labels: str | None = None) -> ImageSet:
    """``"digits"`` (scikit-learn's), a ``.npy``/``.npz`` file, or a folder of images."""
    if source == "digits":
        return load_digits(size=size)
    path = Path(source)
    if path.suffix.lower() in (".npy", ".npz"):
        return load_npy(path, labels=labels, size=size)
    if path.is_dir():
        return load_folder(path, size=size)
    raise ValueError(f"{source}: not 'digits', a .npy/.npz file or a folder of images")


def split(data: ImageSet, *, test_fraction: float, seed: int) -> tuple[ImageSet, ImageSet]:
    """A fixed train / test split: the same ``seed`` always gives the same images in each part.

    With labels, each class is split in the same proportion (stratified), so both parts have all classes.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    n = len(data)
    groups = [np.arange(n)] if data.labels is None else [
        np.flatnonzero(data.labels.numpy() == c) for c in range(data.num_classes)
    ]
    test: list[np.ndarray] = []
    for members in groups:
        if members.size == 0:
            continue
        members = rng.permutation(members)
        test.append(members[: int(round(test_fraction * members.size))])
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(n), test_idx)
    if test_idx.size == 0 or train_idx.size == 0:
        raise ValueError(f"test_fraction {test_fraction} leaves an empty part of {n} images")
    return data.subset(train_idx), data.subset(test_idx)
