"""CRM write-back: one follow-up task per (account, trigger) for the account owner, never twice.

Twice-safety has two layers: the publication ledger (fast, local; an intent before each task and
the result after) and a look-up in the CRM for a task with the same tagged subject (so a lost
ledger, a run killed between create and result, or another churnkb install, cannot create a
duplicate).

Salesforce is reached through the sync's own ``SalesforceConnection``: the same re-login when the
session expires (SALESFORCE_CLIENT_ID/SECRET or USERNAME/PASSWORD), the same quota stop, the same
retries for reads.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from churnkb.connectors.clients import hubspot_client
from churnkb.connectors.salesforce import SalesforceConnection
from churnkb.publishers.ledger import Ledger
from churnkb.publishers.report import PublishReport
from churnkb.publishers.settings import Publishing

from churnkb.secrets import get_secret, redact

TASK_TO_COMPANY = 192  # HUBSPOT_DEFINED task -> company (HubSpot associations v4 reference)
DEFAULT_HUBSPOT_URL = "https://api.hubapi.com"


class WriteBackError(RuntimeError):
    """A task could not be written; the message says what to fix."""


def task_subject(candidate: dict[str, Any]) -> str:
    """Stable and unique per (account, trigger): the tag is what the CRM look-up matches."""
    return f"Re-engage: {candidate['trigger']} [churnkb {candidate['account_id']}]"


def task_body(row: dict[str, Any]) -> str:
    contact = " ".join(x for x in (row["contact"], f"<{row['contact_email']}>"
                                   if row["contact_email"] else "") if x)
    return (f"Suggested opening line: {row['suggested_opening_line']}\n"
            f"Why now: {row['detail'] or row['trigger']}\n"
            f"Contact: {contact or 'unknown'}\nReason they left: {row['reason']}\n"
            f"Created by churnkb (trigger {row['trigger']}).")


def write_back_tasks(settings: Publishing, ledger: Ledger, candidates: list[dict[str, Any]],
                     rows: list[dict[str, Any]], today: date,
                     sources: dict[str, Any] | None = None) -> PublishReport:
    """One task per (account, trigger). ``sources`` is the config's ``sources`` section: the
    Salesforce connection takes its api_version and retry settings from there, as the sync does."""
    report = PublishReport()
    options = settings.get("reengagement", {}) or {}
    due = today + timedelta(days=int(options.get("task_due_days") or 3))
    crms = _Crms((sources or {}).get("salesforce") or {})
    for candidate, row in zip(candidates, rows, strict=True):
        key = f"{candidate['account_id']}|{candidate['trigger']}"
        target_crm = _crm_for(candidate, options)
        period = today.isoformat()
        if target_crm is None:
            report.add(kind="writeback", department="customer_success", period=period,
                       channel=None, status="failed", target=key,
                       detail="account has neither a Salesforce nor a HubSpot id in dim_accounts")
            continue
        if ledger.was_sent("writeback", key, target_crm):
            report.add(kind="writeback", department="customer_success", period=period,
                       channel=target_crm, status="skipped", target=key,
                       detail="task already created (publication ledger)")
            continue
        attempt = ledger.begin("writeback", target_crm, [(key, "")])
        try:
            created, task_id = crms.ensure_task(target_crm, candidate, row, due)
        except Exception as exc:  # noqa: BLE001 - one account's failure never stops the rest
            # The intent stays open: the next run's CRM look-up finds a task this one created.
            report.add(kind="writeback", department="customer_success", period=period,
                       channel=target_crm, status="failed", target=key,
                       detail=crms.describe(exc, target_crm))
            continue
        ledger.finish(attempt, task_id)
        report.add(kind="writeback", department="customer_success", period=period,
                   channel=target_crm, status="sent" if created else "skipped",
                   target=f"{key} -> task {task_id}",
                   detail="" if created else "task already in the CRM")
    return report


def _crm_for(candidate: dict[str, Any], options: dict[str, Any]) -> str | None:
    preferred = options.get("write_back_crm") or "salesforce"
    available = [crm for crm, column in (("salesforce", "salesforce_account_id"),
                                         ("hubspot", "hubspot_company_id")) if candidate.get(column)]
    if preferred in available:
        return preferred
    return available[0] if available else None


class _Crms:
    """Clients built on first use, from the same environment variables the connectors read."""

    def __init__(self, salesforce_settings: dict[str, Any]) -> None:
        self._salesforce_settings = salesforce_settings
        self._salesforce: SalesforceConnection | None = None
        self._hubspot = None

    def describe(self, exc: BaseException, crm: str) -> str:
        if isinstance(exc, WriteBackError):
            return str(exc)
        secrets = [get_secret("SALESFORCE_ACCESS_TOKEN"), get_secret("HUBSPOT_ACCESS_TOKEN")]
        if self._salesforce is not None:
            secrets += self._salesforce.secrets()  # a renewed session id included
        status = getattr(exc, "status", None)
        text = redact(f"{type(exc).__name__}" + (f" (HTTP {status})" if status else "")
                      + f": {str(exc)[:300]}", secrets)
        return f"{crm} task write-back failed: {text}; check the {crm.upper()}_* settings"

    def ensure_task(self, crm: str, candidate: dict[str, Any], row: dict[str, Any],
                    due: date) -> tuple[bool, str]:
        """(created, task id): an existing task with the same subject is reused, not duplicated."""
        if crm == "salesforce":
            return self._salesforce_task(candidate, row, due)
        return self._hubspot_task(candidate, row, due)

    # -- Salesforce -----------------------------------------------------------------------------
    def _sf(self) -> SalesforceConnection:
        if self._salesforce is None:
            if not get_secret("SALESFORCE_INSTANCE_URL") or not get_secret(
                    "SALESFORCE_ACCESS_TOKEN"):
                raise WriteBackError("set SALESFORCE_INSTANCE_URL and SALESFORCE_ACCESS_TOKEN "
                                     "to write tasks to Salesforce")
            conn = SalesforceConnection(self._salesforce_settings)
            _reads_only_retried(conn)
            self._salesforce = conn
        return self._salesforce

    def _salesforce_task(self, candidate: dict[str, Any], row: dict[str, Any],
                         due: date) -> tuple[bool, str]:
        conn = self._sf()
        subject = task_subject(candidate)
        account_id = str(candidate["salesforce_account_id"])
        soql = (f"SELECT Id FROM Task WHERE WhatId = '{_soql_literal(account_id)}' "
                f"AND Subject = '{_soql_literal(subject)}'")
        # conn.sf.<...> inside the lambdas: after a re-login they must use the new session.
        found = conn.call(lambda: conn.sf.query(soql))
        if found.get("records"):
            return False, found["records"][0]["Id"]
        fields = {"Subject": subject, "WhatId": account_id, "ActivityDate": due.isoformat(),
                  "Status": "Not Started", "Priority": _sf_priority(row["priority"]),
                  "Description": task_body(row)}
        owner = _owner_in(candidate, "salesforce_owner_id", lambda v: v.startswith("005"))
        if owner:
            fields["OwnerId"] = owner
        result = conn.call(lambda: conn.sf.Task.create(fields))
        return True, str(result["id"])

    # -- HubSpot --------------------------------------------------------------------------------
    def _hs(self):  # noqa: ANN202
        if self._hubspot is None:
            token = get_secret("HUBSPOT_ACCESS_TOKEN")
            if not token:
                raise WriteBackError("set HUBSPOT_ACCESS_TOKEN (and HUBSPOT_BASE_URL for a "
                                     "non-default host) to write tasks to HubSpot")
            base = get_secret("HUBSPOT_BASE_URL") or DEFAULT_HUBSPOT_URL
            client = hubspot_client(base, token)
            self._hubspot = (client.crm.objects.tasks.basic_api,
                             client.crm.objects.tasks.search_api)
        return self._hubspot

    def _hubspot_task(self, candidate: dict[str, Any], row: dict[str, Any],
                      due: date) -> tuple[bool, str]:
        from hubspot.crm.objects.tasks import (
            Filter,
            FilterGroup,
            PublicObjectSearchRequest,
            SimplePublicObjectInputForCreate,
        )

        basic_api, search_api = self._hs()
        subject = task_subject(candidate)
        search = PublicObjectSearchRequest(
            filter_groups=[FilterGroup(filters=[
                Filter(property_name="hs_task_subject", operator="EQ", value=subject)])],
            properties=["hs_task_subject"], limit=10)
        for existing in search_api.do_search(public_object_search_request=search).results:
            if (existing.properties or {}).get("hs_task_subject") == subject:
                return False, str(existing.id)
        properties = {
            "hs_task_subject": subject,
            "hs_task_body": task_body(row),
            "hs_task_status": "NOT_STARTED",
            "hs_task_priority": "HIGH" if _is_high(row["priority"]) else "MEDIUM",
            "hs_task_type": "TODO",
            "hs_timestamp": datetime.combine(due, time(9)).isoformat() + "Z",
        }
        owner = _owner_in(candidate, "hubspot_owner_id", str.isdigit)
        if owner:
            properties["hubspot_owner_id"] = owner
        associations = [{"to": {"id": str(candidate["hubspot_company_id"])},
                         "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                    "associationTypeId": TASK_TO_COMPANY}]}]
        created = basic_api.create(simple_public_object_input_for_create=(
            SimplePublicObjectInputForCreate(properties=properties, associations=associations)))
        return True, str(created.id)


def _reads_only_retried(conn: SalesforceConnection) -> None:
    """Keep the sync's retries for reads but never resend a create: a POST that got a 500 may
    have created the task, and a blind resend would create a second one. A create that fails is
    reported; the next run's look-up by subject finds it if it was made after all. (An expired
    session is different: the 401 means nothing was created, so ``conn.call`` re-logs in and
    tries again.)"""
    for adapter in conn.sf.session.adapters.values():
        retry = getattr(adapter, "max_retries", None)
        if retry is not None and hasattr(retry, "new"):
            adapter.max_retries = retry.new(allowed_methods=frozenset({"GET", "HEAD"}))


def _owner_in(candidate: dict[str, Any], column: str, looks_right) -> str | None:  # noqa: ANN001
    """The account owner in this CRM: the CRM-specific column, else the churn event's owner_id
    when it has this CRM's id shape (Salesforce User ids start 005; HubSpot owner ids are digits)."""
    if candidate.get(column):
        return str(candidate[column])
    owner = str(candidate.get("owner_id") or "")
    return owner if owner and looks_right(owner) else None


def _soql_literal(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _is_high(priority: object) -> bool:
    return str(priority).lower() in {"1", "high"}


def _sf_priority(priority: object) -> str:
    return "High" if _is_high(priority) else "Normal"
