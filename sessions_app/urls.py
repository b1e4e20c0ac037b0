from __future__ import annotations

from django.urls import path, register_converter

from sessions_app import views
from sessions_app.converters import register_session_converter
from sessions_app.views import archive_media as media_views
from sessions_app.views import audit as audit_views
from sessions_app.views import fleet as fleet_views
from sessions_app.views import health_checks
from sessions_app.views import instance_admin as instance_admin_views
from sessions_app.views import members as member_views
from sessions_app.views import metrics as metrics_views
from sessions_app.views import proxy as proxy_views
from sessions_app.views.archive import PeerIdConverter

register_converter(PeerIdConverter, "peer")
register_session_converter()

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics_views.metrics, name="metrics"),
    path("", views.instance_list, name="instance_list"),
    path("alerts/", health_checks.alert_deliveries, name="alert_deliveries"),
    path("audit/", audit_views.audit_trail, name="audit_trail"),
    path("instances/new/", views.instance_new, name="instance_new"),
    path("instances/bulk/", views.instance_bulk, name="instance_bulk"),
    path("instances/discover/", fleet_views.fleet_discover, name="fleet_discover"),
    path("instances/bulk-import/", fleet_views.fleet_bulk_import, name="fleet_bulk_import"),
    path("instances/<session:session>/", views.instance_detail, name="instance_detail"),
    path("instances/<session:session>/login/", views.login_step, name="instance_login"),
    path("instances/<session:session>/login/qr/", views.login_qr, name="instance_login_qr"),
    path("instances/<session:session>/login/resend/", views.login_resend, name="instance_login_resend"),
    path("instances/<session:session>/login/cancel/", views.login_cancel, name="instance_login_cancel"),
    path("instances/<session:session>/import/", views.session_import, name="session_import"),
    path("instances/<session:session>/save/", views.session_save, name="session_save"),
    path("instances/<session:session>/verify/", views.session_verify, name="session_verify"),
    path("instances/<session:session>/check/", health_checks.instance_check, name="instance_check"),
    path("instances/<session:session>/revoke/", views.session_revoke, name="session_revoke"),
    path("instances/<session:session>/dashboard-key/", views.dashboard_key_mint, name="dashboard_key_mint"),
    path("instances/<session:session>/rename/", instance_admin_views.instance_rename_view, name="instance_rename"),
    path("instances/<session:session>/delete/", instance_admin_views.instance_delete_view, name="instance_delete"),
    path("instances/<session:session>/proxy/", proxy_views.instance_proxy_view, name="instance_proxy"),
    path("instances/<session:session>/audit/", audit_views.instance_audit, name="instance_audit"),
    path("instances/<session:session>/members/", member_views.members, name="instance_members"),
    path(
        "instances/<session:session>/members/<int:member_id>/role/",
        member_views.member_role,
        name="instance_member_role",
    ),
    path(
        "instances/<session:session>/members/<int:member_id>/remove/",
        member_views.member_remove,
        name="instance_member_remove",
    ),
    path("instances/<session:session>/authorizations/", views.authorizations, name="authorizations"),
    path(
        "instances/<session:session>/authorizations/terminate-others/",
        views.authorizations_terminate_others,
        name="authorizations_terminate_others",
    ),
    path(
        "instances/<session:session>/authorizations/<str:authorization_hash>/terminate/",
        views.authorization_terminate,
        name="authorization_terminate",
    ),
    path(
        "instances/<session:session>/authorizations/<str:authorization_hash>/known/",
        views.sessions.authorization_mark_known,
        name="authorization_mark_known",
    ),
    path("instances/<session:session>/archive/", views.archive, name="archive"),
    path("instances/<session:session>/archive/search/", views.archive_search, name="archive_search"),
    path("instances/<session:session>/archive/export/", views.archive_export, name="archive_export"),
    path("instances/<session:session>/archive/media/<int:media_id>/", media_views.archive_media, name="archive_media"),
    path("instances/<session:session>/archive/<peer:peer_id>/", views.archive_dialog, name="archive_dialog"),
]
