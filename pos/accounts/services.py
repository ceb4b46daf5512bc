"""User operations: registration and token login/logout."""

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from pos.accounts.auth import LOCKED_OUT, token_ended
from pos.accounts.models import Role
from pos.accounts.roles import group_name
from pos.core.errors import ServiceError


@transaction.atomic
def create_user(*, username, password, role=Role.CASHIER, email="", first_name="", last_name="", phone=""):
    """Create a staff user with a role; the role's group gives the permissions."""
    User = get_user_model()
    if role not in Role.values:
        raise ServiceError(f"Unknown role '{role}'. Choose one of: {', '.join(Role.values)}.", field="role")
    if User.objects.filter(username__iexact=username).exists():
        raise ServiceError("A user with that username already exists.", field="username", code="duplicate")
    user = User(username=username, email=email, first_name=first_name, last_name=last_name, phone=phone,
                role=role, is_staff=True, is_superuser=(role == Role.ADMIN))
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages), field="password", code="weak_password") from exc
    user.set_password(password)
    user.save()
    assign_role(user, role)
    return user


def assign_role(user, role):
    user.role = role
    user.is_staff = True
    user.is_superuser = role == Role.ADMIN
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    user.groups.set([Group.objects.get_or_create(name=group_name(role))[0]])


class LockedOut(ServiceError):
    status_code = 429


def login(*, username, password, request=None):
    """Check the credentials and return (user, token key). A wrong password is a ServiceError; too many
    wrong ones for this username from this address lock it out for AXES_COOLOFF_TIME (django-axes)."""
    http_request = getattr(request, "_request", request)  # DRF's Request wraps Django's
    user = authenticate(http_request, username=username, password=password)
    if user is None:
        if getattr(http_request, "axes_locked_out", False):
            raise LockedOut(LOCKED_OUT, code="locked_out")
        raise ServiceError("Unable to log in with the given username and password.", code="invalid_credentials")
    token = Token.objects.filter(user=user).first()
    if token is not None and token_ended(token, user):
        token.delete()
        token = None
    if token is None:
        token = Token.objects.create(user=user)
    return user, token.key


@transaction.atomic
def end_tokens(user):
    """The user's API tokens stop now (password changed, user deactivated)."""
    type(user).objects.filter(pk=user.pk).update(credentials_changed_at=timezone.now())
    Token.objects.filter(user=user).delete()


def logout(user):
    Token.objects.filter(user=user).delete()


# Manager PINs (typed at a cashier's till): pos.accounts.pins
from pos.accounts.pins import authorise as authorise_pin  # noqa: E402,F401
from pos.accounts.pins import set_pin  # noqa: E402,F401
