from django.urls import path

from pos.tills import api

urlpatterns = [
    path("register/", api.register, name="till-register"),
    path("catalogue/", api.catalogue, name="till-catalogue"),
    path("<uuid:device_id>/blocks/", api.blocks, name="till-blocks"),
    path("<uuid:device_id>/status/", api.till_status, name="till-status"),
    path("<uuid:device_id>/refused/", api.refused, name="till-refused"),
]
