"""The optional LLM back-end: any OpenAI-compatible chat completions endpoint classifies the notes.

Never used unless ``classification.backend: llm`` is configured. The endpoint (hosted, or a local
server such as Ollama, vLLM or llama.cpp) gets batches of notes (``batch_size`` a request, each
with a short id local to the request: no CRM id leaves the machine) and must answer JSON against
a strict schema whose category enum is the taxonomy (corpus.CATEGORIES). Every answer is checked;
a note the endpoint did not answer validly (HTTP error, timeout, non-JSON, unknown category,
missing id) gets the local model's answer (``classified_by = 'model'``), and one warning line
says how many. Answers are cached by sha256(model, prompt version, text) under
``<data_dir>/classification/llm_cache/``, so a rebuild asks only about texts never seen before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from churnkb.classification.corpus import CATEGORIES
from churnkb.classification.model import Prediction
from churnkb.config import ConfigError
from churnkb.secrets import get_secret, redact

log = logging.getLogger(__name__)

BACKENDS = ("local", "llm")
# Bump when the prompt or the schema changes meaning: part of the cache key and the fingerprint.
PROMPT_VERSION = "1"
GIVE_UP_AFTER_FAILED_BATCHES = 3  # a dead or overloaded endpoint: the rest go to the local model
MAX_BACKOFF_S = 10.0

CATEGORY_MEANINGS = {
    "product": "missing features, bugs, performance, usability, integrations",
    "pricing": "price, cost, renewal increase, too expensive for the value",
    "service": "support quality or response times",
    "success_process": "onboarding, adoption, training, customer success engagement",
    "competitor": "chose, switched or consolidated to a competitor",
    "relationship": "champion or sponsor left, trust, account management relationship",
    "company": "the customer's company was acquired, merged, closed or restructured",
    "needs": "no longer needs the tool (project ended, business changed)",
    "involuntary": "payment failed, card expired, billing lapse",
    "unknown": "no reason given",
}
SYSTEM_PROMPT = (
    "You classify why a B2B software customer left, from a note a salesperson or the customer "
    "wrote. For each note give every reason category the note states as a reason (not reasons it "
    "denies, e.g. 'price was not the issue'), the decisive one as `primary`, and your confidence "
    "(0-1) in `primary`. Use 'unknown' only when the note gives no reason. Categories:\n"
    + "\n".join(f"- {name}: {meaning}" for name, meaning in CATEGORY_MEANINGS.items())
    + "\nAnswer with one item per note, with the note's id."
)
PROMPT_FINGERPRINT = hashlib.sha256(
    "|".join([PROMPT_VERSION, SYSTEM_PROMPT, *CATEGORIES]).encode()).hexdigest()[:12]


class Classifier(Protocol):
    """What classify_items needs: the local model (ExitNoteClassifier) and LlmClassifier have it."""

    def predict(self, items: Sequence[tuple[str, str]]) -> list[Prediction]: ...


@dataclass(frozen=True)
class LlmSettings:
    base_url: str
    model: str
    api_key_env: str = "CHURNKB_LLM_API_KEY"
    timeout_s: float = 60.0
    batch_size: int = 20
    max_retries: int = 2

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def fingerprint(self) -> str:
        """What decides the answers besides the text (the server is not: same model, same answer)."""
        return f"llm|{self.model}|{PROMPT_FINGERPRINT}"


def llm_settings(classification: dict[str, Any], where: str = "classification") -> LlmSettings | None:
    """The configured LLM back-end, or None for the local model; a wrong value is a ConfigError."""
    backend = classification.get("backend") or "local"
    if backend not in BACKENDS:
        raise ConfigError(f"{where}.backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "local":
        return None
    llm = classification.get("llm") or {}
    if not isinstance(llm, dict):
        raise ConfigError(f"{where}.llm must be a mapping")
    missing = [key for key in ("base_url", "model") if not str(llm.get(key) or "").strip()]
    if missing:
        raise ConfigError(f"{where}.backend is llm: set {', '.join(f'{where}.llm.{k}' for k in missing)} "
                          "(e.g. base_url: http://127.0.0.1:11434/v1, model: llama3.1)")
    base_url = str(llm["base_url"]).strip().rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}.llm.base_url must start with http:// or https://, got {base_url!r}")
    defaults = LlmSettings(base_url, str(llm["model"]))
    return LlmSettings(
        base_url=base_url, model=str(llm["model"]).strip(),
        api_key_env=str(llm.get("api_key_env") or defaults.api_key_env),
        timeout_s=_number(llm, "timeout_s", defaults.timeout_s, where, minimum=0.001),
        batch_size=int(_number(llm, "batch_size", defaults.batch_size, where, minimum=1, whole=True)),
        max_retries=int(_number(llm, "max_retries", defaults.max_retries, where, minimum=0, whole=True)),
    )


def _number(section: dict[str, Any], key: str, default: float, where: str, *, minimum: float,
            whole: bool = False) -> float:
    value = section.get(key, default)
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= minimum
    if not ok or (whole and value != int(value)):
        kind = "a whole number" if whole else "a number"
        raise ConfigError(f"{where}.llm.{key} must be {kind} of at least {minimum:g}, got {value!r}")
    return value


def settings_from_dict(values: dict[str, Any] | None) -> LlmSettings | None:
    """The settings as warehouse.py hands them to dbt (LlmSettings.as_dict, or null)."""
    return LlmSettings(**values) if values else None


# -- the response ---------------------------------------------------------------------------------

def response_format() -> dict[str, Any]:
    category = {"type": "string", "enum": list(CATEGORIES)}
    item = {
        "type": "object", "additionalProperties": False,
        "required": ["id", "categories", "primary", "confidence"],
        "properties": {"id": {"type": "string"}, "categories": {"type": "array", "items": category},
                       "primary": category, "confidence": {"type": "number"}},
    }
    schema = {"type": "object", "additionalProperties": False, "required": ["items"],
              "properties": {"items": {"type": "array", "items": item}}}
    return {"type": "json_schema",
            "json_schema": {"name": "exit_feedback_classification", "strict": True, "schema": schema}}


@dataclass(frozen=True)
class Answer:
    categories: list[str]
    primary: str
    confidence: float


def parse_answer(item: Any) -> Answer | None:
    """One answered note, or None when it breaks the schema (the local model answers instead)."""
    if not isinstance(item, dict):
        return None
    categories, primary, confidence = item.get("categories"), item.get("primary"), item.get("confidence")
    if not isinstance(categories, list) or primary not in CATEGORIES:
        return None
    if any(c not in CATEGORIES for c in categories):
        return None
    if not isinstance(confidence, int | float) or isinstance(confidence, bool) or not 0 <= confidence <= 1:
        return None
    given = [primary] + [c for c in dict.fromkeys(categories) if c != primary]
    if len(given) > 1 and "unknown" in given and primary != "unknown":
        given.remove("unknown")  # as the local model: a note with a reason is not also "no reason"
    if primary == "unknown":
        given = ["unknown"]
    return Answer(given, primary, round(float(confidence), 4))


def answers_of(body: Any, ids: Sequence[str]) -> dict[str, Answer]:
    """Valid answers by request-local id from a chat completions body (missing ids are absent)."""
    try:
        content = body["choices"][0]["message"]["content"]
        items = json.loads(content)["items"]
    except (KeyError, IndexError, TypeError, ValueError):
        return {}
    if not isinstance(items, list):
        return {}
    wanted, found = set(ids), {}
    for item in items:
        item_id = str(item.get("id")) if isinstance(item, dict) else None
        if item_id in wanted and item_id not in found:
            answer = parse_answer(item)
            if answer is not None:
                found[item_id] = answer
    return found


# -- the cache ------------------------------------------------------------------------------------

class AnswerCache:
    """Append-only JSON Lines of answers by text hash; no text is stored. A torn last line (a
    killed run) is skipped on reading and closed before the next append."""

    def __init__(self, folder: Path | None) -> None:
        self.path = folder / "answers.jsonl" if folder is not None else None
        self.answers: dict[str, Answer] = self._read()

    def _read(self) -> dict[str, Answer]:
        if self.path is None or not self.path.exists():
            return {}
        answers: dict[str, Answer] = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                answer = parse_answer(record)
            except (ValueError, AttributeError):
                continue
            if answer is not None and isinstance(record.get("key"), str):
                answers[record["key"]] = answer
        return answers

    def get(self, key: str) -> Answer | None:
        return self.answers.get(key)

    def add(self, found: dict[str, Answer]) -> None:
        self.answers.update(found)
        if self.path is None or not found:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        torn = self.path.exists() and self.path.stat().st_size and not self.path.read_bytes().endswith(b"\n")
        lines = "".join(json.dumps({"key": key, **asdict(a)}) + "\n" for key, a in found.items())
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(("\n" if torn else "") + lines)


def text_key(settings: LlmSettings, text: str) -> str:
    return hashlib.sha256("\x00".join([settings.model, PROMPT_FINGERPRINT, text]).encode()).hexdigest()


# -- the classifier -------------------------------------------------------------------------------

class EndpointError(Exception):
    """A request failed for good (after the retries); the message is safe to print."""


class LlmClassifier:
    """Asks the endpoint about notes not in the cache; the local model answers what it did not."""

    def __init__(self, settings: LlmSettings, fallback: Classifier, cache_dir: Path | None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.fallback = fallback
        self.cache = AnswerCache(cache_dir)
        self.api_key = get_secret(settings.api_key_env)  # a local server may need none
        self.transport = transport
        self.requests = 0
        self.fell_back = 0

    def predict(self, items: Sequence[tuple[str, str]]) -> list[Prediction]:
        keys = [text_key(self.settings, text) for _, text in items]
        unseen = {key: text for key, (_, text) in zip(keys, items, strict=True)
                  if text.strip() and self.cache.get(key) is None}
        problems = self._ask(unseen)
        asked_locally = [(i, t) for (i, t), key in zip(items, keys, strict=True) if self.cache.get(key) is None]
        local = {p.id: p for p in self.fallback.predict(asked_locally)}
        # a blank note has nothing to send: the local model's "unknown" is no failure
        self.fell_back = sum(1 for item_id, text in asked_locally if text.strip())
        if self.fell_back:
            reasons = "; ".join(sorted(problems)) or "no valid answer"
            log.warning(redact(f"LLM classification: {self.fell_back} of {len(items)} note(s) classified by "
                               f"the local model instead ({reasons})"))
        return [local[item_id] if item_id in local else self._prediction(item_id, self.cache.get(key))
                for (item_id, _), key in zip(items, keys, strict=True)]

    @staticmethod
    def _prediction(item_id: str, answer: Answer | None) -> Prediction:
        assert answer is not None  # every item without a cached answer was predicted locally
        # the endpoint states one confidence, for its primary category; no rule gave the answer
        return Prediction(item_id, list(answer.categories), answer.primary, answer.confidence,
                          {answer.primary: answer.confidence}, [], classified_by="llm")

    def _ask(self, unseen: dict[str, str]) -> set[str]:
        """Fill the cache for as many unseen texts as the endpoint answers; returns the problems."""
        keys, problems, failed_in_a_row = list(unseen), set(), 0
        size = self.settings.batch_size
        with httpx.Client(timeout=self.settings.timeout_s, transport=self.transport) as client:
            for start in range(0, len(keys), size):
                if failed_in_a_row >= GIVE_UP_AFTER_FAILED_BATCHES:
                    problems.add(f"gave up after {failed_in_a_row} failed requests in a row")
                    break
                batch = keys[start:start + size]
                try:
                    body = self._request(client, [unseen[k] for k in batch])
                except EndpointError as exc:
                    problems.add(str(exc))
                    failed_in_a_row += 1
                    continue
                failed_in_a_row = 0
                found = answers_of(body, [str(n) for n in range(1, len(batch) + 1)])
                if len(found) < len(batch):
                    problems.add("answers missing or outside the taxonomy")
                self.cache.add({batch[int(n) - 1]: answer for n, answer in found.items()})
        return problems

    def _request(self, client: httpx.Client, texts: list[str]) -> Any:
        notes = [{"id": str(n), "text": text} for n, text in enumerate(texts, start=1)]
        payload = {
            "model": self.settings.model, "temperature": 0, "response_format": response_format(),
            "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                         {"role": "user", "content": json.dumps({"notes": notes}, ensure_ascii=False)}],
        }
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        url = f"{self.settings.base_url}/chat/completions"
        for attempt in range(self.settings.max_retries + 1):
            self.requests += 1
            try:
                response = client.post(url, json=payload, headers=headers)
            except httpx.TimeoutException:
                problem, wait = f"no answer within {self.settings.timeout_s:g} s", None
            except httpx.HTTPError as exc:
                raise EndpointError(f"request failed ({type(exc).__name__})") from None
            else:
                if response.status_code == 200:
                    try:
                        return response.json()
                    except ValueError:
                        raise EndpointError("the answer is not JSON") from None
                if response.status_code != 429 and response.status_code < 500:
                    raise EndpointError(f"HTTP {response.status_code}")
                problem, wait = f"HTTP {response.status_code}", _retry_after(response)
            if attempt < self.settings.max_retries:
                time.sleep(min(MAX_BACKOFF_S, wait if wait is not None else 0.5 * 2 ** attempt))
        raise EndpointError(problem)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None
