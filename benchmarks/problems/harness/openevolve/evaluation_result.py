"""OpenEvolve's EvaluationResult, with the same shape, so `from openevolve.evaluation_result
import EvaluationResult` works in an evaluator scored by dgm (standard library only)."""

from dataclasses import dataclass, field


@dataclass
class EvaluationResult:
    """Metrics (the contract: names to floats, `combined_score` the primary one) and
    optional artifacts (text or bytes) fed back to the LLM."""

    metrics: dict[str, float]
    artifacts: dict[str, str | bytes] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, metrics: dict[str, float]) -> "EvaluationResult":
        return cls(metrics=metrics)

    def to_dict(self) -> dict[str, float]:
        return self.metrics

    def has_artifacts(self) -> bool:
        return bool(self.artifacts)

    def get_artifact_keys(self) -> list:
        return list(self.artifacts.keys())

    def get_artifact_size(self, key: str) -> int:
        if key not in self.artifacts:
            return 0
        value = self.artifacts[key]
        if isinstance(value, str):
            return len(value.encode("utf-8"))
        if isinstance(value, bytes):
            return len(value)
        return len(str(value).encode("utf-8"))

    def get_total_artifact_size(self) -> int:
        return sum(self.get_artifact_size(key) for key in self.artifacts.keys())
