"""The lean client (resp.Client) for the master a set of Redis Sentinels names.

Every new connection asks the sentinels where the master is (`SENTINEL get-master-addr-by-name`) and checks
with `ROLE` that the server it reached is a master. After a failover the old connection is lost (the old master
died, or Sentinel disconnected its clients when it demoted it) or, on a demoted master still connected, a write
gets a READONLY error: the connection is dropped then, so the next command connects to the master the sentinels
name now. A READONLY reply means Redis ran nothing, so a single command that got one is sent once more on the
new master; a command lost with its connection is not (Redis may have run it), as with one server.
"""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import redis.exceptions as errors

from apps.core.state.resp import Address, Arg, Client, Connection, RedisUnreachable, Timeouts, pack
from apps.core.state.topology import Topology

ROLE = pack(("ROLE",))


class SentinelClient(Client):
    """Commands to the current master of `topology.service`, over one pipelined connection."""

    def __init__(self, topology: Topology, *, timeouts: Timeouts = Timeouts()) -> None:
        tls = topology.tls_context()
        super().__init__(Address(tls=tls, username=topology.username, password=topology.password, db=topology.db),
                         timeouts=timeouts)
        self.service = topology.service
        self.sentinels = [Address(host=host, port=port, tls=tls, username=topology.sentinel_username,
                                  password=topology.sentinel_password) for host, port in topology.nodes]

    async def execute(self, *args: Arg) -> Any:
        try:
            return await super().execute(*args)
        except errors.ReadOnlyError:
            self.close()  # a demoted master: the next connection finds the new one; nothing ran, so ask again
            return await super().execute(*args)

    async def pipeline(self, commands: Sequence[tuple[Arg, ...]]) -> list[Any]:
        replies = await super().pipeline(commands)
        if any(isinstance(reply, errors.ReadOnlyError) for reply in replies):
            self.close()  # a replica ran the reads only; its replies stand, the next pipeline goes to the master
        return replies

    async def master(self) -> Address:
        """Where the sentinels say the master is; the sentinel that answered is asked first next time."""
        failures: list[str] = []
        for sentinel in list(self.sentinels):
            client = Client(sentinel, timeouts=replace(self.timeouts, health_check=0))
            try:
                found = await client.execute("SENTINEL", "get-master-addr-by-name", self.service)
            except (errors.RedisError, OSError) as exc:
                failures.append(f"{sentinel.host}:{sentinel.port} {type(exc).__name__}")
                continue
            finally:
                client.close()
            if found:
                self.sentinels.remove(sentinel)
                self.sentinels.insert(0, sentinel)
                return replace(self.address, host=found[0].decode(), port=int(found[1]))
            failures.append(f"{sentinel.host}:{sentinel.port} knows no master {self.service!r}")
        raise RedisUnreachable(f"no sentinel named a master for {self.service!r}: {'; '.join(failures)}")

    async def _open(self) -> Connection:
        self.address = await self.master()
        connection = await super()._open()
        try:
            role = await asyncio.wait_for(connection.send(ROLE, 1), self.timeouts.reply)
        except BaseException:
            connection.abort(RedisUnreachable("connection set-up failed"))
            raise
        if isinstance(role, Exception) or not role or role[0] != b"master":
            connection.abort(RedisUnreachable("not the master"))
            raise RedisUnreachable(f"{self.address.host}:{self.address.port} is not the master of {self.service!r} "
                                   "(a failover is under way)")
        return connection
