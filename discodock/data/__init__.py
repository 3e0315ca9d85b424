"""discodock.data: from structure files to complex graphs.

- ``keys``        field names and shapes of a complex graph (the contract with the models)
- ``parsing``     ``load_protein`` / ``load_embeddings`` / ``load_ligand`` with typed one-line errors
- ``featurize``   atom, bond and residue features, rotatable bonds and their moving sides
- ``graph``       radius / kNN graphs in plain torch, ``build_complex``, ``collate_complexes``
- ``receptor_atoms`` receptor heavy atoms near the site as graph nodes (the all-atom pocket)
- ``conformers``  RDKit ETKDG conformers and conformer matching
- ``pdbbind``     the PDBBind layout, split files, ``prepare_complexes`` (the on-disk cache)
- ``cache``       the record format of that cache and ``ComplexDataset``

Nothing is imported here, so ``import discodock.data.keys`` stays cheap.
"""
