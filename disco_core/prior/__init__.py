"""disco_core.prior: autoregressive priors over discrete latent tokens."""

from disco_core.prior.ar_transformer import ARPrior, PointerARPrior
from disco_core.prior.sampling import sample_categorical
from disco_core.prior.transformer import CausalTransformer

__all__ = ["ARPrior", "CausalTransformer", "PointerARPrior", "sample_categorical"]
