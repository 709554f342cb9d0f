"""Lead score: how likely a scan is to convert, learnt per workspace (pure: scikit-learn, no I/O).

Each labelled example is one (non-bot) scan with categorical features — device, OS, browser,
country, local hour and weekday, placement medium, returning visitor, campaign — and the label
"converted within ``label_days`` days". The model is an L2 logistic regression over one-hot
features (values seen fewer than ``min_count`` times become ``other``). It is judged on a
**time split**: trained on the oldest 75 % of examples and scored on the newest 25 % (the held-out
AUC on the model card); the model kept is then refitted on every example.

The stored model is plain JSON (intercept, one weight per ``feature=value``, the kept
vocabulary and the quantiles of the training scores), so scoring needs neither pickle nor
scikit-learn. A score is the probability's percentile among the training examples (0–100);
the probability itself is given too.

When the data cannot support a model the result says so (``status: insufficient`` and the
reasons) instead of producing scores.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

FEATURES = ("device", "os", "browser", "country", "hour", "weekday", "medium", "returning", "campaign")
OTHER = "other"
MODEL_VERSION = 1


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled scan."""

    ts: datetime
    features: Mapping[str, str]
    converted: bool


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What the data must hold before a model is trusted."""

    min_examples: int = 200
    min_positives: int = 20
    min_negatives: int = 20
    min_test_positives: int = 5
    min_test_negatives: int = 5
    min_auc: float = 0.55
    test_fraction: float = 0.25
    min_count: int = 5


@dataclass(frozen=True, slots=True)
class TrainResult:
    """The model card (always) and the model (only when ``card['status'] == 'ready'``)."""

    card: dict[str, Any]
    model: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Score:
    """A scan's score."""

    score: int
    probability: float


@dataclass
class _Vocabulary:
    kept: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def learn(cls, rows: Sequence[Mapping[str, str]], min_count: int) -> _Vocabulary:
        counts: dict[str, Counter[str]] = {f: Counter() for f in FEATURES}
        for row in rows:
            for f in FEATURES:
                counts[f][row.get(f) or ""] += 1
        return cls({f: {v for v, n in c.items() if n >= min_count} for f, c in counts.items()})

    def encode(self, row: Mapping[str, str]) -> dict[str, float]:
        out = {}
        for f in FEATURES:
            value = row.get(f) or ""
            out[f"{f}={value if value in self.kept.get(f, ()) else OTHER}"] = 1.0
        return out


def features(
    *,
    device: str | None,
    os: str | None,
    browser: str | None,
    country: str | None,
    hour: int,
    weekday: int,
    medium: str | None,
    returning: bool,
    campaign: int | None,
) -> dict[str, str]:
    """The feature mapping of one scan (local ``hour`` 0–23, ``weekday`` 0 = Monday)."""
    return {
        "device": device or "",
        "os": os or "",
        "browser": browser or "",
        "country": country or "",
        "hour": str(hour),
        "weekday": str(weekday),
        "medium": medium or "",
        "returning": "yes" if returning else "no",
        "campaign": str(campaign) if campaign else "",
    }


def _fit(rows: Sequence[Mapping[str, str]], labels: Sequence[bool], min_count: int) -> tuple[Any, Any, Any]:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vocab = _Vocabulary.learn(rows, min_count)
    vectorizer = DictVectorizer(sparse=True)
    x = vectorizer.fit_transform([vocab.encode(r) for r in rows])
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit(x, [int(y) for y in labels])
    return vocab, vectorizer, model


