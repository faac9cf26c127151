"""Experiments and measurements on trained models: analyses (PCA, probes, edge
measures), the noise comparison, unit inspection, the draw canvas, the export
bundle and the training benchmark. Never Textual."""
