"""Legal state transitions, one implementation for every stateful model (sales, payments, refunds).

    SALE = StateMachine("Sale", {"open": {"pending_payment", "cancelled"}, ...})
    SALE.move(sale, "paid")        # sets sale.status or raises IllegalTransition (the caller saves)
    SALE.can("open", "paid")       # False

Changing a state is only ever done through `move`, inside the service that owns the model, with
the row locked by the caller.
"""

from pos.core.errors import IllegalTransition


class StateMachine:
    def __init__(self, name: str, table: dict, field: str = "status"):
        self.name = name
        self.table = {str(state): frozenset(str(t) for t in targets) for state, targets in table.items()}
        self.field = field

    def can(self, current, target) -> bool:
        return str(target) in self.table.get(str(current), frozenset())

    def targets(self, current) -> frozenset:
        return self.table.get(str(current), frozenset())

    def move(self, obj, target):
        """Set `obj.<field>` to `target` when the table allows it; IllegalTransition otherwise."""
        current = getattr(obj, self.field)
        if not self.can(current, target):
            raise IllegalTransition(obj, current, target)
        setattr(obj, self.field, target)
        return obj


def transition(obj, target, table, field="status"):
    """One-off form of StateMachine.move for a plain {state: {targets}} table."""
    return StateMachine(obj.__class__.__name__, table, field).move(obj, target)
