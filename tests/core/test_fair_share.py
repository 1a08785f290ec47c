"""The fair-share policy without HTTP: every call is admitted until half the slots are taken, then a key may hold
at most capacity // (keys holding slots + 1), so a newcomer always finds a slot."""
from __future__ import annotations

from apps.core.fair_share import FairShare, credential_of

FLOODER, QUIET, THIRD = 1, 2, 3


def fill(policy: FairShare, key: int, attempts: int) -> int:
    """Admit `key` up to `attempts` times; the number admitted."""
    return sum(policy.admit(key) for _ in range(attempts))


def test_a_lone_key_is_capped_at_half_the_slots_once_busy() -> None:
    policy = FairShare(8)
    assert fill(policy, FLOODER, 20) == 4  # 8 // (1 key + 1)
    assert (policy.total, policy.held) == (4, {FLOODER: 4})


def test_a_newcomer_is_admitted_while_the_flooder_is_refused() -> None:
    policy = FairShare(8)
    fill(policy, FLOODER, 20)
    assert policy.admit(QUIET)
    assert not policy.admit(FLOODER)  # now 8 // (2 + 1) = 2 each, and it holds 4
    assert policy.admit(QUIET)  # the quiet key holds 1 < 2
    assert not policy.admit(QUIET)  # and now 2: its share too
    assert policy.admit(THIRD)  # a third key still finds a slot


def test_below_half_the_slots_every_call_is_admitted() -> None:
    policy = FairShare(10)
    assert [policy.admit(FLOODER) for _ in range(5)] == [True] * 5
    assert policy.share(newcomer=False) == 5


def test_released_slots_are_counted_back_and_idle_keys_forgotten() -> None:
    policy = FairShare(8)
    fill(policy, FLOODER, 4)
    policy.admit(QUIET)
    assert not policy.admit(FLOODER)
    for _ in range(3):
        policy.release(FLOODER)
    assert policy.admit(FLOODER)  # it holds 1 < its share of 2 again
    policy.release(QUIET)
    assert QUIET not in policy.held
    assert policy.total == 2


def test_the_share_is_never_below_one_slot() -> None:
    policy = FairShare(2)
    assert policy.admit(FLOODER) and policy.admit(QUIET)
    assert policy.share(newcomer=True) == 1
    assert not policy.admit(FLOODER)


def test_the_credential_is_any_of_the_key_headers_and_anonymous_is_zero() -> None:
    assert credential_of([(b"host", b"x"), (b"authorization", b"Bearer sk-a")]) == hash(b"Bearer sk-a")
    assert credential_of([(b"x-api-key", b"sk-b")]) == credential_of([(b"api-key", b"sk-b")])
    assert credential_of([(b"authorization", b"Bearer sk-a")]) != credential_of([(b"authorization", b"Bearer sk-b")])
    assert credential_of([(b"host", b"x")]) == 0
