"""T4's debiasing methods: a registry of algorithms, their hyper-parameters, and their trainer."""

from lazy_artist.methods.algorithms import (
    ALGORITHMS,
    Algorithm,
    Batch,
    build_algorithm,
    get_algorithm_class,
)
from lazy_artist.methods.hparams import (
    COMMON_HPARAMS,
    DEFAULT_HPARAMS,
    hparams_for,
    random_hparams,
)
from lazy_artist.methods.trainer import (
    MethodResult,
    evaluate,
    load_method_network,
    save_method_checkpoint,
    train_algorithm,
)

__all__ = [
    "ALGORITHMS",
    "COMMON_HPARAMS",
    "DEFAULT_HPARAMS",
    "Algorithm",
    "Batch",
    "MethodResult",
    "build_algorithm",
    "evaluate",
    "get_algorithm_class",
    "hparams_for",
    "load_method_network",
    "random_hparams",
    "save_method_checkpoint",
    "train_algorithm",
]
