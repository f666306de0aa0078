"""Synthetic CRM world for the sandbox servers.

``generate_world(accounts, seed, now)`` first plans every customer's story (sandbox.plan), then
writes the Salesforce and HubSpot records that express it, and keeps the facts in
``World.truth`` (sandbox.truth.GroundTruth) so tests can compare what the pipeline derived with
what really happened. Deterministic for (accounts, seed, now): one ``random.Random(seed)``
drives every choice and ``now`` defaults to a fixed date, never the wall clock.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from churnkb.sandbox import phrases
from churnkb.sandbox.ids import HubSpotIds, SalesforceIds
from churnkb.sandbox.notes import compose_exit_note
from churnkb.sandbox.plan import (
    HISTORY_DAYS,
    NameBook,
    Person,
    Story,
    email_for,
    plan_customer,
)
from churnkb.sandbox.truth import (
    AT_RISK,
    CHURNED,
    MISSING,
    RETAINED,
    SAVED,
    CustomerTruth,
    FeedbackText,
    GroundTruth,
    MovedChampion,
    OrphanRecord,
)

DEFAULT_NOW = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
SALESFORCE_OBJECTS = ("User", "Account", "Contact", "Opportunity", "Case", "Task", "Note", "Event",
                      "ContentNote", "ContentDocumentLink")
# Where a Lightning org's reps put the exit interview (share of Salesforce exit notes): a
# Log a Call task, a Lightning note (ContentNote), a meeting (Event), the lost opportunity's
# description, or a classic Note in the few orgs that still use them.
SALESFORCE_EXIT_NOTE_PLACES = (("salesforce_task", 0.35), ("salesforce_content_note", 0.25),
                               ("salesforce_event", 0.15),
                               ("salesforce_opportunity_description", 0.15),
                               ("salesforce_note", 0.10))
SF_SOURCE_OBJECTS = {"salesforce_task": "Task", "salesforce_content_note": "ContentNote",
                     "salesforce_event": "Event", "salesforce_opportunity_description": "Opportunity",
                     "salesforce_note": "Note"}
HUBSPOT_OBJECTS = ("companies", "contacts", "deals", "tickets", "notes", "tasks", "feedback_submissions",
                   "calls", "meetings", "emails")
HUBSPOT_ENGAGEMENTS = ("notes", "tasks", "feedback_submissions", "calls", "meetings", "emails")
# Where a HubSpot exit interview is logged (most are logged as the call or meeting they were).
HS_EXIT_INTERVIEW_OBJECTS = (("notes", 0.4), ("calls", 0.35), ("meetings", 0.25))
HS_DEAL_DESCRIPTION_SHARE = 0.45  # lost renewals whose deal description sums up why
HS_EXTRA_FIELD_SHARE = 0.3  # lost renewals with the portal's own long-text property filled
HS_EXTRA_TEXT_PROPERTY = "churn_notes"  # that property (named in the config's extra_text_properties)
HS_EXIT_EMAIL_SHARE = 0.35  # churners who also wrote why in their cancellation e-mail
HS_MULTI_CATEGORY_SHARE = 0.3  # cancellation tickets with a second checkbox value
HS_RETYPED_REASON_SHARE = 0.5  # lost deals whose rep typed the reason in their own words
HS_EPOCH_DATE_SHARE = 0.5  # date properties sent as epoch milliseconds rather than ISO dates
CALL_CONNECTED = "f240bbac-87c9-4f6e-bf70-924b57d47db7"  # HubSpot's "Connected" disposition id
RANDOM_DELETE_SHARE = 0.03  # ordinary tasks, support cases, notes and non-champion contacts
MOVED_CHAMPION_SHARE = 0.2  # of churned, not-deleted customers

# HUBSPOT_DEFINED association type ids (HubSpot associations v4 reference), one direction per pair.
ASSOC = {
    ("contacts", "companies"): 1,
    ("deals", "companies"): 5,
    ("deals", "contacts"): 3,
    ("tickets", "companies"): 339,
    ("tickets", "contacts"): 16,
    ("tickets", "deals"): 28,
    ("notes", "companies"): 190,
    ("notes", "contacts"): 202,
    ("notes", "deals"): 214,
    ("notes", "tickets"): 228,
    ("tasks", "companies"): 192,
    ("tasks", "contacts"): 204,
    ("tasks", "deals"): 216,
    ("calls", "contacts"): 194, ("calls", "companies"): 182, ("calls", "deals"): 206,
    ("meetings", "contacts"): 200, ("meetings", "companies"): 188, ("meetings", "deals"): 212,
    ("emails", "contacts"): 198, ("emails", "companies"): 186, ("emails", "deals"): 210,
}
SF_OPEN_STAGES = (("Qualification", 10.0), ("Needs Analysis", 20.0), ("Proposal/Price Quote", 75.0),
                  ("Negotiation/Review", 90.0))
HS_OPEN_STAGES = (("qualifiedtobuy", "0.4"), ("presentationscheduled", "0.6"), ("contractsent", "0.9"))

__all__ = ["DEFAULT_NOW", "GroundTruth", "World", "generate_world"]


@dataclass
class World:
    """Everything the two sandbox CRMs serve, plus the truth behind it (docs/architecture.md).

    - ``salesforce``: object API name -> records as the REST API returns them (minus
      ``attributes``), deleted ones with ``IsDeleted: True``.
    - ``hubspot_objects``: object type -> ``{"id", "properties", "createdAt", "updatedAt",
      "archived", "archivedAt"}`` with every property value a string or None.
    - ``hubspot_associations``: ``(from_type, from_id, to_type, to_id, type_id)``, one direction.
    - ``hubspot_owners``, ``hubspot_pipelines`` (``deals``, ``tickets``) as the API returns them.
    """

    salesforce: dict[str, list[dict]]
    hubspot_objects: dict[str, list[dict]]
    hubspot_associations: list[tuple[str, str, str, str, int]]
    hubspot_owners: list[dict]
    hubspot_pipelines: dict[str, list[dict]]
    truth: GroundTruth
    now: datetime = DEFAULT_NOW
    seed: int = 7
    accounts: int = 200

    def record_counts(self) -> dict[str, int]:
        """Records per object, e.g. ``{"salesforce.Account": 130, "hubspot.deals": 210, ...}``."""
        counts = {f"salesforce.{k}": len(v) for k, v in self.salesforce.items()}
        counts |= {f"hubspot.{k}": len(v) for k, v in self.hubspot_objects.items()}
        counts["hubspot.associations"] = len(self.hubspot_associations)
        return counts


def generate_world(accounts: int = 200, seed: int = 7, now: datetime | None = None) -> World:
    """Build a world of ``accounts`` real-world customers with ~3 years of history before ``now``.

    ``now`` defaults to DEFAULT_NOW (2026-11-01T12:00:00Z); a naive ``now`` is taken as UTC.
    """
    if accounts < 0:
        raise ValueError(f"accounts must be >= 0, got {accounts}")
    now = DEFAULT_NOW if now is None else now
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    return _WorldBuilder(accounts, seed, now).build()


# --- value formats -----------------------------------------------------------------------------


# isoformat() is several times faster than strftime(); every datetime here is UTC.
def sf_datetime(moment: datetime) -> str:
    """``2024-04-01T17:04:12.000+0000``: Salesforce keeps whole seconds."""
    return moment.isoformat(timespec="seconds")[:19] + ".000+0000"


def hs_datetime(moment: datetime) -> str:
    """``2024-04-01T17:04:12.553Z``."""
    return moment.isoformat(timespec="milliseconds")[:23] + "Z"


def hs_value(value: object) -> str | None:
    """HubSpot sends every property value as a string (or null)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, datetime):
        return hs_datetime(value)
    if isinstance(value, date):
        return hs_datetime(datetime.combine(value, time(), tzinfo=UTC))
    return str(value)


def _camel_domain(name: str, domain: str) -> str:
    """``www.BlueHarborLogistics.com`` style spelling of a canonical domain."""
    stem, _, tld = domain.partition(".")
    camel = "".join(w[:1].upper() + w[1:] for w in name.split() if w.isalnum())
    return f"{camel}.{tld}" if camel.lower() == stem else domain


