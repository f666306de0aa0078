"""Ground truth of a generated sandbox world: the facts tests assert against.

The generator decides these facts first and then writes CRM records that express them, so a
test can check what the pipeline derived from the records against what really happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

CATEGORIES = (
    "product",
    "pricing",
    "service",
    "success_process",
    "competitor",
    "relationship",
    "company",
    "needs",
    "involuntary",
    "unknown",
)
CHECKLIST_STEPS = ("acknowledge", "save_assessment", "data_handover", "exit_interview", "followup")

# Customer lifecycle states.
RETAINED = "retained"  # never gave notice
SAVED = "saved"  # gave notice, the cancellation was closed with Outcome "Saved"; still a customer
AT_RISK = "at_risk"  # gave notice, cancellation still open (may still be saved), not churned yet
CHURNED = "churned"  # gave notice and is gone (effective date in the past)

# Step outcomes.
ON_TIME = "on_time"  # completed on or before the due date
LATE = "late"  # completed after the due date
MISSING = "missing"  # due date passed, never completed
NOT_DUE = "not_due"  # due date is after `now` and not completed yet


@dataclass(frozen=True)
class ChecklistStep:
    """One offboarding step of one customer.

    ``due`` is the date the generator gave the activity (Salesforce ``Task.ActivityDate``,
    HubSpot task ``hs_timestamp`` date); ``done_at`` is the completion time (``CompletedDateTime``
    / ``hs_task_completion_date``) or None. Due dates, matching the default config SLAs:
    acknowledge = next business day after the notice; save_assessment = notice + 3 days;
    data_handover = effective churn date; exit_interview = notice + 14 days; followup = churn
    date + 30 days (on time = done 25-30 days after churn, late = 45-60). On-time steps are done
    on or before the due date, late ones 3+ days after it. Half of the MISSING steps have an open
    task, the other half none. Activities live in the customer's ``home_system``.
    """

    step: str
    due: date
    done_at: datetime | None
    outcome: str


@dataclass(frozen=True)
class MovedChampion:
    """A churned customer's contact who later shows up at another customer (same full name,
    new e-mail domain). ``contact_id`` is the new contact record in ``system``."""

    contact_name: str
    from_customer: str  # CustomerTruth.key of the churned customer
    to_customer: str  # CustomerTruth.key of the new employer
    old_email: str
    new_email: str
    system: str  # "salesforce" or "hubspot": where the new contact record lives
    contact_id: str
    joined_at: datetime


@dataclass(frozen=True)
class FeedbackText:
    """One exit-feedback text the generator wrote into a CRM, and where it went.

    ``feedback_source`` is the value int_feedback_sources_unioned gives that place
    (``hubspot_call``, ``hubspot_deal_description``, ``salesforce_content_note``, ...);
    ``churn_record`` is the ``(system, object, id)`` of the churn record it is about (one of
    ``CustomerTruth.churn_records``), or None when only its timing and account link it."""

    system: str
    feedback_source: str
    object_type: str
    record_id: str
    text: str  # plain text (HTML bodies are stored as HTML; this is what a reader sees)
    churn_record: tuple[str, str, str] | None = None


@dataclass
class CustomerTruth:
    """One real-world customer, whichever CRM(s) hold it."""

    key: str  # "cust-00001", stable for (accounts, seed)
    name: str  # the customer's name without variants, e.g. "Blue Harbor Logistics"
    domain: str  # canonical domain: lower-case, no "www.", no trailing dot
    salesforce_account_id: str | None
    hubspot_company_id: str | None
    status: str  # RETAINED | SAVED | AT_RISK | CHURNED
    home_system: str  # "salesforce" | "hubspot": where checklist activities and the exit note are recorded
    created_at: datetime
    churned: bool = False  # status == CHURNED
    open_save_opportunity: bool = False  # status == AT_RISK: an open cancellation notice
    notice_at: datetime | None = None  # when the cancellation notice arrived (SAVED/AT_RISK/CHURNED)
    churned_at: datetime | None = None  # effective churn date (CHURNED; planned date for AT_RISK)
    primary_reason: str | None = None  # true primary category (one of CATEGORIES) for notices
    reasons: tuple[str, ...] = ()  # all true categories, primary first
    # raw stated reason per field holding it, e.g. {"salesforce.Opportunity.Loss_Reason__c": "Pricng"};
    # a blank value is None (Salesforce picklist) or "" (HubSpot free text)
    stated_reasons: dict[str, str | None] = field(default_factory=dict)
    deleted: bool = False  # every record of this customer is deleted (SF) / archived (HubSpot)
    amount_lost: float | None = None  # annual amount of the lost renewal (CHURNED) or at risk (AT_RISK)
    competitor: str | None = None  # competitor named when a competitor reason applies
    requested_feature: str | None = None  # slug (phrases.FEATURE_SLUGS) of the feature the exit note names
    checklist: dict[str, ChecklistStep] = field(default_factory=dict)  # CHURNED: all 5 steps; AT_RISK/SAVED: first 2
    exit_note_ids: tuple[str, ...] = ()  # exit-interview note record ids (SF Note / HubSpot note)
    exit_note_lang: str | None = None  # "en", "es", "de", "fr", "pt" when an exit note exists
    exit_note_source: str | None = None  # where it lives: fct_feedback_items.feedback_source
    churn_records: tuple[tuple[str, str, str], ...] = ()  # (system, object, id) of the notice and lost renewal records
    nps_scores: tuple[int, ...] = ()  # NPS responses in time order (HubSpot contacts only)
    # every exit-feedback text written for this customer, per place (the exit note included)
    feedback_texts: list[FeedbackText] = field(default_factory=list)

    # Only the HubSpot company record is archived; its deals, tickets, notes and tasks stay live
    # (HubSpot does not cascade an archive), so its churn history is orphaned: no account.
    company_archived: bool = False

    @property
    def stated_reason_raw(self) -> str | None:
        """The stated reason in the customer's main churn record (first of ``stated_reasons``)."""
        return next(iter(self.stated_reasons.values()), None)

    @property
    def in_both(self) -> bool:
        return self.salesforce_account_id is not None and self.hubspot_company_id is not None


