"""What the sandbox HubSpot portal knows about its objects: types, default and typed properties,
association type ids and names. Pure data and small helpers; no HTTP, no state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

OBJECT_TYPES = ("companies", "contacts", "deals", "tickets", "notes", "tasks", "feedback_submissions",
                "calls", "meetings", "emails")
ENGAGEMENT_TYPES = ("notes", "tasks", "calls", "meetings", "emails")

# HubSpot accepts plural names, singular names and object type ids in paths.
_ALIASES = {
    "company": "companies", "0-2": "companies",
    "contact": "contacts", "0-1": "contacts",
    "deal": "deals", "0-3": "deals",
    "ticket": "tickets", "0-5": "tickets",
    "note": "notes", "0-46": "notes",
    "task": "tasks", "0-27": "tasks",
    "feedback_submission": "feedback_submissions", "0-19": "feedback_submissions",
    "call": "calls", "0-48": "calls", "meeting": "meetings", "0-47": "meetings",
    "email": "emails", "0-49": "emails",
}
_SINGULAR = {
    "companies": "company", "contacts": "contact", "deals": "deal", "tickets": "ticket",
    "notes": "note", "tasks": "task", "feedback_submissions": "feedback_submission",
    "calls": "call", "meetings": "meeting", "emails": "email",
}
READ_ONLY_TYPES = frozenset({"feedback_submissions"})


def canonical_type(name: str) -> str | None:
    """``deal``/``0-3``/``DEALS`` -> ``deals``; None when HubSpot would not know the type."""
    lowered = name.lower()
    if lowered in OBJECT_TYPES:
        return lowered
    return _ALIASES.get(lowered)


# The read scope each object needs (a private app's granular scopes). Engagements (notes, tasks,
# calls, meetings, emails) are read under the contacts scope, as HubSpot's activity APIs list it.
READ_SCOPES: dict[str, str] = {
    "companies": "crm.objects.companies.read", "contacts": "crm.objects.contacts.read",
    "deals": "crm.objects.deals.read", "tickets": "tickets",
    "feedback_submissions": "crm.objects.feedback_submissions.read",
    "notes": "crm.objects.contacts.read", "tasks": "crm.objects.contacts.read",
    "calls": "crm.objects.contacts.read", "meetings": "crm.objects.contacts.read",
    "emails": "crm.objects.contacts.read",
    "owners": "crm.objects.owners.read",
}
ALL_SCOPES = frozenset(READ_SCOPES.values())


# What a list or search returns when the caller asks for no properties (HubSpot's defaults).
DEFAULT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    "deals": ("amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate",
              "hs_object_id", "pipeline"),
    "tickets": ("content", "createdate", "hs_lastmodifieddate", "hs_object_id", "hs_pipeline",
                "hs_pipeline_stage", "hs_ticket_category", "hs_ticket_priority", "subject"),
    "notes": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "tasks": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "feedback_submissions": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "calls": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "meetings": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "emails": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
}

# Properties every portal defines, so definitions exist even before a record uses them.
_COMMON = ("hs_object_id", "createdate", "hs_createdate", "hubspot_owner_id", "hs_updated_by_user_id")
_MODIFIED = ("hs_lastmodifieddate",)  # contacts have lastmodifieddate instead
BASE_PROPERTIES: dict[str, tuple[str, ...]] = {
    "companies": _COMMON + _MODIFIED + ("name", "domain", "industry", "lifecyclestage", "annualrevenue",
                            "numberofemployees", "country", "num_associated_deals"),
    "contacts": _COMMON + ("email", "firstname", "lastname", "jobtitle", "lifecyclestage",
                           "hs_email_optout", "lastmodifieddate", "associatedcompanyid"),
    "deals": _COMMON + _MODIFIED + ("dealname", "amount", "closedate", "pipeline", "dealstage", "dealtype",
                        "closed_lost_reason", "closed_won_reason", "hs_is_closed", "hs_is_closed_won",
                        "hs_is_closed_lost", "hs_deal_stage_probability", "description"),
    "tickets": _COMMON + _MODIFIED + ("subject", "content", "hs_pipeline", "hs_pipeline_stage",
                          "hs_ticket_category", "hs_ticket_priority", "closed_date", "source_type"),
    "notes": _COMMON + _MODIFIED + ("hs_note_body", "hs_timestamp", "hs_attachment_ids"),
    "tasks": _COMMON + _MODIFIED + ("hs_task_subject", "hs_task_body", "hs_task_status", "hs_task_priority",
                        "hs_task_type", "hs_timestamp"),
    "feedback_submissions": _COMMON + _MODIFIED + ("hs_survey_type", "hs_survey_name", "hs_survey_id",
                                       "hs_survey_channel", "hs_value", "hs_response_group",
                                       "hs_content", "hs_contact_id", "hs_contact_email_rollup",
                                       "hs_submission_timestamp", "hs_submission_name"),
    "calls": _COMMON + _MODIFIED + ("hs_call_title", "hs_call_body", "hs_call_disposition",
                                    "hs_call_direction", "hs_call_status", "hs_call_duration",
                                    "hs_timestamp"),
    "meetings": _COMMON + _MODIFIED + ("hs_meeting_title", "hs_meeting_body", "hs_meeting_outcome",
                                       "hs_meeting_start_time", "hs_meeting_end_time",
                                       "hs_internal_meeting_notes", "hs_timestamp"),
    "emails": _COMMON + _MODIFIED + ("hs_email_subject", "hs_email_text", "hs_email_html",
                                     "hs_email_direction", "hs_email_status", "hs_timestamp"),
}
REQUIRED_ON_CREATE: dict[str, tuple[str, ...]] = {t: ("hs_timestamp",) for t in ENGAGEMENT_TYPES}

# Known property types; anything else is inferred from the values.
_KNOWN_TYPES = {
    "hs_object_id": "number", "amount": "number", "amount_in_home_currency": "number",
    "annualrevenue": "number", "numberofemployees": "number", "hs_value": "number",
    "hs_deal_stage_probability": "number", "hs_closed_amount": "number", "days_to_close": "number",
    "associatedcompanyid": "number", "hs_updated_by_user_id": "number",
    "createdate": "datetime", "hs_createdate": "datetime", "hs_lastmodifieddate": "datetime",
    "lastmodifieddate": "datetime", "closedate": "datetime", "closed_date": "datetime",
    "hs_timestamp": "datetime", "notes_last_updated": "datetime", "hs_submission_timestamp": "datetime",
    "hs_is_closed": "bool", "hs_is_closed_won": "bool", "hs_is_closed_lost": "bool",
    "hs_email_optout": "bool",
    "pipeline": "enumeration", "dealstage": "enumeration", "dealtype": "enumeration",
    "lifecyclestage": "enumeration", "hs_pipeline": "enumeration", "hs_pipeline_stage": "enumeration",
    "hs_ticket_category": "enumeration", "hs_ticket_priority": "enumeration",
    "hs_task_status": "enumeration", "hs_task_priority": "enumeration", "hs_task_type": "enumeration",
    "hubspot_owner_id": "enumeration", "hs_response_group": "enumeration",
    "hs_survey_type": "enumeration", "hs_survey_channel": "enumeration", "industry": "enumeration",
    "hs_call_duration": "number", "hs_meeting_start_time": "datetime", "hs_meeting_end_time": "datetime",
    "hs_call_direction": "enumeration", "hs_call_status": "enumeration", "hs_call_disposition": "enumeration",
    "hs_meeting_outcome": "enumeration", "hs_email_direction": "enumeration", "hs_email_status": "enumeration",
    # a date property: HubSpot sends dates as epoch milliseconds at midnight UTC (or ISO dates)
    "cancellation_effective_date": "date",
}
# Multiple-checkbox properties: several values joined with ";" ("BILLING_ISSUE;CANCELLATION").
CHECKBOX_PROPERTIES = frozenset({"hs_ticket_category"})
_TEXTAREA = {"hs_note_body", "hs_task_body", "content", "description", "hs_content", "hs_call_body",
             "hs_meeting_body", "hs_internal_meeting_notes", "hs_email_text", "churn_notes"}
_HTML = {"hs_email_html"}
_FIELD_TYPES = {"string": "text", "number": "number", "datetime": "date", "date": "date",
                "enumeration": "select", "bool": "booleancheckbox"}
PROPERTY_TYPES = tuple(_FIELD_TYPES)

_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def infer_property_type(name: str, values: Iterable[str]) -> str:
    """A property's HubSpot type: known names first, then what every non-empty value looks like."""
    if name in _KNOWN_TYPES:
        return _KNOWN_TYPES[name]
    if name.startswith(("hs_v2_date_entered_", "hs_v2_date_exited_")):
        return "datetime"
    seen = [v for v in values if v not in (None, "")]
    if not seen:
        return "string"
    for prop_type, pattern in (("datetime", _ISO_DATETIME), ("date", _ISO_DATE), ("number", _NUMBER)):
        if all(pattern.match(v) for v in seen):
            return prop_type
    if all(v.lower() in ("true", "false") for v in seen):
        return "bool"
    return "string"


