from __future__ import annotations

from django.urls import path

from sessions_app import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("", views.instance_list, name="instance_list"),
    path("instances/new/", views.instance_new, name="instance_new"),
    path("instances/<str:session>/", views.instance_detail, name="instance_detail"),
    path("instances/<str:session>/login/", views.login_step, name="instance_login"),
    path("instances/<str:session>/login/resend/", views.login_resend, name="instance_login_resend"),
    path("instances/<str:session>/login/cancel/", views.login_cancel, name="instance_login_cancel"),
    path("instances/<str:session>/import/", views.session_import, name="session_import"),
]
