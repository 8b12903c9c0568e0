import numpy as np


def algorithm(
    train_samples: np.ndarray, train_parity: np.ndarray, test_samples: np.ndarray
) -> np.ndarray:
    """Guess at random (STOP's seed algorithm for this task)."""
    return np.random.binomial(1, 0.5, len(test_samples))
