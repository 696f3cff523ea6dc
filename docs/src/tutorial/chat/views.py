from urllib.parse import urlencode

from django.shortcuts import redirect, render
from django.utils.text import slugify


def index(request):
    """Pick a room (and a name, unless logged in)."""
    room = slugify(request.GET.get("room", ""))[:50]
    if room:
        name = request.GET.get("name", "").strip()
        return redirect(f"/chat/{room}/" + (f"?{urlencode({'name': name})}" if name else ""))
    return render(request, "chat/index.html")


def room(request, room):
    if request.user.is_authenticated:
        name = request.user.get_username()
        socket_url = f"/ws/chat/{room}/"  # the Nickname middleware takes the user's name
    else:
        name = request.GET.get("name", "").strip()[:30]
        if not name:
            return render(request, "chat/index.html", {"room": room})
        socket_url = f"/ws/chat/{room}/?{urlencode({'name': name})}"
    return render(request, "chat/room.html", {"room": room, "name": name, "socket_url": socket_url})
