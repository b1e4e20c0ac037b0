from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

# A POST too large to read is explained (on the import page when it was an import), not a bare 400.
handler400 = "sessions_app.views.errors.bad_request"

urlpatterns = [
    path("accounts/", include("sessions_app.account_urls")),  # sign-in, two-step; no password reset
    path("admin/", admin.site.urls),
    path("", include("sessions_app.urls")),
]
