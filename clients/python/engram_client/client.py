"""Engram: the HTTP API and WebSocket streams of one Engram server, blocking (docs/python.md).

    engram = Engram("http://127.0.0.1:8080", agent_id="planner")
    engram.write("plan-42", {"text": "Retry with backoff"}, idempotency_key="plan-42-step-3")
    for unit in engram.subscribe("plan-42", since=0):
        print(unit["seq"], unit["payload"])
"""

from __future__ import annotations

import time
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, TypeVar, Union

import httpx

from . import _calls as calls
from ._calls import Call, FenceArg
from ._settings import make_settings
from .errors import EngramError
from .locking import LockContext
from .streams import AsyncSubscription, Backoff, PresenceHandler, Subscription
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
    WorkUnitType,
    WriteResult,
)

T = TypeVar("T")



class Engram:
    """A blocking client of one Engram server. Thread-safe; close it (or use ``with``) when done.

    :param url: the server, ``http://host:port`` (default: ``$ENGRAM_URL``, else ``http://127.0.0.1:8080``).
    :param token: an API key or JWT, sent as ``Authorization: Bearer`` on every request and stream.
    :param api_key: an API key sent as ``X-API-Key`` instead.
    :param client_id: the client to act as (``X-Client-ID``): with auth off, the client; with auth
        on, only for admin credentials.
    :param agent_id: the agent that writes, locks and edits memory when a call names none.
    :param timeout: seconds per request (a lock acquire that waits adds its wait).
    :param backoff: reconnect delays of subscriptions.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        *,
        token: Optional[str] = None,
        api_key: Optional[str] = None,
        client_id: Optional[str] = None,
        agent_id: Optional[str] = None,
        timeout: float = 30.0,
        backoff: Optional[Backoff] = None,
    ) -> None:
        self._settings = make_settings(url, token, api_key, client_id, agent_id, timeout, backoff)
        # Requests go to `url` alone: a plain-HTTP server needs no certificates (loading them takes a while).
        verify = self._settings.base.startswith("https://")
        self._http = httpx.Client(headers=self._settings.headers, timeout=timeout, verify=verify)

    @property
    def url(self) -> str:
        return self._settings.base

    @property
    def agent_id(self) -> Optional[str]:
        return self._settings.agent_id

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Engram":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _run(self, call: Call[T]) -> T:
        content = call.encode_body()
        headers = dict(call.headers)
        if content is not None:
            headers["content-type"] = "application/json"
        try:
            res = self._http.request(
                call.method,
                self._settings.base + call.path,
                params=call.params,
                content=content,
                headers=headers,
                timeout=self._settings.timeout + call.extra_timeout,
            )
        except httpx.HTTPError as e:
            raise EngramError("UNAVAILABLE", f"{call.method} {call.path}: {e!r}") from e
        return call.finish(res.status_code, res.text, res.headers)

    def _agent(self, agent_id: Optional[str]) -> Optional[str]:
        return agent_id if agent_id is not None else self._settings.agent_id

    # ---- work units ----

    def write(
        self,
        context_id: str,
        payload: Any,
        *,
        type: WorkUnitType = "MESSAGE",
        agent_id: Optional[str] = None,
        meta: Optional[Mapping[str, str]] = None,
        relationships: Optional[Sequence[Relationship]] = None,
        idempotency_key: Optional[str] = None,
        fence: Optional[FenceArg] = None,
        embedding: Optional[Sequence[float]] = None,
    ) -> WriteResult:
        """Appends a work unit; returns once it is durable.

        A retry with the same ``idempotency_key`` (per context) returns the first write's unit
        with ``replayed=True`` instead of storing another. ``fence`` (``{"resource", "token"}``,
        a ``(resource, token)`` pair or a held lock) stores it only while that token is the
        lock holder's; otherwise ``FENCE_REJECTED`` and nothing is stored.
        """
        return self._run(
            calls.write(
                context_id,
                payload,
                type=type,
                agent_id=self._agent(agent_id),
                meta=meta,
                relationships=relationships,
                idempotency_key=idempotency_key,
                fence=fence,
                embedding=embedding,
            )
        )

    def get_unit(self, unit_id: str) -> WorkUnit:
        return self._run(calls.get_unit(unit_id))

    def list_units(
        self,
        context_id: str,
        *,
        limit: Optional[int] = None,
        after: Optional[int] = None,
        before: Optional[int] = None,
        reverse: bool = False,
        summaries: bool = False,
    ) -> UnitPage:
        """One page of units with ``after < seq < before``, oldest first (newest first with ``reverse``); with ``summaries``, each applied SUMMARY in place of its range (docs/agents.md)."""
        return self._run(calls.list_units(context_id, limit=limit, after=after, before=before, reverse=reverse, summaries=summaries))

    def iter_units(self, context_id: str, *, since: int = 0, page_size: int = 1000) -> Iterator[WorkUnit]:
        """Every unit with seq > ``since``, page by page, up to the head (no unit skipped or repeated)."""
        after: Optional[int] = since
        while after is not None:
            page = self.list_units(context_id, limit=page_size, after=after)
            yield from page["workUnits"]
            after = page["nextCursor"]

    # ---- contexts ----

    def get_context(self, context_id: str) -> Context:
        return self._run(calls.get_context(context_id))

    def create_context(
        self, context_id: str, *, display_name: Optional[str] = None, agents: Optional[Sequence[str]] = None, meta: Optional[Mapping[str, str]] = None
    ) -> Context:
        """Creates a context (a PATCH of one that does not exist); on an existing one, applies the same change."""
        return self._run(calls.patch_context(context_id, display_name=display_name, add_agents=agents, meta=meta))

    def update_context(
        self,
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
    ) -> Context:
        """Changes a context's record (``meta`` merges; a None value deletes the key).

        ``if_version`` applies it only at that version (``VERSION_MISMATCH`` otherwise);
        ``if_exists`` only if the context exists.
        """
        return self._run(
            calls.patch_context(
                context_id,
                display_name=display_name,
                add_agents=add_agents,
                remove_agents=remove_agents,
                pin_units=pin_units,
                unpin_units=unpin_units,
                meta=meta,
                if_version=if_version,
                if_exists=if_exists,
            )
        )

    def delete_context(self, context_id: str) -> ContextDeletion:
        """Deletes a context for good; its subscribers' iterators end with ``CONTEXT_DELETED``."""
        return self._run(calls.delete_context(context_id))

    def list_contexts(self, *, limit: Optional[int] = None, after: Optional[str] = None, prefix: Optional[str] = None) -> ContextPage:
        return self._run(calls.list_contexts(limit=limit, after=after, prefix=prefix))

    def iter_contexts(self, *, prefix: Optional[str] = None, page_size: int = 100) -> Iterator[Context]:
        """Every context (whose id starts with ``prefix``), in id order, page by page."""
        after: Optional[str] = None
        while True:
            page = self.list_contexts(limit=page_size, after=after, prefix=prefix)
            yield from page["contexts"]
            if page["nextCursor"] is None:
                return
            after = page["nextCursor"]

    def window(
        self,
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
    ) -> ContextWindow:
        """The units to hand a model, never more tokens than ``budget``: pinned, relevant to ``query``, then the most recent (docs/agents.md)."""
        return self._run(
            calls.window(
                context_id,
                budget,
                query=query,
                model=model,
                encoding=encoding,
                relevant_share=relevant_share,
                relevant_limit=relevant_limit,
                summaries=summaries,
                summary_share=summary_share,
            )
        )

    def summarize(
        self,
        context_id: str,
        *,
        from_seq: Optional[int] = None,
        to_seq: Optional[int] = None,
        agent_id: Optional[str] = None,
        instructions: Optional[str] = None,
    ) -> WorkUnit:
        """Has the server's language model summarize seqs ``from_seq``..``to_seq`` (default: all) into a stored SUMMARY unit (docs/agents.md)."""
        return self._run(calls.summarize(context_id, from_seq=from_seq, to_seq=to_seq, agent_id=agent_id, instructions=instructions))

    def fork(
        self, context_id: str, seq: int, *, fork_id: Optional[str] = None, display_name: Optional[str] = None, meta: Optional[Mapping[str, str]] = None
    ) -> Context:
        """A new context sharing this one's history up to ``seq`` without copying it, diverging after (docs/agents.md#forks)."""
        return self._run(calls.fork(context_id, seq, fork_id=fork_id, display_name=display_name, meta=meta))

    def forks(self, context_id: str) -> List[Context]:
        """The contexts forked from this one directly."""
        return self._run(calls.forks(context_id))

    # ---- approvals (docs/agents.md#approvals) ----

    def request_approval(
        self,
        context_id: str,
        action: Any,
        *,
        lock: FenceArg,
        agent_id: Optional[str] = None,
        ttl: Optional[float] = None,
        expires_at: Optional[str] = None,
        meta: Optional[Mapping[str, str]] = None,
        idempotency_key: Optional[str] = None,
    ) -> Approval:
        """Asks for an approval of ``action`` while holding ``lock`` (a held ``lock()``, a ``Lock`` from ``acquire()``, or ``(resource, token)``): stored only while its token is current.

        Hold it with ``lock()``, which renews it: a lease that lapses while a person decides makes the approval useless (``FENCE_REJECTED``).
        """
        return self._run(
            calls.request_approval(
                context_id, agent_id=self._agent(agent_id), action=action, lock=lock, ttl=ttl, expires_at=expires_at, meta=meta, idempotency_key=idempotency_key
            )
        )

    def get_approval(self, context_id: str, request_id: str, *, wait: float = 0) -> Approval:
        """The approval now, or once decided or expired within ``wait`` seconds (at most 60).

        An approval comes back only while its lock is still held with the token it was asked
        under, else ``FENCE_REJECTED``: a worker that lost its lease must not act on it.
        """
        return self._run(calls.get_approval(context_id, request_id, wait=wait))

    def wait_for_approval(self, context_id: str, request_id: str, *, timeout: Optional[float] = None) -> Approval:
        """Long polls until the request is decided or expires, or ``timeout`` seconds pass (then it answers it pending).

        A server that restarts or cannot be reached meanwhile is asked again, with backoff: the
        request and its decision are in the log.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        attempt = 0
        last: Optional[Approval] = None
        while True:
            left = calls.APPROVAL_WAIT_MAX if deadline is None else deadline - time.monotonic()
            if left <= 0 and last is not None:
                return last
            try:
                last = self.get_approval(context_id, request_id, wait=max(0.0, min(float(calls.APPROVAL_WAIT_MAX), left)))
                attempt = 0
            except EngramError as e:
                if not e.retryable:
                    raise
                if deadline is not None and time.monotonic() >= deadline:
                    if last is not None:
                        return last
                    raise
                pause = e.retry_after if e.retry_after is not None else self._settings.backoff.delay(attempt)
                attempt += 1
                time.sleep(pause if deadline is None else max(0.0, min(pause, deadline - time.monotonic())))
                continue
            if last["status"] != "pending":
                return last

    def decide_approval(self, context_id: str, request_id: str, decision: str, *, reason: Optional[str] = None, by: Optional[str] = None) -> Approval:
        """Decides a request, ``"approve"`` or ``"deny"``: its one decision (``APPROVAL_DECIDED`` when another was first; ``APPROVAL_EXPIRED`` past its expiry)."""
        return self._run(calls.decide_approval(context_id, request_id, decision, reason=reason, by=by))

    def approvals(self, *, status: Optional[str] = None, context_id: Optional[str] = None, limit: Optional[int] = None, after: Optional[str] = None) -> ApprovalPage:
        """Approvals of every context the client reads (or of one), oldest first: pending ones unless ``status`` says otherwise (or ``"all"``)."""
        return self._run(calls.approvals(status=status, context_id=context_id, limit=limit, after=after))

    def presence(self, context_id: str) -> ContextPresence:
        """Who is subscribed to a context now, by client and agent."""
        return self._run(calls.presence(context_id))

    # ---- streams ----

    def subscribe(
        self,
        context_id: str,
        *,
        since: Optional[int] = None,
        epoch: Optional[str] = None,
        agent_id: Optional[str] = None,
        on_presence: Optional[PresenceHandler] = None,
        on_trimmed: str = "end",
    ) -> Subscription:
        """The units of a context as an iterator: those after ``since`` first, then live.

        It reconnects by itself (backoff with jitter) and resumes after the last unit it
        received, so the loop sees every unit once and in order across disconnects and
        server restarts. Without ``since``: units written from now on. Close it (or use
        ``with``) to end it. See docs/python.md for the errors that end it.
        """
        settings = self._settings
        agent = self._agent(agent_id)
        return Subscription(
            lambda: AsyncSubscription(
                settings.stream_target,
                context_id,
                since=since,
                epoch=epoch,
                agent_id=agent,
                on_presence=on_presence,
                on_trimmed=on_trimmed,
                backoff=settings.backoff,
            )
        )

    # ---- locks ----

    def lock(
        self, resource: str, *, ttl: Optional[float] = None, wait: Optional[float] = None, agent_id: Optional[str] = None, context_id: Optional[str] = None
    ) -> LockContext:
        """``with engram.lock("src/a.py", ttl=10) as lock:``: holds the lock, renewing it, for the block.

        ``ttl`` is the lease in seconds (server default 30), ``wait`` how long to wait in line
        for a held lock (default: not at all, ``LOCK_HELD``). Write through ``lock.write`` to
        fence the writes with its token. See :mod:`engram_client.locking`.
        """
        return LockContext(self, resource, self._agent(agent_id), ttl, wait, context_id)

    def acquire(
        self, resource: str, *, agent_id: Optional[str] = None, ttl: Optional[float] = None, wait: Optional[float] = None, context_id: Optional[str] = None
    ) -> Lock:
        """Takes a lock once (no renewal): ``LOCK_HELD`` if another agent holds it beyond ``wait`` seconds."""
        return self._run(calls.acquire(resource, agent_id=self._agent(agent_id), ttl=ttl, wait=wait, context_id=context_id))

    def acquire_all(
        self, resources: Sequence[str], *, agent_id: Optional[str] = None, ttl: Optional[float] = None, wait: Optional[float] = None, context_id: Optional[str] = None
    ) -> List[Lock]:
        """Takes every resource or none (in a fixed order, so overlapping sets cannot deadlock)."""
        return self._run(calls.acquire_all(resources, agent_id=self._agent(agent_id), ttl=ttl, wait=wait, context_id=context_id))

    def renew(self, resource: str, *, agent_id: str, lock_id: str, ttl: Optional[float] = None) -> Lock:
        return self._run(calls.renew(resource, agent_id=agent_id, lock_id=lock_id, ttl=ttl))

    def release(self, resource: str, *, agent_id: str, lock_id: str) -> Lock:
        return self._run(calls.release(resource, agent_id=agent_id, lock_id=lock_id))

    def get_lock(self, resource: str) -> Lock:
        return self._run(calls.get_lock(resource))

    def list_locks(self, *, agent_id: Optional[str] = None, prefix: Optional[str] = None, after: Optional[str] = None, limit: Optional[int] = None) -> LockPage:
        return self._run(calls.list_locks(agent_id=agent_id, prefix=prefix, after=after, limit=limit))

    # ---- search ----

    def search(
        self,
        query: Optional[str] = None,
        *,
        mode: Optional[str] = None,
        vector: Optional[Sequence[float]] = None,
        context_id: Optional[str] = None,
        context_ids: Optional[Sequence[str]] = None,
        agent_ids: Optional[Sequence[str]] = None,
        types: Optional[Sequence[WorkUnitType]] = None,
        meta: Optional[Mapping[str, str]] = None,
        since: Union[str, int, None] = None,
        until: Union[str, int, None] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
    ) -> SearchResponse:
        """Hybrid (default), ``keyword`` or ``vector`` search with filters (docs/search.md)."""
        return self._run(
            calls.search(
                query,
                mode=mode,
                vector=vector,
                context_id=context_id,
                context_ids=context_ids,
                agent_ids=agent_ids,
                types=types,
                meta=meta,
                since=since,
                until=until,
                limit=limit,
                offset=offset,
            )
        )

    # ---- shared memory ----

    def memory(self, space: str, command: Mapping[str, Any], *, agent_id: Optional[str] = None) -> MemoryResult:
        """Runs one command of Anthropic's memory tool (its input as the model sent it).

        A tool error (a missing file, an ambiguous ``old_str``) comes back as ``isError``, not raised.
        """
        return self._run(calls.memory_command(space, command, agent_id=self._agent(agent_id)))

    def memory_tree(self, space: str) -> List[MemoryFile]:
        return self._run(calls.memory_tree(space))

    def memory_file(self, space: str, path: str) -> str:
        return self._run(calls.memory_file(space, path))

    def memory_history(self, space: str, path: Optional[str] = None) -> List[MemoryChange]:
        return self._run(calls.memory_history(space, path))

    def remember(self, space: str, value: str, *, key: Optional[str] = None, agent_id: Optional[str] = None) -> FactOutcome:
        """Remembers a fact: the decision (ADD, UPDATE or NOOP) comes back with its reason."""
        return self._run(calls.remember(space, value, key=key, agent_id=self._agent(agent_id)))

    def forget(self, space: str, key: str, *, agent_id: Optional[str] = None) -> FactOutcome:
        return self._run(calls.forget(space, key, agent_id=self._agent(agent_id)))

    def facts(self, space: str, *, include_deleted: bool = False) -> List[Fact]:
        return self._run(calls.facts(space, include_deleted=include_deleted))

    def fact(self, space: str, key: str) -> FactWithHistory:
        return self._run(calls.fact(space, key))

    def recall(self, space: str, query: str, *, limit: int = 10) -> List[RecalledFact]:
        return self._run(calls.recall(space, query, limit=limit))

    def process_turn(
        self, space: str, messages: Sequence[Mapping[str, Any]], *, extractor: Optional[str] = None, agent_id: Optional[str] = None
    ) -> TurnResult:
        """Hands over a conversation turn (``[{"role": "user", "content": "..."}]``): the decisions (ADD, UPDATE, DELETE, NOOP) come back with their reasons."""
        return self._run(calls.process_turn(space, messages, extractor=extractor, agent_id=self._agent(agent_id)))

    def query_memory(self, space: str, query: str, *, limit: int = 10, history: bool = False) -> MemoryAnswer:
        """The facts relevant to a question, best first (hybrid search); with their versions when ``history`` is set."""
        return self._run(calls.query_memory(space, query, limit=limit, history=history))

    def graph(self, space: str, tool: str, args: Optional[Mapping[str, Any]] = None, *, agent_id: Optional[str] = None) -> Any:
        """Runs one knowledge-graph tool (``create_entities``, ``search_nodes``, ...) with the reference memory server's arguments."""
        return self._run(calls.graph(space, tool, args, agent_id=self._agent(agent_id)))

    def read_graph(self, space: str) -> Graph:
        return self._run(calls.read_graph(space))

    # ---- clients (admin) and health ----

    def list_clients(self, *, limit: Optional[int] = None, after: Optional[str] = None) -> ClientPage:
        return self._run(calls.list_clients(limit=limit, after=after))

    def client_status(self, client_id: str) -> Dict[str, Any]:
        return self._run(calls.client_status(client_id))

    def ready(self) -> bool:
        """True when the server answers and its storage is open."""
        try:
            self._run(calls.readyz())
            return True
        except EngramError:
            return False
