from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from sessions_app.api.main import urls as api_urls
from sessions_app.views import api_tokens as api_token_views

# A POST too large to read is explained (on the import page when it was an import), not a bare 400.
handler400 = "sessions_app.views.errors.bad_request"

urlpatterns = [
    path("accounts/", include("sessions_app.account_urls")),  # sign-in, two-step; no password reset
    path("admin/", admin.site.urls),
    path("account/tokens/", api_token_views.api_tokens, name="api_tokens"),
    path("account/tokens/<int:token_id>/revoke/", api_token_views.api_token_revoke_view, name="api_token_revoke"),
    path("api/v1/", api_urls()),  # JSON API: bearer tokens only (sessions_app/api)
    path("favicon.ico", login_not_required(RedirectView.as_view(url=static("sessions_app/favicon.svg")))),
    path("", include("sessions_app.urls")),
]
