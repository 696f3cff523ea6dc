from django.urls import path, re_path

from chat import views

urlpatterns = [
    path("", views.index, name="chat-index"),
    re_path(r"^(?P<room>[-a-zA-Z0-9_]{1,50})/$", views.room, name="chat-room"),
]
