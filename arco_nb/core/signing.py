# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Signed, expiring, tenant-scoped read URLs.

A signed URL lets something that holds no storage credentials (a browser, a static catalog
site, a JupyterLab front-end) read one object of one workspace until a deadline. On S3 roots
the URL is an S3 presigned URL (SigV4, at most 7 days, checked by S3 itself). On local and
``memory://`` roots it is an HMAC-SHA256 token that a server checks with :func:`verify` or
:func:`open_signed` before it reads anything::

    /arco/files/tenants/{tenant}/workspaces/{workspace}/{key}?expires={unix seconds}&signature={mac}

``key`` is the object's key inside the workspace, each segment percent-encoded. ``mac`` is the
unpadded URL-safe base64 of HMAC-SHA256 over ``"arco-url-v1\\n{tenant}\\n{workspace}\\n{key}\\n
{expires}"`` (the key decoded). Ids cannot hold a newline and keys pass
:func:`~arco_nb.core.tenancy.check_key` (no control characters), so the message is unambiguous.
A verifier accepts exactly one spelling of each URL and refuses, before any storage is touched,
a key or id that the tenancy rules refuse.

The signing key is ``ARCO_SIGNING_KEY`` when set (at least 32 bytes), else a random key kept in
``{root}/_arco/signing.key`` (mode 0600, created race-free on first use) on a local root, or a
random key per root held by this process on ``memory://``. The key file is outside
``tenants/``, so no tenant's store can name it. Anyone who can read the root can read the key
file too (docs/adr/0003-multi-tenancy.md): a server that tenants' code cannot read should set
``ARCO_SIGNING_KEY``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import hmac
import math
import os
import re
import secrets
import stat
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from arco_nb.core.errors import (
    ArcoError,
    ConfigError,
    SignatureExpired,
    SignatureInvalid,
    TenantViolation,
)
from arco_nb.core.keys import TEMP_MARK, check_id, check_key
from arco_nb.core.tenancy import TenantScope, normalise_root

if TYPE_CHECKING:
    from arco_nb.core.storage import ObjectStore

__all__ = [
    "DEFAULT_EXPIRY",
    "KEY_ENV",
    "KEY_FILE",
    "MAX_EXPIRY",
    "URL_PREFIX",
    "SignedTarget",
    "SignedURL",
    "Signer",
    "expiry_seconds",
    "open_signed",
    "sign_keys",
    "signing_key",
    "verify",
]

URL_PREFIX = "/arco/files"
KEY_ENV = "ARCO_SIGNING_KEY"
KEY_FILE = "_arco/signing.key"  # relative to the root, beside (never inside) tenants/
DEFAULT_EXPIRY = dt.timedelta(minutes=15)
MAX_EXPIRY = dt.timedelta(days=7)  # S3's limit for a SigV4 presigned URL; ours too
MIN_KEY_BYTES = 32
_VERSION = "arco-url-v1"
_SKEW = 300  # seconds a verifier's clock may run behind the signer's
_MAX_URL = 4096
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 bytes, URL-safe base64, unpadded
_EXPIRES = re.compile(r"[1-9][0-9]{0,11}")
_MEMORY_KEYS: dict[str, bytes] = {}
_MEMORY_LOCK = threading.Lock()


@dataclass(frozen=True)
class SignedTarget:
    """What a verified URL names: one object of one workspace, until ``expires_at`` (UTC)."""

    tenant: str
    workspace: str
    key: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class SignedURL:
    """A signed read URL for the object ``key`` of a workspace, valid until ``expires_at``."""

    key: str
    url: str
    expires_at: dt.datetime


