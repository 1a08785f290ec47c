"""The lean client's interface (execute, pipeline, script) over a Redis Cluster: one resp.Client per node.

Each command goes to the node that serves its key's slot (CRC16 of the key, or of its `{hash tag}`), read from
`CLUSTER SLOTS`. A pipeline is split per node, each node's share leaves in one write, and the replies come back
in the caller's order. What Cluster refuses across slots is split here: an MGET into one MGET per slot (the
values merged back in order), a MULTI/EXEC block into one block per slot (each slot's commands stay atomic; the
EXEC reply is merged). Lua scripts are sent whole: their keys must share one slot (apps/core/state/redis.py
hash-tags them). A MOVED reply updates the slot map and sends the command again where it belongs, an ASK reply
sends it once to the importing node (after ASKING); both mean it did not run. A lost connection fails its
commands (they may have run) and makes the next command re-read the slot map.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import redis.exceptions as errors
from redis.crc import key_slot

from apps.core.state.resp import Address, Arg, Client, RedisUnreachable, Script, Timeouts
from apps.core.state.topology import Topology

SLOTS = 16384
MAX_REDIRECTS = 5
SCRIPTS = {b"EVALSHA", b"EVAL", "EVALSHA", "EVAL"}
KEYLESS = {"PING", "MULTI", "EXEC", "ASKING", "SCRIPT", "INFO", "ROLE", "CLUSTER", "TIME"}
Node = tuple[str, int]
Command = tuple[Arg, ...]


def _bytes(value: Arg) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def command_slot(command: Command) -> int | None:
    """The slot a command's key lives in, or None for a command without keys (any node will do)."""
    name = command[0]
    if name in SCRIPTS:
        return key_slot(_bytes(command[3])) if int(command[2]) else None
    if str(name).upper() in KEYLESS or len(command) < 2:
        return None
    return key_slot(_bytes(command[1]))


@dataclass(slots=True)
class Part:
    """Commands that go to one slot's node together, with their replies once they are in."""

    slot: int | None
    commands: list[Command]
    replies: list[Any] = field(default_factory=list)


@dataclass(slots=True)
class Unit:
    """One caller's command (or MULTI/EXEC block): the parts it was split into and how to rebuild its replies."""

    parts: list[Part]
    rebuild: Callable[[list[Part]], list[Any]]


def plain_unit(command: Command) -> Unit:
    return Unit([Part(command_slot(command), [command])], lambda parts: parts[0].replies)


def mget_unit(command: Command) -> Unit:
    """MGET over many slots: one MGET per slot, the values put back in the keys' order."""
    by_slot: dict[int, list[int]] = {}
    for position, key in enumerate(command[1:]):
        by_slot.setdefault(key_slot(_bytes(key)), []).append(position)
    slots = list(by_slot)
    parts = [Part(slot, [("MGET", *[command[1 + at] for at in by_slot[slot]])]) for slot in slots]

    def rebuild(parts: list[Part]) -> list[Any]:
        values: list[Any] = [None] * (len(command) - 1)
        for slot, part in zip(slots, parts):
            if isinstance(part.replies[0], Exception):
                return [part.replies[0]]
            for at, value in zip(by_slot[slot], part.replies[0]):
                values[at] = value
        return [values]
    return Unit(parts, rebuild)


def multi_unit(block: Sequence[Command]) -> Unit:
    """MULTI, commands, EXEC: one block per slot; the replies as one block would give them."""
    inner = block[1:-1]
    by_slot: dict[int | None, list[int]] = {}
    for position, command in enumerate(inner):
        by_slot.setdefault(command_slot(command), []).append(position)
    slots = list(by_slot)
    parts = [Part(slot, [("MULTI",), *[inner[at] for at in by_slot[slot]], ("EXEC",)]) for slot in slots]

    def rebuild(parts: list[Part]) -> list[Any]:
        queued: list[Any] = [None] * len(inner)
        results: list[Any] = [None] * len(inner)
        failed: Exception | None = None
        for slot, part in zip(slots, parts):
            executed = part.replies[-1]
            if isinstance(executed, Exception):
                failed = failed or executed
            for offset, at in enumerate(by_slot[slot]):
                queued[at] = part.replies[1 + offset]
                if not isinstance(executed, Exception):
                    results[at] = executed[offset]
        return [b"OK", *queued, failed or results]
    return Unit(parts, rebuild)


def plan(commands: Sequence[Command]) -> list[Unit]:
    """The callers' commands as units, in order."""
    units: list[Unit] = []
    index = 0
    while index < len(commands):
        command = commands[index]
        name = str(command[0]).upper()
        if name == "MULTI":
            end = next(at for at in range(index, len(commands)) if str(commands[at][0]).upper() == "EXEC")
            units.append(multi_unit(commands[index:end + 1]))
            index = end + 1
            continue
        units.append(mget_unit(command) if name == "MGET" and len(command) > 2 else plain_unit(command))
        index += 1
    return units


