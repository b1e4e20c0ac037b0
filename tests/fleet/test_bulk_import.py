"""Bulk import from a file, over real HTTP to moto: one sentence per row, a bad row changes nothing."""

from __future__ import annotations

import logging
import re
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from sessions_app.models import AuditEvent, ConnectorInstance, Membership, Role
from sessions_app.selectors.audit_sentences import audit_sentence
from sessions_app.services.keys import key_fingerprint
from tests.conftest import BEA_PASSWORD, bea_session, client_for, demo_session
from tests.fleet import formats

URL = "/instances/bulk-import/"


@pytest.fixture
def admin_client(admin_user):
    return client_for(admin_user)


def upload(client, data: bytes, name: str = "fleet.csv"):
    return client.post(URL, {"file": SimpleUploadedFile(name, data, content_type="application/octet-stream")})


def sentences(response) -> list[str]:
    items = re.findall(r'<li class="(imported|refused|held)">(.*?)</li>', response.content.decode(), re.S)
    return [f"{outcome}|{re.sub(r'<[^>]+>', '', text)}" for outcome, text in items]


def assert_secrets_absent(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text
        assert secret[:40] not in text


def test_a_csv_of_50_rows_imports_with_one_sentence_per_row(telegram, bucket, admin_client, admin_user, caplog):
    rows = []
    for number in range(50):
        two_step = number % 10 == 0  # five accounts with two-step verification
        string = bea_session() if two_step else demo_session()
        rows.append((f"fleet-{number:02d}", f"Fleet {number}", string, BEA_PASSWORD if two_step else ""))
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    response = upload(admin_client, formats.csv_file(rows))
    elapsed = time.monotonic() - started
    print(f"\n50-row CSV import: {elapsed:.2f} s")
    assert response.status_code == 200
    said = sentences(response)
    assert len(said) == 50 and all(line.startswith("imported|") for line in said)
    assert "Imported 50 of 50 rows in" in response.content.decode()
    for session, name, string, _ in rows:
        instance = ConnectorInstance.objects.get(session=session)
        assert instance.name == name and instance.status == "active" and instance.dashboard_session
        # The same key, at its data centre's standard address (a file never chooses where we connect).
        assert formats.parts(instance.session_string) == formats.parts(string)
        assert bucket.read(session) == instance.session_string
        assert Membership.objects.filter(user=admin_user, instance=instance, role=Role.OWNER).exists()
    secrets = [row[2] for row in rows] + [BEA_PASSWORD]
    assert_secrets_absent(response.content.decode(), secrets)
    assert_secrets_absent(caplog.text, secrets)
    event = AuditEvent.objects.get(action="fleet.import")
    assert audit_sentence(event).startswith("admin bulk-imported 50 of 50 rows from a CSV file in ")


def test_bad_rows_each_get_their_sentence_and_change_nothing(telegram, bucket, admin_client, instance, caplog):
    good, held, bea = demo_session(), demo_session(), bea_session()
    instance.session_string = held
    instance.connector_key_fingerprint = key_fingerprint(held)
    instance.save()
    bucket.put("taken-object", demo_session())
    rows = [
        ("good-one", "Good", good, ""),
        ("malformed", "M", "1this-is-not-a-session", ""),
        ("wrong-pass", "W", bea, "not the password"),
        ("no-pass", "N", bea, ""),
        ("discover", "Reserved", demo_session(), ""),
        ("bad.name", "Invalid", demo_session(), ""),
        ("good-one", "Again", demo_session(), ""),
        ("held-key", "Held", held, ""),
        ("prod-bot", "Exists", demo_session(), ""),
        ("taken-object", "Object", demo_session(), ""),
    ]
    caplog.set_level(logging.DEBUG)
    response = upload(admin_client, formats.csv_file(rows))
    said = sentences(response)
    assert len(said) == 10, said
    assert said[0].startswith("imported|line 2 (good-one): imported, logged in as")
    assert said[1].startswith("refused|line 3 (malformed): refused, its session string could not be read")
    assert said[2].startswith("refused|line 4 (wrong-pass): refused,") and "password" in said[2]
    assert said[3].startswith("refused|line 5 (no-pass): refused,") and "password" in said[3]
    assert said[4].startswith("refused|line 6 (discover): refused.") and "cannot be a SESSION namespace" in said[4]
    assert said[5].startswith("refused|line 7: refused, its session column is not a SESSION name")
    assert said[6].startswith("refused|line 8 (good-one): refused, this SESSION appears earlier in the file")
    assert said[7] == (
        "held|line 9 (held-key): already held by the instance prod-bot: one key serves one instance. Nothing was made."
    )
    assert said[8].startswith("held|line 10 (prod-bot): already held by the instance with this SESSION")
    assert said[9].startswith("refused|line 11 (taken-object): refused, the store already holds another session")
    assert set(ConnectorInstance.objects.values_list("session", flat=True)) == {"prod-bot", "good-one"}
    assert bucket.read("wrong-pass") == "" and bucket.read("no-pass") == ""
    assert formats.parts(bucket.read("good-one")) == formats.parts(good)
    assert ConnectorInstance.objects.get(session="prod-bot").session_string == held
    secrets = [row[2] for row in rows] + ["not the password"]
    assert_secrets_absent(response.content.decode(), secrets)
    assert_secrets_absent(caplog.text, secrets)
    audit = " ".join(audit_sentence(event) for event in AuditEvent.objects.all())
    assert_secrets_absent(audit, secrets)
    assert "could not bulk-import line 4 (wrong-pass):" in audit


def test_a_zip_of_telethon_files_and_pyrogram_strings_imports(telegram, bucket, admin_client):
    ada, pyro, old, pyro_file, bea = demo_session(), demo_session(), demo_session(), demo_session(), bea_session()
    archive = formats.zip_file(
        {
            "sessions/ada-file.session": formats.telethon_file(ada),
            "pyro-string.txt": formats.pyrogram_string(pyro) + "\n",
            "pyro-old.txt": formats.pyrogram_string(old, layout="old-64"),
            "pyro-file.session": formats.pyrogram_file(pyro_file),
            "bea-file.session": formats.telethon_file(bea),
            "instances.csv": f"session,name,password\nbea-file,Bea,{BEA_PASSWORD}\nada-file,Ada\n",
            "notes.md": "not a session",
            "broken.session": b"SQLite format 3\x00garbage",
        }
    )
    response = upload(admin_client, archive, "fleet.zip")
    said = sentences(response)
    imported = {line.split("|")[1].split(":")[0] for line in said if line.startswith("imported|")}
    assert imported == {"ada-file.session", "pyro-string.txt", "pyro-old.txt", "pyro-file.session", "bea-file.session"}
    assert any(line.startswith("refused|notes.md: refused, it is neither a .session file") for line in said)
    assert any(line.startswith("refused|broken.session: refused, its session file could not be read") for line in said)
    assert ConnectorInstance.objects.get(session="ada-file").name == "Ada"
    assert ConnectorInstance.objects.get(session="bea-file").name == "Bea"
    for session, original in (("ada-file", ada), ("pyro-string", pyro), ("pyro-old", old), ("pyro-file", pyro_file)):
        instance = ConnectorInstance.objects.get(session=session)
        assert instance.status == "active" and instance.dashboard_session
        assert formats.parts(instance.session_string) == formats.parts(original)  # the same key, converted
        assert bucket.read(session) == instance.session_string
    assert "Imported 5 of 7 rows" in response.content.decode()
    assert "from a zip file" in audit_sentence(AuditEvent.objects.get(action="fleet.import"))


def test_too_big_a_file_is_a_form_error(bucket, admin_client, settings):
    settings.BULK_IMPORT_MAX_BYTES = 1000
    response = upload(admin_client, formats.csv_file([("a", "A", "x" * 2000, "")]))
    assert response.status_code == 400
    assert (
        "bulk import takes at most" in response.content.decode() and "Nothing was imported" in response.content.decode()
    )
    assert not ConnectorInstance.objects.exists()


def test_a_zip_that_unpacks_past_the_limit_is_a_form_error(bucket, admin_client, settings):
    settings.BULK_IMPORT_MAX_BYTES = 2000
    archive = formats.zip_file({"big.txt": "1" * 50_000})  # a few hundred bytes packed
    assert len(archive) < 2000
    response = upload(admin_client, archive, "fleet.zip")
    assert response.status_code == 400 and "bulk import takes at most" in response.content.decode()
    assert not ConnectorInstance.objects.exists()


def test_too_many_rows_is_a_form_error(bucket, admin_client, settings):
    settings.BULK_IMPORT_MAX_ROWS = 3
    response = upload(admin_client, formats.csv_file([(f"s{n}", "", "1x", "") for n in range(4)]))
    assert (
        response.status_code == 400 and "The file has 4 rows; bulk import takes at most 3" in response.content.decode()
    )
    archive = formats.zip_file({f"s{n}.txt": "1x" for n in range(5)})
    response = upload(admin_client, archive, "fleet.zip")
    assert response.status_code == 400 and "bulk import takes at most 3" in response.content.decode()
    assert not ConnectorInstance.objects.exists()


@pytest.mark.parametrize(
    ("data", "name", "sentence"),
    [
        (b"name,string\nx,y\n", "f.csv", "needs a first line naming its columns: session,name,session_string"),
        (b"\xff\xfe\x00binary", "f.csv", "is not UTF-8 text"),
        (b"PK\x03\x04 damaged", "f.zip", "damaged or not a zip file"),
        (b"session,name,session_string\n", "f.csv", "holds no rows to import"),
    ],
)
def test_a_file_that_cannot_be_read_is_a_form_error(bucket, admin_client, data, name, sentence):
    response = upload(admin_client, data, name)
    assert response.status_code == 400 and sentence in response.content.decode()


def test_no_file_is_a_form_error(admin_client):
    response = admin_client.post(URL, {})
    assert response.status_code == 400 and "Choose a CSV or zip file to import." in response.content.decode()


@pytest.mark.parametrize("user", ["operator", "viewer", "outsider"])
def test_only_team_admins_may_bulk_import(telegram, bucket, instance, request, user):
    client = client_for(request.getfixturevalue(user))
    assert client.get(URL).status_code == 403
    response = upload(client, formats.csv_file([("sneaky", "S", demo_session(), "")]))
    assert response.status_code == 403 and not ConnectorInstance.objects.filter(session="sneaky").exists()


def test_the_page_explains_the_file_layouts(admin_client):
    page = admin_client.get(URL).content.decode()
    assert "session,name,session_string" in page and "instances.csv" in page and "SESSION.txt" in page


def test_a_crash_report_carries_neither_the_strings_nor_the_passwords(telegram, bucket, admin_client, monkeypatch):
    import sys

    from django.core.signals import got_request_exception
    from django.views.debug import ExceptionReporter

    reports: list[str] = []

    captured_exc: list = []

    def capture(sender, request, **kwargs):
        captured_exc.append(sys.exc_info())
        reports.append(ExceptionReporter(request, *sys.exc_info()).get_traceback_text())

    def exploding(*args, **kwargs):
        raise RuntimeError("the service failed")

    string = demo_session()
    # A failing row is caught and reported in its sentence (test_bulk_import_failures): here the whole
    # import fails after its rows ran, with the rows and the file in the frames of the report.
    monkeypatch.setattr("sessions_app.services.fleet_import.audit_record", exploding)
    got_request_exception.connect(capture)
    try:
        with pytest.raises(RuntimeError, match="the service failed"):
            upload(admin_client, formats.csv_file([("crashing", "C", string, "hunter2-two-step")]))
    finally:
        got_request_exception.disconnect(capture)
    assert "the service failed" in reports[0]
    assert_secrets_absent(reports[0], [string, "hunter2-two-step"])
    html = ExceptionReporter(None, *captured_exc[0]).get_traceback_html()  # the report with every frame's locals
    assert "fleet_import" in html
    assert_secrets_absent(html, [string, "hunter2-two-step"])
