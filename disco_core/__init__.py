"""disco_core: domain-free diffusion with discrete latent variables (DisCo-Diff).

Subpackages: ``diffusion`` (schedules, preconditioning, loss, samplers, curvature), ``latents``
(straight-through Gumbel quantizers, latent dropout), ``prior`` (autoregressive transformer over latent
tokens), ``training`` (seeding, EMA, checkpoints, logging), ``toy`` (the paper's 2-D experiment) and
``images``. Nothing here imports discodock, RDKit or torch_geometric.
"""

__version__ = "0.1.0"
