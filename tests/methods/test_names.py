"""The method names later tasks read are the registry's, in its order."""

import pytest

from lazy_artist.methods.algorithms import ALGORITHMS
from lazy_artist.methods.names import METHOD_NAMES, check_registry


def test_the_registry_registers_exactly_the_declared_names_in_order():
    assert tuple(ALGORITHMS) == METHOD_NAMES


@pytest.mark.parametrize(
    "registered",
    [METHOD_NAMES[:-1], (*METHOD_NAMES, "new_method"), tuple(reversed(METHOD_NAMES))],
)
def test_a_registry_that_drifts_from_the_names_is_refused(registered):
    with pytest.raises(ImportError, match="add, remove or reorder the name in METHOD_NAMES"):
        check_registry(registered)
