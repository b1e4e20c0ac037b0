"""/accounts/: team sign-in, sign-out, password change and two-step sign-in.

Django's password-reset pages are deliberately not routed (404): team accounts are made by an
admin, who also sets a forgotten password; a reset by email would make the mailbox a way in.
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from sessions_app.views import account

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("2fa/", account.two_factor, name="two_factor"),
    path("2fa/verify/", account.two_factor_verify, name="two_factor_verify"),
]