def property_definition(name: str, prop_type: str, options: Iterable[str] = ()) -> dict:
    """One entry of ``GET /crm/v3/properties/{type}``, with the fields the client requires."""
    field_type = ("textarea" if name in _TEXTAREA else "html" if name in _HTML
                  else "checkbox" if name in CHECKBOX_PROPERTIES else _FIELD_TYPES.get(prop_type, "text"))
    enum_options = [
        {"label": value, "value": value, "displayOrder": i, "hidden": False, "description": ""}
        for i, value in enumerate(sorted(options))
    ] if prop_type == "enumeration" else []
    return {
        "name": name,
        "label": name.replace("hs_", "").replace("_", " ").capitalize(),
        "type": prop_type,
        "fieldType": field_type,
        "groupName": "sandbox_information",
        "description": "",
        "options": enum_options,
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": name == "hs_object_id",
        "hidden": False,
        "hubspotDefined": name.startswith("hs_") or name in _KNOWN_TYPES,
        "formField": name not in _KNOWN_TYPES,
        "modificationMetadata": {"archivable": True, "readOnlyDefinition": name.startswith("hs_"),
                                 "readOnlyValue": name == "hs_object_id"},
    }


# HUBSPOT_DEFINED association type ids (NOTES §2.4) and their reverse.
_TYPE_ID_PAIRS = ((214, 213), (202, 201), (190, 189), (228, 227), (216, 215), (204, 203), (192, 191),
                  (3, 4), (5, 6), (341, 342), (1, 2), (279, 280), (28, 27), (16, 15),
                  (339, 340), (26, 25),
                  (194, 193), (182, 181), (206, 205),   # call -> contact, company, deal
                  (200, 199), (188, 187), (212, 211),   # meeting -> contact, company, deal
                  (198, 197), (186, 185), (210, 209))   # email -> contact, company, deal
REVERSE_TYPE_ID = {a: b for a, b in _TYPE_ID_PAIRS} | {b: a for a, b in _TYPE_ID_PAIRS}
_PRIMARY_TYPE_IDS = frozenset({1, 2, 5, 6, 339, 340})
_UNLABELED_TYPE_IDS = frozenset({279, 280, 341, 342, 25, 26})


def association_label(type_id: int) -> str | None:
    return "Primary" if type_id in _PRIMARY_TYPE_IDS else None


def v3_association_name(from_type: str, to_type: str, type_id: int) -> str:
    """The v3 ``associations`` block names a type (``deal_to_company``, ``..._unlabeled``)."""
    name = f"{_SINGULAR.get(from_type, from_type)}_to_{_SINGULAR.get(to_type, to_type)}"
    return f"{name}_unlabeled" if type_id in _UNLABELED_TYPE_IDS else name
