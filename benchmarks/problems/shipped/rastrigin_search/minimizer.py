def minimize(f, dim, rng):
    """Random local search: try a Gaussian step from the best point so far and keep it when
    it is better; the steps shrink as the search goes on. f ends the search."""
    best = rng.uniform(-5.12, 5.12, dim)
    best_value = f(best)
    step = 1.0
    while True:
        candidate = best + step * rng.normal(size=dim)
        value = f(candidate)
        if value < best_value:
            best, best_value = candidate, value
        step *= 0.999