def expiry_seconds(expires: dt.timedelta | float) -> int:
    """Whole seconds (rounded up) of a validity period; refuse one that is not in (0, 7 days].

    Raises
    ------
    ConfigError
        If ``expires`` is not a positive duration of at most :data:`MAX_EXPIRY`.
    """
    if isinstance(expires, dt.timedelta):
        seconds = expires.total_seconds()
    elif isinstance(expires, int | float) and not isinstance(expires, bool):
        seconds = float(expires)
    else:
        raise ConfigError(
            f"expires must be a timedelta or seconds, not {type(expires).__name__}",
            hint="Pass expires=datetime.timedelta(minutes=15) or expires=900",
        )
    limit = int(MAX_EXPIRY.total_seconds())
    if not math.isfinite(seconds) or seconds <= 0 or math.ceil(seconds) > limit:
        raise ConfigError(
            f"A signed URL must expire in more than 0 and at most {limit} seconds (7 days), "
            f"not {seconds:g}",
            hint="Pass a shorter expires= and share a fresh URL when it runs out",
        )
    return math.ceil(seconds)


def _unix(now: dt.datetime | float | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, dt.datetime):
        if now.tzinfo is None:
            raise ConfigError("now must be timezone-aware", hint="Use datetime.now(UTC)")
        return now.timestamp()
    return float(now)


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _encode_key(key: str) -> str:
    return "/".join(quote(segment, safe="") for segment in key.split("/"))


class Signer:
    """Signs and verifies HMAC read URLs with one secret key.

    Parameters
    ----------
    key
        The secret, at least 32 bytes. :meth:`for_root` finds the one a root uses.

    Examples
    --------
    >>> signer = Signer(b"k" * 32)
    >>> url = signer.sign("acme", "default", "data/a/_/m.parquet", expires=60, now=0).url
    >>> url.split("?")[0]
    '/arco/files/tenants/acme/workspaces/default/data/a/_/m.parquet'
    >>> signer.verify(url, now=30).key
    'data/a/_/m.parquet'
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
            raise ConfigError(
                f"A signing key must be at least {MIN_KEY_BYTES} bytes",
                hint="Use secrets.token_bytes(32)",
            )
        self._key = bytes(key)

    @classmethod
    def for_root(
        cls, root: str, *, create: bool = True, environ: Mapping[str, str] | None = None
    ) -> Signer:
        """The signer of a local or ``memory://`` root (see :func:`signing_key`)."""
        return cls(signing_key(root, create=create, environ=environ))

    def __repr__(self) -> str:
        return "Signer(<secret>)"

    def _mac(self, tenant: str, workspace: str, key: str, expires: int) -> str:
        message = "\n".join((_VERSION, tenant, workspace, key, str(expires))).encode("utf-8")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def sign(
        self,
        tenant: str,
        workspace: str,
        key: str,
        *,
        expires: dt.timedelta | float = DEFAULT_EXPIRY,
        now: dt.datetime | float | None = None,
    ) -> SignedURL:
        """A URL for ``key`` of ``tenant``'s ``workspace``, valid for ``expires``.

        Raises
        ------
        TenantViolation
            If an id or the key is refused by :func:`~arco_nb.core.tenancy.check_id` or
            :func:`~arco_nb.core.tenancy.check_key`.
        ConfigError
            If ``expires`` is not in (0, 7 days].
        """
        check_id(tenant, kind="tenant")
        check_id(workspace, kind="workspace")
        check_key(key)
        deadline = math.ceil(_unix(now) + expiry_seconds(expires))
        mac = self._mac(tenant, workspace, key, deadline)
        url = (
            f"{URL_PREFIX}/tenants/{tenant}/workspaces/{workspace}/{_encode_key(key)}"
            f"?expires={deadline}&signature={mac}"
        )
        return SignedURL(key, url, _utc(deadline))

    def verify(self, url: str, *, now: dt.datetime | float | None = None) -> SignedTarget:
        """Check ``url`` and return what it names.

        Raises
        ------
        SignatureInvalid
            A malformed URL, a signature that does not match (any field changed), or a key or
            id that the tenancy rules refuse.
        SignatureExpired
            An authentic URL past its deadline.
        """
        tenant, workspace, key, expires, mac = _parse(url)
        expected = self._mac(tenant, workspace, key, expires)
        if not hmac.compare_digest(expected.encode("ascii"), mac.encode("ascii")):
            raise SignatureInvalid("the signature does not match")
        current = _unix(now)
        if current >= expires:
            raise SignatureExpired(_utc(expires))
        if expires - current > MAX_EXPIRY.total_seconds() + _SKEW:
            raise SignatureInvalid("it claims to stay valid for more than 7 days")
        return SignedTarget(tenant, workspace, key, _utc(expires))


