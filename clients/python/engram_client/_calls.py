"""Every HTTP route as a description of one request and how to read its answer.

The sync and the async client both run these, so each route's path, query, body and decoding
is written once (docs/api.md, docs/locks.md, docs/search.md, docs/memory.md, docs/clients.md).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Generic, List, Mapping, Optional, Sequence, Tuple, TypeVar, Union, cast
from urllib.parse import quote

from .errors import EngramError, error_from_body
from .models import (
    Approval,
    ApprovalPage,
    ClientPage,
    Context,
    ContextDeletion,
    ContextPage,
    ContextPresence,
    ContextWindow,
    Fact,
    FactOutcome,
    FactWithHistory,
    Fence,
    Graph,
    Lock,
    LockPage,
    MemoryAnswer,
    MemoryChange,
    MemoryFile,
    MemoryResult,
    RecalledFact,
    Relationship,
    SearchResponse,
    TurnResult,
    UnitPage,
    WorkUnit,
    WriteResult,
)

T = TypeVar("T")

#: A fence as a ``Fence`` dict, a ``(resource, token)`` pair, or anything with a ``fence`` attribute
#: (a held lock).
FenceArg = Union[Fence, Tuple[str, int], Any]


def _same(value: Any, _headers: Mapping[str, str]) -> Any:
    return value


@dataclass
class Call(Generic[T]):
    method: str
    path: str
    params: Dict[str, str] = field(default_factory=dict)
    has_body: bool = False
    body: Any = None
    headers: Dict[str, str] = field(default_factory=dict)
    #: Added to the client's timeout (a lock acquire that may wait).
    extra_timeout: float = 0.0
    decode: Callable[[Any, Mapping[str, str]], T] = _same

    def encode_body(self) -> Optional[bytes]:
        if not self.has_body:
            return None
        # ensure_ascii: any Python string, lone surrogates included, is valid JSON text.
        # NaN and infinities go out as they are and the server refuses them (MALFORMED_JSON).
        return json.dumps(self.body, separators=(",", ":")).encode("ascii")

    def finish(self, status: int, text: str, headers: Mapping[str, str]) -> T:
        """The answer's value, or the server's refusal raised as an EngramError."""
        if status >= 400:
            raise error_from_body(status, text, f"{self.method} {self.path}")
        try:
            value = json.loads(text) if text else None
        except ValueError:
            raise EngramError("INTERNAL", f"{self.method} {self.path}: answer {status} is not JSON", status) from None
        return self.decode(value, headers)


def enc(part: str) -> str:
    """A path segment, percent-encoded (ids may hold '/', spaces, anything printable)."""
    return quote(part, safe="")


def _params(**values: Any) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def ms(seconds: Optional[float]) -> Optional[int]:
    """Seconds (the client's unit) to the milliseconds of the wire."""
    return None if seconds is None else int(round(seconds * 1000))


def fence_of(fence: FenceArg) -> Fence:
    if isinstance(fence, Mapping):
        return {"resource": str(fence["resource"]), "token": int(fence["token"])}
    if isinstance(fence, tuple) and len(fence) == 2:
        return {"resource": str(fence[0]), "token": int(fence[1])}
    held = getattr(fence, "fence", None)
    if held is not None:
        return fence_of(held)
    raise TypeError("fence: expected {'resource', 'token'}, (resource, token) or a held lock")


# ---- work units ----


def write(
    context_id: str,
    payload: Any,
    *,
    type: str,
    agent_id: Optional[str],
    meta: Optional[Mapping[str, str]] = None,
    relationships: Optional[Sequence[Relationship]] = None,
    idempotency_key: Optional[str] = None,
    fence: Optional[FenceArg] = None,
    embedding: Optional[Sequence[float]] = None,
) -> Call[WriteResult]:
    body: Dict[str, Any] = {"contextId": context_id, "type": type, "payload": payload}
    if agent_id is not None:
        body["agentId"] = agent_id
    if meta is not None:
        body["meta"] = dict(meta)
    if relationships is not None:
        body["relationships"] = list(relationships)
    if fence is not None:
        body["fence"] = fence_of(fence)
    if embedding is not None:
        body["embedding"] = list(embedding)
    headers = {} if idempotency_key is None else {"idempotency-key": idempotency_key}

    def decode(value: Any, h: Mapping[str, str]) -> WriteResult:
        return WriteResult(cast(WorkUnit, value), h.get("idempotent-replayed") == "true")

    return Call("POST", "/workunit", has_body=True, body=body, headers=headers, decode=decode)


def get_unit(unit_id: str) -> Call[WorkUnit]:
    return Call("GET", f"/workunit/{enc(unit_id)}")


def list_units(
    context_id: str,
    *,
    limit: Optional[int] = None,
    after: Optional[int] = None,
    before: Optional[int] = None,
    reverse: Optional[bool] = None,
    summaries: Optional[bool] = None,
) -> Call[UnitPage]:
    params = _params(limit=limit, after=after, before=before, reverse=reverse or None, summaries=summaries or None)
    return Call("GET", f"/workunits/{enc(context_id)}", params)


# ---- contexts ----


def get_context(context_id: str) -> Call[Context]:
    return Call("GET", f"/contexts/{enc(context_id)}")


def patch_context(
    context_id: str,
    *,
    display_name: Optional[str] = None,
    add_agents: Optional[Sequence[str]] = None,
    remove_agents: Optional[Sequence[str]] = None,
    pin_units: Optional[Sequence[str]] = None,
    unpin_units: Optional[Sequence[str]] = None,
    meta: Optional[Mapping[str, Optional[str]]] = None,
    if_version: Optional[int] = None,
    if_exists: bool = False,
) -> Call[Context]:
    patch: Dict[str, Any] = {}
    if display_name is not None:
        patch["displayName"] = display_name
    for key, ids in (("addAgents", add_agents), ("removeAgents", remove_agents), ("pinUnits", pin_units), ("unpinUnits", unpin_units)):
        if ids is not None:
            patch[key] = list(ids)
    if meta is not None:
        patch["meta"] = dict(meta)
    headers: Dict[str, str] = {}
    if if_version is not None:
        headers["if-match"] = f'"{if_version}"'
    elif if_exists:
        headers["if-match"] = "*"
    return Call("PATCH", f"/contexts/{enc(context_id)}", has_body=True, body=patch, headers=headers)


def delete_context(context_id: str) -> Call[ContextDeletion]:
    return Call("DELETE", f"/contexts/{enc(context_id)}")


def list_contexts(*, limit: Optional[int] = None, after: Optional[str] = None, prefix: Optional[str] = None) -> Call[ContextPage]:
    return Call("GET", "/contexts", _params(limit=limit, after=after, prefix=prefix))


def presence(context_id: str) -> Call[ContextPresence]:
    return Call("GET", f"/contexts/{enc(context_id)}/presence")


def window(
    context_id: str,
    budget: int,
    *,
    query: Optional[str] = None,
    model: Optional[str] = None,
    encoding: Optional[str] = None,
    relevant_share: Optional[float] = None,
    relevant_limit: Optional[int] = None,
    summaries: Optional[bool] = None,
    summary_share: Optional[float] = None,
) -> Call[ContextWindow]:
    body: Dict[str, Any] = {"budget": budget}
    for name, value in (
        ("query", query),
        ("model", model),
        ("encoding", encoding),
        ("relevantShare", relevant_share),
        ("relevantLimit", relevant_limit),
        ("summaries", summaries),
        ("summaryShare", summary_share),
    ):
        if value is not None:
            body[name] = value
    return Call("POST", f"/contexts/{enc(context_id)}/window", has_body=True, body=body)


def summarize(
    context_id: str, *, from_seq: Optional[int] = None, to_seq: Optional[int] = None, agent_id: Optional[str] = None, instructions: Optional[str] = None
) -> Call[WorkUnit]:
    body: Dict[str, Any] = {}
    for name, value in (("from", from_seq), ("to", to_seq), ("agentId", agent_id), ("instructions", instructions)):
        if value is not None:
            body[name] = value
    return Call("POST", f"/contexts/{enc(context_id)}/summarize", has_body=True, body=body)


def fork(
    context_id: str, seq: int, *, fork_id: Optional[str] = None, display_name: Optional[str] = None, meta: Optional[Mapping[str, str]] = None
) -> Call[Context]:
    body: Dict[str, Any] = {"seq": seq}
    for name, value in (("id", fork_id), ("displayName", display_name), ("meta", dict(meta) if meta is not None else None)):
        if value is not None:
            body[name] = value
    return Call("POST", f"/contexts/{enc(context_id)}/fork", has_body=True, body=body)


def forks(context_id: str) -> Call[List[Context]]:
    return Call("GET", f"/contexts/{enc(context_id)}/forks", decode=lambda v, _h: v["forks"])


# ---- approvals (docs/agents.md#approvals) ----

#: The longest a long poll for a decision waits on the server, in seconds.
APPROVAL_WAIT_MAX = 60


def request_approval(
    context_id: str,
    *,
    agent_id: Optional[str],
    action: Any,
    lock: FenceArg,
    ttl: Optional[float] = None,
    expires_at: Optional[str] = None,
    meta: Optional[Mapping[str, str]] = None,
    idempotency_key: Optional[str] = None,
) -> Call[Approval]:
    body: Dict[str, Any] = {"action": action, "lock": dict(fence_of(lock))}
    for name, value in (("agentId", agent_id), ("ttlMs", ms(ttl)), ("expiresAt", expires_at), ("meta", dict(meta) if meta is not None else None)):
        if value is not None:
            body[name] = value
    headers = {} if idempotency_key is None else {"idempotency-key": idempotency_key}
    return Call("POST", f"/contexts/{enc(context_id)}/approvals", has_body=True, body=body, headers=headers)


def get_approval(context_id: str, request_id: str, *, wait: float = 0) -> Call[Approval]:
    seconds = max(0, min(APPROVAL_WAIT_MAX, math.ceil(wait)))
    params = {"wait": str(seconds)} if seconds > 0 else {}
    return Call("GET", f"/contexts/{enc(context_id)}/approvals/{enc(request_id)}", params=params, extra_timeout=float(seconds))


def decide_approval(context_id: str, request_id: str, decision: str, *, reason: Optional[str] = None, by: Optional[str] = None) -> Call[Approval]:
    body: Dict[str, Any] = {"decision": decision}
    for name, value in (("reason", reason), ("by", by)):
        if value is not None:
            body[name] = value
    return Call("POST", f"/contexts/{enc(context_id)}/approvals/{enc(request_id)}/decision", has_body=True, body=body)


def approvals(*, status: Optional[str] = None, context_id: Optional[str] = None, limit: Optional[int] = None, after: Optional[str] = None) -> Call[ApprovalPage]:
    params = {k: str(v) for k, v in (("status", status), ("contextId", context_id), ("limit", limit), ("after", after)) if v is not None}
    return Call("GET", "/approvals", params=params)


# ---- locks ----


def _acquire_body(agent_id: Optional[str], ttl: Optional[float], wait: Optional[float], context_id: Optional[str]) -> Dict[str, Any]:
    body: Dict[str, Any] = {}
    if agent_id is not None:
        body["agentId"] = agent_id
    for key, value in (("ttlMs", ms(ttl)), ("waitMs", ms(wait)), ("contextId", context_id)):
        if value is not None:
            body[key] = value
    return body


def acquire(resource: str, *, agent_id: Optional[str], ttl: Optional[float] = None, wait: Optional[float] = None, context_id: Optional[str] = None) -> Call[Lock]:
    body = {"resource": resource, **_acquire_body(agent_id, ttl, wait, context_id)}
    return Call("POST", "/locks", has_body=True, body=body, extra_timeout=wait or 0.0)


def acquire_all(
    resources: Sequence[str], *, agent_id: Optional[str], ttl: Optional[float] = None, wait: Optional[float] = None, context_id: Optional[str] = None
) -> Call[List[Lock]]:
    body = {"resources": list(resources), **_acquire_body(agent_id, ttl, wait, context_id)}
    return Call("POST", "/locks", has_body=True, body=body, extra_timeout=wait or 0.0, decode=lambda v, _h: cast(List[Lock], v["locks"]))


def renew(resource: str, *, agent_id: str, lock_id: str, ttl: Optional[float] = None) -> Call[Lock]:
    body: Dict[str, Any] = {"agentId": agent_id, "lockId": lock_id}
    if ttl is not None:
        body["ttlMs"] = ms(ttl)
    return Call("POST", f"/locks/{enc(resource)}/renew", has_body=True, body=body)


def release(resource: str, *, agent_id: str, lock_id: str) -> Call[Lock]:
    return Call("DELETE", f"/locks/{enc(resource)}", _params(agentId=agent_id, lockId=lock_id))


def get_lock(resource: str) -> Call[Lock]:
    return Call("GET", f"/locks/{enc(resource)}")


def list_locks(*, agent_id: Optional[str] = None, prefix: Optional[str] = None, after: Optional[str] = None, limit: Optional[int] = None) -> Call[LockPage]:
    return Call("GET", "/locks", _params(agentId=agent_id, prefix=prefix, after=after, limit=limit))


# ---- search ----


def search(
    query: Optional[str] = None,
    *,
    mode: Optional[str] = None,
    vector: Optional[Sequence[float]] = None,
    context_id: Optional[str] = None,
    context_ids: Optional[Sequence[str]] = None,
    agent_ids: Optional[Sequence[str]] = None,
    types: Optional[Sequence[str]] = None,
    meta: Optional[Mapping[str, str]] = None,
    since: Union[str, int, None] = None,
    until: Union[str, int, None] = None,
    limit: Optional[int] = None,
    offset: Optional[int] = None,
) -> Call[SearchResponse]:
    fields: Dict[str, Any] = {
        "query": query,
        "mode": mode,
        "vector": None if vector is None else list(vector),
        "contextId": context_id,
        "contextIds": None if context_ids is None else list(context_ids),
        "agentIds": None if agent_ids is None else list(agent_ids),
        "types": None if types is None else list(types),
        "meta": None if meta is None else dict(meta),
        "since": since,
        "until": until,
        "limit": limit,
        "offset": offset,
    }
    body = {k: v for k, v in fields.items() if v is not None}
    return Call("POST", "/search", has_body=True, body=body)


# ---- shared memory: the memory tool, facts, the knowledge graph (docs/memory.md) ----


def memory_command(space: str, command: Mapping[str, Any], *, agent_id: Optional[str]) -> Call[MemoryResult]:
    return Call("POST", f"/memory/{enc(space)}/command", _params(agentId=agent_id), has_body=True, body=dict(command))


def memory_tree(space: str) -> Call[List[MemoryFile]]:
    return Call("GET", f"/memory/{enc(space)}/tree", decode=lambda v, _h: cast(List[MemoryFile], v["files"]))


def memory_file(space: str, path: str) -> Call[str]:
    return Call("GET", f"/memory/{enc(space)}/file", _params(path=path), decode=lambda v, _h: cast(str, v["text"]))


def memory_history(space: str, path: Optional[str] = None) -> Call[List[MemoryChange]]:
    return Call("GET", f"/memory/{enc(space)}/history", _params(path=path), decode=lambda v, _h: cast(List[MemoryChange], v["changes"]))


def remember(space: str, value: str, *, key: Optional[str] = None, agent_id: Optional[str]) -> Call[FactOutcome]:
    body: Dict[str, Any] = {"value": value}
    if key is not None:
        body["key"] = key
    return Call("POST", f"/facts/{enc(space)}", _params(agentId=agent_id), has_body=True, body=body)


def forget(space: str, key: str, *, agent_id: Optional[str]) -> Call[FactOutcome]:
    return Call("POST", f"/facts/{enc(space)}/forget", _params(agentId=agent_id), has_body=True, body={"key": key})


def facts(space: str, *, include_deleted: bool = False) -> Call[List[Fact]]:
    return Call("GET", f"/facts/{enc(space)}", _params(includeDeleted=include_deleted or None), decode=lambda v, _h: cast(List[Fact], v["facts"]))


def fact(space: str, key: str) -> Call[FactWithHistory]:
    return Call("GET", f"/facts/{enc(space)}/fact", _params(key=key))


def recall(space: str, query: str, *, limit: int = 10) -> Call[List[RecalledFact]]:
    return Call(
        "POST", f"/facts/{enc(space)}/recall", has_body=True, body={"query": query, "limit": limit}, decode=lambda v, _h: cast(List[RecalledFact], v["facts"])
    )


def process_turn(space: str, messages: Sequence[Mapping[str, Any]], *, extractor: Optional[str] = None, agent_id: Optional[str]) -> Call[TurnResult]:
    body: Dict[str, Any] = {"messages": [dict(m) for m in messages]}
    if extractor is not None:
        body["extractor"] = extractor
    return Call("POST", f"/memory/{enc(space)}/process-turn", _params(agentId=agent_id), has_body=True, body=body)


def query_memory(space: str, query: str, *, limit: int = 10, history: bool = False) -> Call[MemoryAnswer]:
    return Call("POST", f"/memory/{enc(space)}/query", has_body=True, body={"query": query, "limit": limit, "history": history})


def graph(space: str, tool: str, args: Optional[Mapping[str, Any]] = None, *, agent_id: Optional[str]) -> Call[Any]:
    return Call("POST", f"/graph/{enc(space)}/{enc(tool)}", _params(agentId=agent_id), has_body=True, body=dict(args or {}), decode=lambda v, _h: v["result"])


def read_graph(space: str) -> Call[Graph]:
    return Call("GET", f"/graph/{enc(space)}")


# ---- clients (admin) and health ----


def list_clients(*, limit: Optional[int] = None, after: Optional[str] = None) -> Call[ClientPage]:
    return Call("GET", "/clients/list", _params(limit=limit, after=after))


def client_status(client_id: str) -> Call[Dict[str, Any]]:
    return Call("GET", f"/clients/status/{enc(client_id)}")


def readyz() -> Call[Dict[str, Any]]:
    return Call("GET", "/readyz")
