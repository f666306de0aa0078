"""API-shaped pages for the landing benchmark: Salesforce query pages of Opportunity records.

Pages are produced lazily as the JSON bytes an HTTP response would carry, so every contestant
starts from the same input and none of them gets the whole stream in memory for free.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

STAGES = ("Prospecting", "Negotiation/Review", "Closed Won", "Closed Lost")
REASONS = ("Price", "Missing Feature", "Competitor", "Poor Support", None, "Budget Cut")
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)


def opportunity(i: int, rng: random.Random) -> dict:
    stage = rng.choice(STAGES)
    modified = EPOCH + timedelta(seconds=i * 37)
    stamp = modified.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    record_id = f"006{i:012d}AAA"
    return {
        "attributes": {"type": "Opportunity",
                       "url": f"/services/data/v59.0/sobjects/Opportunity/{record_id}"},
        "Id": record_id,
        "Name": f"Account {i % 50000} Renewal FY{23 + i % 3}",
        "AccountId": f"001{i % 50000:012d}AAA",
        "StageName": stage,
        "IsClosed": stage.startswith("Closed"),
        "IsWon": stage == "Closed Won",
        "Amount": float(rng.randrange(1000, 250000)),
        "CloseDate": (modified + timedelta(days=30)).date().isoformat(),
        "Type": rng.choice(("Renewal", "New Business")),
        "Loss_Reason__c": rng.choice(REASONS) if stage == "Closed Lost" else None,
        "Competitor__c": None,
        "Description": "Renewal discussion notes " * rng.randrange(1, 6),
        "OwnerId": f"005{i % 40:012d}AAA",
        "IsDeleted": False,
        "CreatedDate": stamp,
        "LastModifiedDate": stamp,
        "SystemModstamp": stamp,
    }


def opportunity_pages(records: int, page_size: int = 2000, seed: int = 1) -> Iterator[bytes]:
    """``records`` Opportunity records in Salesforce query-response pages, as JSON bytes."""
    rng = random.Random(seed)
    for start in range(0, records, page_size):
        end = min(start + page_size, records)
        page = {
            "totalSize": records,
            "done": end >= records,
            "records": [opportunity(i, rng) for i in range(start, end)],
        }
        if end < records:
            page["nextRecordsUrl"] = f"/services/data/v59.0/query/01gBENCH-{end}"
        yield json.dumps(page).encode()
