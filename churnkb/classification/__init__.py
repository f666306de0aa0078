"""Exit-feedback classification: one implementation for the warehouse and ``churnkb classify``.

``classify_items`` is what both call: the learned model (TF-IDF n-grams + rule evidence, logistic
regression, see model.py), overridden by an analyst's label for the same item and text, plus the
extraction of themes, feature requests, competitors and the parting (extract.py).
"""

from __future__ import annotations

from churnkb.classification.corpus import CATEGORIES, LabeledNote, load_corpus
from churnkb.classification.model import ExitNoteClassifier, ModelParams, Prediction
from churnkb.classification.store import TrainedModel, load_model

__all__ = ["CATEGORIES", "ExitNoteClassifier", "LabeledNote", "ModelParams", "Prediction",
           "TrainedModel", "load_corpus", "load_model"]
