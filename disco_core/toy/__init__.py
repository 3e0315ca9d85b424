"""disco_core.toy: the DisCo-Diff paper's 2-D experiment (8 Gaussians on a circle).

Run it with ``python -m disco_core.toy --out DIR [--seed S] [--config configs/toy.yaml]``, or call
``disco_core.toy.runner.run_toy(out_dir, seed=...)``, which returns the numbers it writes to
``DIR/toy.json``.
"""
