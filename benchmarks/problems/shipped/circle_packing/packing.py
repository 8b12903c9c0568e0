import numpy as np


def construct_packing():
    """A circle in the middle, a ring of 8 around it and a ring of 17 outside."""
    centers = [(0.5, 0.5)]
    for k in range(8):
        angle = 2 * np.pi * k / 8
        centers.append((0.5 + 0.25 * np.cos(angle), 0.5 + 0.25 * np.sin(angle)))
    for k in range(17):
        angle = 2 * np.pi * k / 17
        centers.append((0.5 + 0.45 * np.cos(angle), 0.5 + 0.45 * np.sin(angle)))
    centers = np.clip(np.array(centers), 0.05, 0.95)
    return centers, largest_radii(centers)


def largest_radii(centers):
    """Each circle as large as the walls allow and no larger than half the distance to its
    nearest neighbour, so that no two overlap."""
    radii = np.minimum.reduce([centers[:, 0], centers[:, 1], 1 - centers[:, 0], 1 - centers[:, 1]])
    for i in range(len(centers)):
        for j in range(len(centers)):
            if i != j:
                radii[i] = min(radii[i], np.hypot(*(centers[i] - centers[j])) / 2)
    return radii
