"""The image experiment's run-folder steps: train, sample, evaluate, and ``run_images`` doing all three.

Two denoisers share one U-Net architecture and one training budget: the baseline, and the DisCo variant
whose U-Net also reads m global latents of k codes produced by an ``ImageEncoder`` of the clean image
(straight-through Gumbel-softmax, trained end to end with the plain EDM denoising loss, latent dropout
p). An autoregressive transformer prior over the codes is fitted afterwards on codes of the frozen
encoder. Both models are sampled with Heun's method on the probability-flow ODE from the *same* starting
noise (and, for class-conditional models, the same labels); the DisCo model draws its latents from the
prior, at the temperature chosen on held-out training codes, by inverse CDF of the prior's table at
quasi-random points when ``quasi_random`` (so 1,000 codes come in the prior's own proportions). Sample quality is a Frechet distance in the features of a small classifier trained on the training
split (``disco_core.images.metrics``; not ImageNet FID) against the held-out test split; the straightness
of the ODE paths is the paper's mean curvature.

Run folder layout (``out``): ``baseline.pt``, ``disco.pt``, ``prior.pt``, ``classifier.pt`` (checkpoints
with the resolved config, EMA weights), ``config.yaml``, ``samples_<model>.npy`` / ``.png`` / ``.json``
and ``images.json``.
"""


from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from disco_core.diffusion.guidance import GuidedDenoiser
from disco_core.images.checkpoints import (
    load_baseline,
    load_classifier,
    load_disco,
    load_prior,
    save_model,
    shape_extra,
)
from disco_core.images.config import ImagesConfig, load_data, resolve
from disco_core.images.figures import grid_order, save_grid
from disco_core.images.metrics import (
    class_accuracy,
    class_statistics,
    extract_features,
    frechet_distance,
)
from disco_core.images.models import num_classes_of
from disco_core.images.sampling import sample_images, sampling_inputs, sigmas_for
from disco_core.images.training import (
    MAX_TABLE,
    generator_on,
    log,
    train_baseline,
    train_disco,
    train_feature_classifier,
    train_prior,
)
from disco_core.latents.quantize import codebook_perplexity, codes_to_onehot
from disco_core.prior.joint import draw_by_inverse_cdf, joint_table
from disco_core.training import load_checkpoint, seed_everything

MODELS = ("baseline", "disco")
RESULT_KEYS = (
    "fd_baseline",
    "fd_disco",
    "fd_disco_oracle",
    "nfe",
    "curvature_baseline",
    "curvature_disco",
    "curvature_disco_oracle",
    "codebook_perplexity",
    "prior_cross_entropy",
    "prior_val_cross_entropy",
    "prior_temperature",
    "prior_val_nll_by_temperature",
    "prior_marginal_tv_fit",
    "prior_marginal_tv_val",
    "prior_marginal_tv_fit_val",
    "codes_drawn_by",
    "class_accuracy_baseline",
    "class_accuracy_disco",
    "ambiguous_baseline",
    "ambiguous_disco",
    "ambiguous_disco_oracle",
    "class_kl_baseline",
    "class_kl_disco",
    "class_kl_disco_oracle",
    "classifier_test_accuracy",
    "n_samples",
    "n_test",
    "metric",
    "seed",
    "seconds",
    "cpu_seconds",
)
METRIC_NOTE = (
    "Frechet distance in the hidden-layer features of a small CNN trained on the training split "
    "(not ImageNet FID), test split vs samples"
)


