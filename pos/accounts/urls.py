from django.urls import path

from pos.accounts import api

urlpatterns = [
    path("login/", api.LoginView.as_view(), name="api-login"),
    path("logout/", api.LogoutView.as_view(), name="api-logout"),
    path("register/", api.RegisterView.as_view(), name="api-register"),
    path("me/", api.MeView.as_view(), name="api-me"),
    path("pin/", api.PinView.as_view(), name="api-pin"),
]
