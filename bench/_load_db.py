"""The database side of bench/load.py, run as a subprocess with the environment of the setup under test.

``setup``  creates the cast (an admin, browsing viewers, login-flow operators), the instances, signs
           the archive instance in through the login services (so its object is in the store and
           its dashboard key minted), archives its first messages so that dialog and search pages
           have something to show, then seeds the demo Telegram with the history the load run will
           archive. Prints one JSON object: what the clients need (paths, peers, words).
``watch``  prints one JSON line per interval with the archive instance's message count and run
           state, until its time is up or its stdin closes (the parent went away).

load.py runs ``manage.py migrate`` before ``setup``; this module only uses the app's services and models.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "load-test-password-1"  # noqa: S105 - every bench user's, in a throwaway database
ARCHIVE_SESSION = "load-archive"
ARCHIVE_PHONE = "+9996621001"  # Ada: no 2FA, code 22222
LOGIN_PHONES = ("+9996621001", "+9996611003")  # Ada (DC 2) and Cy (DC 1, a PHONE_MIGRATE on the way)
SEARCH_WORDS = ("invoice", "deploy", "coffee", "budget", "release")
TEAM_INSTANCES = 20  # more rows on the instance list than the browsing users' one archive instance


def _django() -> None:
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    import django

    django.setup()


def setup(*, users: int, logins: int, first_messages: int, messages: int, bucket: str) -> dict[str, object]:
    _django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from sessions_app.models import Dialog, Membership, Message, Role
    from sessions_app.services.archive_runs import archive_run_foreground
    from sessions_app.services.instances import instance_create
    from sessions_app.services.login import login_send_code, login_submit_code
    from sessions_app.telegram.fake import DemoTelegram

    if bucket:
        _create_bucket(bucket)
    user_model = get_user_model()
    # One hash for all: hashing 60 passwords would cost a minute of CPU before anything is measured.
    encoded = make_password(PASSWORD)
    admin = user_model.objects.create(username="load-admin", password=encoded, is_staff=True, is_superuser=True)
    browsers = user_model.objects.bulk_create(
        user_model(username=f"browse-{n:02d}", password=encoded) for n in range(users)
    )
    flowers = user_model.objects.bulk_create(
        user_model(username=f"flow-{n:02d}", password=encoded) for n in range(logins)
    )

    archive = instance_create(actor=admin, session=ARCHIVE_SESSION, name="Archive under load")
    team = [instance_create(actor=admin, session=f"team-{n:02d}", name=f"Team bot {n}") for n in range(TEAM_INSTANCES)]
    for instance in (archive, *team):
        Membership.objects.bulk_create(Membership(user=u, instance=instance, role=Role.VIEWER) for u in browsers)
    login_instances = []
    for n, user in enumerate(flowers):
        instance = instance_create(actor=admin, session=f"login-{n:02d}", name=f"Login flow {n}")
        Membership.objects.create(user=user, instance=instance, role=Role.OPERATOR)
        login_instances.append(instance.session)

    world = DemoTelegram(str(settings.TELEGRAM_DEMO_STATE))
    login_send_code(instance=archive, actor=admin, phone=ARCHIVE_PHONE)
    login_submit_code(instance=archive, actor=admin, code="22222")
    archive.refresh_from_db()
    if not archive.dashboard_session:
        raise RuntimeError(f"the archive instance has no dashboard key: {archive.dashboard_key_error}")

    phone = ARCHIVE_PHONE.lstrip("+")
    dialogs = len(world.history_of(phone))
    world.seed_messages(phone, per_dialog=max(1, first_messages // dialogs))
    archive_run_foreground(instance=archive, actor=admin)
    archived = Message.objects.filter(instance=archive).count()
    world.seed_messages(phone, per_dialog=max(1, messages // dialogs))
    waiting = sum(len(rows) for rows in world.history_of(phone).values()) - archived
    peers = list(Dialog.objects.filter(instance=archive).order_by("-message_count").values_list("peer_id", flat=True))
    return {
        "password": PASSWORD,
        "admin": admin.username,
        "browsers": [u.username for u in browsers],
        "flows": [
            {"user": user.username, "session": session, "phone": LOGIN_PHONES[n % len(LOGIN_PHONES)]}
            for n, (user, session) in enumerate(zip(flowers, login_instances, strict=True))
        ],
        "archive": ARCHIVE_SESSION,
        "team": [i.session for i in team],
        "peers": peers,
        "words": list(SEARCH_WORDS),
        "archived_before": archived,
        "to_archive": waiting,
    }


def _create_bucket(bucket: str) -> None:
    """The bucket on moto's server, made with the storage's own client settings (endpoint, keys, region)."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=os.environ["AWS_S3_ENDPOINT"],
        aws_access_key_id=os.environ["AWS_ACCESS_KEY"],
        aws_secret_access_key=os.environ["AWS_SECRET_KEY"],
        region_name=os.environ.get("AWS_REGION") or "us-east-1",
    )
    client.create_bucket(Bucket=bucket)


def watch(*, seconds: float, interval: float) -> None:
    _django()
    from django.db import connection

    from sessions_app.models import ArchiveRun, ConnectorInstance, Message

    instance = ConnectorInstance.objects.get(session=ARCHIVE_SESSION)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = ArchiveRun.objects.filter(instance=instance).order_by("-created_at", "-id").first()
        sample = {
            "t": time.time(),
            "messages": Message.objects.filter(instance=instance).count(),
            "run": run.pk if run else None,
            "status": run.status if run else "",
            "error": run.error[:200] if run else "",
        }
        print(json.dumps(sample), flush=True)
        # Sleep, but wake up (and stop) when the parent closes our stdin.
        ready, _, _ = select.select([sys.stdin], [], [], interval)
        if ready and not sys.stdin.read(1):
            break
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("setup")
    make.add_argument("--users", type=int, required=True)
    make.add_argument("--logins", type=int, required=True)
    make.add_argument("--first-messages", type=int, required=True)
    make.add_argument("--messages", type=int, required=True)
    make.add_argument("--bucket", default="")
    follow = commands.add_parser("watch")
    follow.add_argument("--seconds", type=float, required=True)
    follow.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    if args.command == "setup":
        made = setup(
            users=args.users,
            logins=args.logins,
            first_messages=args.first_messages,
            messages=args.messages,
            bucket=args.bucket,
        )
        print(json.dumps(made))
    else:
        watch(seconds=args.seconds, interval=args.interval)


if __name__ == "__main__":
    main()
