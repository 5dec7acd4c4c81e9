"""Training: the Lightning module, the data module, the Hydra entry points and the exporter."""
