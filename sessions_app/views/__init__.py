from sessions_app.views.health import healthz
from sessions_app.views.instances import instance_detail, instance_list, instance_new
from sessions_app.views.login import login_cancel, login_resend, login_step, session_import

__all__ = [
    "healthz",
    "instance_detail",
    "instance_list",
    "instance_new",
    "login_cancel",
    "login_resend",
    "login_step",
    "session_import",
]
