"""pos.core.idempotency and pos.core.transitions: the one implementation of keys and state machines."""

from decimal import Decimal

import pytest

from pos.core.errors import ConflictError, IllegalTransition
from pos.core.idempotency import clean_key, create_once, fingerprint, replay
from pos.core.transitions import StateMachine, transition
from pos.payments.models import Payment
from tests.payments.flows import make_sale


def test_fingerprint_is_stable_and_body_sensitive():
    assert fingerprint({"a": 1, "b": Decimal("2.50")}) == fingerprint({"b": Decimal("2.50"), "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_clean_key():
    assert clean_key("  k1 ") == "k1"
    assert clean_key("") is None and clean_key(None) is None
    with pytest.raises(ValueError):
        clean_key("x" * 101)


@pytest.mark.django_db
def test_create_once_replays_the_first_row_and_refuses_another_body(cashier):
    sale = make_sale(cashier, price="100.00")
    calls = []

    def create(amount="100.00", request_hash="h1"):
        calls.append(1)
        return Payment.objects.create(sale=sale, method="cash", amount=Decimal(amount), status="completed",
                                      idempotency_key="key-1", request_hash=request_hash)

    first, created = create_once(Payment, "key-1", "h1", create)
    again, created_again = create_once(Payment, "key-1", "h1", create)
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk and len(calls) == 1
    with pytest.raises(ConflictError) as error:
        create_once(Payment, "key-1", "other", create)
    assert error.value.code == "idempotency_conflict" and error.value.status_code == 409
    assert replay(Payment, None, "h1") is None


@pytest.mark.django_db
def test_create_once_turns_a_lost_race_into_a_replay(cashier):
    sale = make_sale(cashier, price="100.00")
    winner = Payment.objects.create(sale=sale, method="cash", amount=Decimal("1.00"), status="completed",
                                    idempotency_key="race", request_hash="h")

    def create():  # the twin that checked before the winner committed
        return Payment.objects.create(sale=sale, method="cash", amount=Decimal("1.00"), status="completed",
                                      idempotency_key="race", request_hash="h")

    import pos.core.idempotency as idem
    original = idem.replay
    seen = []

    def replay_once_blind(model, key, request_hash, **options):
        seen.append(1)
        return None if len(seen) == 1 else original(model, key, request_hash, **options)

    idem.replay = replay_once_blind
    try:
        row, created = create_once(Payment, "race", "h", create)
    finally:
        idem.replay = original
    assert (row.pk, created) == (winner.pk, False)
    assert Payment.objects.filter(idempotency_key="race").count() == 1


class Thing:
    pk = 7

    def __init__(self, status):
        self.status = status


def test_state_machine_moves_only_along_the_table():
    machine = StateMachine("Thing", {"a": {"b"}, "b": {"c"}})
    thing = Thing("a")
    machine.move(thing, "b")
    assert thing.status == "b"
    with pytest.raises(IllegalTransition):
        machine.move(thing, "a")
    assert thing.status == "b"
    assert machine.can("b", "c") and not machine.can("c", "a")
    assert machine.targets("a") == frozenset({"b"})
    with pytest.raises(IllegalTransition):
        transition(Thing("c"), "a", {"a": {"b"}})
