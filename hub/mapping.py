"""The declarative mapping engine: ``mappings/<connector>.toml`` turned into fast field rules.

A mapping file describes, per stream of one connector, both directions:

* **inbound**: source field -> schema path, through a chain of named transforms
  (:mod:`hub.transforms`), an optional value map, a default and ``required``;
* **outbound**: view path (:func:`lead_view`) -> destination field, with a conflict rule that
  decides whether the hub may overwrite what the CRM holds.

Files are validated and compiled once, at start-up: every problem stops start-up with a
:class:`~hub.errors.ConfigError` naming the file, the line, the stream and the field (tomllib
gives no line numbers, so :class:`_Lines` finds them in the raw text). Per record there is no
parsing and no look-up by name: a stream is a tuple of :class:`FieldRule` whose transforms are
plain callables. A record that cannot be mapped raises :class:`~hub.errors.InvalidRecord` with a
reason a person can act on; the engine quarantines it. The file format is documented in
``docs/mappings.md``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hub import transforms
from hub.errors import ConfigError, InvalidRecord
from hub.schema import AccountRecord, Company, Contact, Inquiry, LeadStatus, OutcomeReport, SourceRecord

if TYPE_CHECKING:
    from hub.connector import DeliveryItem

RULES = ("hub_wins", "crm_wins", "crm_wins_unless_blank", "never")
KINDS = ("inquiry", "outcome", "account")
#: Record attributes an inbound field can read instead of a payload field (``from = "@stream"``).
RECORD_SOURCES = frozenset({"@external_id", "@version", "@updated_at", "@received_at", "@connector", "@stream"})
INQUIRY_PATHS = frozenset(
    {f"contact.{name}" for name in Contact.model_fields}
    | {f"company.{name}" for name in Company.model_fields}
    | {"activity.kind", "activity.at", "product_line", "partner_id", "source_ref"}
)
OUTCOME_PATHS = frozenset({"lead_ref", "status", "reason", "amount"})
ACCOUNT_PATHS = frozenset({f"company.{name}" for name in Company.model_fields}
                          | {"source_ref", "owner_ref", "parent_ref"})
VIEW_PATHS = frozenset(
    {f"lead.{name}" for name in ("id", "status", "score", "fit_score", "grade", "product_line", "owner_id",
                                 "sla_due_at", "partner_id", "source_connector", "created_at", "updated_at")}
    | {f"contact.{name}" for name in Contact.model_fields}
    | {"company.name", "company.domain", "company.country"}
    | {f"account.{name}" for name in ("id", "name", "domain", "country", "crm_id")}
    | {f"owner.{name}" for name in ("id", "name", "email", "crm_id")}
    | {f"outcome.{name}" for name in ("status", "reason", "amount", "at")}
    | {"external_id"}
)
_STREAM_KEYS = frozenset({"kind", "activity_kind", "product_line", "strict", "keep_unmapped", "ignore",
                          "max_length", "inbound", "outbound"})
_COMMON_FIELD_KEYS = frozenset({"from", "value", "transform", "map", "map_default", "map_unknown", "default",
                                "required"})
_INBOUND_FIELD_KEYS = _COMMON_FIELD_KEYS | {"invalid"}
_OUTBOUND_FIELD_KEYS = _COMMON_FIELD_KEYS | {"rule", "key", "write_null"}
_MAX_LENGTH = 10_000  # characters per value, unless a stream says otherwise
_MISSING = object()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and (not value or value.isspace()))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "...'"


# -- compiled rules --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alternative:
    """One way to fill a field: read the first non-blank source, then run the chain."""

    sources: tuple[str, ...]  # payload fields / view paths / "@attr"; empty when ``constant`` is set
    chain: tuple[transforms.Transform, ...]
    constant: Any = _MISSING
    drop_invalid: bool = False  # an invalid value becomes blank instead of rejecting the record


@dataclass(frozen=True, slots=True)
class FieldRule:
    """A compiled field: its target (schema path or destination field) and how to fill it."""

    target: str
    alternatives: tuple[Alternative, ...]
    columns: str  # the sources, for messages: "Email or E-mail"
    line: int
    default: Any = None
    required: bool = False
    rule: str = "hub_wins"  # outbound only
    key: bool = False  # outbound only: the upsert key, always sent
    write_null: bool = False  # outbound only


Reader = Callable[[str], Any]


def _evaluate(rule: FieldRule, read: Reader, values: Mapping[str, Any], what: str) -> Any:
    """The field's value (``None`` when blank), or :class:`InvalidRecord` saying what is wrong."""
    for alt in rule.alternatives:
        value, column = alt.constant, "value"
        if value is _MISSING:
            value = None
            for source in alt.sources:
                value = read(source)
                if not _blank(value):
                    column = source
                    break
            else:
                continue
        try:
            for step in alt.chain:
                value = step(value, values)
                if value is None:
                    break
        except transforms.TransformError as exc:
            if alt.drop_invalid:
                continue
            raise InvalidRecord(f"{what} '{rule.target}' ({_column_word(what)} {column}): {exc}",
                                field=rule.target) from None
        if value is not None:
            return value
    if rule.default is not None:
        return rule.default
    if rule.required:
        raise InvalidRecord(f"required {what} '{rule.target}' ({_column_word(what)} {rule.columns}) is missing",
                            field=rule.target)
    return None


