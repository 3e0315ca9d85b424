"""Image data: digits, the fixed split, and the .npy / folder loaders with their errors."""

import numpy as np
import pytest
import torch

from disco_core.images.datasets import load_digits, load_folder, load_images, load_npy, split

torch.set_num_threads(1)


def test_digits_are_scaled_and_labelled():
    data = load_digits()
    assert data.images.shape == (1797, 1, 8, 8) and data.num_classes == 10
    assert float(data.images.min()) == -1.0 and float(data.images.max()) == 1.0
    assert torch.equal(torch.bincount(data.labels), torch.bincount(data.labels, minlength=10))
    big = load_digits(size=16)
    assert big.images.shape == (1797, 1, 16, 16)
    assert big.images.min() >= -1 and big.images.max() <= 1
    # Upsampling keeps the picture: its 2x2 block means follow the original pixels closely.
    pooled = torch.nn.functional.avg_pool2d(big.images, 2).flatten()
    assert float(torch.corrcoef(torch.stack([pooled, data.images.flatten()]))[0, 1]) > 0.95


def test_split_is_fixed_disjoint_and_stratified():
    data = load_digits()
    train, test = split(data, test_fraction=0.2, seed=0)
    train2, test2 = split(data, test_fraction=0.2, seed=0)
    assert torch.equal(test.images, test2.images) and torch.equal(train.labels, train2.labels)
    assert len(train) + len(test) == len(data)
    _, test_other = split(data, test_fraction=0.2, seed=1)
    assert not torch.equal(test.images, test_other.images)
    # Disjoint: no test image appears in the training part (digits has a few exact duplicates, so
    # compare index sets through a unique key: image bytes + label counts would not do).
    key = lambda s: {tuple(x.flatten().tolist()) + (int(y),) for x, y in zip(s.images, s.labels)}
    overlap = key(train) & key(test)
    assert len(overlap) <= 5
    counts = torch.bincount(test.labels, minlength=10).float()
    assert float(counts.min()) >= 0.18 * float(torch.bincount(data.labels).min())


def test_npy_layouts_and_labels(tmp_path):
    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, size=(5, 6, 6, 3), dtype=np.uint8)
    np.save(tmp_path / "rgb.npy", hwc)
    np.save(tmp_path / "y.npy", np.array([0, 1, 2, 1, 0]))
    data = load_npy(tmp_path / "rgb.npy", labels=tmp_path / "y.npy")
    assert data.images.shape == (5, 3, 6, 6) and data.num_classes == 3
    assert torch.allclose(data.images[2, 1], torch.from_numpy(hwc[2, :, :, 1] / 255.0 * 2 - 1).float(), atol=1e-6)
    grey = rng.random(size=(4, 8, 8)).astype(np.float32)
    np.savez(tmp_path / "both.npz", images=grey, labels=np.array([1, 0, 1, 0]))
    both = load_images(str(tmp_path / "both.npz"), size=16)
    assert both.images.shape == (4, 1, 16, 16) and both.labels.tolist() == [1, 0, 1, 0]


def test_folder_of_class_subfolders(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(1)
    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, size=(10, 10), dtype=np.uint8), mode="L").save(tmp_path / cls / f"{i}.png")
    data = load_folder(tmp_path)
    assert data.images.shape == (6, 1, 10, 10) and data.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert load_folder(tmp_path, size=8).images.shape == (6, 1, 8, 8)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: p / "missing.npy", "not found"),
        (lambda p: (np.save(p / "bad.npy", np.zeros((3, 4))), p / "bad.npy")[1], "expected an image array"),
        (lambda p: (np.save(p / "range.npy", np.full((2, 4, 4), 5.0)), p / "range.npy")[1], "must lie in"),
        (lambda p: ((p / "junk.npy").write_text("not numpy"), p / "junk.npy")[1], "not a readable"),
        (lambda p: p, "no image files"),
    ],
)
def test_bad_input_names_the_file(tmp_path, make, match):
    path = make(tmp_path)
    with pytest.raises(ValueError, match=match) as info:
        load_images(str(path))
    assert str(path) in str(info.value) and "\n" not in str(info.value)
