"""Landscapes nobody tuned on: drawn from a stated distribution with a stated seed.

Run: ``python -m benchmarks.perf.draw_landscapes --seed S --count N --out DIR`` writes
``DIR/drawn-S-1.json`` ... ``DIR/drawn-S-N.json`` in search_efficiency's landscape format,
and prints their paths. The same seed and count always write the same files.

The distribution (docs/engine.md, "Landscapes nobody tuned on"; the ranges the
`unseen/` landscapes were drawn from, stated before any of these was drawn), each
parameter independent and uniform unless said:
- ``tasks`` in {50, 100, 150, 300}; ``difficulty_sd`` 1.0-2.0; ``seed_skill`` 0.1-0.5;
- edits: harmful weight 0.3-0.55, shift -0.6 to -0.2, spread 0.1-0.4; helpful weight
  0.05-0.2, shift 0.2-0.8, spread 0.1-0.4; broken weight 0.02-0.1, shift -6, spread 0;
  neutral the rest of the weight, shift 0, spread 0.05-0.2;
- ``noise`` 0-0.2; ``target`` the seed's skill plus 0.02-0.08; ``budget`` in {800, 1000,
  1200, 1500}; no ``horizon`` (search_efficiency's default applies).
Numbers are rounded to 3 decimals (2 for shifts, spreads and difficulty).
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path

from benchmarks.perf.search_efficiency import Landscape


def draw(rng: random.Random, name: str, seed: int) -> Landscape:
    """One landscape from the module's distribution."""
    seed_skill = round(rng.uniform(0.1, 0.5), 3)
    harmful = round(rng.uniform(0.3, 0.55), 2)
    helpful = round(rng.uniform(0.05, 0.2), 2)
    broken = round(rng.uniform(0.02, 0.1), 2)
    neutral = round(1.0 - harmful - helpful - broken, 2)
    edits = [
        {
            "kind": "harmful",
            "weight": harmful,
            "shift": round(rng.uniform(-0.6, -0.2), 2),
            "spread": round(rng.uniform(0.1, 0.4), 2),
        },
        {
            "kind": "neutral",
            "weight": neutral,
            "shift": 0.0,
            "spread": round(rng.uniform(0.05, 0.2), 2),
        },
        {
            "kind": "helpful",
            "weight": helpful,
            "shift": round(rng.uniform(0.2, 0.8), 2),
            "spread": round(rng.uniform(0.1, 0.4), 2),
        },
        {"kind": "broken", "weight": broken, "shift": -6.0, "spread": 0.0},
    ]
    return Landscape.model_validate(
        {
            "name": name,
            "description": (
                "Drawn, not tuned: benchmarks/perf/draw_landscapes.py's distribution "
                f"(docs/engine.md) with seed {seed}, before any policy ran on it."
            ),
            "tasks": rng.choice([50, 100, 150, 300]),
            "difficulty_sd": round(rng.uniform(1.0, 2.0), 2),
            "seed_skill": seed_skill,
            "edits": edits,
            "noise": round(rng.uniform(0.0, 0.2), 3),
            "target": round(seed_skill + rng.uniform(0.02, 0.08), 3),
            "budget": rng.choice([800, 1000, 1200, 1500]),
        }
    )


def draw_all(seed: int, count: int) -> list[Landscape]:
    rng = random.Random(seed)
    return [draw(rng, f"drawn-{seed}-{i}", seed) for i in range(1, count + 1)]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True, help="the generator's seed")
    parser.add_argument("--count", type=int, default=8, help="landscapes to draw")
    parser.add_argument("--out", type=Path, required=True, help="folder to write them to")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    args.out.mkdir(parents=True, exist_ok=True)
    for land in draw_all(args.seed, args.count):
        path = args.out / f"{land.name}.json"
        path.write_text(json.dumps(land.model_dump(exclude_none=True), indent=2) + "\n")
        print(path)


if __name__ == "__main__":
    main()
