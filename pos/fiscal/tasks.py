"""django-q2 entry points of eTIMS (thin: each calls a service)."""

from pos.fiscal import services

SCHEDULES = [
    {"name": "eTIMS: send the outbox", "func": "pos.fiscal.tasks.process_outbox", "schedule_type": "I",
     "minutes": 1},
    {"name": "eTIMS: queue unsent sales and register changed items", "func": "pos.fiscal.tasks.sweep",
     "schedule_type": "I", "minutes": 5},
]


def process_outbox():
    return services.process_outbox()


def sweep():
    device = services.active_device()
    if device is None or not services.ensure_initialised(device):
        return {"skipped": True}
    items = services.register_changed_items(device)
    queued = services.enqueue_missing(device)
    result = services.process_outbox(device)
    return {"items": items, "queued": queued, "outbox": result}
