import django_filters

from pos.payments.models import Method, Payment, PaymentStatus, Refund, RefundStatus


class PaymentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PaymentStatus.choices)
    method = django_filters.ChoiceFilter(choices=Method.choices)
    created_after = django_filters.DateTimeFilter(field_name="created_at", lookup_expr="gte",
                                                  label="Created at or after (date or date-time)")
    created_before = django_filters.DateTimeFilter(field_name="created_at", lookup_expr="lte",
                                                   label="Created at or before (date or date-time)")
    date = django_filters.DateFilter(field_name="created_at", lookup_expr="date", label="Created on this day")

    class Meta:
        model = Payment
        fields = ["status", "method", "sale", "attention"]


class RefundFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RefundStatus.choices)
    sale = django_filters.NumberFilter(field_name="payment__sale")
    created_after = django_filters.DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.DateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = Refund
        fields = ["status", "payment", "sale"]