def train_step(
    cfg: ImagesConfig,
    out: str | Path,
    *,
    seed: int = 0,
    what: tuple[str, ...] = ("classifier", "baseline", "disco", "prior"),
    device: torch.device | str = "cpu",
    verbose: bool = True,
) -> dict[str, float]:
    """Train the named parts on ``device`` and write their checkpoints into ``out``; returns training figures.

    The prior needs ``disco.pt`` (trained now or earlier in the same folder).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    unknown = sorted(set(what) - {"classifier", "baseline", "disco", "prior"})
    if unknown:
        raise ValueError(f"unknown part(s) to train: {', '.join(unknown)}")
    train, test = load_data(cfg)
    cfg = resolve(cfg, train)
    train, test = train.to(device), test.to(device)
    seed_everything(seed)
    num_classes = num_classes_of(cfg, train)
    extra = shape_extra(train, num_classes)
    figures: dict[str, float] = {}
    log(
        f"images: {cfg.data}, {len(train)} train / {len(test)} test images of shape {train.shape}, "
        f"sigma_data {cfg.sigma_data}, seed {seed}", verbose,
    )
    if "classifier" in what:
        clf, acc = train_feature_classifier(cfg, train, test, verbose=verbose)
        save_model(out / "classifier.pt", clf, cfg, step=cfg.classifier_steps, extra={**extra, "test_accuracy": acc})
        figures["classifier_test_accuracy"] = acc
    if "baseline" in what:
        torch.manual_seed(seed)
        model = train_baseline(cfg, train, generator=generator_on(seed + 1_000_003, device), verbose=verbose)
        save_model(out / "baseline.pt", model, cfg, step=cfg.train_steps, extra=extra)
    if "disco" in what:
        torch.manual_seed(seed)  # same initial U-Net weights as the baseline where the layers coincide
        disco = train_disco(cfg, train, generator=generator_on(seed + 2_000_003, device), verbose=verbose)
        save_model(out / "disco.pt", disco, cfg, step=cfg.train_steps, extra=extra)
    if "prior" in what:
        disco = load_disco(out)[0].to(device)
        cond = train.onehot() if cfg.conditional else None
        codes = disco.encode_codes(train.images, cond)
        perplexity = codebook_perplexity(codes, cfg.k)
        log(f"  codebook perplexity {perplexity:.2f} of {cfg.k} codes (mean over {cfg.m} latents)", verbose)
        torch.manual_seed(seed + 3_000_003)  # the prior's initial weights: the same in a full run and alone
        prior, fig = train_prior(cfg, codes, cond, generator=generator_on(seed + 3_000_003, device), verbose=verbose)
        save_model(out / "prior.pt", prior, cfg, step=fig["best_step"], extra={**extra, "codebook_perplexity": perplexity, **fig})
        figures.update(codebook_perplexity=perplexity, prior_cross_entropy=fig["cross_entropy"],
                       prior_val_cross_entropy=fig["val_cross_entropy"], prior_temperature=fig["temperature"])
    return figures



def sample_step(
    out: str | Path,
    *,
    models: tuple[str, ...] = MODELS,
    seed: int = 0,
    n: int | None = None,
    num_steps: int | None = None,
    prior_temperature: float | None = None,
    guidance: float | None = None,
    device: torch.device | str = "cpu",
    verbose: bool = True,
) -> dict[str, dict[str, Any]]:
    """Sample the named models of the run folder ``out`` on ``device``; writes ``samples_<model>.npy/.png/.json``.

    ``n``, ``num_steps``, ``prior_temperature`` and ``guidance`` override the config's values. Every model starts from
    the same noise (drawn from ``seed``); DisCo draws its latents from the prior with ``seed`` too.
    """
    out = Path(out)
    unknown = sorted(set(models) - set(MODELS) - {"disco_oracle"})
    if unknown:
        raise ValueError(f"unknown model(s) to sample: {', '.join(unknown)}")
    info: dict[str, dict[str, Any]] = {}
    for name in models:
        if name == "baseline":
            model, cfg, extra = load_baseline(out)
            model.to(device)
        else:
            disco, cfg, extra = load_disco(out)
            disco.to(device)
        changes = {"num_steps": num_steps, "prior_temperature": prior_temperature, "guidance": guidance}
        cfg = dataclasses.replace(cfg, **{key: value for key, value in changes.items() if value is not None})
        shape, num_classes = tuple(extra["shape"]), extra["num_classes"]
        count = n or cfg.n_samples
        sigmas = sigmas_for(cfg)
        x_T, labels, u = sampling_inputs(cfg, shape, num_classes, n=count, seed=seed)
        x_T = x_T.to(device)
        cond = None if labels is None else nn.functional.one_hot(labels, num_classes).float().to(device)
        meta: dict[str, Any] = {}
        t0 = time.perf_counter()
        if name == "baseline":
            images, curv, nfe = sample_images(model, x_T, sigmas.to(device), cond=cond)
        else:
            if name == "disco":
                prior, prior_extra = load_prior(out)
                prior.to(device)
                temperature = cfg.prior_temperature if cfg.prior_temperature is not None else prior_extra.get("temperature", 1.0)
                if u is not None and cond is None and prior.k**prior.m <= MAX_TABLE:
                    seqs, probs = joint_table(prior, temperature=temperature, max_sequences=MAX_TABLE)
                    codes = draw_by_inverse_cdf(seqs, probs, u.to(device))
                    meta["codes_drawn_by"] = "inverse CDF of the tabulated prior at Sobol points"
                else:
                    codes = prior.sample(cond, batch_size=count, temperature=temperature,
                                         generator=torch.Generator().manual_seed(seed + 7))
                    meta["codes_drawn_by"] = "ancestral sampling"
                meta["prior_temperature"] = float(temperature)
            else:  # oracle: the encoder's codes of the test images (an upper bound, not a generative model)
                test = load_data(cfg)[1].to(device)
                test_cond = test.onehot() if num_classes else None
                codes = disco.encode_codes(test.images, test_cond)
                reps = math.ceil(count / len(test))
                codes = codes.repeat(reps, 1)[:count]
                if num_classes:
                    labels = test.labels.repeat(reps)[:count].cpu()
                    cond = nn.functional.one_hot(labels, num_classes).float().to(device)
            latents = codes_to_onehot(codes, cfg.k)
            denoiser = GuidedDenoiser(denoiser=disco.denoiser, w=cfg.guidance) if cfg.guidance else disco.denoiser
            images, curv, nfe = sample_images(denoiser, x_T, sigmas.to(device), cond=cond, latents=latents)
            if cfg.guidance:
                nfe *= 2  # each guided evaluation runs the denoiser twice (with and without latents)
            meta["codebook_perplexity_samples"] = codebook_perplexity(codes.cpu(), cfg.k)
        if name != "baseline":
            meta.update(guidance=cfg.guidance)
        meta.update(nfe=nfe, curvature=curv, n=count, num_steps=cfg.num_steps, seed=seed,
                    seconds=time.perf_counter() - t0)
        np.save(out / f"samples_{name}.npy", images.numpy())
        if labels is not None:
            np.save(out / f"labels_{name}.npy", labels.numpy())
        save_grid(out / f"samples_{name}.png", grid_order(images, labels, cfg.grid), grid=cfg.grid)
        (out / f"samples_{name}.json").write_text(json.dumps(meta, indent=2) + "\n")
        log(f"  [sample {name}] {count} images, NFE {nfe}, curvature {curv:.4g}, {meta['seconds']:.0f} s", verbose)
        info[name] = meta
    return info



def _load_samples(out: Path, name: str) -> tuple[torch.Tensor, torch.Tensor | None, dict[str, Any]]:
    path = out / f"samples_{name}.npy"
    if not path.is_file():
        raise ValueError(f"{path}: no samples; run the 'sample' step first")
    images = torch.from_numpy(np.load(path, allow_pickle=False))
    label_path = out / f"labels_{name}.npy"
    labels = torch.from_numpy(np.load(label_path, allow_pickle=False)) if label_path.is_file() else None
    meta = json.loads((out / f"samples_{name}.json").read_text())
    return images, labels, meta


def eval_step(out: str | Path, *, timing: dict[str, float] | None = None, verbose: bool = True) -> dict[str, Any]:
    """Score the samples of the run folder ``out`` against the test split (on the CPU); writes
    ``out/images.json``. ``timing`` (``seconds``, ``cpu_seconds``) is recorded as given, or kept from an
    earlier ``images.json`` of the same folder."""
    out = Path(out)
    clf, clf_extra = load_classifier(out)
    _, cfg, _ = load_baseline(out)
    train, test = load_data(cfg)
    class_freq = torch.bincount(train.labels, minlength=train.num_classes)
    test_features = extract_features(clf, test.images)
    result: dict[str, Any] = {
        "metric": METRIC_NOTE,
        "n_test": len(test),
        "classifier_test_accuracy": clf_extra.get("test_accuracy"),
    }
    names = ["baseline", "disco"] + (["disco_oracle"] if (out / "samples_disco_oracle.npy").is_file() else [])
    nfes = set()
    for name in names:
        images, labels, meta = _load_samples(out, name)
        result[f"fd_{name}"] = frechet_distance(extract_features(clf, images), test_features)
        result[f"curvature_{name}"] = meta["curvature"]
        stats = class_statistics(clf, images, class_freq)
        result[f"ambiguous_{name}"] = stats["ambiguous"]
        result[f"class_kl_{name}"] = stats["class_kl"]
        if name in MODELS:
            nfes.add(meta["nfe"])
            result["n_samples"], result["seed"] = meta["n"], meta["seed"]
            if labels is not None:
                result[f"class_accuracy_{name}"] = class_accuracy(clf, images, labels)
        if name == "disco":
            result["prior_temperature"] = meta.get("prior_temperature")
            result["codes_drawn_by"] = meta.get("codes_drawn_by")
    if len(nfes) != 1:
        raise ValueError(f"{out}: baseline and DisCo samples were drawn at different NFE ({sorted(nfes)}); resample")
    result["nfe"] = nfes.pop()
    prior_path = out / "prior.pt"
    if prior_path.is_file():
        prior_extra = load_checkpoint(prior_path)["extra"]
        result["codebook_perplexity"] = prior_extra.get("codebook_perplexity")
        result["prior_cross_entropy"] = prior_extra.get("cross_entropy")
        result["prior_val_cross_entropy"] = prior_extra.get("val_cross_entropy")
        for key in ("marginal_tv_fit", "marginal_tv_val", "marginal_tv_fit_val"):
            result[f"prior_{key}"] = prior_extra.get(key)
        nll = prior_extra.get("val_nll_by_temperature")
        result["prior_val_nll_by_temperature"] = None if nll is None else {f"{k:g}": v for k, v in nll.items()}
    if timing is None and (out / "images.json").is_file():
        timing = {k: v for k, v in json.loads((out / "images.json").read_text()).items() if k in ("seconds", "cpu_seconds")}
    result.update(timing or {})
    result = {key: result[key] for key in RESULT_KEYS if key in result and result[key] is not None}
    (out / "images.json").write_text(json.dumps(result, indent=2) + "\n")
    log("  " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items() if k != "metric"), verbose)
    return result


def run_images(
    out: str | Path,
    *,
    config: ImagesConfig | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    verbose: bool = True,
) -> dict[str, Any]:
    """Train everything, sample both models at the same NFE, evaluate; writes ``out/images.json`` and the
    sample figures and returns the result dict (with the whole run's wall time in ``seconds`` and this
    process's CPU time in ``cpu_seconds``, which other work on a shared machine does not inflate)."""
    t0, c0 = time.perf_counter(), time.process_time()
    cfg = config or ImagesConfig()
    train_step(cfg, out, seed=seed, device=device, verbose=verbose)
    models = MODELS + (("disco_oracle",) if cfg.oracle else ())
    sample_step(out, models=models, seed=seed, device=device, verbose=verbose)
    # The times cover training and sampling; scoring takes a second or two more.
    timing = {"seconds": round(time.perf_counter() - t0, 1), "cpu_seconds": round(time.process_time() - c0, 1)}
    result = eval_step(out, timing=timing, verbose=False)
    log("  " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items() if k != "metric"), verbose)
    return result
