"""The payments and refunds API: exact paths, idempotency, filters, visibility and role limits."""

from decimal import Decimal

import pytest
from django.utils import timezone

from pos.payments.models import Payment, Refund
from pos.payments.services import pay_cash
from tests.payments.flows import fresh, make_sale, settled

PAYMENT_FIELDS = {"id", "sale", "method", "amount", "status", "phone_number", "provider_reference", "receipt",
                  "result_code", "result_message", "created_at"}


@pytest.mark.django_db
def test_cash_initiate_with_idempotency_key(api, cashier):
    sale = make_sale(cashier, "250.00")
    client = api(cashier)
    body = {"sale": sale.pk, "method": "cash", "amount": "250.00", "amount_tendered": "300"}
    first = client.post("/api/payments/payments/initiate/", body, HTTP_IDEMPOTENCY_KEY="tap-42")
    assert first.status_code == 201, first.content
    assert PAYMENT_FIELDS <= set(first.json()) and first.json()["status"] == "completed"
    assert first.json()["change_given"] == "50.00"
    again = client.post("/api/payments/payments/initiate/", body, HTTP_IDEMPOTENCY_KEY="tap-42")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = client.post("/api/payments/payments/initiate/", {**body, "amount": "100"}, HTTP_IDEMPOTENCY_KEY="tap-42")
    assert other.status_code == 409 and Payment.objects.count() == 1


@pytest.mark.django_db
def test_bad_input_gets_field_messages(api, cashier):
    sale = make_sale(cashier, "250.00")
    client = api(cashier)
    answer = client.post("/api/payments/payments/initiate/",
                         {"sale": sale.pk, "method": "mpesa", "amount": "100", "phone_number": "07"})
    assert answer.status_code == 400 and "phone_number" in answer.json()
    answer = client.post("/api/payments/payments/initiate/", {"sale": sale.pk, "method": "cash", "amount": "900"})
    assert answer.status_code == 400 and "still due" in answer.json()["amount"][0]
    answer = client.post("/api/payments/payments/initiate/", {"sale": 999999, "method": "paypal", "amount": "x"})
    assert answer.status_code == 400 and {"method", "amount"} <= set(answer.json())
    answer = client.post("/api/payments/payments/initiate/", {"sale": 999999, "method": "cash", "amount": "1"})
    assert answer.status_code == 404
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_cashiers_see_and_pay_only_their_own_sales(api, cashier, other_cashier, manager, bookkeeper):
    mine = pay_cash(make_sale(cashier, "100.00"), amount_tendered=Decimal(100), user=cashier)
    theirs = pay_cash(make_sale(other_cashier, "100.00"), amount_tendered=Decimal(100), user=other_cashier)
    listed = api(cashier).get("/api/payments/payments/").json()["results"]
    assert [p["id"] for p in listed] == [mine.pk]
    assert api(cashier).get(f"/api/payments/payments/{theirs.pk}/").status_code == 404
    foreign_sale = make_sale(other_cashier, "50.00")
    answer = api(cashier).post("/api/payments/payments/initiate/",
                               {"sale": foreign_sale.pk, "method": "cash", "amount": "50"})
    assert answer.status_code == 404  # like a sale that does not exist: nothing tells it is there
    assert len(api(manager).get("/api/payments/payments/").json()["results"]) == 2
    assert len(api(bookkeeper).get("/api/payments/payments/").json()["results"]) == 2
    assert api(bookkeeper).post("/api/payments/payments/initiate/",
                                {"sale": foreign_sale.pk, "method": "cash", "amount": "50"}).status_code == 403
    assert api(None).get("/api/payments/payments/").status_code == 401


@pytest.mark.django_db
def test_payment_list_filters(api, cashier, manager, django_assert_max_num_queries):
    first = pay_cash(make_sale(cashier, "100.00"), amount_tendered=Decimal(100), user=cashier)
    second_sale = make_sale(cashier, "80.00")
    pay_cash(second_sale, amount_tendered=Decimal(80), user=cashier)
    client = api(manager)
    with django_assert_max_num_queries(6):
        everything = client.get("/api/payments/payments/").json()
    assert everything["count"] == 2
    assert client.get(f"/api/payments/payments/?sale={second_sale.pk}").json()["count"] == 1
    assert client.get("/api/payments/payments/?method=mpesa").json()["count"] == 0
    assert client.get("/api/payments/payments/?status=completed&method=cash").json()["count"] == 2
    day = timezone.localdate(first.created_at).isoformat()
    assert client.get(f"/api/payments/payments/?created_after={day}").json()["count"] == 2
    assert client.get("/api/payments/payments/?created_before=2000-01-01").json()["count"] == 0
    assert client.get(f"/api/payments/payments/?date={day}").json()["count"] == 2


