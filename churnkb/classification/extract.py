"""Themes and specifics read from the text (filled in by the extraction step)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Vocabulary:
    features: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Extraction:
    theme: str | None = None
    feature_requests: list[str] = field(default_factory=list)
    competitors_switched_to: list[str] = field(default_factory=list)
    competitors_mentioned: list[str] = field(default_factory=list)
    parting_sentiment: str | None = None
    valued: list[str] = field(default_factory=list)
    would_return: bool | None = None
    would_recommend: bool | None = None
    open_to_reference: bool | None = None


def feature_vocabulary(configured: dict[str, list[str]]) -> Vocabulary:
    return Vocabulary({name: tuple(k.lower() for k in keywords) for name, keywords in configured.items()})


def extract(text: str, categories: list[str], vocabulary: Vocabulary) -> Extraction:
    return Extraction()
