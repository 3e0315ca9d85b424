"""discodock.scoring: AutoDock Vina as a scoring function and local optimiser (inference) and as a docking baseline."""
