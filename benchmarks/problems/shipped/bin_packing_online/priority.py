import numpy as np


def priority(item: float, bins: np.ndarray) -> np.ndarray:
    """Best fit: the bin with the least room left after the item has the highest priority."""
    return -(bins - item)
