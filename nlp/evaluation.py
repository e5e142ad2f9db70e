"""Classification scores without scikit-learn: per-class precision, recall, F1 and their macro average.

Used by `listener nlp eval`, the sentiment tests and the training report, so every figure we quote about the
model is computed the same way. Conventions follow scikit-learn's `zero_division=0`: a class never predicted
has precision 0, a class absent from the gold labels has recall 0, and F1 is 0 when precision + recall is 0.
The macro average is over the given `labels` (all of them, present or not), so it is comparable across sets.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ClassScores:
    label: str
    precision: float
    recall: float
    f1: float
    support: int  # gold examples of this class


@dataclass(frozen=True, slots=True)
class Report:
    classes: tuple[ClassScores, ...]
    macro_precision: float
    macro_recall: float
    macro_f1: float
    accuracy: float
    count: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "accuracy": round(self.accuracy, 4),
            "macro_precision": round(self.macro_precision, 4),
            "macro_recall": round(self.macro_recall, 4),
            "macro_f1": round(self.macro_f1, 4),
            "classes": {
                c.label: {
                    "precision": round(c.precision, 4),
                    "recall": round(c.recall, 4),
                    "f1": round(c.f1, 4),
                    "support": c.support,
                }
                for c in self.classes
            },
        }


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def classification_report(
    gold: Sequence[Hashable], predicted: Sequence[Hashable], labels: Sequence[Hashable]
) -> Report:
    """Per-class and macro scores of `predicted` against `gold` over `labels` (in that order)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    classes = []
    for label in labels:
        true_positive = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        predicted_count = sum(1 for p in predicted if p == label)
        support = sum(1 for g in gold if g == label)
        precision = _ratio(true_positive, predicted_count)
        recall = _ratio(true_positive, support)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        classes.append(ClassScores(str(label), precision, recall, f1, support))
    count = len(gold)
    n = len(classes) or 1
    return Report(
        classes=tuple(classes),
        macro_precision=sum(c.precision for c in classes) / n,
        macro_recall=sum(c.recall for c in classes) / n,
        macro_f1=sum(c.f1 for c in classes) / n,
        accuracy=_ratio(sum(1 for g, p in zip(gold, predicted, strict=True) if g == p), count),
        count=count,
    )


def macro_f1(gold: Sequence[Hashable], predicted: Sequence[Hashable], labels: Sequence[Hashable]) -> float:
    return classification_report(gold, predicted, labels).macro_f1
