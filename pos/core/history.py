"""simple_history's `Model.history`, built once per model.

simple_history's descriptor makes a new manager class (Manager.from_queryset, which inspects every
queryset method) each time `instance.history` or `Model.history` is read, and it reads it once for each
history row it writes: about 0.2 ms of CPU per row, two rows per paid sale. The class is the same every
time, so it is built once here; the manager (model, instance) and every history row stay as they were.

``record_created`` writes the creation rows of rows inserted without signals (the checkout's).
"""

from functools import cache

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils import timezone
from simple_history.manager import HistoryDescriptor
from simple_history.models import HistoricalRecords
from simple_history.utils import get_change_reason_from_object

from pos.core import prepared


class BuiltOnceHistoryDescriptor(HistoryDescriptor):
    def __init__(self, model, manager, queryset):
        super().__init__(model, manager=manager, queryset=queryset)
        self.manager_class = manager.from_queryset(queryset)

    def __get__(self, instance, owner):
        return self.manager_class(self.model, instance)


def build_history_managers_once():
    """Replace the `history` descriptor of every tracked model (call once the models are ready)."""
    for model in apps.get_models():
        name = getattr(model._meta, "simple_history_manager_attribute", None)
        descriptor = model.__dict__.get(name) if name else None
        if type(descriptor) is HistoryDescriptor:
            setattr(model, name, BuiltOnceHistoryDescriptor(descriptor.model, descriptor.manager_class,
                                                            descriptor.queryset_class))


# The columns simple_history adds to a historical model; every other one copies the tracked row's.
_HISTORY_OWN = {"history_id", "history_date", "history_change_reason", "history_type", "history_user"}


def record_created(instances):
    """The "+" history rows of new rows written by pos.core.prepared.insert (which sends no signals),
    as simple_history's post_save would write them (same user, date and change reason), in one INSERT."""
    if not instances or not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return []
    model = type(instances[0])
    history_model, names = _history_columns(model)
    now = timezone.now()
    return prepared.insert([
        history_model(history_date=getattr(obj, "_history_date", now), history_type="+", history_user=_user(obj),
                      history_change_reason=get_change_reason_from_object(obj),
                      **{name: getattr(obj, name) for name in names})
        for obj in instances])


def insert_created(obj):
    """Insert the new row `obj` (pos.core.prepared.insert) with its "+" history row, as save() and
    simple_history's post_save would write them: on PostgreSQL in one statement, whose history row copies
    the row as inserted (its values are not sent twice)."""
    if connection.vendor != "postgresql" or not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        prepared.insert([obj])
        record_created([obj])
        return obj
    user = _user(obj)
    return prepared.insert_one(obj, _with_history_statement(type(obj)), [
        getattr(obj, "_history_date", None) or timezone.now(), get_change_reason_from_object(obj),
        user.pk if user is not None else None])


@cache
def _with_history_statement(model):
    """WITH new AS (INSERT the row RETURNING *) INSERT its history row SELECT ... FROM new RETURNING the
    row's id; parameters: the row's, then history_date, history_change_reason, history_user_id."""
    history_model, names = _history_columns(model)
    quote = connection.ops.quote_name
    fields = {f.attname: f for f in history_model._meta.concrete_fields}
    copied = [fields[name] for name in names]
    own = [fields["history_date"], fields["history_change_reason"], fields["history_user_id"]]
    row_sql = prepared.single_insert(model)[1].rsplit(" RETURNING ", 1)[0]
    columns = [quote(f.column) for f in copied + own] + [quote(fields["history_type"].column)]
    values = ([f"new.{quote(model._meta.get_field(f.name).column)}" for f in copied]
              + [f"%s::{f.db_type(connection) if not f.is_relation else f.target_field.rel_db_type(connection)}"
                 for f in own] + ["'+'"])
    return (f"WITH new AS ({row_sql} RETURNING *) INSERT INTO {quote(history_model._meta.db_table)} "
            f"({', '.join(columns)}) SELECT {', '.join(values)} FROM new RETURNING {quote(fields['id'].column)}")


@cache
def _history_columns(model):
    history_model = getattr(model, model._meta.simple_history_manager_attribute).model
    return history_model, [f.attname for f in history_model._meta.concrete_fields if f.name not in _HISTORY_OWN]


def _user(instance):
    """simple_history's HistoricalRecords.get_history_user: the instance's _history_user, else the
    logged-in user of the request being served (HistoryRequestMiddleware), else nobody."""
    try:
        return instance._history_user
    except AttributeError:
        pass
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None