def _parse(url: object) -> tuple[str, str, str, int, str]:
    """Split a signed URL into (tenant, workspace, key, expires, mac), accepting one spelling."""
    if not isinstance(url, str) or not url:
        raise SignatureInvalid("it is not a URL")
    if len(url) > _MAX_URL:
        raise SignatureInvalid(f"it is longer than {_MAX_URL} characters")
    if not url.isascii() or any(c.isspace() or not c.isprintable() for c in url):
        raise SignatureInvalid("it holds characters a URL cannot hold")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise SignatureInvalid("it is not a URL") from None
    if parts.scheme not in {"", "http", "https"} or bool(parts.scheme) != bool(parts.netloc):
        raise SignatureInvalid("it is not an http(s) URL or a path")
    if parts.fragment or "#" in url:
        raise SignatureInvalid("it has a fragment")
    if not parts.path.startswith(URL_PREFIX + "/"):
        raise SignatureInvalid(f"its path does not start with {URL_PREFIX}/")
    raw = parts.path[len(URL_PREFIX) + 1 :].split("/")
    if len(raw) < 5 or raw[0] != "tenants" or raw[2] != "workspaces":
        raise SignatureInvalid("its path is not tenants/{tenant}/workspaces/{workspace}/{key}")
    try:
        tenant = check_id(raw[1], kind="tenant")
        workspace = check_id(raw[3], kind="workspace")
        key = "/".join(unquote(segment, errors="strict") for segment in raw[4:])
        check_key(key)
    except TenantViolation as exc:
        raise SignatureInvalid(f"it names what no key may name ({exc.reason})") from None
    except UnicodeDecodeError:
        raise SignatureInvalid("its key is not percent-encoded UTF-8") from None
    if _encode_key(key) != "/".join(raw[4:]):
        raise SignatureInvalid("its key is not encoded the way Arco encodes keys")
    try:
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise SignatureInvalid("its query is malformed") from None
    fields = dict(query)
    if len(query) != 2 or set(fields) != {"expires", "signature"}:
        raise SignatureInvalid("its query must be exactly expires=...&signature=...")
    if _EXPIRES.fullmatch(fields["expires"]) is None:
        raise SignatureInvalid("its expiry is not a time in unix seconds")
    if _SIGNATURE.fullmatch(fields["signature"]) is None:
        raise SignatureInvalid("its signature is malformed")
    return tenant, workspace, key, int(fields["expires"]), fields["signature"]


def verify(
    url: str, *, key: bytes | Signer, now: dt.datetime | float | None = None
) -> SignedTarget:
    """Check a signed URL with ``key`` (the secret, or a :class:`Signer`); see
    :meth:`Signer.verify`."""
    signer = key if isinstance(key, Signer) else Signer(key)
    return signer.verify(url, now=now)


# -- keys --------------------------------------------------------------------------------------
def _protocol(root: str) -> str:
    return root.split("://", 1)[0] if "://" in root else "file"


