"""The fair-share policy without HTTP: every call is admitted until half the slots are taken; then a key that
holds slots may hold all but a reserve, split between the keys holding slots, and a key holding none always may
take one."""
from __future__ import annotations

from apps.core.fair_share import FairShare, credential_of

FLOODER, QUIET, THIRD = 1, 2, 3


def fill(policy: FairShare, key: int, attempts: int) -> int:
    """Admit `key` up to `attempts` times, as the dispatcher does (within capacity); the number admitted."""
    taken = 0
    for _ in range(attempts):
        if policy.total < policy.capacity and not policy.over_share(key):
            policy.take(key)
            taken += 1
    return taken


def test_a_lone_key_keeps_all_but_the_reserve() -> None:
    policy = FairShare(16)
    assert fill(policy, FLOODER, 40) == 14  # 16 less a reserve of 16 // 8
    assert (policy.total, policy.held) == (14, {FLOODER: 14})
    assert policy.over_share(FLOODER) and not policy.contended()  # full for it: the dispatcher's 503


def test_a_newcomer_takes_the_reserve_and_halves_the_flooders_share() -> None:
    policy = FairShare(16)
    fill(policy, FLOODER, 40)
    assert not policy.over_share(QUIET)
    policy.take(QUIET)
    assert policy.share() == 7 and policy.over_share(FLOODER)  # (16 - 2) // 2 keys, and it holds 14
    assert policy.contended()  # so the flooder gets 429
    assert fill(policy, QUIET, 1) == 1  # the quiet key holds 2 < 7 (and a slot is free)
    for _ in range(8):
        policy.release(FLOODER)
    assert not policy.over_share(FLOODER)  # it holds 6 < 7 again
    assert not policy.over_share(THIRD)  # a key holding nothing is never over its share


def test_below_half_the_slots_every_call_is_admitted() -> None:
    policy = FairShare(10)
    policy.take(QUIET)
    assert fill(policy, FLOODER, 4) == 4  # 5 taken: half, where sharing starts
    assert policy.share() == 4 and policy.over_share(FLOODER)  # (10 - 1) // 2


def test_released_slots_are_counted_back_and_idle_keys_forgotten() -> None:
    policy = FairShare(8)
    fill(policy, FLOODER, 8)
    policy.take(QUIET)
    assert policy.over_share(FLOODER)
    for _ in range(5):
        policy.release(FLOODER)
    assert not policy.over_share(FLOODER)  # 2 held, 3 taken in all: not busy
    policy.release(QUIET)
    assert QUIET not in policy.held
    assert policy.total == 2


def test_the_share_is_never_below_one_slot() -> None:
    policy = FairShare(2)
    policy.take(FLOODER)
    policy.take(QUIET)
    assert policy.share() == 1
    assert policy.over_share(FLOODER) and policy.over_share(QUIET)


def test_the_credential_is_any_of_the_key_headers_and_anonymous_is_zero() -> None:
    assert credential_of([(b"host", b"x"), (b"authorization", b"Bearer sk-a")]) == hash(b"Bearer sk-a")
    assert credential_of([(b"x-api-key", b"sk-b")]) == credential_of([(b"api-key", b"sk-b")])
    assert credential_of([(b"authorization", b"Bearer sk-a")]) != credential_of([(b"authorization", b"Bearer sk-b")])
    assert credential_of([(b"host", b"x")]) == 0
