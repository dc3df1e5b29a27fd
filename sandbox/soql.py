"""A SOQL subset: the query forms the connectors send, parsed, type-checked and run in memory.

Supported: ``SELECT f1, Rel.f2 | COUNT() FROM Obj [WHERE cond] [ORDER BY f [ASC|DESC]
[NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]`` where ``cond`` combines comparisons
(``= != <> < <= > >=``, ``LIKE``, ``[NOT] IN (...)``) with AND, OR, NOT and parentheses. Values
are quoted strings, numbers, true/false/null, unquoted datetimes and dates (``Z`` or ``+hh:mm``) and
the date literals TODAY, YESTERDAY, LAST_N_DAYS:n. Like Salesforce, a quoted value against a
datetime field is an error: the connector must use ``format_soql``. Text comparisons ignore case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.errors import SfError
from sandbox.ids import normalize_sf_id
from sandbox.sf_org import SalesforceOrg, parse_datetime, sf_datetime
from sandbox.sf_schema import NUMBER_TYPES, FieldDef, ObjectDef
from sandbox.state import Record

MAX_QUERY_CHARS = 100_000
_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*(?::\d+)?)
  | (?P<op><>|!=|<=|>=|=|<|>|\(|\)|,)
""", re.VERBOSE)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"',
            "\\": "\\", "%": "\\%", "_": "\\_"}
PredicateFn = Callable[[Record], bool]


def malformed(message: str) -> SfError:
    return SfError(400, "MALFORMED_QUERY", message)


@dataclass
class Token:
    kind: str
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper()


@dataclass
class Comparison:
    field: FieldDef
    getter: Callable[[Record], Any]
    op: str
    value: Any


@dataclass
class Query:
    obj: ObjectDef
    fields: list[str]
    count_only: bool = False
    where: PredicateFn | None = None
    conjuncts: list[Comparison] = field(default_factory=list)
    order: list[tuple[Callable[[Record], Any], bool, bool]] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            raise malformed(f"unexpected token: '{text[position:position + 20]}'")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group()))
        position = match.end()
    return tokens


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), literal[1:-1])


