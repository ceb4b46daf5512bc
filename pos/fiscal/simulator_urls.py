"""The OSCU simulator's paths: /sandbox/etims/<operation> as after KRA's `etims-api/` base URL."""

from django.urls import path

from pos.fiscal import simulator

app_name = "etims-simulator"

urlpatterns = [
    path("_control", simulator.control_view, name="control"),
    path("<str:operation>", simulator.endpoint, name="operation"),
]
