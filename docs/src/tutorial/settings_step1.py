# At the end of mysite/settings.py (startproject wrote the rest):
INSTALLED_APPS = [
    "daphne",  # first: its runserver serves WebSockets as well as HTTP
    *INSTALLED_APPS,  # Django's own apps, as startproject listed them
    "channels",
    "wsroute_django",  # the Socket model (who is connected) and wsroute.js
    "chat",
]
ASGI_APPLICATION = "mysite.asgi.application"
CHANNEL_LAYERS = {"default": {"BACKEND": "wsroute_django.memory_layer.MemoryChannelLayer"}}  # one process

# wsroute writes a row per socket on connect and deletes it on disconnect: keep database
# connections open between those writes instead of opening one per write.
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
