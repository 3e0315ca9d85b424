"""discodock.diffusion: DiffDock's product-space diffusion over ligand poses.

- ``noise``: ``PoseNoiseSchedule``, one time t driving sigma_tr, sigma_rot, sigma_tor.
- ``pose``: ``Pose``, a batch of ligand poses.
- ``components``: the ``Component`` abstraction and its ``Translation``,
  ``Rotation`` and ``Torsion`` implementations (``COMPONENTS``), ``apply_updates``, ``perturb_pose`` (training
  noise and score targets), ``sample_prior_pose``.
- ``loss``: ``score_matching_loss``, each term divided by its expected squared score norm.
- ``reverse``: ``reverse_diffusion``, the reverse SDE / probability-flow ODE loop over components.
"""
