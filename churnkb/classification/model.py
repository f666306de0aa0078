"""The learned classifier: TF-IDF word and character n-grams plus rule evidence, logistic regression.

Three heads share one feature space:
  * categories: one-vs-rest logistic regression, one probability per category (multi-label);
  * primary: a multinomial logistic regression over the decisive reason;
  * sentiment: how the customer felt about leaving (negative / neutral / positive), learned from
    the notes whose label says it (5-fold accuracy 0.73 against 0.57 for the cue count in
    extract.py, which remains the answer when this head has too few labels to train).
A category is given when its probability reaches ``threshold``; the primary head picks the main
reason among the given ones. Everything is deterministic (sorted corpus, fixed random_state,
deterministic solvers), so the same corpus always trains the same model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache

import numpy as np
from scipy import sparse
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer

from churnkb.classification.corpus import CATEGORIES, LabeledNote
from churnkb.classification.rules import RuleEvidence, RuleSet, load_rules
from churnkb.classification.text import normalize, prepare

# Bump when the features or the decision change: part of the model fingerprint.
MODEL_VERSION = "2"
SENTIMENTS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class ModelParams:
    """Chosen by cross-validation on the training corpus only (docs/classification.md, "Figures").

    Weak regularisation (C = 100) wins both on 5 random folds and with each writer's notes held
    out in turn: the three TF-IDF blocks are unit-normed, so a strong penalty flattens them.
    """

    C: float = 100.0
    primary_C: float = 100.0
    threshold: float = 0.4
    rule_weight: float = 1.0  # 0 drops the rule evidence
    char_ngrams: tuple[int, int] = (2, 5)
    word_ngrams: tuple[int, int] = (1, 2)


DEFAULT_PARAMS = ModelParams()


@dataclass(frozen=True)
class Prediction:
    id: str
    categories: list[str]
    primary_category: str
    confidence: float  # probability of the primary category (primary head)
    scores: dict[str, float]  # probability per category (categories head)
    matched_rule_ids: list[str] = field(default_factory=list)
    classified_by: str = "model"  # model | llm (the optional back-end, churnkb.classification.llm)
    sentiment: str | None = None  # the sentiment head's answer; None: extract.py's cue count decides


@lru_cache(maxsize=100_000)
def _evidence(rules: RuleSet, text: str) -> RuleEvidence:
    # cached: cross-validation featurises each note once, not once per fold
    return rules.analyse(text)


class ExitNoteClassifier:
    def __init__(self, params: ModelParams = DEFAULT_PARAMS, rules: RuleSet | None = None) -> None:
        self.params = params
        self.rules = rules or load_rules()
        self.word = TfidfVectorizer(preprocessor=normalize, ngram_range=params.word_ngrams,
                                    sublinear_tf=True, min_df=1, token_pattern=r"(?u)\b\w+\b")
        self.char = TfidfVectorizer(preprocessor=normalize, analyzer="char_wb",
                                    ngram_range=params.char_ngrams, sublinear_tf=True, min_df=2)
        self.evidence = DictVectorizer()
        self.labels = MultiLabelBinarizer(classes=list(CATEGORIES))
        self.categories_head = OneVsRestClassifier(LogisticRegression(
            C=params.C, class_weight="balanced", solver="liblinear", random_state=0))
        self.primary_head = LogisticRegression(C=params.primary_C, class_weight="balanced",
                                               max_iter=2000, random_state=0)
        self.sentiment_head: LogisticRegression | None = None

    # -- features ---------------------------------------------------------------------------
    def _rule_features(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [_evidence(self.rules, t).features() for t in texts]

    def _matrix(self, texts: Sequence[str], *, fit: bool = False) -> sparse.csr_matrix:
        parts = []
        if fit:
            parts += [self.word.fit_transform(texts), self.char.fit_transform(texts),
                      self.evidence.fit_transform(self._rule_features(texts))]
        else:
            parts += [self.word.transform(texts), self.char.transform(texts),
                      self.evidence.transform(self._rule_features(texts))]
        parts[2] = parts[2] * self.params.rule_weight
        return sparse.hstack(parts, format="csr")

    # -- training and prediction ------------------------------------------------------------
    def fit(self, notes: Sequence[LabeledNote]) -> ExitNoteClassifier:
        texts = [prepare(n.text) for n in notes]
        matrix = self._matrix(texts, fit=True)
        self.categories_head.fit(matrix, self.labels.fit_transform([n.categories for n in notes]))
        self.primary_head.fit(matrix, [n.primary for n in notes])
        self._fit_sentiment(matrix, notes)
        return self

    def _fit_sentiment(self, matrix: sparse.csr_matrix, notes: Sequence[LabeledNote]) -> None:
        """Only notes labelled with a sentiment teach it (analysts' labels carry none)."""
        rows = [i for i, n in enumerate(notes) if n.meta.get("sentiment") in SENTIMENTS]
        labels = [notes[i].meta["sentiment"] for i in rows]
        if len(set(labels)) < len(SENTIMENTS) or min(labels.count(s) for s in SENTIMENTS) < 5:
            self.sentiment_head = None
            return
        self.sentiment_head = LogisticRegression(C=self.params.C, class_weight="balanced",
                                                 max_iter=2000, random_state=0).fit(matrix[rows], labels)

    def predict(self, items: Sequence[tuple[str, str]]) -> list[Prediction]:
        if not items:
            return []
        texts = [prepare(text) for _, text in items]
        matrix = self._matrix(texts)
        category_probs = self.categories_head.predict_proba(matrix)
        primary_probs = self.primary_head.predict_proba(matrix)
        sentiments = (list(self.sentiment_head.predict(matrix)) if self.sentiment_head is not None
                      else [None] * len(texts))
        return [
            replace(self._decide(item_id, text, category_probs[row], primary_probs[row]),
                    sentiment=None if sentiments[row] is None else str(sentiments[row]))
            for row, (item_id, text) in enumerate(zip([i for i, _ in items], texts, strict=True))
        ]

    def _decide(self, item_id: str, text: str, category_probs: np.ndarray,
                primary_probs: np.ndarray) -> Prediction:
        scores = {c: round(float(p), 4) for c, p in zip(self.labels.classes_, category_probs, strict=True)}
        primary_scores = dict(zip(self.primary_head.classes_, primary_probs, strict=True))
        given = [c for c, p in scores.items() if p >= self.params.threshold]
        if not given:
            given = [max(primary_scores, key=primary_scores.get)]
        if len(given) > 1 and "unknown" in given:
            given.remove("unknown")  # a note with a reason is not also "no reason given"
        primary = max(given, key=lambda c: (primary_scores.get(c, 0.0), scores[c]))
        ordered = [primary] + sorted((c for c in given if c != primary), key=lambda c: -scores[c])
        evidence = _evidence(self.rules, text)
        return Prediction(item_id, ordered, primary, round(float(primary_scores.get(primary, 0.0)), 4),
                          scores, evidence.matched_rule_ids)

    def describe(self) -> dict[str, object]:
        return {"model_version": MODEL_VERSION, **asdict(self.params)}
