import numpy as np


def algorithm(
    train_samples: np.ndarray, train_parity: np.ndarray, test_samples: np.ndarray
) -> np.ndarray:
    """Predict the most common training label for every test sample."""
    majority = int(np.mean(train_parity) >= 0.5)
    return np.full(len(test_samples), majority)
