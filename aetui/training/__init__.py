"""Training: the trainer and its session of knobs, snapshots, history store,
checkpoints, lab strings and the contract the lab relies on. Never Textual."""
