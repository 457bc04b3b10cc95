"""engram_client: Engram's HTTP API and WebSocket streams for Python (docs/python.md).

``Engram`` blocks; ``AsyncEngram`` is the same API for asyncio. Both raise ``EngramError``
carrying the server's stable code (docs/errors.md).
"""

from .aio import AsyncEngram
from .client import Engram
from .errors import EngramError, is_retryable
from .locking import AsyncHeldLock, AsyncLockContext, HeldLock, LockContext
from .models import (
    Context,
    ContextDeletion,
    ContextPage,
    ContextPresence,
    ContextWindow,
    Fact,
    FactOutcome,
    FactVersion,
    FactWithHistory,
    Fence,
    Graph,
    Lock,
    LockPage,
    Memory,
    MemoryAnswer,
    MemoryChange,
    MemoryFile,
    MemoryResult,
    PresenceEvent,
    PresenceMember,
    RecalledFact,
    Relationship,
    SearchResponse,
    SearchResult,
    TurnDecision,
    TurnResult,
    UnitPage,
    WindowUnit,
    WorkUnit,
    WorkUnitType,
    WriteResult,
)
from .streams import AsyncSubscription, Backoff, Subscription

__version__ = "0.1.0"

__all__ = [
    "AsyncEngram",
    "AsyncHeldLock",
    "AsyncLockContext",
    "AsyncSubscription",
    "Backoff",
    "Context",
    "ContextDeletion",
    "ContextPage",
    "ContextPresence",
    "ContextWindow",
    "Engram",
    "EngramError",
    "Fact",
    "FactOutcome",
    "FactVersion",
    "FactWithHistory",
    "Fence",
    "Graph",
    "HeldLock",
    "Lock",
    "LockContext",
    "LockPage",
    "Memory",
    "MemoryAnswer",
    "MemoryChange",
    "MemoryFile",
    "MemoryResult",
    "PresenceEvent",
    "PresenceMember",
    "RecalledFact",
    "Relationship",
    "SearchResponse",
    "SearchResult",
    "Subscription",
    "TurnDecision",
    "TurnResult",
    "UnitPage",
    "WindowUnit",
    "WorkUnit",
    "WorkUnitType",
    "WriteResult",
    "is_retryable",
]
