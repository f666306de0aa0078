"""The warehouse's classification (dbt Python model) against ``churnkb classify`` and analysts' labels."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from churnkb.warehouse import query

REPO = Path(__file__).resolve().parents[1]
COMPARED = ("categories", "primary_category", "department", "confidence", "scores", "classified_by",
            "theme", "feature_requests", "competitors_switched_to", "competitors_mentioned",
            "parting_sentiment", "valued", "would_return", "would_recommend", "open_to_reference")


def cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "churnkb", *args, "--data-dir", str(data_dir)],
                          input=stdin, capture_output=True, text=True, cwd=REPO, timeout=300)


def warehouse_items(config: Any) -> list[dict[str, Any]]:
    frame = query(config, """
        select feedback_id as id, body_text, categories, category as primary_category, department,
               category_confidence as confidence, map_entries(category_scores) as scores, classified_by,
               theme, feature_requests, competitors_switched_to, competitors_mentioned,
               parting_sentiment, valued, would_return, would_recommend, open_to_reference
        from fct_feedback_items order by feedback_id""")
    items = frame.to_dicts()
    for item in items:
        item["scores"] = {entry["key"]: entry["value"] for entry in item["scores"]}
        for key in ("feature_requests", "competitors_switched_to", "competitors_mentioned", "valued"):
            item[key] = item[key] or []
    return items


def test_cli_and_warehouse_give_identical_results(built_warehouse):
    items = warehouse_items(built_warehouse.config)
    assert len(items) >= 30
    assert {i["classified_by"] for i in items} == {"model"}
    stdin = "".join(json.dumps({"id": i["id"], "text": i["body_text"]}) + "\n" for i in items)
    out = cli(built_warehouse.config.data_dir, "classify", stdin=stdin)
    assert out.returncode == 0, out.stderr
    from_cli = {r["id"]: r for r in map(json.loads, out.stdout.splitlines())}
    mismatches = [
        (i["id"], key, i[key], from_cli[i["id"]][key])
        for i in items for key in COMPARED if i[key] != from_cli[i["id"]][key]
    ]
    assert mismatches == []


def test_every_item_has_a_confidence_per_category(built_warehouse):
    for item in warehouse_items(built_warehouse.config):
        assert len(item["scores"]) == 10
        assert 0 < item["confidence"] <= 1
        assert item["primary_category"] == item["categories"][0]


def test_warehouse_fills_themes_and_the_parting(built_warehouse):
    items = [i for i in warehouse_items(built_warehouse.config) if (i["body_text"] or "").strip()]
    assert items
    assert all(i["theme"] and i["theme"] != i["body_text"] for i in items)
    assert all(i["parting_sentiment"] in ("positive", "neutral", "negative") for i in items)