@dataclass
class _Ids:
    """Record ids of one customer, filled while its records are written."""

    sf_account: str | None = None
    hs_company: str | None = None
    sf_contacts: list[str] = field(default_factory=list)
    hs_contacts: list[str] = field(default_factory=list)
    notice: dict[str, str] = field(default_factory=dict)  # system -> Case / ticket id
    renewal: dict[str, str] = field(default_factory=dict)  # system -> lost/open renewal id


class _WorldBuilder:
    def __init__(self, accounts: int, seed: int, now: datetime) -> None:
        self.accounts, self.seed, self.now = accounts, seed, now
        self.rng = random.Random(seed)
        # HubSpot's extra feedback places draw from their own stream, so adding them leaves
        # every other generated record as it was for a seed.
        self.hs_rng = random.Random(seed * 7919 + 17)
        # Salesforce's exit-note places draw from their own stream too.
        self.placement_rng = random.Random(seed * 7919 + 13)
        # Reps' own wording of a HubSpot loss reason draws from its own stream as well.
        self.retype_rng = random.Random(seed * 7919 + 29)
        self.sf_ids, self.hs_ids = SalesforceIds(), HubSpotIds()
        self.sf: dict[str, list[dict]] = {name: [] for name in SALESFORCE_OBJECTS}
        self.hs: dict[str, list[dict]] = {name: [] for name in HUBSPOT_OBJECTS}
        self.associations: list[tuple[str, str, str, str, int]] = []
        self.case_numbers = iter(range(1001, 10**8))
        self.sf_users: list[str] = []
        self.hs_owners: list[dict] = []

    # --- orchestration ---------------------------------------------------------------------

    def build(self) -> World:
        self._owners()
        names = NameBook(self.rng)
        stories = [plan_customer(self.rng, i, self.now, names) for i in range(self.accounts)]
        customers = [self._customer(story) for story in stories]
        moved = self._moved_champions(stories, customers)
        orphans = self._orphans(stories, customers, moved)
        return World(
            salesforce=self.sf,
            hubspot_objects=self.hs,
            hubspot_associations=self.associations,
            hubspot_owners=self.hs_owners,
            hubspot_pipelines=_pipelines(self.now),
            truth=GroundTruth(now=self.now, customers=customers, moved_champions=moved,
                              orphans=orphans),
            now=self.now,
            seed=self.seed,
            accounts=self.accounts,
        )

    def _customer(self, story: Story) -> CustomerTruth:
        ids = _Ids()
        if "salesforce" in story.systems:
            self._salesforce_customer(story, ids)
        if "hubspot" in story.systems:
            self._hubspot_customer(story, ids)
        truth = CustomerTruth(
            key=story.key,
            name=story.name,
            domain=story.domain,
            salesforce_account_id=ids.sf_account,
            hubspot_company_id=ids.hs_company,
            status=story.status,
            home_system=story.home,
            created_at=story.created_at,
            churned=story.status == CHURNED,
            open_save_opportunity=story.status == AT_RISK,
            notice_at=story.notice_at,
            churned_at=story.effective_at if story.status in (CHURNED, AT_RISK) else None,
            primary_reason=story.reasons[0] if story.reasons else None,
            reasons=story.reasons,
            deleted=story.deleted,
            amount_lost=story.annual_amount if story.status in (CHURNED, AT_RISK) else None,
            competitor=story.competitor if "competitor" in story.reasons else None,
            checklist=dict(story.checklist),
        )
        if story.status != RETAINED:
            self._churn_story(story, ids, truth)
        if "hubspot" in story.systems:
            truth.nps_scores = self._nps(story, ids)
        return truth

    # --- owners and pipelines --------------------------------------------------------------

    def _owners(self) -> None:
        since = self.now - timedelta(days=HISTORY_DAYS + 120)
        for n, (first, last) in enumerate(phrases.OWNERS):
            email = f"{first}.{last}@churnkb-sandbox.example".lower()
            user_id = self.sf_ids.next("User")
            self.sf_users.append(user_id)
            self.sf["User"].append({
                "Id": user_id, "Username": email, "Name": f"{first} {last}", "FirstName": first,
                "LastName": last, "Email": email, "Title": "Customer Success Manager", "IsActive": True,
                "UserType": "Standard", "CreatedDate": sf_datetime(since),
                "LastModifiedDate": sf_datetime(since), "SystemModstamp": sf_datetime(since),
            })
            self.hs_owners.append({
                "id": self.hs_ids.next("owners"), "email": email, "firstName": first, "lastName": last,
                "userId": 9_200_000 + n, "createdAt": hs_datetime(since), "updatedAt": hs_datetime(since),
                "archived": False,
            })

    # --- record helpers --------------------------------------------------------------------

    def _sf(self, sobject: str, created: datetime, modified: datetime | None, story: Story | None,
            fields: dict, deleted: bool = False) -> str:
        """Append one Salesforce record; a deleted customer's records are all deleted."""
        record_id = self.sf_ids.next(sobject)
        modified = min(max(modified or created, created), self.now)
        is_deleted = deleted or (story is not None and story.deleted)
        if is_deleted:
            modified = max(modified, self._deleted_at(story))
        stamp = sf_datetime(modified)
        self.sf[sobject].append({"Id": record_id, **fields, "IsDeleted": is_deleted,
                                 "CreatedDate": sf_datetime(created), "LastModifiedDate": stamp,
                                 "SystemModstamp": stamp})
        return record_id

    def _hs(self, object_type: str, created: datetime, modified: datetime | None, story: Story | None,
            properties: dict, archived: bool = False) -> str:
        """Append one HubSpot record with string properties and the v3 envelope."""
        record_id = self.hs_ids.next(object_type)
        modified = min(max(modified or created, created), self.now)
        props = {name: hs_value(value) for name, value in properties.items()}
        created_prop = "hs_createdate" if object_type in HUBSPOT_ENGAGEMENTS else "createdate"
        modified_prop = "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
        props[created_prop] = hs_datetime(created)
        props[modified_prop] = hs_datetime(modified)
        props["hs_object_id"] = record_id
        is_archived = archived or (story is not None and story.deleted)
        archived_at = None
        if is_archived:  # archiving moves archivedAt, not hs_lastmodifieddate
            archived_at = hs_datetime(max(self._deleted_at(story), modified))
        self.hs[object_type].append({"id": record_id, "properties": props, "createdAt": hs_datetime(created),
                                     "updatedAt": hs_datetime(modified), "archived": is_archived,
                                     "archivedAt": archived_at})
        return record_id

    def _deleted_at(self, story: Story | None) -> datetime:
        """Deletions happened in the last 10 days, so deleted rows are still in the Recycle Bin."""
        if story is not None and story.deleted_at is not None:
            return story.deleted_at
        return self.now - timedelta(days=self.rng.uniform(1, 10))

    def _associate(self, from_type: str, from_id: str, to_type: str, to_id: str | None) -> None:
        if to_id is not None:
            self.associations.append((from_type, from_id, to_type, to_id, ASSOC[(from_type, to_type)]))

    def _randomly_deleted(self) -> bool:
        return self.rng.random() < RANDOM_DELETE_SHARE

    def _until(self, story: Story) -> datetime:
        """End of the customer's ordinary life: churn date for churners, else now."""
        if story.status == CHURNED:
            return min(story.effective_at, self.now)
        return self.now

    def _renewal_dates(self, story: Story) -> list[datetime]:
        """Anniversaries renewed (won) before the churn story or now."""
        stop = story.notice_at - timedelta(days=30) if story.status == CHURNED else self.now
        dates, year = [], 1
        while (anniversary := story.created_at + timedelta(days=365 * year)) < stop:
            dates.append(anniversary)
            year += 1
        return dates

    # --- Salesforce --------------------------------------------------------------------------

    def _salesforce_customer(self, story: Story, ids: _Ids) -> None:
        rng = self.rng
        owner = self.sf_users[story.owner_index]
        both = len(story.systems) == 2
        name = f"{story.name} {rng.choice(phrases.LEGAL_SUFFIXES)}" if both and rng.random() < 0.6 else story.name
        website = self._sf_website(story, both)
        status = {RETAINED: "Active", SAVED: "Active", AT_RISK: "Cancellation Requested", CHURNED: "Churned"}
        churn_date = story.effective_at.date().isoformat() if story.status == CHURNED else None
        modified = story.effective_at if story.status == CHURNED else story.created_at + timedelta(days=rng.randint(0, 400))
        ids.sf_account = self._sf("Account", story.created_at, modified, story, {
            "Name": name, "Type": rng.choice(("Customer - Direct", "Customer - Direct", "Customer - Channel")),
            "Industry": story.industry, "Website": website, "OwnerId": owner, "BillingCountry": story.country,
            "NumberOfEmployees": rng.choice((12, 45, 120, 350, 800, 2500)),
            "AnnualRevenue": float(rng.choice((1, 5, 20, 80, 300)) * 1_000_000),
            "Customer_Status__c": status[story.status], "Churn_Date__c": churn_date,
        })
        for n, person in enumerate(story.people):
            deleted = n > 0 and self._randomly_deleted()
            ids.sf_contacts.append(self._sf_contact(story, ids.sf_account, person, story.created_at, deleted))
        self._sf_opportunity_history(story, ids)
        self._sf_support_cases(story, ids)
        self._sf_ordinary_tasks(story, ids, share=1.0 if story.home == "salesforce" else 0.3)

    def _sf_website(self, story: Story, both: bool) -> str:
        rng = self.rng
        if both:
            camel = _camel_domain(story.name, story.domain)
            return rng.choice((f"www.{camel}", f"https://www.{camel}", f"http://{story.domain}/",
                               f"https://www.{story.domain}"))
        return rng.choice((story.domain, f"www.{story.domain}", f"https://{story.domain}"))

    def _sf_contact(self, story: Story, account_id: str, person: Person, created: datetime,
                    deleted: bool = False) -> str:
        return self._sf("Contact", created, created + timedelta(days=self.rng.randint(0, 200)), story, {
            "AccountId": account_id, "FirstName": person.first, "LastName": person.last,
            "Name": person.full_name, "Email": person.email, "Title": person.title,
            "OwnerId": self.sf_users[story.owner_index], "HasOptedOutOfEmail": False,
        }, deleted=deleted)

    def _sf_opportunity(self, story: Story, ids: _Ids, *, name: str, opp_type: str, stage: str,
                        amount: float, close: date, created: datetime, modified: datetime,
                        probability: float, loss_reason: str | None = None,
                        competitor: str | None = None) -> str:
        closed = stage in ("Closed Won", "Closed Lost")
        return self._sf("Opportunity", created, modified, story, {
            "Name": name, "AccountId": ids.sf_account, "StageName": stage, "Amount": amount,
            "CloseDate": close.isoformat(), "IsClosed": closed, "IsWon": stage == "Closed Won",
            "Probability": probability, "Type": opp_type, "OwnerId": self.sf_users[story.owner_index],
            "Loss_Reason__c": loss_reason, "Competitor__c": competitor,
            "Description": None,
        })

    def _sf_opportunity_history(self, story: Story, ids: _Ids) -> None:
        rng, amount = self.rng, story.annual_amount
        won = dict(stage="Closed Won", probability=100.0)
        start = story.created_at
        self._sf_opportunity(story, ids, name=f"{story.name} - New Business", opp_type="New Business",
                             amount=amount, close=start.date(), created=start - timedelta(days=rng.randint(20, 90)),
                             modified=start, **won)
        for anniversary in self._renewal_dates(story):
            self._sf_opportunity(story, ids, name=f"{story.name} - Renewal {anniversary.year}", opp_type="Renewal",
                                 amount=amount, close=anniversary.date(),
                                 created=anniversary - timedelta(days=60), modified=anniversary, **won)
        if rng.random() < 0.15:
            upgrade = start + timedelta(days=rng.randint(60, 300))
            if upgrade < self._until(story):
                self._sf_opportunity(story, ids, name=f"{story.name} - Upgrade", opp_type="Existing Customer - Upgrade",
                                     amount=round(amount * 0.2, -1), close=upgrade.date(),
                                     created=upgrade - timedelta(days=30), modified=upgrade, **won)
        if story.status in (RETAINED, SAVED):
            self._sf_open_renewal(story, ids)

    def _sf_open_renewal(self, story: Story, ids: _Ids) -> None:
        """Retained customers with an anniversary in the next 120 days have an open renewal."""
        upcoming = story.created_at + timedelta(days=365 * (len(self._renewal_dates(story)) + 1))
        if upcoming - self.now > timedelta(days=120) or upcoming < self.now:
            return
        stage, probability = self.rng.choice(SF_OPEN_STAGES)
        self._sf_opportunity(story, ids, name=f"{story.name} - Renewal {upcoming.year}", opp_type="Renewal",
                             amount=story.annual_amount, close=upcoming.date(), stage=stage,
                             created=upcoming - timedelta(days=90), modified=self.now - timedelta(days=2),
                             probability=probability)

    def _sf_support_cases(self, story: Story, ids: _Ids) -> None:
        for opened in self._support_case_times(story):
            rng = self.rng
            closed = rng.random() < 0.85 and opened < self.now - timedelta(days=7)
            closed_at = opened + timedelta(hours=rng.randint(2, 240)) if closed else None
            self._sf("Case", opened, closed_at or opened, story, {
                "CaseNumber": f"{next(self.case_numbers):08d}", "AccountId": ids.sf_account,
                "ContactId": rng.choice(ids.sf_contacts), "Subject": rng.choice(phrases.SUPPORT_SUBJECTS),
                "Description": "Customer reported the issue by email.", "Status": "Closed" if closed else
                rng.choice(("New", "Working", "Escalated")), "IsClosed": closed,
                "ClosedDate": sf_datetime(closed_at) if closed_at else None,
                "Priority": rng.choice(("High", "Medium", "Low")), "Origin": rng.choice(("Email", "Web", "Phone")),
                "Type": rng.choice(phrases.SUPPORT_CASE_TYPES), "Reason": None,
                "Cancellation_Reason__c": None, "Cancellation_Effective_Date__c": None, "Outcome__c": None,
                "OwnerId": self.sf_users[story.owner_index],
            }, deleted=self._randomly_deleted())

    def _support_case_times(self, story: Story) -> list[datetime]:
        """A few cases over the account's life, plus a burst before notices with service/product reasons."""
        rng = self.rng
        life_days = max((self._until(story) - story.created_at).days, 1)
        times = [story.created_at + timedelta(days=rng.uniform(0, life_days)) for _ in range(rng.randint(0, 3))]
        if story.notice_at and {"service", "product"} & set(story.reasons):
            times += [story.notice_at - timedelta(days=rng.uniform(5, 90)) for _ in range(rng.randint(2, 4))]
        return sorted(t for t in times if t < self.now)

    def _sf_ordinary_tasks(self, story: Story, ids: _Ids, share: float) -> None:
        for due_at in self._ordinary_activity_times(story, share):
            rng = self.rng
            subject, subtype = rng.choice(phrases.ORDINARY_TASKS)
            done = due_at < self.now
            completed = due_at + timedelta(hours=rng.uniform(0, 20)) if done else None
            completed = min(completed, self.now) if completed else None
            self._sf("Task", due_at - timedelta(days=rng.randint(1, 10)), completed, story, self._sf_task_fields(
                story, ids, subject=subject, subtype=subtype, due=due_at.date(), completed=completed,
                what_id=ids.sf_account, who_id=rng.choice(ids.sf_contacts)), deleted=self._randomly_deleted())

    def _ordinary_activity_times(self, story: Story, share: float) -> list[datetime]:
        """Touches every 45-120 days; churners go quiet ~4 months before their notice."""
        rng = self.rng
        end = story.notice_at - timedelta(days=120) if story.status == CHURNED else self.now + timedelta(days=20)
        times, moment = [], story.created_at + timedelta(days=rng.randint(5, 30))
        while moment < end:
            if rng.random() < share:
                times.append(moment)
            moment += timedelta(days=rng.randint(45, 120))
        return times

    def _sf_task_fields(self, story: Story, ids: _Ids, *, subject: str, subtype: str, due: date,
                        completed: datetime | None, what_id: str | None, who_id: str | None) -> dict:
        return {
            "Subject": subject, "Status": "Completed" if completed else "Not Started",
            "Priority": "Normal", "ActivityDate": due.isoformat(), "WhoId": who_id, "WhatId": what_id,
            "AccountId": ids.sf_account, "OwnerId": self.sf_users[story.owner_index], "Description": None,
            "IsClosed": completed is not None, "TaskSubtype": subtype, "Type": subtype if subtype != "Task" else None,
            "CompletedDateTime": sf_datetime(completed) if completed else None, "IsArchived": False,
            "CallDisposition": None,
        }

    # --- HubSpot -----------------------------------------------------------------------------

    def _hubspot_customer(self, story: Story, ids: _Ids) -> None:
        rng = self.rng
        owner = self.hs_owners[story.owner_index]["id"]
        both = len(story.systems) == 2
        domain = story.domain
        if both:
            domain = rng.choice((story.domain, story.domain.upper(), f"{story.domain}.", story.domain))
        lifecycle = "other" if story.status == CHURNED else "customer"
        modified = story.effective_at if story.status == CHURNED else story.created_at + timedelta(days=rng.randint(0, 400))
        ids.hs_company = self._hs("companies", story.created_at, modified, story, {
            "name": story.name, "domain": domain, "industry": phrases.HUBSPOT_INDUSTRIES[story.industry],
            "lifecyclestage": lifecycle, "hubspot_owner_id": owner, "country": story.country,
            "numberofemployees": rng.choice((12, 45, 120, 350, 800, 2500)),
            "annualrevenue": rng.choice((1, 5, 20, 80, 300)) * 1_000_000,
        })
        for n, person in enumerate(story.people):
            deleted = n > 0 and self._randomly_deleted()
            ids.hs_contacts.append(self._hs_contact(story, ids.hs_company, person, story.created_at, deleted))
        self._hs_deal_history(story, ids)
        self._hs_support_tickets(story, ids)
        self._hs_ordinary_tasks(story, ids, share=1.0 if story.home == "hubspot" else 0.3)
        self._hs_ordinary_notes(story, ids)
        self._hs_ordinary_engagements(story, ids)

    def _hs_contact(self, story: Story, company_id: str, person: Person, created: datetime,
                    deleted: bool = False) -> str:
        contact_id = self._hs("contacts", created, created + timedelta(days=self.rng.randint(0, 200)), story, {
            "email": person.email, "firstname": person.first, "lastname": person.last, "jobtitle": person.title,
            "lifecyclestage": "customer", "hs_email_optout": False, "associatedcompanyid": company_id,
            "hubspot_owner_id": self.hs_owners[story.owner_index]["id"],
        }, archived=deleted)
        self._associate("contacts", contact_id, "companies", company_id)
        return contact_id

    def _hs_deal(self, story: Story, ids: _Ids, *, name: str, deal_type: str, stage: str,
                 probability: str, amount: float, close: date, created: datetime, modified: datetime,
                 loss_reason: str | None = None, description: str | None = None,
                 churn_notes: str | None = None) -> str:
        closed = stage in ("closedwon", "closedlost")
        deal_id = self._hs("deals", created, modified, story, {
            "dealname": name, "amount": amount, "closedate": close, "dealstage": stage, "pipeline": "default",
            "dealtype": deal_type, "closed_lost_reason": loss_reason,
            "closed_won_reason": None, "hubspot_owner_id": self.hs_owners[story.owner_index]["id"],
            "hs_is_closed": closed, "hs_is_closed_won": stage == "closedwon",
            "hs_is_closed_lost": stage == "closedlost", "hs_deal_stage_probability": probability,
            "description": description, HS_EXTRA_TEXT_PROPERTY: churn_notes,
        })
        self._associate("deals", deal_id, "companies", ids.hs_company)
        self._associate("deals", deal_id, "contacts", ids.hs_contacts[0])
        return deal_id

    def _hs_deal_history(self, story: Story, ids: _Ids) -> None:
        rng, amount, start = self.rng, story.annual_amount, story.created_at
        won = dict(stage="closedwon", probability="1.0")
        self._hs_deal(story, ids, name=f"{story.name} - New Business", deal_type="newbusiness", amount=amount,
                      close=start.date(), created=start - timedelta(days=rng.randint(20, 90)), modified=start, **won)
        for anniversary in self._renewal_dates(story):
            self._hs_deal(story, ids, name=f"{story.name} Renewal {anniversary.year}", deal_type="existingbusiness",
                          amount=amount, close=anniversary.date(), created=anniversary - timedelta(days=60),
                          modified=anniversary, **won)
        if story.status in (RETAINED, SAVED):
            upcoming = start + timedelta(days=365 * (len(self._renewal_dates(story)) + 1))
            if self.now <= upcoming <= self.now + timedelta(days=120):
                stage, probability = rng.choice(HS_OPEN_STAGES)
                self._hs_deal(story, ids, name=f"{story.name} Renewal {upcoming.year}", deal_type="existingbusiness",
                              amount=amount, close=upcoming.date(), created=upcoming - timedelta(days=90),
                              modified=self.now - timedelta(days=2), stage=stage, probability=probability)

    def _hs_ticket(self, story: Story, ids: _Ids, *, opened: datetime, subject: str, content: str,
                   category: str, stage: str, closed_at: datetime | None, priority: str,
                   extra: dict | None = None, deleted: bool = False) -> str:
        ticket_id = self._hs("tickets", opened, closed_at or opened, story, {
            "subject": subject, "content": content, "hs_pipeline": "0", "hs_pipeline_stage": stage,
            "hs_ticket_category": category, "hs_ticket_priority": priority, "closed_date": closed_at,
            "source_type": "EMAIL", "hubspot_owner_id": self.hs_owners[story.owner_index]["id"],
            "cancellation_reason": None, "cancellation_effective_date": None, "cancellation_outcome": None,
            **(extra or {}),
        }, archived=deleted)
        self._associate("tickets", ticket_id, "companies", ids.hs_company)
        self._associate("tickets", ticket_id, "contacts", self.rng.choice(ids.hs_contacts))
        return ticket_id

    def _hs_support_tickets(self, story: Story, ids: _Ids) -> None:
        for opened in self._support_case_times(story):
            rng = self.rng
            closed = rng.random() < 0.85 and opened < self.now - timedelta(days=7)
            self._hs_ticket(story, ids, opened=opened, subject=rng.choice(phrases.SUPPORT_SUBJECTS),
                            content="Customer reported the issue by email.",
                            category=rng.choice(("PRODUCT_ISSUE", "BILLING_ISSUE", "GENERAL_INQUIRY",
                                                 "FEATURE_REQUEST")),
                            stage="4" if closed else rng.choice(("1", "2", "3")),
                            closed_at=opened + timedelta(hours=rng.randint(2, 240)) if closed else None,
                            priority=rng.choice(("HIGH", "MEDIUM", "LOW")), deleted=self._randomly_deleted())

    def _hs_task(self, story: Story, ids: _Ids, *, subject: str, task_type: str, due: date,
                 completed: datetime | None, created: datetime, deal_id: str | None = None,
                 body: str = "", deleted: bool = False) -> str:
        task_id = self._hs("tasks", created, completed or created, story, {
            "hs_task_subject": subject, "hs_task_body": body,
            "hs_task_status": "COMPLETED" if completed else "NOT_STARTED",
            "hs_task_priority": "MEDIUM", "hs_task_type": task_type,
            "hs_timestamp": datetime.combine(due, time(16), tzinfo=UTC),
            "hs_task_completion_date": completed, "hubspot_owner_id": self.hs_owners[story.owner_index]["id"],
        }, archived=deleted)
        self._associate("tasks", task_id, "companies", ids.hs_company)
        self._associate("tasks", task_id, "contacts", ids.hs_contacts[0])
        self._associate("tasks", task_id, "deals", deal_id)
        return task_id

    def _hs_ordinary_tasks(self, story: Story, ids: _Ids, share: float) -> None:
        for due_at in self._ordinary_activity_times(story, share):
            rng = self.rng
            subject, subtype = rng.choice(phrases.ORDINARY_TASKS)
            completed = min(due_at + timedelta(hours=rng.uniform(0, 20)), self.now) if due_at < self.now else None
            self._hs_task(story, ids, subject=subject, task_type={"Call": "CALL", "Email": "EMAIL"}.get(subtype, "TODO"),
                          due=due_at.date(), completed=completed, created=due_at - timedelta(days=rng.randint(1, 10)),
                          deleted=self._randomly_deleted())

    def _hs_ordinary_notes(self, story: Story, ids: _Ids) -> None:
        rng = self.rng
        for _ in range(rng.randint(0, 2)):
            written = story.created_at + timedelta(days=rng.randint(10, 200))
            if written >= self._until(story):
                continue
            body = f"<p>{rng.choice(phrases.ORDINARY_NOTES)}</p>"
            note_id = self._hs("notes", written, written, story, {
                "hs_note_body": body, "hs_timestamp": written,
                "hubspot_owner_id": self.hs_owners[story.owner_index]["id"]}, archived=self._randomly_deleted())
            self._associate("notes", note_id, "companies", ids.hs_company)

    def _hs_ordinary_engagements(self, story: Story, ids: _Ids) -> None:
        """Everyday logged calls, meetings and e-mails (check-ins, QBRs): not exit feedback."""
        rng, owner = self.hs_rng, self.hs_owners[story.owner_index]["id"]
        for _ in range(rng.randint(0, 3)):
            moment = story.created_at + timedelta(days=rng.randint(15, 330), hours=rng.randint(8, 17))
            if moment >= self._until(story) - timedelta(days=120):
                continue
            object_type = rng.choice(("calls", "calls", "meetings", "emails"))
            body = f"<p>{rng.choice(phrases.ORDINARY_NOTES)}</p>"
            properties = {
                "calls": {"hs_call_title": "Check-in call", "hs_call_body": body, "hs_call_direction": "OUTBOUND",
                          "hs_call_disposition": CALL_CONNECTED, "hs_call_status": "COMPLETED"},
                "meetings": {"hs_meeting_title": "Quarterly business review", "hs_meeting_body": body,
                             "hs_meeting_outcome": rng.choice(("COMPLETED", "RESCHEDULED", "NO_SHOW")),
                             "hs_meeting_start_time": moment},
                "emails": {"hs_email_subject": "Quick check-in", "hs_email_html": body,
                           "hs_email_text": body.removeprefix("<p>").removesuffix("</p>"),
                           "hs_email_direction": "EMAIL", "hs_email_status": "SENT"},
            }[object_type]
            record_id = self._hs(object_type, moment, moment, story, {
                **properties, "hs_timestamp": moment, "hubspot_owner_id": owner})
            self._associate(object_type, record_id, "companies", ids.hs_company)
            self._associate(object_type, record_id, "contacts", ids.hs_contacts[0])

    def _nps(self, story: Story, ids: _Ids) -> tuple[int, ...]:
        """Half-yearly NPS answers by the champion; they drop in the 200 days before a notice."""
        rng, scores = self.rng, []
        end = story.notice_at if story.notice_at else self.now
        moment = story.created_at + timedelta(days=90)
        while moment < end:
            if rng.random() < 0.7:
                warning = story.notice_at is not None and end - moment < timedelta(days=200)
                score = rng.randint(0, 5) if warning else rng.choice((6, 7, 8, 8, 9, 9, 10, 10))
                scores.append(score)
                self._nps_response(story, ids, moment, score)
            moment += timedelta(days=rng.randint(170, 190))
        return tuple(scores)

    def _nps_response(self, story: Story, ids: _Ids, moment: datetime, score: int) -> None:
        rng = self.rng
        group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        comments = {"promoter": phrases.NPS_COMMENTS_HIGH, "passive": phrases.NPS_COMMENTS_MID,
                    "detractor": phrases.NPS_COMMENTS_LOW}[group]
        self._hs("feedback_submissions", moment, moment, story, {
            "hs_survey_type": "NPS", "hs_survey_name": "Customer NPS", "hs_survey_id": "1",
            "hs_survey_channel": "EMAIL", "hs_value": str(score), "hs_response_group": group,
            "hs_content": rng.choice(comments), "hs_contact_id": ids.hs_contacts[0],
            "hs_contact_email_rollup": story.people[0].email, "hs_submission_timestamp": moment,
            "hs_submission_name": f"NPS - {story.people[0].full_name}",
        })

    # --- churn story (notice, lost renewal, checklist, exit note) -----------------------------

    def _churn_story(self, story: Story, ids: _Ids, truth: CustomerTruth) -> None:
        records: list[tuple[str, str, str]] = []
        for system in story.churn_systems:
            reason = self._stated_value(story, system)
            if system == "salesforce":
                records += self._sf_churn_records(story, ids, reason, truth)
            else:
                records += self._hs_churn_records(story, ids, reason, truth)
        truth.churn_records = tuple(records)
        if story.home == "salesforce":
            self._sf_checklist_tasks(story, ids)
        else:
            self._hs_checklist_tasks(story, ids)
        if story.exit_note_lang:
            note_id, text = self._exit_note(story, ids)
            truth.exit_note_ids = (note_id,)
            truth.exit_note_source = self.exit_note_source
            truth.exit_note_lang = story.exit_note_lang
            if story.home == "hubspot":
                self._record_hs_exit_interview(truth, ids, note_id, text)
            else:
                truth.feedback_texts.append(FeedbackText(
                    "salesforce", self.exit_note_source, SF_SOURCE_OBJECTS[self.exit_note_source],
                    note_id, text, _sf_churn_record(truth, ids)))
            if story.feature in text:
                truth.requested_feature = phrases.FEATURE_SLUGS[story.feature]
        if story.home == "hubspot":
            self._hs_exit_email(story, ids, truth)

    def _record_hs_exit_interview(self, truth: CustomerTruth, ids: _Ids, record_id: str, text: str) -> None:
        object_type = next(t for t in ("notes", "calls", "meetings")
                           if self.hs[t] and self.hs[t][-1]["id"] == record_id)
        truth.feedback_texts.append(FeedbackText(
            "hubspot", f"hubspot_{object_type[:-1]}", object_type, record_id, text,
            _hs_churn_record(truth, ids)))

    def _stated_value(self, story: Story, system: str) -> str | None:
        """The reason a rep picked (Salesforce picklist) or typed (HubSpot free text)."""
        rng, mode, primary = self.rng, story.stated_mode, story.reasons[0]
        values = phrases.SALESFORCE_REASON_VALUES if system == "salesforce" else phrases.HUBSPOT_REASON_TEXTS
        if mode == "blank" or (mode == "mapped" and primary == "unknown"):
            return None if system == "salesforce" else rng.choice(("", None))
        if mode == "skewed":
            return "Price" if system == "salesforce" else "Too expensive"
        if mode == "misspelled":
            spelled = [v for v, c in phrases.MISSPELLED_CATEGORY.items() if c == primary]
            value = rng.choice(spelled) if spelled else rng.choice(values[primary])
            return value if system == "salesforce" else value.lower()
        if mode == "unmapped":
            return rng.choice(phrases.UNMAPPED_REASONS)
        category = story.reasons[1] if mode == "secondary" else primary
        value = rng.choice(values[category])
        if system == "hubspot" and self.retype_rng.random() < HS_RETYPED_REASON_SHARE:
            value = self.retype_rng.choice(phrases.HUBSPOT_REASON_RETYPED[category])
        return value.format(competitor=story.competitor)

    def _sf_churn_records(self, story: Story, ids: _Ids, reason: str | None,
                          truth: CustomerTruth) -> list[tuple[str, str, str]]:
        records = []
        if story.status == CHURNED and story.has_lost_renewal:
            opp_id = self._sf_opportunity(
                story, ids, name=f"{story.name} - Renewal {story.effective_at.year}", opp_type="Renewal",
                stage="Closed Lost", probability=0.0, amount=story.annual_amount,
                close=story.effective_at.date(), created=story.notice_at - timedelta(days=self.rng.randint(30, 90)),
                modified=story.effective_at, loss_reason=reason,
                competitor=story.competitor if "competitor" in story.reasons else None)
            ids.renewal["salesforce"] = opp_id
            records.append(("salesforce", "Opportunity", opp_id))
            truth.stated_reasons["salesforce.Opportunity.Loss_Reason__c"] = reason
        if story.status == AT_RISK:
            ids.renewal["salesforce"] = self._sf_opportunity(
                story, ids, name=f"{story.name} - Renewal {story.effective_at.year}", opp_type="Renewal",
                stage="Negotiation/Review", probability=50.0, amount=story.annual_amount,
                close=story.effective_at.date(), created=story.notice_at - timedelta(days=30),
                modified=story.notice_at)
        if story.has_notice_record:
            case_id = self._sf_cancellation_case(story, ids, reason)
            ids.notice["salesforce"] = case_id
            records.append(("salesforce", "Case", case_id))
            truth.stated_reasons["salesforce.Case.Cancellation_Reason__c"] = reason
        return records

    def _notice_outcome(self, story: Story) -> tuple[bool, datetime | None, str | None]:
        """(closed, closed_at, outcome) of the cancellation request."""
        if story.status == SAVED:
            return True, story.resolved_at, "Saved"
        if story.status == AT_RISK:
            return False, None, None
        outcome = "Churned" if self.rng.random() < 0.8 else None  # reps forget the outcome field
        return True, min(story.effective_at, self.now), outcome

    def _cancellation_message(self, story: Story, reason: str | None) -> str:
        template = self.rng.choice(phrases.CANCELLATION_MESSAGES)
        return template.format(reason=f"Reason: {reason}." if reason else "").strip()

    def _sf_cancellation_case(self, story: Story, ids: _Ids, reason: str | None) -> str:
        rng = self.rng
        closed, closed_at, outcome = self._notice_outcome(story)
        open_status = rng.choice(("New", "Working", "Escalated"))
        return self._sf("Case", story.notice_at, closed_at or story.notice_at + timedelta(hours=1), story, {
            "CaseNumber": f"{next(self.case_numbers):08d}", "AccountId": ids.sf_account,
            "ContactId": ids.sf_contacts[0], "Subject": rng.choice(phrases.CANCELLATION_SUBJECTS),
            "Description": self._cancellation_message(story, reason),
            "Status": "Closed" if closed else open_status, "IsClosed": closed,
            "ClosedDate": sf_datetime(closed_at) if closed_at else None,
            "Priority": "High" if story.annual_amount >= 20_000 else "Medium", "Origin": "Email",
            "Type": "Cancellation", "Reason": None, "Cancellation_Reason__c": reason,
            "Cancellation_Effective_Date__c": story.effective_at.date().isoformat(), "Outcome__c": outcome,
            "OwnerId": self.sf_users[story.owner_index],
        })

    def _hs_churn_records(self, story: Story, ids: _Ids, reason: str | None,
                          truth: CustomerTruth) -> list[tuple[str, str, str]]:
        records = []
        if story.status == CHURNED and story.has_lost_renewal:
            deal_id = self._hs_deal(
                story, ids, name=f"{story.name} Renewal {story.effective_at.year}", deal_type="existingbusiness",
                stage="closedlost", probability="0.0", amount=story.annual_amount,
                close=story.effective_at.date(), created=story.notice_at - timedelta(days=self.rng.randint(30, 90)),
                modified=story.effective_at, loss_reason=reason)
            ids.renewal["hubspot"] = deal_id
            records.append(("hubspot", "deals", deal_id))
            truth.stated_reasons["hubspot.deals.closed_lost_reason"] = reason
            self._hs_deal_texts(story, deal_id, truth)
        if story.status == AT_RISK:
            ids.renewal["hubspot"] = self._hs_deal(
                story, ids, name=f"{story.name} Renewal {story.effective_at.year}", deal_type="existingbusiness",
                stage="contractsent", probability="0.9", amount=story.annual_amount,
                close=story.effective_at.date(), created=story.notice_at - timedelta(days=30),
                modified=story.notice_at)
        if story.has_notice_record:
            closed, closed_at, outcome = self._notice_outcome(story)
            ticket_id = self._hs_ticket(
                story, ids, opened=story.notice_at, subject=self.rng.choice(phrases.CANCELLATION_SUBJECTS),
                content=self._cancellation_message(story, reason), category=self._hs_cancellation_category(),
                stage="4" if closed else self.rng.choice(("1", "2", "3")), closed_at=closed_at,
                priority="HIGH" if story.annual_amount >= 20_000 else "MEDIUM",
                extra={"cancellation_reason": reason,
                       "cancellation_effective_date": self._hs_date(story.effective_at.date()),
                       "cancellation_outcome": outcome})
            self._associate("tickets", ticket_id, "deals", ids.renewal.get("hubspot"))
            ids.notice["hubspot"] = ticket_id
            records.append(("hubspot", "tickets", ticket_id))
            truth.stated_reasons["hubspot.tickets.cancellation_reason"] = reason
        return records

    def _hs_cancellation_category(self) -> str:
        """A multiple-checkbox value: sometimes a second category is ticked with CANCELLATION."""
        if self.hs_rng.random() < HS_MULTI_CATEGORY_SHARE:
            return self.hs_rng.choice(("BILLING_ISSUE;CANCELLATION", "CANCELLATION;PRODUCT_ISSUE"))
        return "CANCELLATION"

    def _hs_date(self, day: date) -> str:
        """A HubSpot date property: epoch milliseconds at midnight UTC, or an ISO date."""
        if self.hs_rng.random() < HS_EPOCH_DATE_SHARE:
            return str(int(datetime.combine(day, time(0), tzinfo=UTC).timestamp() * 1000))
        return day.isoformat()

    def _hs_exit_summary(self, story: Story) -> str:
        """A rep's short account of why, as typed into a deal field (plain text)."""
        note = compose_exit_note(self.hs_rng, story.reasons, contact=story.people[0].full_name,
                                 competitor=story.competitor, feature=story.feature, lang="en")
        return " ".join(p for p in note.paragraphs if p)

    def _hs_deal_texts(self, story: Story, deal_id: str, truth: CustomerTruth) -> None:
        """Exit summaries typed into the lost deal's description and the portal's own field."""
        deal = self.hs["deals"][-1]
        assert deal["id"] == deal_id
        churn_record = ("hubspot", "deals", deal_id)
        if self.hs_rng.random() < HS_DEAL_DESCRIPTION_SHARE:
            text = self._hs_exit_summary(story)
            deal["properties"]["description"] = text
            truth.feedback_texts.append(FeedbackText("hubspot", "hubspot_deal_description", "deals",
                                                     deal_id, text, churn_record))
        if self.hs_rng.random() < HS_EXTRA_FIELD_SHARE:
            text = self._hs_exit_summary(story)
            deal["properties"][HS_EXTRA_TEXT_PROPERTY] = text
            truth.feedback_texts.append(FeedbackText("hubspot", "hubspot_extra_field", "deals",
                                                     deal_id, text, churn_record))

    def _hs_exit_email(self, story: Story, ids: _Ids, truth: CustomerTruth) -> None:
        """The champion's cancellation e-mail saying why (HTML and plain text, inbound)."""
        if story.status != CHURNED or self.hs_rng.random() >= HS_EXIT_EMAIL_SHARE:
            return
        rng, champion = self.hs_rng, story.people[0]
        note = compose_exit_note(rng, story.reasons, contact=champion.full_name, competitor=story.competitor,
                                 feature=story.feature, lang="en")
        sent = min(story.notice_at + timedelta(minutes=rng.randint(5, 600)), self.now)
        text = "We have decided not to renew.\n" + note.as_text()
        html = ('<div dir="auto"><p>Hi,</p><p>We have decided not to renew.</p>'
                f"{note.as_html(rng)}<p>Regards,<br>{champion.full_name}</p></div>")
        email_id = self._hs("emails", sent, sent, story, {
            "hs_email_subject": rng.choice(("Cancelling our subscription", "Re: Your renewal",
                                            "Not renewing")),
            "hs_email_text": text + f"\nRegards,\n{champion.full_name}", "hs_email_html": html,
            "hs_email_direction": "INCOMING_EMAIL", "hs_email_status": "SENT", "hs_timestamp": sent,
            "hubspot_owner_id": self.hs_owners[story.owner_index]["id"]})
        self._associate("emails", email_id, "companies", ids.hs_company)
        self._associate("emails", email_id, "contacts", ids.hs_contacts[0])
        self._associate("emails", email_id, "deals", ids.renewal.get("hubspot"))
        truth.feedback_texts.append(FeedbackText(
            "hubspot", "hubspot_email", "emails", email_id, text, _hs_churn_record(truth, ids)))

    def _checklist_activities(self, story: Story):
        """(step, subject, due, completed, created) for each checklist step that has an activity.

        Half of the missing steps have an open task; the other half none at all."""
        for step, outcome in story.checklist.items():
            if outcome.outcome == MISSING and self.rng.random() < 0.5:
                continue
            subject = self.rng.choice(phrases.CHECKLIST_SUBJECTS[step])
            anchor = story.effective_at if step == "followup" else story.notice_at
            created = min(anchor + timedelta(minutes=self.rng.randint(5, 120)), self.now)
            if outcome.done_at is not None:
                created = min(created, outcome.done_at)
            yield step, subject, outcome.due, outcome.done_at, created

    def _sf_checklist_tasks(self, story: Story, ids: _Ids) -> None:
        case_id, opp_id = ids.notice.get("salesforce"), ids.renewal.get("salesforce")
        for step, subject, due, completed, created in self._checklist_activities(story):
            early_step = step in ("acknowledge", "save_assessment")
            what_id = (case_id or opp_id) if early_step else (opp_id or case_id)
            subtype = {"acknowledge": "Email", "save_assessment": "Call", "exit_interview": "Call"}.get(step, "Task")
            self._sf("Task", created, completed, story, self._sf_task_fields(
                story, ids, subject=subject, subtype=subtype, due=due, completed=completed,
                what_id=what_id or ids.sf_account, who_id=ids.sf_contacts[0]))

    def _hs_checklist_tasks(self, story: Story, ids: _Ids) -> None:
        for step, subject, due, completed, created in self._checklist_activities(story):
            self._hs_task(story, ids, subject=subject, task_type=phrases.HUBSPOT_TASK_TYPES[step], due=due,
                          completed=completed, created=created, deal_id=ids.renewal.get("hubspot"))

    def _exit_note(self, story: Story, ids: _Ids) -> tuple[str, str]:
        """Write the exit-interview note in the home CRM; returns (record id, plain text)."""
        rng = self.rng
        champion = story.people[0]
        note = compose_exit_note(rng, story.reasons, contact=champion.full_name, competitor=story.competitor,
                                 feature=story.feature, lang=story.exit_note_lang or "en")
        written = min(story.checklist["exit_interview"].done_at + timedelta(minutes=rng.randint(10, 90)), self.now)
        if story.home == "salesforce":
            opp_id = ids.renewal.get("salesforce")
            parent = opp_id if opp_id and rng.random() < 0.5 else ids.sf_account
            return self._sf_exit_note(story, ids, note, written, parent), note.as_text()
        object_type = self._hs_exit_interview_object()
        self.exit_note_source = f"hubspot_{object_type[:-1]}"
        body = note.as_html(rng)
        note_id = self._hs(object_type, written, written, story,
                           self._hs_exit_interview_properties(story, object_type, body, written))
        self._associate(object_type, note_id, "companies", ids.hs_company)
        self._associate(object_type, note_id, "contacts", ids.hs_contacts[0])
        self._associate(object_type, note_id, "deals", ids.renewal.get("hubspot"))
        if ids.notice.get("hubspot") and rng.random() < 0.5 and object_type == "notes":
            self._associate("notes", note_id, "tickets", ids.notice["hubspot"])
        return note_id, note.as_text()

    def _hs_exit_interview_object(self) -> str:
        roll, total = self.hs_rng.random(), 0.0
        for object_type, share in HS_EXIT_INTERVIEW_OBJECTS:
            total += share
            if roll < total:
                return object_type
        return "notes"

    def _hs_exit_interview_properties(self, story: Story, object_type: str, body: str,
                                      written: datetime) -> dict:
        """The exit interview as a note, a logged call or a meeting with its notes."""
        owner = self.hs_owners[story.owner_index]["id"]
        rng, champion = self.hs_rng, story.people[0].full_name
        if object_type == "calls":
            title = rng.choice((f"Exit interview - {story.name}", f"Call with {champion}"))
            return {"hs_call_title": title, "hs_call_body": body, "hs_call_disposition": CALL_CONNECTED,
                    "hs_call_direction": "OUTBOUND", "hs_call_status": "COMPLETED",
                    "hs_call_duration": rng.randint(900, 3600) * 1000, "hs_timestamp": written,
                    "hubspot_owner_id": owner}
        if object_type == "meetings":
            start = written - timedelta(minutes=rng.randint(30, 60))
            title = rng.choice((f"Exit interview - {story.name}", f"{story.name} / offboarding"))
            return {"hs_meeting_title": title, "hs_meeting_body": body, "hs_meeting_outcome": "COMPLETED",
                    "hs_meeting_start_time": start, "hs_meeting_end_time": written,
                    "hs_timestamp": start, "hubspot_owner_id": owner}
        return {"hs_note_body": body, "hs_timestamp": written, "hubspot_owner_id": owner}

    def _sf_exit_note(self, story: Story, ids: _Ids, note, written: datetime, parent: str) -> str:  # noqa: ANN001
        """The exit interview where a Lightning org's rep would put it (SALESFORCE_EXIT_NOTE_PLACES)."""
        rng, owner = self.placement_rng, self.sf_users[story.owner_index]
        places, weights = zip(*SALESFORCE_EXIT_NOTE_PLACES, strict=True)
        place = rng.choices(places, weights)[0]
        opp_id = ids.renewal.get("salesforce")
        if place == "salesforce_opportunity_description" and not opp_id:
            place = "salesforce_content_note"
        self.exit_note_source = place
        text = note.as_text()
        if place == "salesforce_task":  # Log a Call: Subject "Call", the notes in Description
            fields = self._sf_task_fields(story, ids, subject="Call", subtype="Call", due=written.date(),
                                          completed=written, what_id=parent, who_id=ids.sf_contacts[0])
            return self._sf("Task", written, written, story, {**fields, "Description": text,
                                                              "CallDisposition": "Connected"})
        if place == "salesforce_event":
            started = written - timedelta(minutes=45)
            return self._sf("Event", written, written, story, {
                "Subject": rng.choice(("Exit interview", "Meeting", "Call with customer", "Offboarding call")),
                "Description": text, "ActivityDateTime": sf_datetime(started),
                "ActivityDate": started.date().isoformat(), "StartDateTime": sf_datetime(started),
                "EndDateTime": sf_datetime(written), "DurationInMinutes": 45, "WhoId": ids.sf_contacts[0],
                "WhatId": parent, "AccountId": ids.sf_account, "OwnerId": owner, "EventSubtype": "Event",
                "Type": "Meeting", "IsArchived": False})
        if place == "salesforce_opportunity_description":
            opportunity = next(r for r in self.sf["Opportunity"] if r["Id"] == opp_id)
            opportunity["Description"] = text
            return opp_id
        if place == "salesforce_content_note":
            return self._sf_content_note(story, note, written, parent)
        return self._sf("Note", written, written, story, {
            "ParentId": parent, "Title": f"Exit interview - {story.name}", "Body": text,
            "IsPrivate": False, "OwnerId": owner})

    def _sf_content_note(self, story: Story, note, written: datetime, parent: str) -> str:  # noqa: ANN001
        """A Lightning note: HTML body stored base64, shared to its record and its owner."""
        owner = self.sf_users[story.owner_index]
        body = note.as_html(self.placement_rng)
        note_id = self._sf("ContentNote", written, written, story, {
            "Title": f"Exit interview - {story.name}",
            "Content": base64.b64encode(body.encode("utf-8")).decode("ascii"),
            "TextPreview": note.as_text()[:255], "FileType": "SNOTE", "FileExtension": "snote",
            "ContentSize": len(body.encode("utf-8")), "OwnerId": owner, "SharingPrivacy": "N"})
        for linked, share in ((parent, "V"), (owner, "I")):
            self._sf("ContentDocumentLink", written, written, story, {
                "ContentDocumentId": note_id, "LinkedEntityId": linked, "ShareType": share,
                "Visibility": "AllUsers"})
        return note_id

    # --- orphans --------------------------------------------------------------------------------

    def _orphans(self, stories: list[Story], customers: list[CustomerTruth],
                 moved: list[MovedChampion]) -> list[OrphanRecord]:
        """Records real orgs hold whose account is gone or not synced yet, in every world:

        - one churned HubSpot-only customer's company is archived while its deals, tickets,
          notes and tasks stay live (HubSpot does not cascade an archive);
        - a Salesforce task and a HubSpot note pointing at an account no sync has landed (created
          after the account sync ran). Drawn from their own random stream, so the rest of the
          world is the same as without them."""
        rng = random.Random(f"orphans-{self.seed}")
        orphans: list[OrphanRecord] = []
        moved_from = {m.from_customer for m in moved}  # their old company keeps its records
        candidates = [c for s, c in zip(stories, customers, strict=True)
                      if s.status == CHURNED and not s.deleted and s.systems == ("hubspot",)
                      and c.churn_records and c.key not in moved_from]
        if candidates:
            customer = rng.choice(candidates)
            orphans += self._archive_company_only(customer)
        if self.sf["Account"]:
            task_id = self._sf("Task", self.now - timedelta(days=2), self.now - timedelta(days=2),
                               None, {
                "Subject": "Call", "Status": "Completed", "Priority": "Normal",
                "ActivityDate": (self.now - timedelta(days=2)).date().isoformat(),
                "WhoId": None, "WhatId": self.sf_ids.next("Account"),
                "AccountId": self.sf_ids.next("Account"), "OwnerId": self.sf_users[0],
                "Description": "Intro call with a prospect; not synced yet.", "IsClosed": True,
                "TaskSubtype": "Call", "Type": "Call",
                "CompletedDateTime": sf_datetime(self.now - timedelta(days=2)), "IsArchived": False,
                "CallDisposition": "Connected",
            })
            orphans.append(OrphanRecord("salesforce", "Task", task_id, "account_not_synced"))
        if self.hs["companies"]:
            moment = self.now - timedelta(days=1)
            note_id = self._hs("notes", moment, moment, None, {
                "hs_note_body": "<p>Met them at a conference; company not in the CRM yet.</p>",
                "hs_timestamp": moment, "hubspot_owner_id": self.hs_owners[0]["id"]})
            self._associate("notes", note_id, "companies", self.hs_ids.next("companies"))
            orphans.append(OrphanRecord("hubspot", "notes", note_id, "account_not_synced"))
        return orphans

    def _archive_company_only(self, customer: CustomerTruth) -> list[OrphanRecord]:
        """Archive the customer's HubSpot company record and nothing else."""
        company = next(r for r in self.hs["companies"] if r["id"] == customer.hubspot_company_id)
        archived_at = self.now - timedelta(days=3)
        company["archived"] = True
        company["archivedAt"] = hs_datetime(max(archived_at, datetime.fromisoformat(
            company["updatedAt"].replace("Z", "+00:00"))))
        customer.company_archived = True
        linked = {(from_type, from_id) for from_type, from_id, to_type, to_id, _ in self.associations
                  if to_type == "companies" and to_id == customer.hubspot_company_id}
        return [OrphanRecord("hubspot", from_type, from_id, "company_archived", customer.key)
                for from_type, from_id in sorted(linked) if from_type != "contacts"]

    # --- champions who move ------------------------------------------------------------------

    def _moved_champions(self, stories: list[Story], customers: list[CustomerTruth]) -> list[MovedChampion]:
        """Some churned customers' champions join another (retained) customer later."""
        rng = self.rng
        targets = [(s, c) for s, c in zip(stories, customers, strict=True)
                   if s.status == RETAINED and not s.deleted]
        moved = []
        for story, truth in zip(stories, customers, strict=True):
            if not (story.status == CHURNED and not story.deleted and targets):
                continue
            if rng.random() >= MOVED_CHAMPION_SHARE:
                continue
            joined = story.effective_at + timedelta(days=rng.randint(20, 200))
            if joined >= self.now:
                continue
            target_story, target = rng.choice(targets)
            moved.append(self._move(story, target_story, target, truth, joined))
        return moved

    def _move(self, story: Story, target_story: Story, target: CustomerTruth, truth: CustomerTruth,
              joined: datetime) -> MovedChampion:
        champion = story.people[0]
        new = Person(champion.first, champion.last, self.rng.choice(phrases.CHAMPION_TITLES),
                     email_for(champion.first, champion.last, target_story.domain))
        if target.salesforce_account_id:
            system, contact_id = "salesforce", self._sf_contact(target_story, target.salesforce_account_id, new, joined)
        else:
            system, contact_id = "hubspot", self._hs_contact(target_story, target.hubspot_company_id, new, joined)
        return MovedChampion(contact_name=champion.full_name, from_customer=truth.key, to_customer=target.key,
                             old_email=champion.email, new_email=new.email, system=system,
                             contact_id=contact_id, joined_at=joined)


