from drf_spectacular.utils import extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from pos.accounts import services
from pos.accounts.models import Role, User
from pos.core.permissions import ActionPermissions


class UserSerializer(serializers.ModelSerializer):
    # Plain text in the schema: a user without an address has "" (which `format: email` would refuse).
    email = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "role", "email", "first_name", "last_name"]
        read_only_fields = fields


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


@extend_schema_serializer(component_name="UserRegister")
class RegisterSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    role = serializers.ChoiceField(choices=Role.choices)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    first_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)


TokenAnswer = inline_serializer("LoginAnswer", {"token": serializers.CharField(), "user": UserSerializer()})


class LoginView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=LoginSerializer, responses={200: TokenAnswer})
    def post(self, request):
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, token = services.login(request=request, **data.validated_data)
        return Response({"token": token, "user": UserSerializer(user).data})


class LogoutView(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        services.logout(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RegisterView(APIView):
    permission_classes = [ActionPermissions]
    required_perms = {"post": "accounts.add_user"}

    @extend_schema(request=RegisterSerializer, responses={201: UserSerializer})
    def post(self, request):
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.create_user(**data.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class MeView(APIView):
    @extend_schema(responses={200: UserSerializer})
    def get(self, request):
        return Response(UserSerializer(request.user).data)


class PinSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"},
                                     help_text="Your password: only you set your PIN.")
    pin = serializers.CharField(max_length=8, min_length=4, help_text="4 to 8 digits.")


class PinView(APIView):
    """A manager or admin sets their own till PIN (to authorise at a cashier's till)."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(summary="Set my manager PIN (managers, admins)", request=PinSerializer,
                   responses={200: inline_serializer("PinAnswer", {"has_pin": serializers.BooleanField()})})
    def post(self, request):
        data = PinSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.set_pin(request.user, **data.validated_data)
        return Response({"has_pin": True})
