"""Training, evaluation, recording and annotation for the hand model (needs the `train` extra)."""
