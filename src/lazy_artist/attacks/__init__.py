"""Adversarial attacks on models that take inputs in [0, 1] and return logits."""
