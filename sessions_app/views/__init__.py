from sessions_app.views.archive import archive, archive_dialog, archive_export, archive_search
from sessions_app.views.health import healthz
from sessions_app.views.instances import instance_bulk, instance_detail, instance_list, instance_new
from sessions_app.views.login import login_cancel, login_qr, login_resend, login_step, session_import
from sessions_app.views.sessions import (
    authorization_terminate,
    authorizations,
    authorizations_terminate_others,
    dashboard_key_mint,
    session_revoke,
    session_save,
    session_verify,
)

__all__ = [
    "archive",
    "archive_dialog",
    "archive_export",
    "archive_search",
    "authorization_terminate",
    "authorizations",
    "authorizations_terminate_others",
    "dashboard_key_mint",
    "healthz",
    "instance_bulk",
    "instance_detail",
    "instance_list",
    "instance_new",
    "login_cancel",
    "login_qr",
    "login_resend",
    "login_step",
    "session_import",
    "session_revoke",
    "session_save",
    "session_verify",
]