def signing_key(
    root: str, *, create: bool = True, environ: Mapping[str, str] | None = None
) -> bytes:
    """The secret that signs the HMAC URLs of ``root``.

    ``ARCO_SIGNING_KEY`` when set; else, on a local root, the key in :data:`KEY_FILE` (created
    with mode 0600 if missing and ``create``); on ``memory://``, a random key per root for the
    life of this process.

    Raises
    ------
    ConfigError
        ``ARCO_SIGNING_KEY`` is shorter than 32 bytes; the key file is unsafe (readable by
        others, not a regular file) or unreadable; or the root is S3 or another protocol,
        which has no Arco key (S3 URLs are presigned by S3's own credentials).
    SignatureInvalid
        No key file exists and ``create`` is false: nothing was ever signed for this root.
    """
    root = normalise_root(root)
    protocol = _protocol(root)
    if protocol not in {"file", "memory"}:
        raise ConfigError(
            f"{protocol}:// roots have no Arco signing key",
            hint="S3 roots share S3 presigned URLs (ws.signed_urls); others cannot sign yet",
        )
    env = os.environ if environ is None else environ
    configured = env.get(KEY_ENV)
    if configured:  # an empty variable counts as unset
        secret = configured.encode("utf-8")
        if len(secret) < MIN_KEY_BYTES:
            raise ConfigError(
                f"{KEY_ENV} is {len(secret)} bytes; a signing key needs at least {MIN_KEY_BYTES}",
                hint=f"Set it to a random value: python -c "
                f"'import secrets; print(secrets.token_urlsafe({MIN_KEY_BYTES}))'",
            )
        return secret
    if protocol == "memory":
        with _MEMORY_LOCK:
            return _MEMORY_KEYS.setdefault(root, secrets.token_bytes(MIN_KEY_BYTES))
    base = root[len("file://") :] if root.startswith("file://") else root
    path = os.path.join(base, *KEY_FILE.split("/"))
    found = _read_key_file(path)
    if found is not None:
        return found
    if not create:
        raise SignatureInvalid("this root has no signing key, so it signed nothing")
    return _create_key_file(path)


