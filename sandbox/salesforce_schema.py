"""Field schemas of the sandbox Salesforce objects: inferred from records plus naming rules.

Every object's schema is explicit (an ordered ``dict[str, FieldDef]``) and mutable, so tests can
add, drop or retype fields (schema drift). ``comparable`` turns a stored JSON value into what SOQL
compares for that field type (parsed datetimes, case-folded strings, floats).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from churnkb.sandbox.ids import SALESFORCE_PREFIXES

STRING_TYPES = frozenset({"string", "textarea", "picklist", "multipicklist", "email", "phone",
                          "url", "combobox"})
ID_TYPES = frozenset({"id", "reference"})
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int", "long"})
COMPOUND_TYPES = frozenset({"address", "location"})
FIELD_TYPES = (STRING_TYPES | ID_TYPES | NUMBER_TYPES | COMPOUND_TYPES
               | {"boolean", "date", "datetime", "base64"})

# Every sandbox object has these, whatever its records carry; except that User has no IsDeleted
# (users are deactivated, never deleted), as in a real org.
ALWAYS_PRESENT = ("Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp")
NO_IS_DELETED = frozenset({"User"})

# Compound fields a real describe lists beside their parts (``compoundFieldName`` on each part):
# ``address`` and ``location`` fields, which the REST API returns as objects and Bulk cannot read.
COMPOUND_FIELDS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "Account": {"BillingAddress": ("address", ("BillingCountry", "BillingState", "BillingCity"))},
    "Contact": {"MailingAddress": ("address", ("MailingCountry",))},
    "Event": {"Geolocation__c": ("location", ())},
}

# Standard fields of the sandbox objects (Salesforce object reference), present even before any record has them.
STANDARD_FIELDS: dict[str, tuple[str, ...]] = {
    "Account": ("Name", "Type", "Industry", "AnnualRevenue", "NumberOfEmployees", "BillingCountry",
                "BillingState", "BillingCity", "Website", "OwnerId", "ParentId", "AccountNumber",
                "Description", "CreatedById", "LastModifiedById"),
    "Contact": ("AccountId", "FirstName", "LastName", "Name", "Email", "Title", "Phone",
                "MailingCountry", "OwnerId", "HasOptedOutOfEmail", "CreatedById",
                "LastModifiedById"),
    "Opportunity": ("Name", "AccountId", "StageName", "Amount", "CloseDate", "IsClosed", "IsWon",
                    "Probability", "ForecastCategory", "Type", "LeadSource", "OwnerId",
                    "Description", "NextStep", "FiscalYear", "FiscalQuarter", "LastActivityDate",
                    "CreatedById", "LastModifiedById"),
    "Case": ("CaseNumber", "AccountId", "ContactId", "Subject", "Description", "Status",
             "IsClosed", "ClosedDate", "Priority", "Origin", "Type", "Reason", "OwnerId",
             "CreatedById", "LastModifiedById"),
    "Task": ("Subject", "Status", "Priority", "ActivityDate", "WhoId", "WhatId", "AccountId",
             "OwnerId", "Description", "IsClosed", "TaskSubtype", "Type", "CallDisposition",
             "CompletedDateTime", "IsArchived", "CreatedById", "LastModifiedById"),
    "Note": ("ParentId", "Title", "Body", "IsPrivate", "OwnerId", "CreatedById",
             "LastModifiedById"),
    "User": ("Username", "FirstName", "LastName", "Name", "Email", "Title", "IsActive",
             "CreatedById", "LastModifiedById"),
    # Lightning activity and notes (Salesforce object reference: Event, ContentNote,
    # ContentDocumentLink)
    "Event": ("Subject", "Description", "ActivityDateTime", "ActivityDate", "StartDateTime",
              "EndDateTime", "DurationInMinutes", "WhoId", "WhatId", "AccountId", "OwnerId",
              "EventSubtype", "Type", "Location", "IsArchived", "CreatedById", "LastModifiedById"),
    "ContentNote": ("Title", "Content", "TextPreview", "FileType", "FileExtension", "ContentSize",
                    "OwnerId", "LatestPublishedVersionId", "SharingPrivacy", "CreatedById",
                    "LastModifiedById"),
    "ContentDocumentLink": ("ContentDocumentId", "LinkedEntityId", "ShareType", "Visibility"),
}
# ContentDocumentLink cannot be queried without one of these in the WHERE clause (real org rule)
CONTENT_LINK_FILTERS = ("ContentDocumentId", "LinkedEntityId")
_INT_NAMES = frozenset({"NumberOfEmployees", "FiscalYear", "FiscalQuarter"})

# Long text areas cannot be filtered or sorted in SOQL, as in a real org.
UNFILTERABLE_TYPES = frozenset({"textarea", "base64"})

_DATETIME_NAMES = frozenset({"SystemModstamp", "CreatedDate", "LastModifiedDate", "ClosedDate",
                             "LastViewedDate", "LastReferencedDate", "LastLoginDate"})
_PICKLIST_NAMES = frozenset({"StageName", "Status", "Type", "Priority", "Industry", "LeadSource",
                             "ForecastCategory", "ForecastCategoryName", "Origin", "Reason",
                             "TaskSubtype", "CallDisposition", "Rating", "Ownership",
                             "CurrencyIsoCode", "Salutation"})
_TEXTAREA_NAMES = frozenset({"Description", "Body", "TextPreview"})
_CURRENCY_NAMES = frozenset({"Amount", "AnnualRevenue", "ExpectedRevenue"})


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    custom: bool
    label: str
    nillable: bool = True
    reference_to: tuple[str, ...] = ()
    compound_field_name: str | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "custom": self.custom,
            "label": self.label,
            "nillable": self.nillable,
            "length": 255 if self.type in STRING_TYPES and self.type != "textarea" else 0,
            "referenceTo": list(self.reference_to),
            "compoundFieldName": self.compound_field_name,
            "filterable": self.type not in UNFILTERABLE_TYPES,
            "sortable": self.type not in UNFILTERABLE_TYPES,
            "updateable": not _is_system_field(self.name),
            "createable": not _is_system_field(self.name),
        }


def field_def(name: str, type_: str, *, custom: bool | None = None) -> FieldDef:
    if type_ not in FIELD_TYPES:
        raise ValueError(f"unknown Salesforce field type '{type_}'; known: {sorted(FIELD_TYPES)}")
    is_custom = name.endswith("__c") if custom is None else custom
    return FieldDef(name, type_, is_custom, _label(name), nillable=name != "Id",
                    reference_to=_reference_to(name) if type_ == "reference" else ())


def infer_schema(records: Iterable[dict[str, Any]],
                 object_name: str | None = None) -> dict[str, FieldDef]:
    """An ordered schema: every key of ``records``, then the object's standard fields they lack
    (so an org with no Tasks yet still describes and accepts Task fields)."""
    samples: dict[str, list[Any]] = {name: [] for name in ALWAYS_PRESENT
                                     if not (name == "IsDeleted" and object_name in NO_IS_DELETED)}
    for record in records:
        for name, value in record.items():
            values = samples.setdefault(name, [])
            if value is not None and len(values) < 50:
                values.append(value)
    for name in STANDARD_FIELDS.get(object_name or "", ()):
        samples.setdefault(name, [])
    schema = {name: field_def(name, infer_type(name, values)) for name, values in samples.items()}
    return _with_compound_fields(schema, object_name or "")


def _with_compound_fields(schema: dict[str, FieldDef], object_name: str) -> dict[str, FieldDef]:
    """Add the object's compound fields and mark their parts (``compoundFieldName``)."""
    for compound, (type_, parts) in COMPOUND_FIELDS.get(object_name, {}).items():
        schema.setdefault(compound, field_def(compound, type_))
        for part in parts:
            if part in schema:
                schema[part] = replace(schema[part], compound_field_name=compound)
    return schema


