"""The S3 session store: a django-storages S3Storage that also implements the store contract.

The only module that talks to boto3/botocore. Conditional writes go through client.put_object
directly: s3transfer's upload path (used by Storage.save) rejects IfMatch/IfNoneMatch.
"""

from __future__ import annotations

import email.utils
import threading
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
    SSLError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from django.core.exceptions import SuspiciousOperation
from storages.backends.s3 import S3File, S3Storage
from storages.utils import clean_name, safe_join

from .base import (
    CACHE_CONTROL,
    CONTENT_TYPE,
    LoadedSession,
    ObjectInfo,
    SessionStore,
    StoreError,
    StoreUnreachable,
    session_key,
)
from .s3_listing import S3Listing

_MISSING_KEY = {"NoSuchKey", "NotFound", "404"}
_CONFLICT = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
_CREDENTIALS = {
    "InvalidAccessKeyId": "the access key id is unknown",
    "SignatureDoesNotMatch": "the secret key does not match the access key id",
    "InvalidToken": "the session token is invalid",
    "ExpiredToken": "the session token has expired",
    "TokenRefreshRequired": "the session token has expired",
}
_REGION = {"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException", "301"}
_OVERLOADED = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"}
# A key no session can have (session names cannot start with "."), for ping().
_PING_KEY = "telegram/.ping"