class Parser:
    """Recursive descent over the tokens; builds closures, not an AST to walk per record."""

    def __init__(self, org: SalesforceOrg, text: str) -> None:
        if len(text) > MAX_QUERY_CHARS:
            raise malformed(f"Query is too long: at most {MAX_QUERY_CHARS} characters")
        self.org = org
        self.tokens = tokenize(text)
        self.position = 0
        self.obj: ObjectDef | None = None

    # -- token helpers -----------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> Token | None:
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise malformed("unexpected end of query")
        self.position += 1
        return token

    def accept(self, *words: str) -> bool:
        for offset, word in enumerate(words):
            token = self.peek(offset)
            if token is None or token.upper != word:
                return False
        self.position += len(words)
        return True

    def expect(self, word: str) -> None:
        if not self.accept(word):
            found = self.peek()
            raise malformed(f"expecting '{word}', found '{found.text if found else 'end'}'")

    # -- grammar -----------------------------------------------------------------------------------
    def parse(self) -> Query:
        self.expect("SELECT")
        raw_fields: list[str] = []
        count_only = False
        if self.accept("COUNT", "(", ")"):
            count_only = True
        else:
            while True:
                token = self.take()
                if token.kind != "ident":
                    raise malformed(f"unexpected token: '{token.text}'")
                raw_fields.append(token.text)
                if not self.accept(","):
                    break
        self.expect("FROM")
        name = self.take()
        obj = self.org.object_or_none(name.text)
        if obj is None:
            raise SfError(400, "INVALID_TYPE", f"sObject type '{name.text[:80]}' is not supported. "
                          "If you are attempting to use a custom object, be sure to append the "
                          "'__c' after the entity name.")
        self.obj = obj
        query = Query(obj, [self.field_path(f)[0] for f in raw_fields], count_only)
        if self.accept("WHERE"):
            query.where, query.conjuncts = self.condition()
        if self.accept("ORDER", "BY"):
            while True:
                _, getter = self.field_path(self.take().text)
                descending = self.accept("DESC")
                if not descending:
                    self.accept("ASC")
                nulls_last = descending
                if self.accept("NULLS", "FIRST"):
                    nulls_last = False
                elif self.accept("NULLS", "LAST"):
                    nulls_last = True
                query.order.append((getter, descending, nulls_last))
                if not self.accept(","):
                    break
        if self.accept("LIMIT"):
            query.limit = self.integer()
        if self.accept("OFFSET"):
            query.offset = self.integer()
        if self.peek() is not None:
            raise malformed(f"unexpected token: '{self.take().text}'")
        return query

    def integer(self) -> int:
        token = self.take()
        if token.kind != "number" or not token.text.isdigit():
            raise malformed(f"expecting a non-negative integer, found '{token.text}'")
        return int(token.text)

    def field_path(self, text: str) -> tuple[str, Callable[[Record], Any]]:
        """Canonical name and getter of a field or a one-hop relationship field (Owner.Email)."""
        assert self.obj is not None
        parts = text.split(".")
        if len(parts) == 1:
            fd = self._field(self.obj, parts[0])
            name = fd.name
            return name, lambda record: record.get(name)
        if len(parts) == 2:
            ref = self.obj.relationship(parts[0])
            if ref is not None:
                target = self.org.objects[ref.reference_to[0]]
                fd = self._field(target, parts[1])
                ref_name, target_name, tables = ref.name, fd.name, self.org.tables[target.name]

                def getter(record: Record) -> Any:
                    linked = tables.get(record.get(ref_name) or "")
                    return None if linked is None else linked.get(target_name)

                return f"{ref.relationship_name}.{fd.name}", getter
        raise self._no_such(text)

    def _field(self, obj: ObjectDef, name: str) -> FieldDef:
        fd = obj.field(name)
        if fd is None:
            raise self._no_such(name)
        return fd

    def _no_such(self, name: str) -> SfError:
        assert self.obj is not None
        return SfError(400, "INVALID_FIELD", f"No such column '{name[:80]}' on entity "
                       f"'{self.obj.name}'. If you are attempting to use a custom field, be sure to "
                       "append the '__c' after the custom field name. Please reference your WSDL or "
                       "the describe call for the appropriate names.")

    def condition(self) -> tuple[PredicateFn, list[Comparison]]:
        """OR of ANDs; also returns the top-level AND comparisons (for index narrowing)."""
        terms = [self.conjunction()]
        while self.accept("OR"):
            terms.append(self.conjunction())
        if len(terms) == 1:
            return terms[0]
        predicates = [t[0] for t in terms]
        return (lambda record: any(p(record) for p in predicates)), []

    def conjunction(self) -> tuple[PredicateFn, list[Comparison]]:
        factors = [self.factor()]
        while self.accept("AND"):
            factors.append(self.factor())
        comparisons = [c for f in factors for c in f[1]]
        if len(factors) == 1:
            return factors[0]
        predicates = [f[0] for f in factors]
        return (lambda record: all(p(record) for p in predicates)), comparisons

    def factor(self) -> tuple[PredicateFn, list[Comparison]]:
        if self.accept("NOT"):
            inner = self.factor()[0]
            return (lambda record: not inner(record)), []
        if self.accept("("):
            result = self.condition()
            self.expect(")")
            return result
        return self.comparison()

    def comparison(self) -> tuple[PredicateFn, list[Comparison]]:
        assert self.obj is not None
        name_token = self.take()
        if name_token.kind != "ident":
            raise malformed(f"unexpected token: '{name_token.text}'")
        path, getter = self.field_path(name_token.text)
        fd = self._resolve_fd(path)
        read = _reader(getter, _folds(fd))
        if self.accept("NOT", "IN"):
            values = self.value_list(fd)
            return (lambda record: read(record) not in values), []
        if self.accept("IN"):
            values = self.value_list(fd)
            comparison = Comparison(fd, getter, "IN", values) if "." not in path else None
            return (lambda record: read(record) in values), [comparison] if comparison else []
        if self.accept("LIKE"):
            token = self.take()
            if token.kind != "string":
                raise malformed("LIKE needs a quoted string")
            pattern = _like_regex(_unquote(token.text))
            return (lambda record: bool(pattern.match(str(getter(record) or "")))), []
        op_token = self.take()
        if op_token.kind != "op" or op_token.text in "(),":
            raise malformed(f"unexpected token: '{op_token.text}'")
        op = "!=" if op_token.text == "<>" else op_token.text
        value = self.value(fd)
        comparison = Comparison(fd, getter, op, value)
        return _compare(getter, op, value, _folds(fd)), [comparison] if "." not in path else []

    def _resolve_fd(self, path: str) -> FieldDef:
        assert self.obj is not None
        if "." in path:
            rel, name = path.split(".")
            ref = self.obj.relationship(rel)
            assert ref is not None
            return self._field(self.org.objects[ref.reference_to[0]], name)
        return self._field(self.obj, path)

    def value_list(self, fd: FieldDef) -> frozenset[Any]:
        self.expect("(")
        values = [self.value(fd)]
        while self.accept(","):
            values.append(self.value(fd))
        self.expect(")")
        return frozenset(values)

    def value(self, fd: FieldDef) -> Any:
        token = self.take()
        kind, upper = token.kind, token.upper
        if kind == "ident" and upper == "NULL":
            return None
        if fd.type == "boolean":
            if upper in ("TRUE", "FALSE"):
                return upper == "TRUE"
            raise malformed(f"value of filter criterion for field '{fd.name}' must be of type "
                            "boolean and should not be enclosed in quotes")
        if fd.type in ("datetime", "date"):
            return self.date_value(fd, token)
        if fd.type in NUMBER_TYPES:
            if kind != "number":
                raise malformed(f"value of filter criterion for field '{fd.name}' must be of "
                                "type double and should not be enclosed in quotes")
            return float(token.text)
        if kind != "string":
            raise malformed(f"value of filter criterion for field '{fd.name}' must be of type "
                            "string and should be enclosed in quotes")
        text = _unquote(token.text)
        if fd.type in ("id", "reference"):
            return normalize_sf_id(text) or text
        return text.casefold()

    def date_value(self, fd: FieldDef, token: Token) -> str:
        wrong = malformed(f"value of filter criterion for field '{fd.name}' must be of type "
                          f"{'dateTime' if fd.type == 'datetime' else 'date'} and should not be "
                          "enclosed in quotes")
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        if token.kind == "datetime" and fd.type == "datetime":
            moment = parse_datetime(token.text)
            if moment is None:
                raise wrong
            return sf_datetime(moment)
        if token.kind == "date" and fd.type == "date":
            return token.text
        literal = token.upper
        if token.kind == "ident":
            if literal == "TODAY":
                moment = today
            elif literal == "YESTERDAY":
                moment = today - timedelta(days=1)
            elif literal.startswith("LAST_N_DAYS:"):
                moment = today - timedelta(days=int(literal.split(":")[1]))
            else:
                raise wrong
            return sf_datetime(moment) if fd.type == "datetime" else moment.date().isoformat()
        raise wrong