def infer_type(name: str, samples: list[Any]) -> str:
    """The field type from naming rules first, then from sample values."""
    base = name[:-3] if name.endswith("__c") else name
    by_name = _type_by_name(base)
    if by_name == "date" and any(isinstance(v, str) and "T" in v for v in samples):
        return "datetime"
    if by_name:
        return by_name
    return _type_by_values(base, samples)


def _type_by_name(base: str) -> str | None:
    if base == "Id":
        return "id"
    if base == "Content":
        return "base64"  # ContentNote.Content: the body, read through its blob URL
    if base.endswith("Id") and len(base) > 2:
        return "reference"
    if _starts_with_word(base, "Is") or _starts_with_word(base, "Has"):
        return "boolean"
    if base in _DATETIME_NAMES or base.endswith(("DateTime", "Datetime")):
        return "datetime"
    if base.endswith(("Date", "_Date")):
        return "date"
    if base in _CURRENCY_NAMES or base.endswith("Amount"):
        return "currency"
    if base == "Probability":
        return "percent"
    if base in _INT_NAMES:
        return "int"
    return None


def _starts_with_word(base: str, prefix: str) -> bool:
    """``IsDeleted`` starts with the word "Is"; ``Issue`` does not."""
    return base.startswith(prefix) and len(base) > len(prefix) and base[len(prefix)].isupper()


