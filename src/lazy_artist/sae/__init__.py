"""Sparse autoencoders on a classifier's activations (T6): collection (``activations``),
training (``autoencoder``), metrics, feature interventions spliced back into the classifier
(``interventions``, run from the site onward by ``tail``), one model's analysis (``study``),
the matched ERM-vs-debiased comparison over seeds (``compare``), and its tables and figures."""
