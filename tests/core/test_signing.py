# SPDX-License-Identifier: Apache-2.0 OR MIT
"""HMAC-signed read URLs: the token format, every refusal, and the signing key's life cycle."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import pickle
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from arco_nb import ConfigError, TenantScope, TenantViolation
from arco_nb.core.signing import (
    KEY_ENV,
    KEY_FILE,
    URL_PREFIX,
    SignatureExpired,
    SignatureInvalid,
    SignedTarget,
    Signer,
    expiry_seconds,
    open_signed,
    signing_key,
    verify,
)
from tests.core.store_suite import TRAVERSAL_KEYS

SECRET = b"s" * 32
KEY = "data/orders/_/01abc.parquet"
NOW = 1_800_000_000
UTC = dt.UTC


def _mac(secret: bytes, tenant: str, workspace: str, key: str, expires: int) -> str:
    """The documented MAC, computed independently of the code under test."""
    message = f"arco-url-v1\n{tenant}\n{workspace}\n{key}\n{expires}".encode(errors="surrogatepass")
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _forge(path_key: str, mac_key: str, *, tenant: str = "acme", expires: int = NOW + 60) -> str:
    """A URL whose signature is valid for ``mac_key`` but whose path spells ``path_key``."""
    mac = _mac(SECRET, tenant, "default", mac_key, expires)
    return (
        f"{URL_PREFIX}/tenants/{tenant}/workspaces/default/{path_key}"
        f"?expires={expires}&signature={mac}"
    )


def _encoded(key: str) -> str:
    return "/".join(quote(s, safe="", errors="surrogatepass") for s in key.split("/"))


@pytest.fixture
def signer() -> Signer:
    return Signer(SECRET)


@pytest.fixture
def url(signer: Signer) -> str:
    return signer.sign("acme", "default", KEY, expires=60, now=NOW).url


# -- format and round trip ---------------------------------------------------------------------
def test_the_url_is_the_documented_format(signer: Signer) -> None:
    signed = signer.sign("acme", "default", KEY, expires=dt.timedelta(minutes=1), now=NOW)
    mac = _mac(SECRET, "acme", "default", KEY, NOW + 60)
    assert signed.url == (
        f"/arco/files/tenants/acme/workspaces/default/{KEY}?expires={NOW + 60}&signature={mac}"
    )
    assert signed.key == KEY
    assert signed.expires_at == dt.datetime.fromtimestamp(NOW + 60, UTC)


def test_round_trip(signer: Signer, url: str) -> None:
    expected = SignedTarget("acme", "default", KEY, dt.datetime.fromtimestamp(NOW + 60, UTC))
    assert signer.verify(url, now=NOW) == expected
    assert verify(url, key=SECRET, now=NOW) == expected
    assert verify(url, key=signer, now=dt.datetime.fromtimestamp(NOW + 59, UTC)) == expected
    # The same path behind a host still names the same object: the host is not signed.
    assert signer.verify("https://lab.example" + url, now=NOW) == expected


@pytest.mark.parametrize(
    "key", ["a", "a b/c%d", "é/ü.parquet", "x%2541", "a+b=c&d", "a/~tilde", "name;param"]
)
def test_keys_with_characters_a_url_encodes_round_trip(signer: Signer, key: str) -> None:
    signed = signer.sign("acme", "default", key, expires=60, now=NOW)
    assert signer.verify(signed.url, now=NOW).key == key
    assert signed.url.isascii()


# -- tampering ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("tenants/acme/", "tenants/globex/"),
        ("workspaces/default/", "workspaces/other/"),
        ("01abc.parquet", "01abd.parquet"),
        ("data/orders/", "data/ordersx/"),
        (f"expires={NOW + 60}", f"expires={NOW + 61}"),
        (f"expires={NOW + 60}", f"expires={NOW + 600}"),
    ],
)
def test_changing_any_field_breaks_the_signature(
    signer: Signer, url: str, old: str, new: str
) -> None:
    assert old in url
    with pytest.raises(SignatureInvalid, match="signature does not match"):
        signer.verify(url.replace(old, new), now=NOW)


def test_a_changed_or_foreign_signature_is_refused(signer: Signer, url: str) -> None:
    mac = url.rsplit("=", 1)[1]
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    with pytest.raises(SignatureInvalid, match="does not match"):
        signer.verify(url.replace(mac, flipped), now=NOW)
    with pytest.raises(SignatureInvalid, match="does not match"):
        Signer(b"t" * 32).verify(url, now=NOW)
    # A signature of another field order or version tag is a different message.
    other = hmac.new(SECRET, f"acme\ndefault\n{KEY}\n{NOW + 60}".encode(), hashlib.sha256)
    forged = url.replace(mac, base64.urlsafe_b64encode(other.digest()).decode().rstrip("="))
    with pytest.raises(SignatureInvalid, match="does not match"):
        signer.verify(forged, now=NOW)


# -- expiry ------------------------------------------------------------------------------------
def test_expiry_is_checked_against_now(signer: Signer, url: str) -> None:
    assert signer.verify(url, now=NOW + 59.999).key == KEY
    for late in (NOW + 60, NOW + 61, dt.datetime.fromtimestamp(NOW + 3600, UTC)):
        with pytest.raises(SignatureExpired) as info:
            signer.verify(url, now=late)
        assert info.value.expires_at == dt.datetime.fromtimestamp(NOW + 60, UTC)
        assert isinstance(info.value, PermissionError)


def test_the_real_clock_expires_a_url(signer: Signer) -> None:
    signed = signer.sign("acme", "default", KEY, expires=1)
    assert signer.verify(signed.url).key == KEY
    time.sleep(max(0.0, signed.expires_at.timestamp() - time.time()) + 0.05)
    with pytest.raises(SignatureExpired):
        signer.verify(signed.url)


def test_an_authentic_url_valid_for_more_than_seven_days_is_refused(signer: Signer) -> None:
    far = NOW + 8 * 86400
    url = _forge(KEY, KEY, expires=far)
    with pytest.raises(SignatureInvalid, match="more than 7 days"):
        signer.verify(url, now=NOW)
    assert signer.verify(url, now=far - 86400).key == KEY


@pytest.mark.parametrize(
    "bad", [0, -1, 0.0, -0.5, 7 * 86400 + 1, float("nan"), float("inf"), True, "60", None]
)
def test_expiry_must_be_positive_and_at_most_seven_days(signer: Signer, bad: object) -> None:
    with pytest.raises(ConfigError):
        expiry_seconds(bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        signer.sign("acme", "default", KEY, expires=bad)  # type: ignore[arg-type]


def test_expiry_limits_and_rounding() -> None:
    assert expiry_seconds(dt.timedelta(days=7)) == 7 * 86400
    assert expiry_seconds(0.2) == 1
    assert expiry_seconds(dt.timedelta(minutes=15)) == 900
    with pytest.raises(ConfigError):
        expiry_seconds(dt.timedelta(days=7, microseconds=1))
    with pytest.raises(ConfigError):
        expiry_seconds(dt.timedelta(seconds=-1))


# -- malformed and hostile URLs ----------------------------------------------------------------
@pytest.mark.parametrize(
    "bad",
    [
        "",
        "/",
        "not a url",
        "/arco/files/tenants/acme/workspaces/default?expires=1&signature=x",
        "/arco/files/tenants/acme/workspaces/default/",
        "/arco/other/tenants/acme/workspaces/default/k?expires=1&signature=x",
        "/arco/files/tenant/acme/workspaces/default/k?expires=1&signature=x",
        "/arco/files/tenants/acme/workspace/default/k?expires=1&signature=x",
        "ftp://host/arco/files/tenants/acme/workspaces/default/k",
        "//host/arco/files/tenants/acme/workspaces/default/k",
        "file:///arco/files/tenants/acme/workspaces/default/k",
    ],
)
def test_malformed_urls_are_refused(signer: Signer, bad: str) -> None:
    with pytest.raises(SignatureInvalid):
        signer.verify(bad, now=NOW)


@pytest.mark.parametrize(
    "edit",
    [
        lambda u: u + "&expires=1",
        lambda u: u + "&extra=1",
        lambda u: u + "#fragment",
        lambda u: u.replace("?expires=", "?expires=0"),
        lambda u: u.replace("?expires=", "?expires=+"),
        lambda u: u.replace("?expires=", "?expires=-"),
        lambda u: u.replace("&signature=", "&signature=="),
        lambda u: u.split("&")[0],
        lambda u: u.split("?")[0],
        lambda u: u.replace("?", "?x&"),
        lambda u: u.replace("/data/", "/data//"),
        lambda u: u.replace("/data/", "/./data/"),
        lambda u: u.replace("/data/", "/data\n/"),
        lambda u: u.replace("/data/", "/data /"),
        lambda u: u.replace("/data/", "/dat\u00e4/"),
        lambda u: u.replace("tenants/acme", "tenants/ACME"),
        lambda u: u.replace("tenants/acme", "tenants/%61cme"),
        lambda u: u.replace("workspaces/default", "workspaces/default/.."),
        lambda u: u + "x" * 5000,
    ],
)
def test_edited_urls_are_refused(signer: Signer, url: str, edit: object) -> None:
    assert callable(edit)
    with pytest.raises(SignatureInvalid):
        signer.verify(edit(url), now=NOW)


@pytest.mark.parametrize("bad", TRAVERSAL_KEYS)
def test_hostile_keys_are_refused_at_signing(signer: Signer, bad: str) -> None:
    with pytest.raises(TenantViolation):
        signer.sign("acme", "default", bad, expires=60, now=NOW)


@pytest.mark.parametrize("bad", ["ACME", "../acme", "a/b", "", "acme%2f", "é", "a" * 64])
def test_hostile_ids_are_refused_at_signing(signer: Signer, bad: str) -> None:
    with pytest.raises(TenantViolation):
        signer.sign(bad, "default", KEY, expires=60, now=NOW)
    with pytest.raises(TenantViolation):
        signer.sign("acme", bad, KEY, expires=60, now=NOW)


@pytest.mark.parametrize("bad", TRAVERSAL_KEYS)
def test_hostile_keys_are_refused_at_verifying_even_when_signed(signer: Signer, bad: str) -> None:
    # Whoever holds the key could sign anything; the verifier still refuses what no key may be.
    for path in {_encoded(bad), bad.replace("\n", "%0A")}:
        with pytest.raises(SignatureInvalid):
            signer.verify(_forge(path, bad), now=NOW)


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("data%2Forders/_/01abc.parquet", "data/orders/_/01abc.parquet"),  # %2F joins segments
        ("d%61ta/orders/_/01abc.parquet", "data/orders/_/01abc.parquet"),  # needless escape
        ("a%2fb", "a/b"),
        ("%C3%A9", "é"),  # the canonical spelling: accepted
        ("%c3%a9", "é"),  # the same bytes, spelled otherwise
        ("caf%C3%A9%20au%20lait", "café au lait"),
    ],
)
def test_only_the_canonical_spelling_of_a_key_is_accepted(
    signer: Signer, path: str, key: str
) -> None:
    canonical = _encoded(key)
    if canonical == path:
        assert signer.verify(_forge(path, key), now=NOW).key == key
    else:
        with pytest.raises(SignatureInvalid, match="not encoded the way Arco"):
            signer.verify(_forge(path, key), now=NOW)


def test_refusals_pickle_and_never_repeat_the_signature(signer: Signer, url: str) -> None:
    attempts: list[Callable[[], object]] = [
        lambda: signer.verify(url.replace("acme", "globex"), now=NOW),
        lambda: signer.verify(url, now=NOW + 3600),
    ]
    for make in attempts:
        with pytest.raises((SignatureInvalid, SignatureExpired)) as info:
            make()
        again = pickle.loads(pickle.dumps(info.value))
        assert type(again) is type(info.value)
        assert str(again) == str(info.value)
        assert url.rsplit("=", 1)[1] not in str(info.value)
        assert "\n" not in str(info.value)


# -- keys --------------------------------------------------------------------------------------
def test_short_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        Signer(b"x" * 31)
    assert "secret" in repr(Signer(SECRET))
    assert "sss" not in repr(Signer(SECRET))


def test_a_local_root_gets_a_private_key_file(local_root: str) -> None:
    key = signing_key(local_root)
    path = Path(local_root, *KEY_FILE.split("/"))
    assert path == Path(local_root, "_arco", "signing.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 32
    assert signing_key(local_root) == key == signing_key("file://" + local_root)
    assert os.listdir(path.parent) == ["signing.key"], "no temporary file is left behind"
    assert Signer.for_root(local_root).verify(
        Signer(key).sign("acme", "default", KEY).url
    ).tenant == ("acme")


def test_no_tenant_store_can_name_the_key_file(local_root: str) -> None:
    signing_key(local_root)
    store = TenantScope(local_root, tenant="acme").store()
    for key in ("../../../../_arco/signing.key", "%2e%2e/%2e%2e/%2e%2e/%2e%2e/_arco/signing.key"):
        with pytest.raises(TenantViolation):
            store.read(key)
    assert "_arco" not in TenantScope(local_root, tenant="acme").url


def test_concurrent_creators_agree_on_one_key(local_root: str) -> None:
    start = time.time() + 1.0
    code = (
        "import sys, time; from arco_nb.core.signing import signing_key\n"
        f"time.sleep(max(0.0, {start} - time.time()))\n"
        "print(signing_key(sys.argv[1]).hex())"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCO_")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, local_root], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(8)
    ]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(keys) == 1
    assert keys == {signing_key(local_root).hex()}
    assert os.listdir(Path(local_root, "_arco")) == ["signing.key"]


def test_an_unsafe_key_file_is_refused(local_root: str) -> None:
    signing_key(local_root)
    path = Path(local_root, "_arco", "signing.key")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="open to other users"):
        signing_key(local_root)
    path.chmod(0o600)
    path.write_bytes(b"not base64 at all!\n")
    with pytest.raises(ConfigError, match="not base64"):
        signing_key(local_root)
    path.write_bytes(base64.urlsafe_b64encode(b"short") + b"\n")
    with pytest.raises(ConfigError, match="fewer than 32 bytes"):
        signing_key(local_root)
    path.unlink()
    elsewhere = Path(local_root, "elsewhere.key")
    elsewhere.write_bytes(base64.urlsafe_b64encode(b"k" * 32))
    elsewhere.chmod(0o600)
    path.symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="Cannot use the signing key"):
        signing_key(local_root)


def test_the_environment_key_wins_and_must_be_long(
    local_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "e" * 32)
    assert signing_key(local_root) == b"e" * 32
    assert not Path(local_root).exists(), "no key file is made when the environment has one"
    assert signing_key("memory://x") == b"e" * 32
    monkeypatch.setenv(KEY_ENV, "e" * 31)
    with pytest.raises(ConfigError, match=f"{KEY_ENV} is 31 bytes"):
        signing_key(local_root)
    monkeypatch.setenv(KEY_ENV, "")
    assert signing_key(local_root) != b"e" * 32  # empty means unset: the key file


def test_memory_roots_have_one_key_per_root(memory_root: str) -> None:
    assert signing_key(memory_root) == signing_key(memory_root + "/")
    assert signing_key(memory_root) != signing_key(memory_root + "-other")


def test_s3_roots_have_no_arco_key() -> None:
    with pytest.raises(ConfigError, match="presigned"):
        signing_key("s3://bucket/lake")
    with pytest.raises(ConfigError, match="presigned"):
        signing_key("s3://bucket/lake", environ={KEY_ENV: "e" * 32})


# -- opening -----------------------------------------------------------------------------------
def test_open_signed_reads_through_the_tenant_store(memory_root: str) -> None:
    store = TenantScope(memory_root, tenant="acme").store()
    store.write(KEY, b"acme's bytes")
    url = Signer.for_root(memory_root).sign("acme", "default", KEY).url
    assert open_signed(memory_root, url) == b"acme's bytes"
    assert open_signed(memory_root, url, tenant="acme") == b"acme's bytes"
    with pytest.raises(SignatureInvalid, match="another tenant"):
        open_signed(memory_root, url, tenant="globex")


def test_open_signed_never_writes_a_key(local_root: str) -> None:
    url = Signer(SECRET).sign("acme", "default", KEY).url
    with pytest.raises(SignatureInvalid, match="no signing key"):
        open_signed(local_root, url)
    assert not Path(local_root).exists()
