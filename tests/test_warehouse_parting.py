"""The parting per churn event in fct_churn_events, as the glossary defines it from fct_feedback_items.

The rules on known notes are the dbt unit test ``churn_event_parting_summarises_the_parting_feedback``
(dbt_project/models/intermediate/classification/_classification__unit_tests.yml), which every
build runs. Here: on the session warehouse, an analyst reading the glossary and the feedback
items of an event finds the event's summary.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from churnkb.warehouse import query

SENTIMENT_ORDER = ("negative", "positive", "neutral")  # the first present wins (glossary)


def parting_items(config: Any) -> dict[str, list[dict[str, Any]]]:
    frame = query(config, """
        select items.churn_event_id, items.noted_at, items.parting_sentiment, items.valued,
               items.would_return, items.would_recommend, items.open_to_reference
        from fct_feedback_items as items
        inner join fct_churn_events as events on items.churn_event_id = events.churn_event_id
        where items.is_exit_interview or items.noted_at >= coalesce(events.notice_at, events.churned_at)""")
    by_event: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in frame.to_dicts():
        by_event[item["churn_event_id"]].append(item)
    return by_event


def latest_word(items: list[dict[str, Any]], key: str) -> bool | None:
    said = [i for i in items if i[key] is not None]
    if not said:
        return None
    moment = max(_moment(i) for i in said)  # an undated item is the oldest
    return all(i[key] for i in said if _moment(i) == moment)  # a tie that disagrees gives False


def _moment(item: dict[str, Any]) -> tuple[bool, datetime]:
    return (item["noted_at"] is not None, item["noted_at"] or datetime.min)


def expected_summary(items: list[dict[str, Any]]) -> dict[str, Any]:
    sentiments = {i["parting_sentiment"] for i in items}
    return {
        "parting_feedback_count": len(items),
        "parting_sentiment": next((s for s in SENTIMENT_ORDER if s in sentiments), None),
        "parting_valued": sorted({v for i in items for v in i["valued"] or []}),
        **{key: latest_word(items, key) for key in ("would_return", "would_recommend", "open_to_reference")},
    }


def test_every_churn_event_summarises_its_parting_feedback(built_warehouse):
    events = query(built_warehouse.config, """
        select churn_event_id, parting_feedback_count, parting_sentiment, parting_valued,
               would_return, would_recommend, open_to_reference
        from fct_churn_events""").to_dicts()
    items = parting_items(built_warehouse.config)
    assert len(items) >= 20  # the world has exit feedback to summarise
    mismatches = []
    for event in events:
        expected = expected_summary(items.get(event["churn_event_id"], []))
        actual = {key: event[key] for key in expected}
        if actual != expected:
            mismatches.append((event["churn_event_id"], actual, expected))
    assert mismatches == []


def test_events_with_parting_feedback_have_a_parting_sentiment(built_warehouse):
    rows = query(built_warehouse.config, """
        select parting_feedback_count > 0 as has_parting, parting_sentiment is not null as has_sentiment,
               count(*) as events
        from fct_churn_events group by all""").to_dicts()
    assert {(r["has_parting"], r["has_sentiment"]) for r in rows} <= {(True, True), (False, False)}
    assert any(r["has_parting"] for r in rows)
