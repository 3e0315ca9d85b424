"""disco_core.images: DisCo-Diff on images, sized for the CPU (default data: scikit-learn's digits).

Modules: ``unet`` (EDM U-Net denoiser conditioned on noise, class and latents through adaptive group
norm), ``encoder`` (image -> m x k latent logits), ``datasets`` (digits, ``.npy``/``.npz`` arrays, image
folders, a fixed seeded split), ``metrics`` (Frechet distance in a small digits classifier's features;
not ImageNet FID), ``config`` (``ImagesConfig``, YAML, the data split), ``models`` (networks built from
a config), ``training`` (both denoisers, the prior, the classifier), ``sampling`` (Heun, shared noise,
curvature), ``checkpoints`` and ``figures`` (run-folder files), ``runner`` (the train / sample / eval
steps) and the CLI
``python -m disco_core.images {run,train,sample,eval}``.
"""