def _create_key_file(path: str) -> bytes:
    """Create the key file so that concurrent creators all end up with the same key.

    The key is written whole to a private temporary file (``mkstemp``: mode 0600) and then
    linked to its name; ``link(2)`` fails if the name exists, so the first link wins and every
    other creator reads the winner's file.
    """
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f"{TEMP_MARK}signing-", dir=directory)
    except OSError as exc:
        raise _unusable(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.urlsafe_b64encode(secrets.token_bytes(MIN_KEY_BYTES)) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process linked its key first
            os.link(temp, path)
    except OSError as exc:
        raise _unusable(path, exc) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    with contextlib.suppress(OSError):  # make the new name durable where that is possible
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    found = _read_key_file(path)
    if found is None:  # pragma: no cover - removed between link and read
        raise _unusable(path, FileNotFoundError(path))
    return found


def _read_key_file(path: str) -> bytes | None:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:  # a symbolic link (ELOOP), a permission problem, ...
        raise _unusable(path, exc) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _unusable(path, "it is not a regular file")
        if os.name == "posix" and info.st_mode & 0o077:
            raise ConfigError(
                f"The signing key {path} is open to other users "
                f"(mode {stat.S_IMODE(info.st_mode):04o})",
                hint=f"chmod 600 {path}",
            )
        data = b""
        while chunk := os.read(fd, 4096):
            data += chunk
            if len(data) > 4096:
                raise _unusable(path, "it is too long to be a key")
    finally:
        os.close(fd)
    try:
        secret = base64.b64decode(data.strip(), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise _unusable(path, "it is not base64") from None
    if len(secret) < MIN_KEY_BYTES:
        raise _unusable(path, f"it holds fewer than {MIN_KEY_BYTES} bytes")
    return secret


def _unusable(path: str, problem: object) -> ConfigError:
    return ConfigError(
        f"Cannot use the signing key {path}: {problem}",
        hint=f"Move it aside to make a new one (URLs signed with it stop working), or set "
        f"{KEY_ENV}",
    )


# -- signing many, opening one ------------------------------------------------------------------
def sign_keys(
    scope: TenantScope,
    keys: Iterable[str],
    *,
    expires: dt.timedelta | float = DEFAULT_EXPIRY,
    store: ObjectStore | None = None,
    now: dt.datetime | float | None = None,
) -> list[SignedURL]:
    """Signed read URLs for ``keys`` of ``scope``: presigned on S3, HMAC tokens elsewhere.

    Parameters
    ----------
    scope
        The workspace the keys belong to; every URL names an object under its prefix.
    keys
        Keys inside the workspace, each checked with :func:`~arco_nb.core.tenancy.check_key`.
    expires
        How long the URLs stay valid: more than 0, at most 7 days.
    store
        ``scope.store()``, when the caller has it already.
    now
        The signing time of HMAC tokens (tests); S3 presigns with the clock.

    Raises
    ------
    ConfigError
        A bad ``expires``, a root that cannot sign, or S3 credentials that cannot presign.
    TenantViolation
        A key that is not a plain relative key.
    """
    seconds = expiry_seconds(expires)
    checked = [check_key(k) for k in keys]
    target = scope.store() if store is None else store
    if target.protocol == "s3":
        return _presign(target, checked, seconds)
    signer = Signer.for_root(scope.root)
    return [
        signer.sign(scope.tenant, scope.workspace, k, expires=seconds, now=now) for k in checked
    ]


def _presign(store: ObjectStore, keys: list[str], seconds: int) -> list[SignedURL]:
    import fsspec

    options: dict[str, Any] = store.storage_options
    # SigV4: the expiry is part of what is signed and S3 caps it at 7 days; botocore would
    # otherwise still presign with the deprecated SigV2 in some regions.
    options["config_kwargs"] = {**(options.get("config_kwargs") or {}), "signature_version": "s3v4"}
    try:
        fs = fsspec.filesystem("s3", **options)
        signed = []
        for key in keys:
            issued = math.floor(time.time())  # X-Amz-Date is whole seconds, at or after this
            url = fs.sign(store.path(key), expiration=seconds)
            signed.append(SignedURL(key, url, _deadline(url, issued + seconds)))
    except ArcoError:
        raise
    except Exception as exc:  # botocore: no credentials, no region, ...
        raise ConfigError(
            f"Cannot presign URLs under {store.url}: {type(exc).__name__}: {exc}",
            hint="Presigning needs credentials (storage_options key/secret, or the AWS chain)",
        ) from exc
    return signed


def _deadline(url: str, fallback: int) -> dt.datetime:
    """The deadline a SigV4 URL states with its own X-Amz-Date and X-Amz-Expires."""
    fields = dict(parse_qsl(urlsplit(url).query))
    try:
        start = dt.datetime.strptime(fields["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        return start.replace(tzinfo=dt.UTC) + dt.timedelta(seconds=int(fields["X-Amz-Expires"]))
    except (KeyError, ValueError):
        return _utc(fallback)


def open_signed(
    root: str,
    url: str,
    *,
    storage_options: Mapping[str, Any] | None = None,
    tenant: str | None = None,
    signer: Signer | None = None,
    now: dt.datetime | float | None = None,
) -> bytes:
    """Verify an HMAC URL signed for ``root`` and return the bytes of the object it names.

    The object is read through the named workspace's own
    :class:`~arco_nb.core.storage.ObjectStore` (``TenantScope(...).store()``), so its key is
    checked once more against the tenancy rules. Nothing is written, not even a key file.

    Parameters
    ----------
    root
        The local or ``memory://`` root the URL was signed for.
    url
        The signed URL (a path, or an http(s) URL whose path is one).
    storage_options
        Passed to fsspec.
    tenant
        If given, refuse URLs for any other tenant (a server that serves one tenant).
    signer
        The signer to verify with (default: :meth:`Signer.for_root`).
    now
        The time to check the deadline against (tests).

    Raises
    ------
    SignatureInvalid, SignatureExpired
        As :meth:`Signer.verify`; also a URL for another tenant than ``tenant``.
    ObjectNotFound
        The URL is authentic but its object is gone.
    """
    active = Signer.for_root(root, create=False) if signer is None else signer
    target = active.verify(url, now=now)
    if tenant is not None and target.tenant != tenant:
        raise SignatureInvalid("it names another tenant than the one served here")
    scope = TenantScope(
        root,
        tenant=target.tenant,
        workspace=target.workspace,
        storage_options=storage_options or {},
    )
    return scope.store().read(target.key)
