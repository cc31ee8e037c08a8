"""Records of how a default was chosen, on the validation splits: rerun when the model or the default's
neighbours change, to see whether the choice still holds."""
