"""The Frechet distance and the feature classifier behind it."""

import numpy as np
import pytest
import torch

from disco_core.images.datasets import load_digits, split
from disco_core.images.metrics import (
    FeatureClassifier,
    class_accuracy,
    class_statistics,
    extract_features,
    frechet_distance,
    train_classifier,
)

torch.set_num_threads(1)


def test_a_set_against_itself_is_zero_and_noise_makes_it_grow():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 16)) @ rng.normal(size=(16, 16))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    values = [frechet_distance(a, a + s * rng.normal(size=a.shape)) for s in (0.3, 1.0, 3.0)]
    assert 0 < values[0] < values[1] < values[2]


def test_matches_the_closed_form_for_gaussians():
    # N(0, I) vs N(mu, 4 I) in d dims: |mu|^2 + d (1 + 4 - 2 * 2) = |mu|^2 + d.
    rng = np.random.default_rng(1)
    d, n = 4, 200_000
    mu = np.array([1.0, -2.0, 0.5, 0.0])
    a = rng.normal(size=(n, d))
    b = mu + 2.0 * rng.normal(size=(n, d))
    assert frechet_distance(a, b) == pytest.approx(mu @ mu + d, rel=0.02)
    # One dimension works too (covariances are 1 x 1).
    assert frechet_distance(a[:, :1], b[:, :1]) == pytest.approx(mu[0] ** 2 + 1.0, rel=0.03)


def test_is_symmetric_and_checks_shapes():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(300, 5)), rng.normal(size=(200, 5)) * 1.5 + 0.2
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)
    with pytest.raises(ValueError):
        frechet_distance(a, b[:, :4])
    with pytest.raises(ValueError):
        frechet_distance(a[:1], b)


def test_classifier_features_separate_real_digits_from_noisy_ones():
    torch.manual_seed(0)
    train, test = split(load_digits(), test_fraction=0.2, seed=0)
    clf = FeatureClassifier(num_classes=10, channels=(8, 16), feature_dim=16)
    train_classifier(clf, train.images, train.labels, steps=80, batch_size=64, generator=torch.Generator().manual_seed(0))
    assert class_accuracy(clf, test.images, test.labels) > 0.85
    ref = extract_features(clf, test.images)
    same = frechet_distance(extract_features(clf, train.images[:359]), ref)
    g = torch.Generator().manual_seed(1)
    noisy = [
        frechet_distance(extract_features(clf, (train.images[:359] + s * torch.randn(359, 1, 8, 8, generator=g)).clamp(-1, 1)), ref)
        for s in (0.3, 1.0)
    ]
    assert same < noisy[0] < noisy[1]
    # Without reference images: real test digits come in the training proportions and look unambiguous;
    # one class only, or noise, shows up in the statistics.
    freq = torch.bincount(train.labels, minlength=10)
    real = class_statistics(clf, test.images, freq, confident=0.5)  # a briefly trained classifier is unsure
    assert real["class_kl"] < 0.05 and real["ambiguous"] < 0.5
    ones = class_statistics(clf, test.images[test.labels == 1], freq)
    assert ones["class_kl"] > 0.7  # ln 10 for a single class seen perfectly
    noisy_images = (test.images + torch.randn(test.images.shape, generator=g)).clamp(-1, 1)
    noise = class_statistics(clf, noisy_images, freq, confident=0.5)
    assert noise["ambiguous"] > real["ambiguous"]
