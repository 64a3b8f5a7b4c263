"""T7: inductive bias of a fully connected net vs a CNN (clean vs pixel-scrambled, FGSM)."""
