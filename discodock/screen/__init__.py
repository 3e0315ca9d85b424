"""Virtual screening: one receptor against a ligand library, sharded, resumable, on one or many machines.

``library`` streams ligands from .smi/.csv/.sdf(.gz) files; ``shards`` picks every N-th one (Slurm arrays);
``journal`` records finished ligands (append-only JSONL) and the run's settings (manifest); ``table`` compacts
the journal into Parquet parts and merges shards; ``engine`` docks one ligand with a receptor prepared once;
``runner`` drives local worker processes and ``dask_runner`` a Dask cluster. ``site`` turns a reference
ligand into a docking box (``--autobox-ligand``).
"""
