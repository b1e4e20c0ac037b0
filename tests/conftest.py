from __future__ import annotations

import time

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from django.test import Client

from sessions_app.models import ConnectorInstance, Membership, Role
from tests import support

ADA = "+9996621001"  # demo account without 2FA, code 22222
BEA = "+9996631002"  # demo account with 2FA, home DC 3 (PHONE_MIGRATE_3 from DC 2)
BEA_PASSWORD = "correct horse battery"


@receiver(connection_created)
def _sqlite_readers_take_no_table_locks(sender, connection, **kwargs):
    """SQLite's test database is shared-cache memory, where a reading thread's table lock fails a writer
    at once ("database table is locked") instead of waiting as WAL does in production. Readers there
    take no table locks (read_uncommitted), so a page or socket reading beside a run never fails it."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA read_uncommitted = 1")


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; production keeps PBKDF2
    settings.SESSION_STORE_DIR = str(tmp_path / "session-store")
    settings.SESSION_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.TELEGRAM_CLIENT_FACTORY = "tests.support.telegram_factory"
    settings.TELEGRAM_LEASE_WAIT_SECONDS = 0
    settings.LOGIN_SEND_CODE_RATE = (5, 3600)
    settings.LOGIN_RESEND_MIN_SECONDS = 0  # the demo Telegram's clock skips ahead; Django's does not
    settings.AWS_S3_SESSION_BUCKET = ""


class Clock:
    """The demo Telegram's clock: real time (so a slept flood wait ends) plus what tests skip ahead."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def telegram(clock):
    from sessions_app.telegram.fake import DemoTelegram

    world = DemoTelegram(None, clock=clock)
    support.use_world(world)
    return world


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser("admin", "admin@example.invalid", "admin-pass-123")


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_user("olivia", password="pass-olivia-123", is_staff=True)


@pytest.fixture
def operator(db):
    return get_user_model().objects.create_user("oscar", password="pass-oscar-123")


@pytest.fixture
def viewer(db):
    return get_user_model().objects.create_user("vera", password="pass-vera-123")


@pytest.fixture
def outsider(db):
    return get_user_model().objects.create_user("mallory", password="pass-mallory-123")


@pytest.fixture
def instance(db, owner, operator, viewer):
    instance = ConnectorInstance.objects.create(session="prod-bot", name="Production bot", created_by=owner)
    Membership.objects.create(user=owner, instance=instance, role=Role.OWNER)
    Membership.objects.create(user=operator, instance=instance, role=Role.OPERATOR)
    Membership.objects.create(user=viewer, instance=instance, role=Role.VIEWER)
    return instance


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner):
    return client_for(owner)


@pytest.fixture
def operator_client(operator):
    return client_for(operator)


def demo_session(phone: str = ADA, code: str = "22222") -> str:
    """A logged-in session string made at run time on the current demo world (never committed)."""
    from sessions_app.telegram.client import default_credentials
    from sessions_app.telegram.login import send_code, sign_in_code

    api = default_credentials()
    sent = send_code(session="", phone=phone, api=api)
    signed = sign_in_code(session=sent.session, phone=phone, code=code, phone_code_hash=sent.phone_code_hash, api=api)
    return signed.session


def bea_session() -> str:
    """A logged-in session string of the demo account with 2FA (code, then its password), made at run time."""
    from sessions_app.telegram.client import default_credentials
    from sessions_app.telegram.errors import PasswordNeeded
    from sessions_app.telegram.login import send_code, sign_in_code, sign_in_password

    api = default_credentials()
    sent = send_code(session="", phone=BEA, api=api)
    try:
        sign_in_code(session=sent.session, phone=BEA, code="33333", phone_code_hash=sent.phone_code_hash, api=api)
    except PasswordNeeded as needed:
        return sign_in_password(session=needed.session, password=BEA_PASSWORD, api=api).session
    raise AssertionError("the 2FA demo account should ask for its password")


def log_in(instance: ConnectorInstance, string: str | None = None, *, phone: str = ADA) -> ConnectorInstance:
    """Give the instance a connector key (a fresh demo login unless `string`) and mint the dashboard's own."""
    from sessions_app.services.keys import dashboard_key_mint, key_fingerprint

    instance.session_string = string or demo_session(phone)
    instance.connector_key_fingerprint = key_fingerprint(instance.session_string)
    instance.status = "active"
    instance.save()
    return dashboard_key_mint(instance=instance, actor=None)


@pytest_asyncio.fixture
async def close_thread_connections():
    """Async tests reach the DB from asgiref's sync thread; close its connection afterwards.

    The test client keeps request connections open, and one left in that thread would stop the
    test database from being dropped on PostgreSQL at the end of the session.
    """
    yield
    await sync_to_async(connections.close_all)()
