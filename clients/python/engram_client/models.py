"""The JSON shapes the server answers (docs/api.md), as typed dicts: field names as on the wire."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Literal, Optional, TypedDict

WorkUnitType = Literal[
    "MESSAGE", "REASONING", "TOOL_CALL", "TOOL_RESULT", "FILE_CHANGE", "TASK_STATUS", "ERROR", "SYSTEM", "SUMMARY", "APPROVAL_REQUEST", "APPROVAL_DECISION"
]
RelationshipType = Literal[
    "SEQUENTIAL", "CAUSES", "DEPENDS_ON", "REFERENCES", "RESPONDS_TO", "MODIFIES", "REPLACES"
]


class _RelationshipBase(TypedDict):
    targetId: str
    type: RelationshipType


class Relationship(_RelationshipBase, total=False):
    meta: Dict[str, str]


class WorkUnit(TypedDict):
    id: str
    contextId: str
    seq: int
    agentId: str
    type: WorkUnitType
    ts: str
    meta: Dict[str, str]
    payload: Any
    relationships: List[Relationship]


class Fence(TypedDict):
    """A write's precondition: store only while ``token`` is the holder's of ``resource``."""

    resource: str
    token: int


@dataclass(frozen=True)
class WriteResult:
    unit: WorkUnit
    #: True when an idempotency key matched an earlier write (nothing new was stored).
    replayed: bool

    @property
    def seq(self) -> int:
        return self.unit["seq"]

    @property
    def id(self) -> str:
        return self.unit["id"]


class UnitPage(TypedDict):
    workUnits: List[WorkUnit]
    #: The seq to pass as ``after`` (or ``before`` when reverse) for the next page; None at the end.
    nextCursor: Optional[int]
    #: The first seq retention kept.
    firstSeq: int


class Context(TypedDict):
    id: str
    displayName: str
    agentIds: List[str]
    pinnedUnits: List[str]
    meta: Dict[str, str]
    createdAt: str
    updatedAt: str
    version: int
    headSeq: int
    firstSeq: int


class ContextPage(TypedDict):
    contexts: List[Context]
    nextCursor: Optional[str]


class ContextDeletion(TypedDict):
    contextId: str
    deleted: bool
    units: int
    bytes: int


class PresenceMember(TypedDict):
    clientId: str
    agentId: Optional[str]
    connections: int
    since: str


class ContextPresence(TypedDict):
    contextId: str
    connections: int
    members: List[PresenceMember]


class PresenceEvent(TypedDict):
    """A presence event of a subscription: ``snapshot`` (everyone), ``join`` or ``leave`` (one member)."""

    action: Literal["snapshot", "join", "leave"]
    contextId: str
    members: List[PresenceMember]


class _LockBase(TypedDict):
    resource: str
    agentId: str
    lockId: str
    token: int
    expiresAt: str
    ttlMs: int
    acquiredAt: str


class Lock(_LockBase, total=False):
    remainingMs: int
    contextId: str
    waiting: int


class ApprovalDecision(TypedDict):
    id: str
    seq: int
    decision: Literal["approve", "deny"]
    by: str
    reason: Optional[str]
    decidedAt: str


class Approval(TypedDict):
    """A request for a human's approval and its decision, if any (docs/agents.md#approvals)."""

    requestId: str
    contextId: str
    agentId: str
    status: Literal["pending", "approved", "denied", "expired"]
    action: Any
    expiresAt: str
    #: The lock it was asked under: act on an approval only with writes fenced by it.
    lock: Fence
    requestedAt: str
    seq: int
    decision: Optional[ApprovalDecision]


class ApprovalPage(TypedDict):
    approvals: List[Approval]
    nextCursor: Optional[str]
    #: Changes whenever an approval is asked, decided or dropped (not when one expires).
    version: str


class LockPage(TypedDict):
    locks: List[Lock]
    nextCursor: Optional[str]


class SearchResult(TypedDict):
    workUnit: WorkUnit
    score: float
    keywordScore: Optional[float]
    vectorScore: Optional[float]


class SearchResponse(TypedDict):
    results: List[SearchResult]
    total: int
    totalRelation: Literal["eq", "gte"]


class MemoryResult(TypedDict):
    """A memory-tool command's answer: hand ``result`` back to the model as the tool result."""

    result: str
    isError: bool


class MemoryFile(TypedDict):
    path: str
    size: int


class MemoryChange(TypedDict):
    seq: int
    ts: str
    agentId: str
    command: str
    change: Dict[str, Any]


class Fact(TypedDict):
    key: str
    value: str
    deleted: bool
    unitId: str
    agentId: str
    ts: str


class FactVersion(TypedDict):
    op: Literal["ADD", "UPDATE", "DELETE"]
    value: str
    unitId: str
    seq: int
    agentId: str
    ts: str


class FactWithHistory(Fact):
    history: List[FactVersion]


class RecalledFact(Fact):
    score: float


class _FactOutcomeBase(TypedDict):
    decision: Literal["ADD", "UPDATE", "DELETE", "NOOP"]
    reason: str


class FactOutcome(_FactOutcomeBase, total=False):
    fact: Fact
    replaced: str
    similarity: float


class _WindowUnitBase(TypedDict):
    seq: int
    tokens: int
    reason: Literal["pinned", "summary", "relevant", "recent"]
    workUnit: WorkUnit


class WindowUnit(_WindowUnitBase, total=False):
    score: float


class ContextWindow(TypedDict):
    """The units of a context to hand a model under a token budget (``window()``)."""

    contextId: str
    encoding: str
    exact: bool
    budget: int
    tokens: int
    units: List[WindowUnit]
    headSeq: int
    recentFrom: int
    counted: int


class _TurnDecisionBase(TypedDict):
    decision: Literal["ADD", "UPDATE", "DELETE", "NOOP"]
    statement: str
    reason: str


class TurnDecision(_TurnDecisionBase, total=False):
    """What a conversation turn did to one fact; ``replaces`` is the fact as it was (UPDATE, DELETE)."""

    fact: Fact
    replaces: Fact


class TurnResult(TypedDict):
    extractor: str
    statements: List[str]
    decisions: List[TurnDecision]


class _MemoryBase(Fact):
    score: float
    matched: Literal["current", "history"]


class Memory(_MemoryBase, total=False):
    history: List[FactVersion]


class MemoryAnswer(TypedDict):
    ranking: str
    memories: List[Memory]


class Graph(TypedDict):
    entities: List[Dict[str, Any]]
    relations: List[Dict[str, Any]]


class ClientPage(TypedDict):
    clients: List[Dict[str, Any]]
    nextCursor: Optional[str]

