"""Scores a packing of 26 circles in the unit square: the sum of the radii (higher is
better), or an error naming the first rule the packing breaks. Run by hand: `python
evaluator.py packing.py` prints the metrics."""

import importlib.util
import json
import sys

import numpy as np

N_CIRCLES, TOLERANCE = 26, 1e-9


def load_program(path: str):
    """The candidate, imported from its file."""
    spec = importlib.util.spec_from_file_location("candidate", path)
    assert spec is not None and spec.loader is not None, f"cannot import {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(centers: np.ndarray, radii: np.ndarray) -> None:
    """Raise ValueError with the first rule the packing breaks."""
    if centers.shape != (N_CIRCLES, 2) or radii.shape != (N_CIRCLES,):
        raise ValueError(
            f"expected {N_CIRCLES} centres (x, y) and {N_CIRCLES} radii, "
            f"got shapes {centers.shape} and {radii.shape}"
        )
    if not (np.isfinite(centers).all() and np.isfinite(radii).all()):
        raise ValueError("a centre or a radius is not a finite number")
    if (radii < 0).any():
        raise ValueError(f"circle {int(np.argmin(radii))} has a negative radius")
    low = (centers - radii[:, None]).min(axis=1)
    high = (centers + radii[:, None]).max(axis=1)
    outside = np.nonzero((low < -TOLERANCE) | (high > 1 + TOLERANCE))[0]
    if len(outside):
        raise ValueError(f"circle {int(outside[0])} leaves the unit square")
    gaps = np.sqrt(((centers[:, None, :] - centers[None, :, :]) ** 2).sum(-1))
    overlap = radii[:, None] + radii[None, :] - gaps
    np.fill_diagonal(overlap, -np.inf)
    if overlap.max() > TOLERANCE:
        i, j = np.unravel_index(int(np.argmax(overlap)), overlap.shape)
        raise ValueError(f"circles {int(i)} and {int(j)} overlap by {overlap.max():.3g}")


def evaluate(program_path: str) -> dict:
    centers, radii = load_program(program_path).construct_packing()
    centers = np.asarray(centers, dtype=float)
    radii = np.asarray(radii, dtype=float)
    check(centers, radii)
    return {
        "sum_of_radii": float(radii.sum()),
        "smallest_radius": float(radii.min()),
        "largest_radius": float(radii.max()),
    }


if __name__ == "__main__":
    print(json.dumps(evaluate(sys.argv[1])))