class S3SessionStore(S3Listing, SessionStore, S3Storage):
    """Session objects in an S3 bucket (AWS or any S3-compatible endpoint).

    Objects are UTF-8 text/plain, Cache-Control: no-store, server-side encrypted (AES256 or
    aws:kms), with no ACL. Timeouts and retries are short so an unreachable store fails in
    seconds instead of hanging a request.
    """

    def __init__(
        self,
        *,
        bucket_name: str,
        endpoint_url: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        region_name: str | None = "us-east-1",
        sse: str = "AES256",
        kms_key_id: str = "",
        connect_timeout: float = 5,
        read_timeout: float = 10,
        max_attempts: int = 2,
    ) -> None:
        self.sse = sse
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        object_parameters = {"CacheControl": CACHE_CONTROL}
        if sse != "none":  # "none": S3-compatible stores without server-side encryption (plain MinIO)
            object_parameters["ServerSideEncryption"] = sse
        if sse == "aws:kms" and kms_key_id:
            object_parameters["SSEKMSKeyId"] = kms_key_id
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            # Virtual-host addressing needs wildcard DNS that MinIO-style endpoints rarely have.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
        )
        super().__init__(
            bucket_name=bucket_name,
            endpoint_url=endpoint_url or None,
            # None (not "") lets boto3 fall back to its default chain: env, profile, IAM role.
            access_key=access_key or None,
            secret_key=secret_key or None,
            security_token=None,
            session_profile=None,
            region_name=region_name or None,
            default_acl=None,
            object_parameters=object_parameters,
            file_overwrite=False,
            client_config=config,
        )

    # S3Storage reads `location` as a key prefix. Here it names the bucket for messages (the
    # store contract), so the two places that use it as a prefix are overridden: keys have none.
    @property
    def location(self) -> str:  # type: ignore[override]
        return f"s3://{getattr(self, 'bucket_name', '')}"

    def _normalize_name(self, name: str) -> str:
        try:
            key: str = safe_join("", name)
        except ValueError as err:
            raise SuspiciousOperation(f"Attempted access to {name!r} denied.") from err
        return key

    def _open(self, name: str, mode: str = "rb") -> S3File:
        f = super()._open(name, mode)
        f.name = clean_name(name)
        return f

    def _create_session(self) -> boto3.Session:
        # S3Storage makes a boto3 session per thread; each would parse botocore's JSON models
        # again (~0.1 s). They share one loader instead. Credentials stay per session.
        botocore_session = botocore.session.get_session()
        botocore_session.register_component("data_loader", _shared_loader())
        return boto3.Session(
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            aws_session_token=self.security_token,
            botocore_session=botocore_session,
        )

    @property
    def _bucket_label(self) -> str:
        return str(self.bucket_name)

    @property
    def _client(self) -> Any:
        return self.connection.meta.client

    @property
    def endpoint(self) -> str:
        """The endpoint requests go to, for messages."""
        return str(self.endpoint_url or self._client.meta.endpoint_url)

    def load(self, session: str) -> LoadedSession:
        key = session_key(session)
        try:
            response = self._client.get_object(Bucket=self.bucket_name, Key=key)
            with response["Body"] as body:
                data = body.read()
        except ClientError as err:
            if _code(err) in _MISSING_KEY:
                return LoadedSession(content="", info=None)
            raise self._error(err, key, "reading") from err
        except BotoCoreError as err:
            raise self._error(err, key, "reading") from err
        info = self._info(key, response)
        try:
            return LoadedSession(content=data.decode("utf-8"), info=info)
        except UnicodeDecodeError as err:
            raise StoreError(
                f"{self._where(key)} is not UTF-8 text, so it cannot be a session string. Replace or revoke it.",
                bucket=self._bucket_label,
                key=key,
                reason="not UTF-8 text",
            ) from err

    def head(self, session: str) -> ObjectInfo | None:
        return self._head(session_key(session))

    def ping(self) -> None:
        """Reachable, bucket present, credentials accepted.

        A missing object answers 404, or 403 when s3:ListBucket is not granted (the connector's
        Get+Put policy); both mean the store is up.
        """
        try:
            self._client.get_object(Bucket=self.bucket_name, Key=_PING_KEY)["Body"].close()
        except ClientError as err:
            if _code(err) in _MISSING_KEY | {"AccessDenied"}:
                return
            raise self._error(err, _PING_KEY, "checking") from err
        except BotoCoreError as err:
            raise self._error(err, _PING_KEY, "checking") from err

    def _head(self, key: str) -> ObjectInfo | None:
        try:
            return self._info(key, self._client.head_object(Bucket=self.bucket_name, Key=key))
        except ClientError as err:
            if not _code(err).isdigit():
                raise self._error(err, key, "checking") from err
            # A HEAD answer has no body, so "404" may mean a missing bucket and "403" bad
            # credentials; a GET says which.
        except BotoCoreError as err:
            raise self._error(err, key, "checking") from err
        try:
            response = self._client.get_object(Bucket=self.bucket_name, Key=key)
            response["Body"].close()
        except ClientError as err:
            if _code(err) in _MISSING_KEY:
                return None
            raise self._error(err, key, "checking") from err
        except BotoCoreError as err:
            raise self._error(err, key, "checking") from err
        return self._info(key, response)

    def _write(self, key: str, data: bytes, expected_etag: str | None, verb: str) -> ObjectInfo:
        params: dict[str, Any] = {
            "Bucket": self.bucket_name,
            "Key": key,
            "Body": data,
            "ContentType": CONTENT_TYPE,
            **self.object_parameters,
        }
        if expected_etag is None:
            params["IfNoneMatch"] = "*"
        else:
            params["IfMatch"] = expected_etag
        try:
            response = self._client.put_object(**params)
        except ClientError as err:
            code = _code(err)
            # If-Match on a key that is gone answers NoSuchKey: someone removed it meanwhile.
            if code in _CONFLICT or (expected_etag is not None and code == "NoSuchKey"):
                raise self._conflict(key, expected_etag, self._current_or_none(key), verb) from err
            raise self._error(err, key, verb) from err
        except BotoCoreError as err:
            raise self._error(err, key, verb) from err
        return ObjectInfo(
            key=key,
            size=len(data),
            etag=response.get("ETag", ""),
            last_modified=_response_time(response),
            version_id=response.get("VersionId") or "",
            encryption=response.get("ServerSideEncryption", ""),
        )

    def _current_or_none(self, key: str) -> ObjectInfo | None:
        try:
            return self._head(key)
        except StoreError:
            return None  # the conflict is the news; the current info is a courtesy

    def _info(self, key: str, response: dict[str, Any]) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=int(response.get("ContentLength", 0)),
            etag=response.get("ETag", ""),
            last_modified=response.get("LastModified"),
            version_id=response.get("VersionId") or "",
            encryption=response.get("ServerSideEncryption", ""),
        )

    def _error(self, err: Exception, key: str, verb: str) -> StoreError:
        """Turn a botocore error into a StoreError whose message says what happened and what to do."""
        where = self._where(key)
        bucket = self._bucket_label
        fields = {"bucket": bucket, "key": key}
        if isinstance(err, ClientError):
            code, status = _code(err), _status(err)
            if code == "NoSuchBucket":
                return StoreError(
                    f"Bucket {bucket} does not exist at {self.endpoint} (while {verb} {where}). "
                    "Create it, or fix AWS_S3_SESSION_BUCKET.",
                    reason="bucket does not exist",
                    **fields,
                )
            if code in _CREDENTIALS:
                return StoreError(
                    f"Credentials rejected by S3 at {self.endpoint} while {verb} {where}: {_CREDENTIALS[code]}. "
                    "Check AWS_ACCESS_KEY and AWS_SECRET_KEY.",
                    reason="credentials rejected",
                    **fields,
                )
            if code == "AccessDenied" or code == "403":
                return StoreError(self._access_denied_message(verb, where), reason="access denied", **fields)
            if code in _REGION:
                region = _headers(err).get("x-amz-bucket-region", "")
                fix = f"set AWS_REGION to {region}" if region else "set AWS_REGION to the bucket's region"
                return StoreError(
                    f"Bucket {bucket} is not in region {self.region_name} (while {verb} {where}): {fix}.",
                    reason="wrong region",
                    **fields,
                )
            if "KMS" in code:
                return StoreError(
                    f"Encryption key problem while {verb} {where}: {_server_message(err)}. "
                    "Check AWS_S3_KMS_KEY_ID and that the credentials may use the key (kms:GenerateDataKey, kms:Decrypt).",
                    reason="encryption key problem",
                    **fields,
                )
            if status >= 500 or code in _OVERLOADED:
                return StoreUnreachable(
                    f"S3 at {self.endpoint} failed while {verb} {where} (HTTP {status} {code}), "
                    "even after retrying. Try again in a minute.",
                    **fields,
                )
            detail = f"{code} (HTTP {status}) {_server_message(err)}".strip().rstrip(".")
            return StoreError(f"S3 refused the request while {verb} {where}: {detail}.", **fields)
        if isinstance(err, NoCredentialsError | PartialCredentialsError):
            return StoreError(
                f"No AWS credentials found for {verb} {where}. "
                "Set AWS_ACCESS_KEY and AWS_SECRET_KEY, or give the server an IAM role.",
                reason="no credentials",
                **fields,
            )
        if isinstance(err, BotoConnectionError | HTTPClientError | IncompleteReadError):
            return StoreUnreachable(
                f"Cannot reach S3 at {self.endpoint} while {verb} {where}: {self._unreachable_cause(err)}. "
                "Check AWS_S3_ENDPOINT and that the store is up.",
                **fields,
            )
        return StoreError(f"S3 client error while {verb} {where}: {err}.", **fields)

    def _access_denied_message(self, verb: str, where: str) -> str:
        reading = verb in ("reading", "checking")
        permission = "s3:GetObject" if reading else "s3:PutObject"
        if not reading and self.sse == "aws:kms":
            permission += " (and kms:GenerateDataKey on the KMS key)"
        message = (
            f"Access denied {verb} {where}: the credentials lack {permission}, or a bucket policy denies it. "
            f"Grant it on arn:aws:s3:::{self._bucket_label}/telegram/*."
        )
        if reading:
            message += " (Without s3:ListBucket, S3 also answers 'access denied' for an object that does not exist.)"
        return message

    def _unreachable_cause(self, err: BotoCoreError) -> str:
        if isinstance(err, ConnectTimeoutError):
            return f"no connection within {self.connect_timeout:g} s"
        if isinstance(err, ReadTimeoutError):
            return f"no answer within {self.read_timeout:g} s"
        if isinstance(err, SSLError):
            return "the TLS handshake failed"
        if isinstance(err, ConnectionClosedError):
            return "the connection closed before an answer"
        if isinstance(err, EndpointConnectionError):
            cause = str(getattr(err, "kwargs", {}).get("error", ""))
            if "refused" in cause.lower():
                return "connection refused"
            if "name or service not known" in cause.lower() or "nodename nor servname" in cause.lower():
                return "host name not found"
            return "could not connect"
        return "the connection failed"


_loader_lock = threading.Lock()
_loader: botocore.loaders.Loader | None = None


def _shared_loader() -> botocore.loaders.Loader:
    global _loader
    with _loader_lock:
        if _loader is None:
            _loader = botocore.loaders.create_loader()
        return _loader


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _status(err: ClientError) -> int:
    return int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _headers(err: ClientError) -> dict[str, str]:
    return dict(err.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}))


def _server_message(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Message", ""))[:200]


def _response_time(response: dict[str, Any]) -> datetime | None:
    # PutObject answers without LastModified; S3 stamps the object with the request time,
    # which the Date header carries (moto sends Last-Modified too).
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    value = headers.get("last-modified") or headers.get("date")
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None
