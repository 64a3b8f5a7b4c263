"""T4's debiasing methods: a registry of algorithms (``algorithms``), their hyper-parameters
(``hparams``), their trainer (``trainer``) and the artefacts later tasks load (``artefacts``).

Deliberately empty: importing any submodule runs this file, and a later task that only loads
T4's models must not reach the methods' code (see :mod:`lazy_artist.methods.names`).
"""