def _column_word(what: str) -> str:
    return "column" if what == "field" else "from"


@dataclass
class StreamMapping:
    """One stream of one connector, compiled: inbound rules, outbound rules and options."""

    connector: str
    name: str  # as declared; may end in "*" (a prefix pattern)
    file: Path
    kind: str = "inquiry"
    activity_kind: str | None = None
    product_line: str = "default"
    strict: bool = False
    keep_unmapped: bool = False
    ignore: frozenset[str] = frozenset()
    max_length: int = _MAX_LENGTH
    inbound: tuple[FieldRule, ...] | None = None
    outbound: tuple[FieldRule, ...] | None = None
    _known: frozenset[str] = field(default=frozenset(), init=False, repr=False)
    _columns: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        sources = {s.partition(".")[0] for r in self.inbound or () for a in r.alternatives for s in a.sources}
        self._known = frozenset(s for s in sources if not s.startswith("@")) | self.ignore
        self._columns = {r.target: r.columns for r in self.inbound or ()}

    # -- introspection for connectors ---------------------------------------------------------
    def source_fields(self) -> list[str]:
        """Payload fields the inbound mapping reads (e.g. for a SOQL SELECT or HubSpot properties)."""
        return sorted(self._known - self.ignore)

    def destination_fields(self) -> list[str]:
        """Destination fields the outbound mapping can write."""
        return [r.target for r in self.outbound or ()]

    @property
    def key_field(self) -> str | None:
        """The outbound field marked ``key = true`` (the upsert's external id), if any."""
        return next((r.target for r in self.outbound or () if r.key), None)

    # -- inbound ------------------------------------------------------------------------------
    def normalize(self, record: SourceRecord) -> Inquiry | OutcomeReport | AccountRecord:
        if self.inbound is None:
            raise InvalidRecord(
                f"stream {self.name!r} of connector {self.connector!r} has no inbound mapping: "
                f"add [streams.{_quote(self.name)}.inbound] to {self.file}")
        payload = record.payload
        if self.strict:
            unknown = sorted(k for k in payload if k not in self._known)
            if unknown:
                raise InvalidRecord(
                    f"unknown fields {', '.join(_show(k) for k in unknown[:20])} in strict stream "
                    f"{self.name!r}: map them or list them in ignore = [...] in {self.file}",
                    field=unknown[0])
        limit = self.max_length

        def read(source: str) -> Any:
            if source[0] == "@":
                return getattr(record, source[1:])
            value = payload.get(source, _MISSING)
            if value is _MISSING:
                value = _dig(payload, source)
            if isinstance(value, str) and len(value) > limit:
                raise InvalidRecord(f"column {source} holds {len(value)} characters; the limit is {limit} "
                                    f"(max_length of stream {self.name!r})", field=source)
            return value

        values: dict[str, Any] = {}
        for rule in self.inbound:
            value = _evaluate(rule, read, values, "field")
            if value is not None:
                values[rule.target] = value
        try:
            if self.kind == "outcome":
                return OutcomeReport(source=record, lead_ref=str(values["lead_ref"]), status=values["status"],
                                     reason=str(values.get("reason") or ""), amount=values.get("amount"))
            if self.kind == "account":
                company = {path[8:]: v for path, v in values.items() if path.startswith("company.")}
                ref, owner, parent = (values.get(k) for k in ("source_ref", "owner_ref", "parent_ref"))
                return AccountRecord(source=record, company=Company.model_validate(company),
                                     source_ref=str(ref) if ref is not None else None,
                                     owner_ref=str(owner) if owner is not None else None,
                                     parent_ref=str(parent) if parent is not None else None)
            return self._inquiry(record, values)
        except ValidationError as exc:
            raise self._invalid(exc) from None

    def _inquiry(self, record: SourceRecord, values: dict[str, Any]) -> Inquiry:
        parts: dict[str, dict[str, Any]] = {"contact": {}, "company": {}, "activity": {}, "": {}}
        details: dict[str, Any] = {}
        for path, value in values.items():
            group, _, leaf = path.partition(".")
            if group == "activity" and leaf.startswith("details."):
                details[leaf[8:]] = value
            elif leaf:
                parts[group][leaf] = value
            else:
                parts[""][group] = value
        if self.keep_unmapped:
            for name, value in record.payload.items():
                if name not in self._known and name not in details and not _blank(value):
                    details[name] = value
        activity = parts["activity"]
        activity.setdefault("kind", self.activity_kind)
        activity.setdefault("at", record.updated_at or record.received_at)
        activity["source"] = f"{record.connector}:{record.stream}"
        activity["details"] = details
        top = parts[""]
        return Inquiry.model_validate({
            "source": record, "contact": parts["contact"], "company": parts["company"], "activity": activity,
            "product_line": top.get("product_line", self.product_line),
            "partner_id": top.get("partner_id"), "source_ref": top.get("source_ref"),
        })

    def _invalid(self, exc: ValidationError) -> InvalidRecord:
        error = exc.errors()[0]
        path = ".".join(str(p) for p in error["loc"])
        column = self._columns.get(path, "?")
        return InvalidRecord(f"field '{path}' (column {column}): {_show(error.get('input'))} is invalid: "
                             f"{error['msg']}", field=path)

    # -- outbound -----------------------------------------------------------------------------
    def write(self, view: Mapping[str, Any], current: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Destination field -> value, applying each field's conflict rule against ``current``."""
        if self.outbound is None:
            raise ConfigError(f"stream {self.name!r} of connector {self.connector!r} has no outbound "
                              f"mapping: add [streams.{_quote(self.name)}.outbound] to {self.file}")
        creating = current is None
        out: dict[str, Any] = {}
        read = view.get
        for rule in self.outbound:
            if not rule.key:
                if rule.rule == "never":
                    continue
                if not creating and rule.rule != "hub_wins":
                    assert current is not None
                    if rule.rule == "crm_wins" or not _blank(current.get(rule.target)):
                        continue
            value = _evaluate(rule, read, view, "outbound field")
            if value is not None or rule.write_null:
                out[rule.target] = value
        return out


def _dig(payload: Mapping[str, Any], source: str) -> Any:
    """``properties.email`` -> payload["properties"]["email"] (only when the flat key is absent)."""
    if "." not in source:
        return None
    node: Any = payload
    for part in source.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


# -- the set of all mappings -----------------------------------------------------------------


class MappingSet:
    """Every loaded mapping, by connector and stream. Built once at start-up; read-only after."""

    def __init__(self, streams: Iterable[StreamMapping] = (), files: Mapping[str, Path] | None = None) -> None:
        self.files: dict[str, Path] = dict(files or {})
        self._exact: dict[tuple[str, str], StreamMapping] = {}
        self._patterns: dict[str, list[StreamMapping]] = {}
        for stream in streams:
            if stream.name.endswith("*"):
                self._patterns.setdefault(stream.connector, []).append(stream)
            else:
                self._exact[(stream.connector, stream.name)] = stream
        for found in self._patterns.values():  # the most specific prefix wins
            found.sort(key=lambda s: len(s.name), reverse=True)

    @classmethod
    def empty(cls) -> MappingSet:
        return cls()

    @classmethod
    def load(cls, folder: Path) -> MappingSet:
        """All ``*.toml`` files of ``folder``; the file name (without .toml) is the connector name."""
        folder = Path(folder)
        if not folder.is_dir():
            raise ConfigError(f"mapping folder {folder} does not exist: create it with one "
                              "<connector>.toml per connector, or set the mappings path in hub.toml")
        return cls.from_files(sorted(folder.glob("*.toml")))

    @classmethod
    def from_files(cls, paths: Iterable[Path]) -> MappingSet:
        streams: list[StreamMapping] = []
        files: dict[str, Path] = {}
        for path in map(Path, paths):
            connector = path.stem
            if connector in files:
                raise ConfigError(f"{path}: connector {connector!r} is already mapped by {files[connector]}; "
                                  "keep one file per connector")
            files[connector] = path
            streams.extend(_compile_file(path, connector))
        return cls(streams, files)

    def connectors(self) -> list[str]:
        return sorted(self.files.keys() | {c for c, _ in self._exact} | self._patterns.keys())

    def streams(self, connector: str) -> list[StreamMapping]:
        exact = [s for (c, _), s in self._exact.items() if c == connector]
        return exact + self._patterns.get(connector, [])

    def stream(self, connector: str, stream: str) -> StreamMapping | None:
        """The mapping of ``stream``; a stream declared ``"form:*"`` matches ``"form:demo"``."""
        found = self._exact.get((connector, stream))
        if found is not None:
            return found
        for pattern in self._patterns.get(connector, ()):
            if stream.startswith(pattern.name[:-1]):
                return pattern
        return None

    def normalize(self, record: SourceRecord) -> Inquiry | OutcomeReport | AccountRecord:
        """The record as an Inquiry or OutcomeReport; :class:`InvalidRecord` says why it cannot be."""
        mapping = self.stream(record.connector, record.stream)
        if mapping is None:
            raise InvalidRecord(f"no mapping for connector {record.connector} stream {record.stream}: add "
                                f"[streams.{_quote(record.stream)}] to mappings/{record.connector}.toml")
        return mapping.normalize(record)

    def outbound(self, connector: str, stream: str, view: dict[str, Any],
                 current: dict[str, Any] | None = None) -> dict[str, Any]:
        """Destination field -> value for ``view`` (:func:`lead_view`); ``current`` is the CRM's
        record (``None`` when creating), against which each field's conflict rule is applied."""
        mapping = self.stream(connector, stream)
        if mapping is None:
            raise ConfigError(f"no mapping for connector {connector} stream {stream}: add "
                              f"[streams.{_quote(stream)}.outbound] to mappings/{connector}.toml")
        return mapping.write(view, current)


def _quote(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'"{name}"'


# -- the flat view an outbound mapping reads -------------------------------------------------


def lead_view(item: DeliveryItem, connector: str) -> dict[str, Any]:
    """The flat ``path -> value`` view of a delivery that outbound mappings read."""
    lead, account, owner, outcome = item.lead, item.account, item.owner, item.outcome
    contact = lead.contacts[0] if lead.contacts else None
    domain = account.domains[0] if account.domains else None
    view: dict[str, Any] = {
        "lead.id": lead.id, "lead.status": lead.status.value, "lead.score": lead.score,
        # Read by name: a lead model without fit score or grade leaves them blank.
        "lead.fit_score": getattr(lead, "fit_score", None), "lead.grade": getattr(lead, "grade", None),
        "lead.product_line": lead.product_line, "lead.owner_id": lead.owner_id,
        "lead.sla_due_at": lead.sla_due_at, "lead.partner_id": lead.partner_id,
        "lead.source_connector": lead.source_connector, "lead.created_at": lead.created_at,
        "lead.updated_at": lead.updated_at,
        "company.name": account.name, "company.domain": domain, "company.country": account.country,
        "account.id": account.id, "account.name": account.name, "account.domain": domain,
        "account.country": account.country,
        "account.crm_id": account.xrefs.get(connector) or item.xrefs.get("account"),
        "owner.id": owner.id if owner else None, "owner.name": owner.name if owner else None,
        "owner.email": (owner.email or None) if owner else None,
        "owner.crm_id": owner.crm_ids.get(connector) if owner else None,
        "outcome.status": outcome.status.value if outcome else None,
        "outcome.reason": (outcome.reason or None) if outcome else None,
        "outcome.amount": outcome.amount if outcome else None,
        "outcome.at": outcome.at if outcome else None,
        "external_id": item.external_id,
    }
    for name in Contact.model_fields:
        view[f"contact.{name}"] = getattr(contact, name) if contact else None
    return view


# -- loading and validation ------------------------------------------------------------------

_KEY_PART = re.compile(r'\s*("(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_-]+)\s*')


def _key_parts(text: str) -> tuple[str, ...] | None:
    """``streams."form:*".inbound`` -> ("streams", "form:*", "inbound"); None if not a key."""
    parts: list[str] = []
    pos = 0
    while True:
        match = _KEY_PART.match(text, pos)
        if not match:
            return None
        token = match.group(1)
        parts.append(token[1:-1] if token[0] in "\"'" else token)
        pos = match.end()
        if pos >= len(text) or text[pos] != ".":
            return tuple(parts) if not text[pos:].strip() else None
        pos += 1


class _Lines:
    """Finds line numbers in a TOML file's raw text: table headers and the keys under them."""

    def __init__(self, text: str) -> None:
        self.tables: list[tuple[tuple[str, ...], int]] = []  # (header parts, 1-based line)
        self.keys: list[tuple[int, tuple[str, ...], int]] = []  # (table index, key parts, line)
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if line.startswith("[") and not line.startswith("[["):
                parts = _key_parts(line[1:line.find("]")]) if "]" in line else None
                if parts:
                    self.tables.append((parts, number))
            elif "=" in line and not line.startswith("#"):
                parts = _key_parts(line[: line.index("=")])
                if parts:
                    self.keys.append((len(self.tables) - 1, parts, number))

    def table(self, *parts: str) -> int:
        for i in range(len(parts), 0, -1):  # the nearest enclosing table that is written out
            for header, number in self.tables:
                if header == parts[:i]:
                    return number
        return 1

    def key(self, table: tuple[str, ...], key: str) -> int:
        for index, parts, number in self.keys:
            header = self.tables[index][0] if index >= 0 else ()
            if header + parts[:1] == table + (key,) or header + parts == table + (key,):
                return number
        return self.table(*table)


def _compile_file(path: Path, connector: str) -> list[StreamMapping]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the mapping file ({exc}); it must be UTF-8 TOML") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"line (\d+)", str(exc))
        raise ConfigError(f"{path} line {at.group(1) if at else '?'}: TOML syntax error: {exc}; "
                          "fix the syntax and restart") from None
    lines = _Lines(text)
    for key in data:
        if key != "streams":
            raise ConfigError(f"{path} line {lines.key((), key)}: unknown top-level key {key!r}; "
                              "a mapping file holds only [streams.<name>] tables")
    streams = data.get("streams", {})
    if not isinstance(streams, dict):
        raise ConfigError(f"{path} line {lines.key((), 'streams')}: 'streams' must be a table of streams")
    return [_compile_stream(path, lines, connector, name, spec) for name, spec in streams.items()]


class _Problem(Exception):
    """A validation problem inside one stream, turned into a ConfigError with file and line."""

    def __init__(self, message: str, key: str | None = None, part: str | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.key, self.part, self.field = key, part, field


def _compile_stream(path: Path, lines: _Lines, connector: str, name: str, spec: Any) -> StreamMapping:
    try:
        return _build_stream(path, lines, connector, name, spec)
    except _Problem as problem:
        table = ("streams", name) + ((problem.part,) if problem.part else ())
        if problem.field is not None:
            line = lines.key(table, problem.field)
            where = f"stream '{name}', field '{problem.field}'"
        else:
            line = lines.key(table, problem.key) if problem.key else lines.table(*table)
            where = f"stream '{name}'" + (f", key '{problem.key}'" if problem.key else "")
        raise ConfigError(f"{path} line {line}: {where}: {problem}") from None


def _build_stream(path: Path, lines: _Lines, connector: str, name: str, spec: Any) -> StreamMapping:
    table = ("streams", name)
    if not isinstance(spec, dict):
        raise _Problem("a stream must be a table ([streams.NAME])")
    if "*" in name[:-1]:
        raise _Problem("'*' may only end a stream name (a prefix pattern such as \"form:*\")")
    for key in spec:
        if key not in _STREAM_KEYS:
            raise _Problem(f"unknown key; a stream takes {', '.join(sorted(_STREAM_KEYS))}", key=key)
    kind = _option(spec, "kind", str, "inquiry")
    if kind not in KINDS:
        raise _Problem(f"kind must be one of {', '.join(KINDS)}, not {kind!r}", key="kind")
    max_length = _option(spec, "max_length", int, _MAX_LENGTH)
    if max_length < 1:
        raise _Problem("max_length must be a positive number of characters", key="max_length")
    ignore = _option(spec, "ignore", list, [])
    if not all(isinstance(i, str) for i in ignore):
        raise _Problem("ignore must be a list of field names", key="ignore")
    activity_kind = _option(spec, "activity_kind", str, None)
    options = {"product_line": _option(spec, "product_line", str, "default"),
               "strict": _option(spec, "strict", bool, False),
               "keep_unmapped": _option(spec, "keep_unmapped", bool, False)}
    inbound = outbound = None
    if "inbound" in spec:
        inbound = _inbound_rules(lines, table, kind, activity_kind, _table(spec, "inbound"))
    if "outbound" in spec:
        outbound = _outbound_rules(lines, table, _table(spec, "outbound"))
    if inbound is None and outbound is None:
        raise _Problem("the stream maps nothing: add an [inbound] and/or [outbound] table")
    return StreamMapping(
        connector=connector, name=name, file=path, kind=kind, activity_kind=activity_kind,
        product_line=options["product_line"], strict=options["strict"], keep_unmapped=options["keep_unmapped"],
        ignore=frozenset(ignore), max_length=max_length, inbound=inbound, outbound=outbound)


def _option(spec: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    value = spec.get(key, default)
    if value is not default and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        raise _Problem(f"must be a {kind.__name__}, not {_show(value)}", key=key)
    return value


def _table(spec: dict[str, Any], part: str) -> dict[str, Any]:
    value = spec[part]
    if not isinstance(value, dict):
        raise _Problem(f"'{part}' must be a table of fields ([streams.NAME.{part}])", key=part)
    return value


def _inbound_rules(lines: _Lines, table: tuple[str, ...], kind: str, activity_kind: str | None,
                   fields: dict[str, Any]) -> tuple[FieldRule, ...]:
    paths = {"outcome": OUTCOME_PATHS, "account": ACCOUNT_PATHS}.get(kind, INQUIRY_PATHS)
    rules: list[FieldRule] = []
    for target, spec in fields.items():
        if target not in paths and not (kind == "inquiry" and target.startswith("activity.details.")
                                        and len(target) > len("activity.details.")):
            raise _Problem(f"unknown schema path; an {kind} stream maps {', '.join(sorted(paths))}"
                           + (", activity.details.<name>" if kind == "inquiry" else ""), "inbound", "inbound", target)
        default = activity_kind if target == "activity.kind" else None
        required = target in ("lead_ref", "status") or target == "activity.kind"
        rule = _field_rule(lines, table + ("inbound",), target, spec, _INBOUND_FIELD_KEYS, default, required)
        if target == "status" and kind == "outcome":
            _check_statuses(rule, spec, target)
        rules.append(rule)
    mapped = {r.target for r in rules}
    if kind == "outcome" and not {"lead_ref", "status"} <= mapped:
        raise _Problem("an outcome stream must map 'lead_ref' and 'status'", key="kind")
    if kind == "inquiry" and activity_kind is None and "activity.kind" not in mapped:
        raise _Problem("an inquiry stream needs activity_kind = \"...\" (or a mapping of 'activity.kind')",
                       key="kind")
    # Countries first: the phone transform reads the record's country as its region.
    rules.sort(key=lambda r: not r.target.endswith(".country"))
    return tuple(rules)


def _check_statuses(rule: FieldRule, spec: Any, target: str) -> None:
    allowed = {s.value for s in LeadStatus}
    alternatives = spec if isinstance(spec, list) else [spec]
    for alt in alternatives:
        for value in [*alt.get("map", {}).values(), alt.get("map_default", ""), alt.get("default", "")]:
            if value != "" and value not in allowed:
                raise _Problem(f"{_show(value)} is not a lead status; use one of {', '.join(sorted(allowed))}",
                               "inbound", "inbound", target)


def _outbound_rules(lines: _Lines, table: tuple[str, ...], fields: dict[str, Any]) -> tuple[FieldRule, ...]:
    rules = [_field_rule(lines, table + ("outbound",), dest, spec, _OUTBOUND_FIELD_KEYS, None, False)
             for dest, spec in fields.items()]
    keys = [r.target for r in rules if r.key]
    if len(keys) > 1:
        raise _Problem(f"only one field can be the upsert key; {', '.join(keys)} all say key = true",
                       "outbound", "outbound", keys[1])
    return tuple(rules)


def _field_rule(lines: _Lines, table: tuple[str, ...], target: str, spec: Any, allowed: frozenset[str],
                default: Any, required: bool) -> FieldRule:
    part = table[-1]
    outbound = part == "outbound"

    def problem(message: str) -> _Problem:
        return _Problem(message, part, part, target)

    alternatives = spec if isinstance(spec, list) else [spec]
    if not alternatives or not all(isinstance(a, dict) for a in alternatives):
        raise problem('a field is an inline table, e.g. { from = "Email", transform = ["email"] }, '
                      "or a list of them (tried in order)")
    built: list[Alternative] = []
    rule, key, write_null, columns = "hub_wins", False, False, []
    for alt in alternatives:
        for name in alt:
            if name not in allowed:
                raise problem(f"unknown key {name!r}; a field takes {', '.join(sorted(allowed))}")
        if ("from" in alt) == ("value" in alt):
            raise problem("missing `from` (the source field to read)" if "from" not in alt
                          else "give either `from` or `value`, not both")
        sources = alt.get("from", [])
        sources = [sources] if isinstance(sources, str) else sources
        if not isinstance(sources, list) or not all(isinstance(s, str) and s for s in sources):
            raise problem("`from` must be a field name or a list of field names")
        for source in sources:
            if outbound and source not in VIEW_PATHS:
                raise problem(f"unknown view path {source!r} in `from`; outbound fields read "
                              f"{', '.join(sorted(VIEW_PATHS))}")
            if source.startswith("@") and (outbound or source not in RECORD_SOURCES):
                raise problem(f"unknown record attribute {source!r}; use one of {', '.join(sorted(RECORD_SOURCES))}")
        columns.extend(sources)
        chain = [_transform(name, problem) for name in _names(alt.get("transform", []), problem)]
        if "map" in alt:
            chain.append(_value_map(alt, problem))
        elif "map_default" in alt or "map_unknown" in alt:
            raise problem("map_default and map_unknown need a map")
        if alt.get("default") is not None:
            default = alt["default"]
        required = required or _flag(alt, "required", problem)
        invalid = alt.get("invalid", "reject")
        if invalid not in ("reject", "drop"):
            raise problem("invalid must be \"reject\" (quarantine the record) or \"drop\" (leave the field blank)")
        if outbound:
            rule = alt.get("rule", rule)
            if rule not in RULES:
                raise problem(f"unknown conflict rule {rule!r}; use one of {', '.join(RULES)}")
            key = key or _flag(alt, "key", problem)
            write_null = write_null or _flag(alt, "write_null", problem)
            if key and "rule" in alt:
                raise problem("the upsert key (key = true) is always sent: remove its `rule`")
        constant = alt.get("value", _MISSING)
        built.append(Alternative(tuple(sources), tuple(chain), constant, invalid == "drop"))
    return FieldRule(target=target, alternatives=tuple(built), columns=" or ".join(columns) or "(value)",
                     line=lines.key(table, target), default=default, required=required, rule=rule, key=key,
                     write_null=write_null)


def _flag(alt: dict[str, Any], name: str, problem: Callable[[str], _Problem]) -> bool:
    value = alt.get(name, False)
    if not isinstance(value, bool):
        raise problem(f"{name} must be true or false")
    return value


def _names(value: Any, problem: Callable[[str], _Problem]) -> list[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise problem('transform must be a list of transform names, e.g. ["strip", "email"]')
    return names


def _transform(spec: str, problem: Callable[[str], _Problem]) -> transforms.Transform:
    try:
        return transforms.build(spec)
    except KeyError:
        raise problem(f"unknown transform {spec!r}; known transforms: "
                      f"{', '.join(sorted(transforms.TRANSFORMS))}") from None
    except ValueError as exc:
        raise problem(f"transform {spec!r} {exc}") from None


def _value_map(alt: dict[str, Any], problem: Callable[[str], _Problem]) -> transforms.Transform:
    table, unknown = alt["map"], alt.get("map_unknown", "error")
    if not isinstance(table, dict) or not table or any(isinstance(v, dict | list) for v in table.values()):
        raise problem('map must be a table of source value -> value, e.g. { "Closed Won" = "won" }')
    if unknown not in ("error", "keep"):
        raise problem('map_unknown must be "error" (reject the record) or "keep" (pass the value through)')
    if "map_default" in alt and "map_unknown" in alt:
        raise problem("give either map_default or map_unknown, not both")
    return transforms.value_map(table, alt.get("map_default", transforms.NO_DEFAULT), keep=unknown == "keep")
