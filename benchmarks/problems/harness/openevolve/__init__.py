"""A stand-in for the `openevolve` package inside dgm's sandbox: only what evaluators import."""
