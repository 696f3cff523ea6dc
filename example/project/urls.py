from __future__ import annotations

from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path
from django.views.generic import TemplateView

from chat.rooms import Rooms
from table.views import Table

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("accounts/", include("django.contrib.auth.urls")),  # login/ and logout/ (registration/login.html)
    path("chat/", include("chat.urls")),
    path("rooms/", Rooms.as_view(), name="rooms"),
    path("table/", Table.as_view(), name="table"),
    # wsroute.js and the rest of the static files when DEBUG is on, under `runserver` and plain daphne alike
    *staticfiles_urlpatterns(),
]