def _type_by_values(base: str, samples: list[Any]) -> str:
    if samples and all(isinstance(v, bool) for v in samples):
        return "boolean"
    if samples and all(isinstance(v, int) and not isinstance(v, bool) for v in samples):
        return "int"
    if samples and all(isinstance(v, int | float) and not isinstance(v, bool) for v in samples):
        return "double"
    if base in _PICKLIST_NAMES:
        return "picklist"
    if base == "Email" or base.endswith("Email"):
        return "email"
    if base.endswith("Phone"):
        return "phone"
    if base == "Website":
        return "url"
    if base in _TEXTAREA_NAMES or any(isinstance(v, str) and len(v) > 255 for v in samples):
        return "textarea"
    return "string"


def _is_system_field(name: str) -> bool:
    return name in ("Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate",
                    "LastModifiedById", "SystemModstamp")


def _label(name: str) -> str:
    base = name[:-3] if name.endswith("__c") else name
    words: list[str] = []
    for part in base.split("_"):
        current = ""
        for char in part:
            if char.isupper() and current and not current[-1].isupper():
                words.append(current)
                current = ""
            current += char
        if current:
            words.append(current)
    return " ".join(words)


def _reference_to(name: str) -> tuple[str, ...]:
    base = name[:-3] if name.endswith("__c") else name
    target = base[:-2]
    if target in ("Owner", "CreatedBy", "LastModifiedBy"):
        return ("User",)
    if target == "What":
        return ("Account", "Opportunity", "Case")
    if target == "Who":
        return ("Contact",)
    if target == "Parent":
        return ("Account", "Opportunity", "Case", "Contact")
    if target == "LinkedEntity":
        return ("Account", "Opportunity", "Case", "Contact", "User")
    if target == "ContentDocument":
        return ("ContentNote",)
    return (target,) if target in SALESFORCE_PREFIXES else ()


def retyped(field: FieldDef, new_type: str) -> FieldDef:
    checked = field_def(field.name, new_type, custom=field.custom)
    return replace(field, type=checked.type, reference_to=checked.reference_to)


# --------------------------------------------------------------------------------------------
# Values as SOQL compares them


def parse_datetime_value(value: Any) -> datetime | None:
    """A stored datetime (``2024-04-01T17:04:12.000+0000``) -> aware datetime; junk -> None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def parse_date_value(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _folded(value: Any) -> str | None:
    if value is None or value == "":
        return None  # Salesforce stores empty text as null
    return str(value).casefold()


def _exact(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def datetime_key(moment: datetime) -> int:
    """An aware datetime as epoch microseconds: ints compare and sort much faster."""
    return (moment - _EPOCH) // _MICROSECOND


def _datetime_comparable(value: Any) -> int | None:
    parsed = parse_datetime_value(value)
    return None if parsed is None else datetime_key(parsed)


def _date_comparable(value: Any) -> int | None:
    parsed = parse_date_value(value)
    return None if parsed is None else parsed.toordinal()


def comparable_for(type_: str) -> Callable[[Any], Any]:
    """The function turning a stored value of ``type_`` into its SOQL-comparable form (or None):
    epoch microseconds for datetimes, ordinals for dates, floats, bools, case-folded text."""
    if type_ == "datetime":
        return _datetime_comparable
    if type_ == "date":
        return _date_comparable
    if type_ in NUMBER_TYPES:
        return _number
    if type_ == "boolean":
        return _boolean
    if type_ in ID_TYPES:
        return _exact
    return _folded


# --------------------------------------------------------------------------------------------
# Stored values when a field changes type (schema drift helpers)


def convert_value(value: Any, new_type: str) -> Any:
    """Best-effort conversion of a stored JSON value to ``new_type``; unconvertible -> None."""
    if value is None:
        return None
    if new_type in STRING_TYPES or new_type in ID_TYPES:
        return value if isinstance(value, str) else _json_text(value)
    if new_type in NUMBER_TYPES:
        number = _number(value)
        if number is None:
            return None
        return int(number) if new_type in ("int", "long") else number
    if new_type == "boolean":
        return _boolean(value)
    if new_type == "datetime":
        parsed = parse_datetime_value(value)
        if parsed is None and parse_date_value(value) is not None:
            return f"{value}T00:00:00.000+0000"
        return value if parsed else None
    if new_type == "date":
        return value[:10] if isinstance(value, str) and parse_date_value(value[:10]) else None
    return value


def _json_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def format_datetime(moment: datetime) -> str:
    """Salesforce's REST datetime text: ``2024-04-01T17:04:12.123+0000`` (UTC, milliseconds)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
