"""Filters of the sales list (API) and day boundaries in the shop's time zone (settings.TIME_ZONE)."""

from datetime import datetime, time, timedelta

import django_filters
from django.db.models import Exists, OuterRef
from django.utils import timezone

from pos.payments.models import Method, Payment, PaymentStatus
from pos.sales.models import Sale, SaleStatus, Shift, ShiftStatus


def day_start(day):
    """Midnight at the start of `day` in the shop's time zone, as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, time.min))


def day_end(day):
    """Midnight at the end of `day` (exclusive bound)."""
    return day_start(day + timedelta(days=1))


def today_bounds():
    today = timezone.localdate()
    return day_start(today), day_end(today)


def paid_with(queryset, method):
    """Sales with a completed payment of `method` (no duplicate rows)."""
    return queryset.filter(Exists(Payment.objects.filter(sale=OuterRef("pk"), method=method,
                                                         status=PaymentStatus.COMPLETED)))


class SaleFilter(django_filters.FilterSet):
    date_from = django_filters.DateFilter(method="from_day", help_text="First day (shop time zone), YYYY-MM-DD.")
    date_to = django_filters.DateFilter(method="to_day", help_text="Last day included (shop time zone).")
    cashier = django_filters.NumberFilter(field_name="cashier_id")
    shift = django_filters.NumberFilter(field_name="shift_id")
    status = django_filters.MultipleChoiceFilter(choices=SaleStatus.choices)
    payment_method = django_filters.ChoiceFilter(choices=Method.choices, method="by_method",
                                                 help_text="Sales with a completed payment of this method.")

    class Meta:
        model = Sale
        fields = ["date_from", "date_to", "cashier", "shift", "status", "payment_method"]

    def from_day(self, queryset, name, value):
        return queryset.filter(created_at__gte=day_start(value))

    def to_day(self, queryset, name, value):
        return queryset.filter(created_at__lt=day_end(value))

    def by_method(self, queryset, name, value):
        return paid_with(queryset, value)


class ShiftFilter(django_filters.FilterSet):
    date_from = django_filters.DateFilter(method="from_day", help_text="Opened on or after this day.")
    date_to = django_filters.DateFilter(method="to_day", help_text="Opened on or before this day.")
    cashier = django_filters.NumberFilter(field_name="cashier_id")
    status = django_filters.ChoiceFilter(choices=ShiftStatus.choices)

    class Meta:
        model = Shift
        fields = ["date_from", "date_to", "cashier", "status"]

    def from_day(self, queryset, name, value):
        return queryset.filter(opened_at__gte=day_start(value))

    def to_day(self, queryset, name, value):
        return queryset.filter(opened_at__lt=day_end(value))