@pytest.mark.django_db(transaction=True)
def test_mpesa_through_the_api_then_verify_and_cancel(sandbox, api, cashier):
    client = api(cashier)
    sale = make_sale(cashier, "300.00")
    answer = client.post("/api/payments/payments/initiate/",
                         {"sale": sale.pk, "method": "mpesa", "amount": "300", "phone_number": "0708374149"},
                         HTTP_IDEMPOTENCY_KEY="mp-1")
    assert answer.status_code == 201 and answer.json()["status"] == "processing"
    payment = settled(Payment.objects.get(pk=answer.json()["id"]))
    detail = client.get(f"/api/payments/payments/{payment.pk}/").json()
    assert detail["status"] == "completed" and detail["receipt"] == payment.receipt
    assert client.post(f"/api/payments/payments/{payment.pk}/verify/").json()["status"] == "completed"
    assert client.post(f"/api/payments/payments/{payment.pk}/cancel/").status_code == 400
    waiting_sale = make_sale(cashier, "300.00")
    waiting = client.post("/api/payments/payments/initiate/", {"sale": waiting_sale.pk, "method": "mpesa",
                                                                "amount": "300", "phone_number": "0700000408"})
    cancelled = client.post(f"/api/payments/payments/{waiting.json()['id']}/cancel/", {"reason": "customer left"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["result_message"] == "customer left"


@pytest.mark.django_db
def test_refunds_api_roles_threshold_and_approval(api, cashier, manager, bookkeeper, admin_user, settings):
    settings.REFUND_APPROVAL_THRESHOLD = Decimal(100)
    payment = pay_cash(make_sale(cashier, "300.00"), amount_tendered=Decimal(300), user=cashier)
    body = {"payment": payment.pk, "amount": "50", "reason": "damaged"}
    assert api(cashier).post("/api/payments/refunds/", body).status_code == 403
    assert api(bookkeeper).post("/api/payments/refunds/", body).status_code == 403
    small = api(manager).post("/api/payments/refunds/", body, HTTP_IDEMPOTENCY_KEY="r-1")
    assert small.status_code == 201 and small.json()["status"] == "completed"
    assert api(manager).post("/api/payments/refunds/", body, HTTP_IDEMPOTENCY_KEY="r-1").status_code == 200
    big = api(manager).post("/api/payments/refunds/", {**body, "amount": "200"}).json()
    assert big["status"] == "pending_approval"
    assert api(cashier).post(f"/api/payments/refunds/{big['id']}/approve/").status_code == 403
    approved = api(admin_user).post(f"/api/payments/refunds/{big['id']}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "completed"
    too_much = api(manager).post("/api/payments/refunds/", {**body, "amount": "60"})
    assert too_much.status_code == 400 and "At most 50.00" in too_much.json()["amount"][0]
    # 50 alone is under the threshold, but the sale's refunds would add up to 300: it waits for approval.
    last = api(manager).post("/api/payments/refunds/", {**body, "amount": "50"}).json()
    assert last["status"] == "pending_approval"
    own = api(manager).post(f"/api/payments/refunds/{last['id']}/approve/")
    assert own.status_code == 400 and own.json()["code"] == "four_eyes"
    assert api(manager).post(f"/api/payments/refunds/{last['id']}/reject/").status_code == 200
    assert api(manager).post(f"/api/payments/refunds/{last['id']}/reject/").status_code == 400  # not pending
    listed = api(bookkeeper).get(f"/api/payments/refunds/?sale={payment.sale_id}").json()
    assert listed["count"] == 3
    assert api(bookkeeper).get(f"/api/payments/refunds/{big['id']}/").json()["approved_by"] == admin_user.pk
    assert Refund.objects.filter(status="completed").count() == 2
    assert fresh(payment).status == "completed"


@pytest.mark.django_db
def test_reject_through_the_api(api, cashier, manager, settings):
    settings.REFUND_APPROVAL_THRESHOLD = Decimal(10)
    payment = pay_cash(make_sale(cashier, "300.00"), amount_tendered=Decimal(300), user=cashier)
    refund = api(manager).post("/api/payments/refunds/", {"payment": payment.pk, "amount": "30",
                                                          "reason": "x"}).json()
    answer = api(manager).post(f"/api/payments/refunds/{refund['id']}/reject/", {"reason": "not ours"})
    assert answer.status_code == 200 and answer.json()["status"] == "rejected"
    assert answer.json()["result_message"] == "not ours"


@pytest.mark.django_db
def test_schema_documents_the_payment_endpoints(api, admin_user):
    schema = api(admin_user).get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for path in ["/api/payments/payments/initiate/", "/api/payments/payments/{id}/verify/",
                 "/api/payments/payments/{id}/cancel/", "/api/payments/refunds/{id}/approve/",
                 "/api/payments/refunds/{id}/reject/", "/api/payments/webhooks/mpesa/callback/{token}/",
                 "/api/payments/webhooks/card/callback/"]:
        assert path in paths, path
