"""Where each database of a mongodump lives on the sandbox server.

A sandbox the harness started holds the backup under its own names (the identity map). On an `external`
server (verifiers/stores/mongo/external_server.py) every database of the dump goes into a scratch database of its
own, and only those are restored, measured and queried; measurement reports the original `db.collection` so
the checks compare with the manifest unchanged. An explicit map, carried by the sandbox, rather than names
rewritten in strings: a database the map does not list is never touched on a server that is not ours.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# What MongoDB forbids in a database name (on every platform) and how long one may be, in bytes.
FORBIDDEN_IN_DB_NAME = frozenset('/\\. "$\x00')
MAX_DB_NAME_BYTES = 63


def valid_db_name(name: str) -> bool:
    return 0 < len(name.encode()) <= MAX_DB_NAME_BYTES and not FORBIDDEN_IN_DB_NAME & set(name)


def _tool_pattern(db: str) -> str:
    """A database name as a literal in mongorestore's --nsInclude/--nsFrom patterns: `*` (the wildcard) and
    the backslash escaped as mongo-tools' ns.Escape does (`$` and `.` cannot occur in a database name)."""
    return db.replace("\\", "\\\\").replace("*", "\\*")


@dataclass(frozen=True)
class NamespaceMap:
    """Source database -> database on the server. `identity` (the default): every database under its own
    name. Otherwise only `pairs` exist for the store's code; `hidden` collections (the scratch marker) are
    never measured."""

    pairs: tuple[tuple[str, str], ...] = ()
    identity: bool = True
    hidden: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        sources = [s for s, _ in self.pairs]
        targets = [t for _, t in self.pairs]
        if len(set(sources)) != len(sources) or len(set(targets)) != len(targets):
            raise ValueError("a namespace map pairs each source database with one server database")
        if self.identity and self.pairs:
            raise ValueError("an identity namespace map has no pairs")
        bad = [t for t in targets if not valid_db_name(t)]
        if bad:
            raise ValueError(f"not a valid MongoDB database name: {bad[0]!r}")

    @classmethod
    def renamed(cls, pairs: Iterable[tuple[str, str]], *, hidden: Iterable[str] = ()) -> NamespaceMap:
        return cls(pairs=tuple(sorted(pairs)), identity=False, hidden=frozenset(hidden))

    def server_db(self, db: str) -> str | None:
        """Where source database `db` is on the server; None: it is not part of this restore."""
        if self.identity:
            return db
        return dict(self.pairs).get(db)

    def source_db(self, server_db: str) -> str | None:
        if self.identity:
            return server_db
        return {t: s for s, t in self.pairs}.get(server_db)

    def server_databases(self, listed: Iterable[str]) -> list[str]:
        """The server databases to measure: what the server lists (identity), else exactly the mapped ones
        (no listing needed, and nothing else on the user's server is read)."""
        return sorted(listed) if self.identity else sorted(t for _, t in self.pairs)

    @property
    def empty(self) -> bool:
        """A renamed map of no database: nothing of the dump is to be restored."""
        return not self.identity and not self.pairs

    def mongorestore_args(self) -> list[str]:
        """Only the mapped databases restored, each renamed (a database the map lacks would otherwise be
        restored under its own name)."""
        if self.identity:
            return []
        if not self.pairs:  # no --nsInclude at all would mean every namespace, under its own name
            raise ValueError("an empty namespace map restores nothing: do not run mongorestore")
        args = [f"--nsInclude={_tool_pattern(source)}.*" for source, _ in self.pairs]
        for source, target in self.pairs:
            args += [f"--nsFrom={_tool_pattern(source)}.*", f"--nsTo={_tool_pattern(target)}.*"]
        return args

    def reword(self, text: str) -> str:
        """A server message with the scratch names replaced by the backup's own (longest first)."""
        for source, target in sorted(self.pairs, key=lambda p: -len(p[1])):
            text = text.replace(target, source)
        return text

    def describe(self) -> str:
        return "" if self.identity else ", ".join(f"{s} -> {t}" for s, t in self.pairs)
