from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/chat/")),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),  # accounts/login/, accounts/logout/, ...
    path("chat/", include("chat.urls")),
    # static files (wsroute.js among them) while DEBUG is on, under runserver and plain daphne alike
    *staticfiles_urlpatterns(),
]
