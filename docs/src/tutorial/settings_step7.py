# At the end of mysite/settings.py: where logging in and out lead.
LOGIN_REDIRECT_URL = "/chat/"
LOGOUT_REDIRECT_URL = "/chat/"