@dataclass(frozen=True)
class OrphanRecord:
    """A live record whose account is gone or not synced yet: ``why`` is "company_archived"
    (its company is archived) or "account_not_synced" (it points at an account id no sync has
    landed)."""

    system: str
    object: str
    record_id: str
    why: str
    customer: str | None = None  # CustomerTruth.key when the record belongs to one


@dataclass
class GroundTruth:
    """What really happened in a generated world."""

    now: datetime
    customers: list[CustomerTruth]
    moved_champions: list[MovedChampion] = field(default_factory=list)
    orphans: list[OrphanRecord] = field(default_factory=list)

    def by_key(self) -> dict[str, CustomerTruth]:
        return {c.key: c for c in self.customers}

    def churned_customers(self, include_deleted: bool = False) -> list[CustomerTruth]:
        """Customers with status CHURNED (effective churn date passed). Deleted customers (all
        their records deleted/archived in the CRMs) are left out unless ``include_deleted``."""
        return [c for c in self.customers if c.churned and (include_deleted or not c.deleted)]

    def churn_events_by_category(self) -> dict[str, int]:
        """Number of churned, not-deleted customers per true primary reason category.

        One real-world customer counts once, even when both CRMs hold a churn record for it
        (e.g. a Salesforce cancellation Case and a HubSpot closed-lost deal). AT_RISK and SAVED
        customers are not counted. Every category in CATEGORIES is a key (0 when absent)."""
        counts = dict.fromkeys(CATEGORIES, 0)
        for c in self.churned_customers():
            counts[c.primary_reason or "unknown"] += 1
        return counts

    def customers_in_both(self) -> list[CustomerTruth]:
        """Customers with a Salesforce Account and a HubSpot company (deleted ones included)."""
        return [c for c in self.customers if c.in_both]

    def open_save_opportunities(self) -> list[CustomerTruth]:
        """AT_RISK customers that are not deleted: open cancellation notices that may still be saved."""
        return [c for c in self.customers if c.open_save_opportunity and not c.deleted]
