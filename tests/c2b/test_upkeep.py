"""C2B upkeep: `check --deploy` warns about a missing or guessable URL token, and old raw notices are purged by a
scheduled task that keeps what a person may still need."""

from datetime import timedelta

import pytest
from django.core.checks import Tags, run_checks
from django.utils import timezone

from pos.c2b import tasks
from pos.c2b.models import C2BNotification, NotificationKind, NotificationOutcome, ReceiptState, ReceivedPayment
from pos.core.schedules import declared_schedules
from tests.c2b.conftest import c2b_body


def _deploy_warnings():
    return sorted(m.id for m in run_checks(include_deployment_checks=True, tags=[Tags.security])
                  if m.id.startswith("c2b."))


@pytest.mark.parametrize(("token", "warnings"), [
    ("", ["c2b.W001"]), ("sandbox-c2b-token", ["c2b.W002"]), ("k" * 31, ["c2b.W002"]), ("k7" * 16, []),
])
def test_check_deploy_warns_about_an_empty_or_short_url_token(settings, token, warnings):
    settings.C2B_SHORTCODE = "600900"
    settings.C2B_URL_TOKEN = token
    assert _deploy_warnings() == warnings


def test_no_warning_when_c2b_is_not_used(settings):
    settings.C2B_SHORTCODE = ""
    settings.C2B_URL_TOKEN = ""
    assert _deploy_warnings() == []


def test_the_check_is_a_deploy_check_only(settings):
    settings.C2B_SHORTCODE, settings.C2B_URL_TOKEN = "600900", ""
    assert not [m for m in run_checks(tags=[Tags.security]) if m.id.startswith("c2b.")]


@pytest.mark.django_db
def test_old_notices_are_purged_but_unprocessed_malformed_and_unmatched_money_stay(post_c2b, sell, settings):
    settings.C2B_NOTIFICATION_KEEP_DAYS = 30
    sale = sell("415.00")
    post_c2b("confirmation", c2b_body("SKMATCH001", "415.00"))  # settles the sale: its notice may go
    post_c2b("confirmation", c2b_body("SKMATCH001", "415.00"))  # a duplicate
    post_c2b("confirmation", c2b_body("SKOPEN0001", "77.00"))  # nobody's yet: kept
    post_c2b("confirmation", c2b_body("SKFAKE0001", "900.00"), token="guessed")  # forged
    post_c2b("validation", c2b_body("SKVALID001", "50.00"))
    post_c2b("confirmation", None, raw="{not json")  # malformed: kept
    unfinished = C2BNotification.objects.create(kind=NotificationKind.CONFIRMATION, raw_body="{}")  # crashed midway
    post_c2b("pull", {"note": "pull notice"})
    sale.refresh_from_db()
    assert sale.status == "paid"
    C2BNotification.objects.update(received_at=timezone.now() - timedelta(days=31))
    recent = C2BNotification.objects.create(kind=NotificationKind.CONFIRMATION, raw_body="{}",
                                            outcome=NotificationOutcome.FORGED)

    assert tasks.purge_old_notifications() == {"deleted": 5}

    kept = {(n.outcome, n.trans_id) for n in C2BNotification.objects.all()}
    assert kept == {(NotificationOutcome.STORED, "SKOPEN0001"), (NotificationOutcome.MALFORMED, ""),
                    (NotificationOutcome.RECEIVED, ""), (NotificationOutcome.FORGED, "")}
    assert C2BNotification.objects.filter(pk__in=[unfinished.pk, recent.pk]).count() == 2
    assert ReceivedPayment.objects.count() == 2  # the register of money is never purged
    assert ReceivedPayment.objects.get(trans_id="SKOPEN0001").state == ReceiptState.UNMATCHED
    assert tasks.purge_old_notifications() == {"deleted": 0}


def test_the_purge_is_scheduled_daily():
    [spec] = [s for s in declared_schedules() if s["func"] == "pos.c2b.tasks.purge_old_notifications"]
    assert spec["schedule_type"] == "C"