def _folds(fd: FieldDef) -> bool:
    """Text comparisons ignore case; ids, numbers, booleans and dates compare as they are."""
    return fd.type not in ("id", "reference", "boolean", "date", "datetime") and \
        fd.type not in NUMBER_TYPES


def _norm(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _reader(getter: Callable[[Record], Any], fold: bool) -> Callable[[Record], Any]:
    if not fold:
        return getter
    return lambda record: _norm(getter(record))


def _compare(getter: Callable[[Record], Any], op: str, value: Any, fold: bool) -> PredicateFn:
    if value is None:
        if op == "=":
            return lambda record: getter(record) in (None, "")
        if op == "!=":
            return lambda record: getter(record) not in (None, "")
        raise malformed(f"operator '{op}' cannot be used with null")
    read = _reader(getter, fold)
    checks: dict[str, Callable[[Any], bool]] = {
        "=": lambda v: v == value, "!=": lambda v: v != value,
        "<": lambda v: v is not None and v < value, "<=": lambda v: v is not None and v <= value,
        ">": lambda v: v is not None and v > value, ">=": lambda v: v is not None and v >= value,
    }
    check = checks[op]
    return lambda record: check(read(record))


def _like_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            out += re.escape(pattern[index + 1])
            index += 2
            continue
        out += ".*" if char == "%" else "." if char == "_" else re.escape(char)
        index += 1
    return re.compile(f"^{out}$", re.IGNORECASE | re.DOTALL)


def parse(org: SalesforceOrg, text: str) -> Query:
    return Parser(org, text).parse()


def candidate_ids(org: SalesforceOrg, query: Query, include_deleted: bool) -> Iterable[str]:
    """Ids worth testing: from an index when a top-level comparison allows, else all of them."""
    table = org.tables[query.obj.name]
    for comparison in query.conjuncts:
        if include_deleted and comparison.field.name not in ("Id", table.modstamp_field):
            continue  # lookup indexes hold live records only
        name, op, value = comparison.field.name, comparison.op, comparison.value
        if name == "Id" and op == "=":
            return [value] if value in table.records else []
        if name == "Id" and op == "IN":
            return [v for v in value if v in table.records]
        if table.indexed(name) and op == "=" and value is not None:
            return table.find(name, value)
        if table.indexed(name) and op == "IN":
            return sorted({i for v in value if v is not None for i in table.find(name, v)})
        if name == table.modstamp_field and op in (">", ">="):
            return list(table.modified_between(value, None, low_inclusive=op == ">="))
    return list(table.records)


def execute(org: SalesforceOrg, query: Query, include_deleted: bool) -> list[Record]:
    """Matching records (unprojected), sorted, offset and limit applied."""
    table = org.tables[query.obj.name]
    records = table.records
    matches: list[Record] = []
    where = query.where
    for record_id in candidate_ids(org, query, include_deleted):
        record = records[record_id]
        if not include_deleted and record.get("IsDeleted"):
            continue
        if where is None or where(record):
            matches.append(record)
    if not query.order:
        matches.sort(key=lambda r: r["Id"])
    for getter, descending, nulls_last in reversed(query.order):
        present = [r for r in matches if getter(r) is not None]
        missing = [r for r in matches if getter(r) is None]
        present.sort(key=lambda r: _norm(getter(r)), reverse=descending)
        matches = present + missing if nulls_last else missing + present
    end = None if query.limit is None else query.offset + query.limit
    return matches[query.offset:end]


def project(org: SalesforceOrg, query: Query, record: Record, version: str) -> dict[str, Any]:
    obj = query.obj
    out: dict[str, Any] = {"attributes": {
        "type": obj.name, "url": f"/services/data/v{version}/sobjects/{obj.name}/{record['Id']}"}}
    for path in query.fields:
        if "." not in path:
            out[path] = record.get(path)
            continue
        relationship, name = path.split(".")
        ref = obj.relationship(relationship)
        assert ref is not None
        target = org.objects[ref.reference_to[0]]
        linked = org.tables[target.name].get(record.get(ref.name) or "")
        if linked is None:
            out[relationship] = None
            continue
        nested = out.setdefault(relationship, {"attributes": {
            "type": target.name,
            "url": f"/services/data/v{version}/sobjects/{target.name}/{linked['Id']}"}})
        nested[name] = linked.get(name)
    return out