def _sf_churn_record(truth: CustomerTruth, ids: _Ids) -> tuple[str, str, str] | None:
    """The Salesforce churn record an exit note hangs on: the lost renewal, else the notice."""
    for obj, record_id in (("Opportunity", ids.renewal.get("salesforce")),
                           ("Case", ids.notice.get("salesforce"))):
        if record_id and ("salesforce", obj, record_id) in truth.churn_records:
            return ("salesforce", obj, record_id)
    return None


def _hs_churn_record(truth: CustomerTruth, ids: _Ids) -> tuple[str, str, str] | None:
    """The HubSpot churn record a text is associated with: the lost deal (texts hang on it)."""
    deal = ids.renewal.get("hubspot")
    if deal and ("hubspot", "deals", deal) in truth.churn_records:
        return ("hubspot", "deals", deal)
    return None


def _pipelines(now: datetime) -> dict[str, list[dict]]:
    """Deal and ticket pipelines as ``GET /crm/v3/pipelines/{deals,tickets}`` lists them."""
    stamp = hs_datetime(now - timedelta(days=HISTORY_DAYS + 200))

    def stage(stage_id: str, label: str, order: int, metadata: dict) -> dict:
        return {"id": stage_id, "label": label, "displayOrder": order, "metadata": metadata,
                "createdAt": stamp, "updatedAt": stamp, "archived": False}

    deal_stages = [
        ("appointmentscheduled", "Appointment Scheduled", "0.2"), ("qualifiedtobuy", "Qualified To Buy", "0.4"),
        ("presentationscheduled", "Presentation Scheduled", "0.6"),
        ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8"), ("contractsent", "Contract Sent", "0.9"),
        ("closedwon", "Closed Won", "1.0"), ("closedlost", "Closed Lost", "0.0"),
    ]
    deals = [stage(sid, label, n, {"isClosed": str(sid.startswith("closed")).lower(), "probability": p})
             for n, (sid, label, p) in enumerate(deal_stages)]
    ticket_stages = [("1", "New", "OPEN"), ("2", "Waiting on contact", "OPEN"), ("3", "In progress", "OPEN"),
                     ("4", "Closed", "CLOSED")]
    tickets = [stage(sid, label, n, {"ticketState": state})  # ticket stages carry only ticketState
               for n, (sid, label, state) in enumerate(ticket_stages)]
    pipeline = {"createdAt": stamp, "updatedAt": stamp, "archived": False}
    return {
        "deals": [{"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "stages": deals, **pipeline}],
        "tickets": [{"id": "0", "label": "Support Pipeline", "displayOrder": 0, "stages": tickets, **pipeline}],
    }