def train(
    examples: Sequence[Example], *, label_days: int, thresholds: Thresholds | None = None
) -> TrainResult:
    """Fit, judge on the newest examples, refit on all; or explain why the data is too thin."""
    from sklearn.metrics import roc_auc_score

    t = thresholds or Thresholds()
    ordered = sorted(examples, key=lambda e: e.ts)
    positives = sum(e.converted for e in ordered)
    negatives = len(ordered) - positives
    card: dict[str, Any] = {
        "algorithm": "logistic regression (scikit-learn), one-hot features, L2, C=1.0",
        "label": f"converted within {label_days} days of the scan",
        "features": list(FEATURES),
        "examples": len(ordered),
        "positives": positives,
        "base_rate": round(positives / len(ordered), 6) if ordered else None,
        "thresholds": asdict(t),
    }
    reasons = []
    if len(ordered) < t.min_examples:
        reasons.append(f"only {len(ordered)} labelled scans (needs {t.min_examples})")
    if positives < t.min_positives:
        reasons.append(f"only {positives} converted scans (needs {t.min_positives})")
    if negatives < t.min_negatives:
        reasons.append(f"only {negatives} scans without conversion (needs {t.min_negatives})")
    cut = int(len(ordered) * (1 - t.test_fraction))
    train_part, test_part = ordered[:cut], ordered[cut:]
    test_pos = sum(e.converted for e in test_part)
    if not reasons and (test_pos < t.min_test_positives or len(test_part) - test_pos < t.min_test_negatives):
        reasons.append(
            f"the newest {len(test_part)} scans (held out) hold {test_pos} conversions: needs at least "
            f"{t.min_test_positives} with and {t.min_test_negatives} without to measure the model"
        )
    if not reasons and not any(e.converted for e in train_part):
        reasons.append("no conversion among the older scans used for training")
    if reasons:
        return TrainResult({**card, "status": "insufficient", "reasons": reasons})

    vocab, vectorizer, model = _fit(
        [e.features for e in train_part], [e.converted for e in train_part], t.min_count
    )
    held_out = vectorizer.transform([vocab.encode(e.features) for e in test_part])
    auc = float(roc_auc_score([int(e.converted) for e in test_part], model.predict_proba(held_out)[:, 1]))
    card.update(
        auc=round(auc, 4),
        train={"examples": len(train_part), "positives": sum(e.converted for e in train_part),
               "from": train_part[0].ts.isoformat(), "to": train_part[-1].ts.isoformat()},
        test={"examples": len(test_part), "positives": test_pos,
              "from": test_part[0].ts.isoformat(), "to": test_part[-1].ts.isoformat()},
    )  # fmt: skip
    if auc < t.min_auc:
        reason = f"held-out AUC {auc:.3f} is not better than chance (needs {t.min_auc})"
        return TrainResult({**card, "status": "insufficient", "reasons": [reason]})

    vocab, vectorizer, model = _fit(
        [e.features for e in ordered], [e.converted for e in ordered], t.min_count
    )
    weights = dict(zip(vectorizer.get_feature_names_out().tolist(), model.coef_[0].tolist(), strict=True))
    exported: dict[str, Any] = {
        "version": MODEL_VERSION,
        "intercept": float(model.intercept_[0]),
        "weights": {k: round(v, 8) for k, v in weights.items()},
        "vocabulary": {f: sorted(v) for f, v in vocab.kept.items()},
        "quantiles": [],
    }
    probs = sorted(probability(exported, e.features) for e in ordered)
    exported["quantiles"] = [
        probs[min(len(probs) - 1, round(q * (len(probs) - 1) / 100))] for q in range(101)
    ]
    top = sorted(weights.items(), key=lambda kv: abs(kv[1]), reverse=True)[:10]
    card.update(
        status="ready",
        reasons=[],
        quality="good" if auc >= 0.7 else "fair" if auc >= 0.6 else "weak",
        top_weights=[{"feature": k, "weight": round(v, 4)} for k, v in top],
        note="AUC measured on the newest 25 % with a model trained on the older 75 %; "
        "the model in use is refitted on all labelled scans",
    )
    return TrainResult(card, exported)


def probability(model: Mapping[str, Any], row: Mapping[str, str]) -> float:
    """Conversion probability of one scan under an exported model."""
    weights: Mapping[str, float] = model["weights"]
    vocabulary: Mapping[str, Sequence[str]] = model["vocabulary"]
    total = float(model["intercept"])
    for f in FEATURES:
        value = row.get(f) or ""
        key = f"{f}={value if value in vocabulary.get(f, ()) else OTHER}"
        total += weights.get(key, 0.0)
    if total >= 0:
        return 1.0 / (1.0 + math.exp(-total))
    e = math.exp(total)
    return e / (1.0 + e)


def score(model: Mapping[str, Any], row: Mapping[str, str]) -> Score:
    """The 0–100 score (percentile among the training scans) and the probability."""
    p = probability(model, row)
    quantiles: Sequence[float] = model["quantiles"]
    rank = bisect_right(quantiles, p) - 1
    return Score(max(0, min(100, rank)), p)
