"""A CRM refusing one stream (missing scope, object not enabled), for both sources.

A source raises ``StreamRefused`` when the CRM answers that this token or user may not read the
stream's object. ``sync_source`` then skips that stream with a warning instead of failing the
run, unless the warehouse cannot do without the stream (``REQUIRED_STREAMS``): then the source
fails, as before. The message names what is missing and both ways out: grant it, or exclude it.
"""

from __future__ import annotations

# Streams every churn event hangs on: without them the warehouse has nothing to attach feedback to.
REQUIRED_STREAMS = {
    "salesforce": ("account", "opportunity"),
    "hubspot": ("companies", "deals"),
}
EXCLUDE_KEY = "exclude_streams"


class StreamRefused(Exception):
    """The CRM refuses to serve this stream's object to these credentials.

    ``missing`` names what is not granted ("scope crm.objects.feedback_submissions.read",
    "object ContentNote"); ``grant`` says where to grant it.
    """

    def __init__(self, missing: str, grant: str) -> None:
        super().__init__(f"{missing} is not granted; {grant}")
        self.missing = missing
        self.grant = grant


def is_required(source: str, stream: str) -> bool:
    return stream in REQUIRED_STREAMS.get(source, ())


def refusal_message(source: str, stream: str, refused: StreamRefused) -> str:
    """One sentence: what was skipped, what is missing, how to grant it or exclude the stream."""
    if is_required(source, stream):
        return (f"{stream} refused: {refused.missing} is not granted; {refused.grant}. "
                f"The warehouse cannot do without {stream}, so the {source} sync fails")
    return (f"{stream} skipped: {refused.missing} is not granted; {refused.grant}, or exclude "
            f"the stream with sources.{source}.{EXCLUDE_KEY}: [{stream}]")
