"""An instance's own proxy: owners set it, change it or remove it (back to TELEGRAM_PROXY)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from sessions_app.forms_proxy import ProxyForm
from sessions_app.http import AuthenticatedHttpRequest
from sessions_app.models import Role
from sessions_app.selectors.proxy import instance_egress
from sessions_app.services.errors import ActionRefused
from sessions_app.services.instance_admin import InstanceGone
from sessions_app.services.proxy import instance_proxy_set
from sessions_app.views.access import instance_for


@sensitive_post_parameters("proxy")  # the URL holds the proxy's password or the MTProxy secret
@require_http_methods(["GET", "POST"])
def instance_proxy_view(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    instance, _ = instance_for(request, session, Role.OWNER)
    form = ProxyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            instance_proxy_set(instance=instance, actor=request.user, url=form.cleaned_data["proxy"])
        except InstanceGone as gone:
            gone_context = {"session": session, "message": gone.message}
            return render(request, "sessions_app/instance_gone.html", gone_context, status=404)
        except ActionRefused as refusal:
            form.add_error("proxy", refusal.message)
        else:
            egress = instance_egress(instance)
            said = "go directly" if not egress.masked else f"go through {egress.masked}"
            where = "its own proxy" if egress.own else "no proxy of its own"
            messages.success(
                request, f"{instance.session} has {where}: its Telegram connections {said} from the next one on."
            )
            return redirect("instance_detail", session=instance.session)
    context: dict[str, object] = {"instance": instance, "form": form, "egress": instance_egress(instance)}
    return render(request, "sessions_app/instance_proxy.html", context, status=400 if form.errors else 200)
