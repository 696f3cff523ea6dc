from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
    # static files (wsroute.js among them) while DEBUG is on, under runserver and plain daphne alike
    *staticfiles_urlpatterns(),
]
