"""Sparse autoencoders on a classifier's activations (T6): collection, training, metrics,
feature interventions spliced back into the classifier, and their figures."""
