"""How much of DisCo's FD on digits is the draw of the codes: one trained prior, several draws, one decoder.

    python benchmarks/images/prior_draws.py runs/digits_s1 --draws 4

For a finished run folder (``disco.pt``, ``prior.pt``, ``classifier.pt``) this decodes, from the same
starting noise and at the prior's chosen temperature: ``--draws`` i.i.d. ancestral draws of the prior
(what the experiment did before), the stratified inverse-CDF draw from the prior's table (what it does
now), and i.i.d. resamples of the encoder's codes of the training images (a perfectly calibrated prior
that only repeats training codes). Prints FD against the test split, the share of samples the classifier
is unsure of and the KL of their class histogram from the training classes' (which measures over- and
under-drawn digits). Nothing is chosen from these numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch

from disco_core.images.checkpoints import load_classifier, load_disco, load_prior
from disco_core.images.config import load_data
from disco_core.images.metrics import class_statistics, extract_features, frechet_distance
from disco_core.images.sampling import sample_images, sampling_inputs, sigmas_for
from disco_core.latents.quantize import codes_to_onehot
from disco_core.prior.joint import draw_by_inverse_cdf, joint_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="finished run folder")
    parser.add_argument("--draws", type=int, default=4, help="i.i.d. draws of each kind")
    parser.add_argument("--seed", type=int, default=None, help="noise seed (default: the run's)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    disco, cfg, extra = load_disco(args.run)
    prior, prior_extra = load_prior(args.run)
    clf, _ = load_classifier(args.run)
    train, test = load_data(cfg)
    seed = args.seed if args.seed is not None else int(disco_seed(args.run))
    temperature = float(prior_extra.get("temperature", 1.0))
    x_T, _, u = sampling_inputs(dataclasses.replace(cfg, quasi_random=True), tuple(extra["shape"]), 0, n=cfg.n_samples, seed=seed)
    sigmas = sigmas_for(cfg)
    test_features = extract_features(clf, test.images)
    class_freq = torch.bincount(train.labels, minlength=train.num_classes)
    codes_train = disco.encode_codes(train.images)

    def decode(codes: torch.Tensor, label: str) -> None:
        images, _, _ = sample_images(disco.denoiser, x_T, sigmas, latents=codes_to_onehot(codes, cfg.k))
        stats = class_statistics(clf, images, class_freq)
        fd = frechet_distance(extract_features(clf, images), test_features)
        print(f"| {label} | {fd:.2f} | {stats['ambiguous']:.1%} | {stats['class_kl']:.4f} |", flush=True)

    print(f"run {args.run}, seed {seed}, prior temperature {temperature:g}, {cfg.n_samples} samples, NFE {2 * cfg.num_steps - 1}\n")
    print("| codes | FD | unsure | class KL |\n|---|---|---|---|")
    seqs, probs = joint_table(prior, temperature=temperature)
    decode(draw_by_inverse_cdf(seqs, probs, u), "prior, inverse-CDF draw at Sobol points")
    for i in range(args.draws):
        g = torch.Generator().manual_seed(1000 + i)
        decode(prior.sample(None, batch_size=cfg.n_samples, temperature=temperature, generator=g), f"prior, i.i.d. draw {i}")
    for i in range(args.draws):
        g = torch.Generator().manual_seed(2000 + i)
        pick = torch.randint(0, codes_train.shape[0], (cfg.n_samples,), generator=g)
        decode(codes_train[pick], f"training images' codes, i.i.d. resample {i}")
    return 0


def disco_seed(run: str) -> int:
    """The seed the run folder was sampled with (0 when it has no images.json yet)."""
    path = Path(run) / "images.json"
    return json.loads(path.read_text()).get("seed", 0) if path.is_file() else 0


if __name__ == "__main__":
    raise SystemExit(main())