def redirect(part: Part) -> tuple[str, Node] | None:
    """("MOVED" or "ASK", node) when Redis sent a part's command elsewhere (so the part did not run)."""
    for reply in part.replies:
        if isinstance(reply, errors.ResponseError):
            kind, _, rest = str(reply).partition(" ")
            if kind in ("MOVED", "ASK"):
                host, _, port = rest.split(" ")[-1].rpartition(":")
                return kind, (host, int(port))
    return None


class ClusterClient:
    """Commands to a Redis Cluster, each routed to the node that serves its slot."""

    def __init__(self, topology: Topology, *, timeouts: Timeouts = Timeouts()) -> None:
        self.template = Address(tls=topology.tls_context(), username=topology.username, password=topology.password)
        self.timeouts = timeouts
        self.seeds: list[Node] = list(topology.nodes)
        self.nodes: dict[Node, Client] = {}
        self.slots: list[Node] | None = None
        self._loading: asyncio.Task[list[Node]] | None = None

    async def execute(self, *args: Arg) -> Any:
        """One command's reply; an error reply raises."""
        reply = (await self.pipeline([args]))[0]
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def pipeline(self, commands: Sequence[tuple[Arg, ...]]) -> list[Any]:
        """Every command's reply in order; error replies come back as exceptions."""
        units = plan(commands)
        parts = [part for unit in units for part in unit.parts]
        await self._send(parts, asking=set())
        for _ in range(MAX_REDIRECTS):
            moved = [(part, found) for part in parts if (found := redirect(part)) is not None]
            if not moved:
                break
            asking = {id(part) for part, (kind, _) in moved if kind == "ASK"}
            if len(asking) < len(moved):
                self.slots = None  # MOVED: the map is out of date
            await self._send([part for part, _ in moved], asking=asking,
                             targets={id(part): node for part, (_, node) in moved})
        return [reply for unit in units for reply in unit.rebuild(unit.parts)]

    async def script(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """EVALSHA, or EVAL (which caches the script on that node) when the node does not know it."""
        return await Client.script(self, script, keys, args)  # type: ignore[arg-type]  # only calls execute

    def close(self) -> None:
        """Drop every node's connection; commands still waiting fail."""
        for client in self.nodes.values():
            client.close()
        self.nodes.clear()

    # --- internals -------------------------------------------------------------------------------

    async def _send(self, parts: list[Part], *, asking: set[int], targets: dict[int, Node] | None = None) -> None:
        slots = await self._slot_map()
        by_node: dict[Node, list[Part]] = {}
        for part in parts:
            node = (targets or {}).get(id(part)) or (slots[part.slot] if part.slot is not None else slots[0])
            by_node.setdefault(node, []).append(part)
        sent = await asyncio.gather(*[self._node_pipeline(node, group, asking) for node, group in by_node.items()],
                                    return_exceptions=True)
        for outcome in sent:
            if isinstance(outcome, BaseException):
                self.slots = None  # a node went away: read the map again before the next command
                raise outcome

    async def _node_pipeline(self, node: Node, parts: list[Part], asking: set[int]) -> None:
        commands: list[Command] = []
        for part in parts:
            for command in part.commands:
                if id(part) in asking:
                    commands.append(("ASKING",))
                commands.append(command)
        replies = await self._client(node).pipeline(commands)
        at = 0
        for part in parts:
            part.replies = []
            for _ in part.commands:
                at += 1 if id(part) in asking else 0  # ASKING's own OK
                part.replies.append(replies[at])
                at += 1

    def _client(self, node: Node) -> Client:
        client = self.nodes.get(node)
        if client is None:
            client = self.nodes[node] = Client(replace(self.template, host=node[0], port=node[1]),
                                               timeouts=self.timeouts)
        return client

    async def _slot_map(self) -> list[Node]:
        if self.slots is not None:
            return self.slots
        task = self._loading  # concurrent callers share one CLUSTER SLOTS
        if task is None:
            task = self._loading = asyncio.get_running_loop().create_task(self._load_slots())
            task.add_done_callback(self._loaded)
        self.slots = await asyncio.shield(task)
        return self.slots

    def _loaded(self, task: asyncio.Task[list[Node]]) -> None:
        self._loading = None

    async def _load_slots(self) -> list[Node]:
        failures: list[str] = []
        for node in [*self.nodes, *[seed for seed in self.seeds if seed not in self.nodes]]:
            try:
                ranges = await self._client(node).execute("CLUSTER", "SLOTS")
            except (errors.RedisError, OSError) as exc:
                failures.append(f"{node[0]}:{node[1]} {type(exc).__name__}")
                continue
            slots: list[Node] = [node] * SLOTS
            for start, end, master, *_ in ranges:
                owner = ((master[0].decode() or node[0]), int(master[1]))
                slots[int(start):int(end) + 1] = [owner] * (int(end) - int(start) + 1)
            return slots
        raise RedisUnreachable(f"no Redis Cluster node answered CLUSTER SLOTS: {'; '.join(failures)}")
