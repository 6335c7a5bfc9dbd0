"""A text classifier learned from past cases, in plain Python (no numpy, no scikit-learn).

One linear model per label (one-vs-rest), trained by stochastic gradient descent on the hinge
loss with L2 regularisation (a linear support vector machine), over TF-IDF weighted features
(routing.features), averaged over the later epochs. Each distinct (text, label) pair is one
lesson for the model, made only a little stronger by how often it came (the fourth root of
its count: a title given one label 600 times teaches five times as hard as one given it
once), and by an example's own weight, such as a dispatcher's correction: what generalises to
new texts is the variety of past texts, while how often the very same text came is what
`repeated` keeps.
Scores become probabilities through a softmax whose temperature is fitted on held-out folds
of the training data, so that a probability of 0.8 is right about 80 % of the time; the same
folds give the held-out accuracy reported after training.

A text that comes again and again ("Schedule Bulk Item Pickup", a web form's fixed title) is
also remembered with the labels it was given: past votes decide it, the model only breaks
ties (`repeated`). A linear model cannot always put every frequent text on the side of its
majority label; the dispatchers' own record for that exact text is the better guide.

Labels are "department" or "department/service". `train()` takes plain (text, label[, weight])
tuples and returns an immutable `TextModel`; `TextModel.to_dict()`/`from_dict()` give a
JSON-able form. Reading and writing files is the caller's business.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import numpy as np

from routing.features import extract
from routing.similar import QUERY_FEATURES, SimilarCases
from routing.text import normalise

FORMAT = "contact-centre-router-model/1"
MIN_EXAMPLES = 10
# L2 regularisation candidates: training picks the one with the best held-out accuracy on
# its own calibration folds (ties and no calibration: the first). With one lesson per
# distinct text, 4e-4 did best of 2e-4…1.6e-3 on Boston 311's 20,000 cases and keeps TipDM and
# the distinct titles ahead of the baseline (bench/routing.py); offering 2e-4 and 8e-4 as
# well, three inner folds did worse on Boston (-3 cases vs -1) at three times the cost.
ALPHAS: tuple[float, ...] = (4e-4,)
EPOCHS = 10
CALIBRATION_FOLDS = 3
_MAX_LABEL_CHARS = 81  # "department/service", both ids at most 40 characters
# A text is remembered when one label was given to it at least this often: a text seen
# once under each of several labels says nothing the model does not.
REPEATED_MIN_WEIGHT = 2.0
REPEATED_MAX_CHARS = 300  # longer texts are rarely repeated word for word: not remembered
MODEL_VOTE = 1.0  # the model's probabilities count as this many past votes
# How much a (text, label) pair's count strengthens its lesson: count ** FREQUENCY_POWER.
# Boston 311's titles come hundreds of times, mostly under one label and a few times under
# others; with equal lessons, a variant of such a title ("SIDEWALK MAKE SAFE") was pulled
# towards its rare labels. bench/routing.py, Boston's 20,000 cases, cases right against the
# LinearSVC baseline on three fold splits (seeds 0, 1, 2): 0 → -1, -1, +1; 0.25 → 0, 0, +2;
# 0.5 → -7 (seed 0). TipDM's and the distinct titles' texts come about once each: TipDM
# stays +19 and +21, the distinct titles +2 and +3 (were +3 and +1).
FREQUENCY_POWER = 0.25


class TrainingError(ValueError):
    """The examples cannot make a model; the message says why."""


Example = tuple[str, str] | tuple[str, str, float]


@dataclass(frozen=True)
class Prediction:
    probabilities: tuple[tuple[str, float], ...]  # (label, probability), most likely first
    similar: tuple[str, ...]  # labels of the most similar past cases, most similar first


@dataclass(frozen=True, eq=False)
class TextModel:
    """Immutable and safe to share between threads."""

    labels: tuple[str, ...]
    vocabulary: Mapping[str, int]  # feature → row in `weights`
    idf: tuple[float, ...]
    weights: tuple[tuple[float, ...], ...]  # per feature: one weight per label
    bias: tuple[float, ...]
    temperature: float
    similar: SimilarCases
    info: Mapping[str, Any] = field(default_factory=dict)  # examples, held-out accuracy, …
    # text key → ((label index, weight), …) for texts often given the same label
    repeated: Mapping[str, tuple[tuple[int, float], ...]] = field(default_factory=dict)
    # The model as arrays for predict(): a long letter has thousands of features, and
    # weighing them per label in Python took milliseconds (the slowest decisions).
    matrix: Any = field(init=False, repr=False)  # features × labels
    bias_vector: Any = field(init=False, repr=False)
    idf_vector: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        arrays = {"matrix": np.array(self.weights, dtype=np.float64).reshape(
                      len(self.weights), len(self.labels)),
                  "bias_vector": np.array(self.bias, dtype=np.float64),
                  "idf_vector": np.array(self.idf, dtype=np.float64)}
        for name, array in arrays.items():
            array.flags.writeable = False  # shared between threads
            object.__setattr__(self, name, array)

    def predict(self, text: str) -> Prediction | None:
        """Calibrated label probabilities and the labels of similar past cases; None when
        the text has no feature the model knows (empty, only emoji, another script)."""
        indexes, values = self._array_vector(extract(text))
        if not len(indexes):
            return None
        totals = (values @ self.matrix[indexes] + self.bias_vector).tolist()
        probabilities = _softmax(totals, self.temperature)
        votes = self.repeated.get(text_key(text)) if self.repeated else None
        if votes:
            probabilities = _with_votes(probabilities, votes)
        ranked = sorted(zip(self.labels, probabilities, strict=True), key=lambda pair: -pair[1])
        # Stable, so that ties fall as they would in the plain-Python vector's order.
        strongest = np.argsort(-values, kind="stable")[:QUERY_FEATURES]
        similar = tuple(self.labels[i] for i in self.similar.nearest(
            list(zip(indexes[strongest].tolist(), values[strongest].tolist(), strict=True))))
        return Prediction(tuple(ranked), similar)

    def _array_vector(self, counts: Counter[str]) -> tuple[Any, Any]:
        """_vector() in numpy: (feature indexes, values) of the known features. The same
        sublinear TF-IDF as training's _vector(); a change to one must go to both."""
        n = len(counts)
        indexes = np.fromiter(map(self.vocabulary.get, counts, repeat(-1)), dtype=np.int64,
                              count=n)
        tf = np.fromiter(counts.values(), dtype=np.float64, count=n)
        known = indexes >= 0
        indexes, tf = indexes[known], tf[known]
        values = (1.0 + np.log(tf)) * self.idf_vector[indexes]  # sublinear TF-IDF
        norm = math.sqrt(float(values @ values))
        return (indexes, values / norm) if norm else (indexes[:0], values[:0])

    def probabilities(self, text: str) -> list[tuple[str, float]]:
        """(label, calibrated probability), most likely first; [] for unreadable text."""
        prediction = self.predict(text)
        return list(prediction.probabilities) if prediction else []

    def to_dict(self) -> dict[str, Any]:
        features = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return {
            "format": FORMAT, "labels": list(self.labels), "features": features,
            "idf": [round(v, 5) for v in self.idf],
            "weights": [[round(w, 5) for w in row] for row in self.weights],
            "bias": [round(b, 5) for b in self.bias], "temperature": self.temperature,
            "similar": self.similar.to_dict(), "info": dict(self.info),
            "repeated": {key: [[label, round(weight, 3)] for label, weight in votes]
                         for key, votes in self.repeated.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TextModel:
        """The model `to_dict()` gave; ValueError if `data` is not one."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise ValueError(f"not a router model (expected format {FORMAT!r})")
        try:
            labels = tuple(str(label) for label in data["labels"])
            features = [str(f) for f in data["features"]]
            weights = tuple(tuple(float(w) for w in row) for row in data["weights"])
            model = cls(
                labels=labels, vocabulary={f: i for i, f in enumerate(features)},
                idf=tuple(float(v) for v in data["idf"]), weights=weights,
                bias=tuple(float(b) for b in data["bias"]),
                temperature=float(data["temperature"]),
                similar=SimilarCases.from_dict(data["similar"], len(labels)),
                info=dict(data.get("info", {})),
                repeated={str(key): tuple((int(label), float(weight)) for label, weight in votes)
                          for key, votes in data.get("repeated", {}).items()})
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"damaged router model: {error}") from None
        if not (len(features) == len(model.idf) == len(weights)
                and len(model.bias) == len(labels) > 1
                and all(len(row) == len(labels) for row in weights)
                and model.temperature > 0
                and all(0 <= label < len(labels) and weight > 0
                        for votes in model.repeated.values() for label, weight in votes)):
            raise ValueError("damaged router model: inconsistent sizes")
        return model


def train(examples: Iterable[Example], *, epochs: int = EPOCHS, seed: int = 0,
          calibrate: bool = True) -> TextModel:
    """A model from (text, label) or (text, label, weight) examples; TrainingError if the
    examples cannot make one (too few, one label, no readable text, bad labels)."""
    texts, labels, weights, lessons = _prepare(examples)
    label_names = tuple(sorted(set(labels)))
    label_index = {label: i for i, label in enumerate(label_names)}
    y = [label_index[label] for label in labels]
    counts = [extract(text) for text in texts]
    readable = [i for i, c in enumerate(counts) if c]
    if len(readable) < MIN_EXAMPLES:
        raise TrainingError(f"only {len(readable)} examples have readable text: at least "
                            f"{MIN_EXAMPLES} are needed")
    counts = [counts[i] for i in readable]
    y = [y[i] for i in readable]
    weights = [weights[i] for i in readable]
    lessons = [lessons[i] for i in readable]
    steps = [_lesson_step(lesson, weight) for lesson, weight in zip(lessons, weights,
                                                                       strict=True)]
    if len(set(y)) < 2:
        raise TrainingError("all readable examples have the same label: nothing to learn")
    alpha, temperature, held_out = ALPHAS[0], 1.0, None
    if calibrate:
        alpha, temperature, held_out = _calibrate(counts, y, weights, lessons,
                                                  len(label_names), epochs, seed)
    vocabulary, idf = _vocabulary(counts)
    vectors = [_vector(c, vocabulary, idf) for c in counts]
    w, b = _fit(vectors, y, steps, len(label_names), len(vocabulary), epochs, seed, alpha)
    info = {"regularisation": alpha, "examples": len(texts), "readable_examples": len(counts),
            "labels": dict(sorted(Counter(label_names[i] for i in y).items())),
            "held_out_accuracy": held_out, "features": len(vocabulary)}
    return TextModel(label_names, vocabulary, idf, w, b, temperature,
                     SimilarCases.build(vectors, y), info,
                     _repeated([texts[i] for i in readable], y, weights))


def _lesson_step(lesson: float, weight: float) -> float:
    """How hard one (text, label) pair teaches. The same text a thousand times ("Schedule
    bulk item pickup") is not a thousand lessons: its count lives on in `repeated`, in
    calibration and in the held-out accuracy, and strengthens the lesson only softly
    (FREQUENCY_POWER). A correction's weight counts, softened too: a large weight makes
    single SGD steps huge and unstable. `lesson` is the largest weight one example of the
    pair had, `weight` the pair's total, so weight / lesson is about how often it came."""
    return math.sqrt(lesson) * (weight / lesson) ** FREQUENCY_POWER


def text_key(text: str) -> str:
    """What makes two texts "the same text": case and spacing do not count."""
    return " ".join(normalise(text[:REPEATED_MAX_CHARS + 1]).split())


def _repeated(texts: Sequence[str], y: Sequence[int], weights: Sequence[float]
              ) -> dict[str, tuple[tuple[int, float], ...]]:
    votes: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for text, label, weight in zip(texts, y, weights, strict=True):
        key = text_key(text)
        if len(key) <= REPEATED_MAX_CHARS:
            votes[key][label] += weight
    return {key: tuple(sorted(tally.items())) for key, tally in votes.items()
            if max(tally.values()) >= REPEATED_MIN_WEIGHT}


def _with_votes(probabilities: Sequence[float], votes: Sequence[tuple[int, float]]
                ) -> list[float]:
    """Past votes for this exact text, with the model's probabilities as MODEL_VOTE more."""
    mixed = [MODEL_VOTE * p for p in probabilities]
    for label, weight in votes:
        mixed[label] += weight
    total = sum(mixed)
    return [m / total for m in mixed]


def _prepare(examples: Iterable[Example]
             ) -> tuple[list[str], list[str], list[float], list[float]]:
    """Texts, labels, weights and lessons, with identical (text, label) pairs merged: the
    weight is the pair's total, its lesson the largest weight one of its examples had."""
    merged: dict[tuple[str, str], float] = defaultdict(float)
    lessons: dict[tuple[str, str], float] = defaultdict(float)
    for number, example in enumerate(examples, 1):
        if not isinstance(example, tuple) or len(example) not in (2, 3):
            raise TrainingError(f"example {number}: expected (text, label[, weight])")
        text, label = example[0], example[1]
        weight = float(example[2]) if len(example) == 3 else 1.0
        if not isinstance(text, str) or not isinstance(label, str):
            raise TrainingError(f"example {number}: text and label must be strings")
        label = label.strip()
        if not label or len(label) > _MAX_LABEL_CHARS or label.count("/") > 1 \
                or "" in label.split("/"):
            raise TrainingError(f"example {number}: bad label {label!r} (expected "
                                "'department' or 'department/service')")
        if not weight > 0 or math.isinf(weight):
            raise TrainingError(f"example {number}: the weight must be a positive number")
        merged[(text, label)] += weight
        lessons[(text, label)] = max(lessons[(text, label)], weight)
    if not merged:
        raise TrainingError("no examples")
    texts, labels = zip(*merged, strict=True)
    return list(texts), list(labels), list(merged.values()), list(lessons.values())


def _vocabulary(counts: Sequence[Counter[str]]) -> tuple[dict[str, int], tuple[float, ...]]:
    df: Counter[str] = Counter()
    for c in counts:
        df.update(c.keys())
    # On large histories a feature seen once (a name, a house number) only costs memory.
    min_df = 2 if len(counts) >= 2000 else 1
    kept = sorted(f for f, n in df.items() if n >= min_df)
    n = len(counts)
    return ({f: i for i, f in enumerate(kept)},
            tuple(math.log((1 + n) / (1 + df[f])) + 1.0 for f in kept))


def _vector(counts: Counter[str], vocabulary: Mapping[str, int],
            idf: Sequence[float]) -> list[tuple[int, float]]:
    """Sublinear TF-IDF, L2-normalised: (feature index, value) for known features."""
    log = math.log
    pairs = [(i, idf[i] if count == 1 else (1.0 + log(count)) * idf[i])
             for i, count in zip(map(vocabulary.get, counts), counts.values(), strict=True)
             if i is not None]
    norm = math.sqrt(sum(v * v for _, v in pairs))
    return [(i, v / norm) for i, v in pairs] if norm else []


def _fit(vectors: Sequence[list[tuple[int, float]]], y: Sequence[int],
         sample_weights: Sequence[float], n_labels: int, n_features: int, epochs: int,
         seed: int, alpha: float) -> tuple[tuple[tuple[float, ...], ...], tuple[float, ...]]:
    per_label = [_fit_one(vectors, [1 if label == c else -1 for label in y], sample_weights,
                          n_features, epochs, seed, alpha) for c in range(n_labels)]
    rows = tuple(zip(*(w for w, _ in per_label), strict=True))
    return rows, tuple(b for _, b in per_label)


def _fit_one(vectors: Sequence[list[tuple[int, float]]], signs: Sequence[int],
             sample_weights: Sequence[float], n_features: int, epochs: int,
             seed: int, alpha: float) -> tuple[list[float], float]:
    """SGD on the hinge loss, learning rate 1/(α(t0+t)) (Bottou's schedule, as in
    scikit-learn's SGDClassifier), averaged over the second half of the epochs."""
    w = [0.0] * n_features
    scale, bias = 1.0, 0.0  # the true weights are scale * w (cheap L2 shrinking)
    total = [0.0] * n_features
    total_bias, snapshots = 0.0, 0
    eta0 = alpha ** -0.25
    t0 = 1.0 / (eta0 * alpha)
    order = list(range(len(vectors)))
    rng = random.Random(seed)
    t = 0
    for epoch in range(epochs):
        rng.shuffle(order)
        for j in order:
            eta = 1.0 / (alpha * (t0 + t))
            t += 1
            x, sign = vectors[j], signs[j]
            margin = sign * (scale * sum(w[i] * v for i, v in x) + bias)
            scale *= 1.0 - eta * alpha
            if margin < 1.0:
                step = eta * sign * sample_weights[j]
                factor = step / scale
                for i, v in x:
                    w[i] += factor * v
                bias += step * 0.01  # a small intercept step, as for sparse data
            if scale < 1e-6:
                w = [value * scale for value in w]
                scale = 1.0
        if epoch >= epochs // 2:
            total = [a + scale * value for a, value in zip(total, w, strict=True)]
            total_bias += bias
            snapshots += 1
    return [a / snapshots for a in total], total_bias / snapshots


def _softmax(scores: Sequence[float], temperature: float) -> list[float]:
    top = max(scores)
    exps = [math.exp((s - top) / temperature) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def _calibrate(counts: Sequence[Counter[str]], y: Sequence[int], weights: Sequence[float],
               lessons: Sequence[float], n_labels: int, epochs: int, seed: int
               ) -> tuple[float, float, float | None]:
    """(regularisation, temperature, held-out accuracy) from models trained on the other
    folds, for the regularisation in ALPHAS with the best held-out accuracy.

    A text's occurrences (its weight, rounded) are dealt to the folds in turn: a text sent
    once is held out of one fold, while one sent a thousand times is held out in every fold
    and trained on in every fold too, as it will be when the model meets it again.
    """
    n = len(counts)
    folds = min(CALIBRATION_FOLDS, n // 5)
    if folds < 2:
        return ALPHAS[0], 1.0, None
    order = list(range(n))
    random.Random(seed + 1).shuffle(order)
    offset = {case: position for position, case in enumerate(order)}
    held: dict[float, list[tuple[list[float], int, float]]] = {a: [] for a in ALPHAS}
    for fold in range(folds):
        train_ids, train_steps, tests = [], [], []
        for i in range(n):
            occurrences = max(1, round(weights[i]))
            out = occurrences // folds + ((fold - offset[i]) % folds < occurrences % folds)
            share = weights[i] / occurrences
            if out:
                tests.append((i, out * share))
            if out < occurrences:
                train_ids.append(i)
                train_steps.append(_lesson_step(lessons[i], weights[i] - out * share))
        vocabulary, idf = _vocabulary([counts[i] for i in train_ids])
        vectors = [_vector(counts[i], vocabulary, idf) for i in train_ids]
        test_vectors = [(_vector(counts[i], vocabulary, idf), y[i], weight)
                        for i, weight in tests]
        for alpha in ALPHAS:
            w, b = _fit(vectors, [y[i] for i in train_ids], train_steps, n_labels,
                        len(vocabulary), epochs, seed, alpha)
            for vector, label, weight in test_vectors:
                scores = list(b)
                for index, value in vector:
                    scores = [s + value * r for s, r in zip(scores, w[index], strict=True)]
                held[alpha].append((scores, label, weight))
    accuracy = {alpha: _accuracy(outcomes, n_labels) for alpha, outcomes in held.items()}
    best = max(ALPHAS, key=lambda a: (accuracy[a], -ALPHAS.index(a)))  # ties: the first
    return best, _best_temperature(held[best]), accuracy[best]


def _accuracy(held: Sequence[tuple[list[float], int, float]], n_labels: int) -> float:
    right = sum(weight for s, label, weight in held
                if max(range(n_labels), key=s.__getitem__) == label)
    return right / sum(weight for _, _, weight in held)


def _best_temperature(held: Sequence[tuple[list[float], int, float]]) -> float:
    """The softmax temperature with the least held-out log loss (golden-section search on
    its logarithm)."""
    def loss(log_t: float) -> float:
        t = math.exp(log_t)
        return -sum(weight * math.log(max(_softmax(s, t)[label], 1e-12))
                    for s, label, weight in held)

    low, high = math.log(0.01), math.log(10.0)
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(40):
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        if loss(a) < loss(b):
            high = b
        else:
            low = a
    return round(math.exp((low + high) / 2), 4)
