"""discodock: protein-ligand docking by diffusion with discrete latent variables."""

__version__ = "0.1.0"
