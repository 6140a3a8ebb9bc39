from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest

from entertainai.errors import EntertainAIError, InputError, PermissionDenied, Unauthenticated
from entertainai.serving.security import (
    ENV_VAR,
    MAX_TOKEN_TTL_S,
    TOKEN_PREFIX,
    TOKEN_SCOPES,
    TOKEN_SECRET_ENV,
    ApiKeyStore,
    RateLimited,
    RateLimiter,
    RedactingFilter,
    TokenSigner,
    authorize,
    env_entry,
    generate_key,
    hash_key,
    key_from_headers,
    main,
    new_key_entry,
    redact,
    replica_share,
    strip_paths,
)

READER_KEY = generate_key()
WRITER_KEY = generate_key()
ADMIN_KEY = generate_key()


def env_store() -> ApiKeyStore:
    value = ",".join(
        [
            f"web:read:{hash_key(READER_KEY)}",
            f" ingest:write-events:{hash_key(WRITER_KEY).upper()}",  # spacing and case
            f"ops:admin:{hash_key(ADMIN_KEY)}",
            "",
        ]
    )
    return ApiKeyStore.from_env({ENV_VAR: value})


# --------------------------------------------------------------------------- keys


def test_keys_are_random_and_only_hashes_are_kept() -> None:
    assert len(READER_KEY) >= 43 and len({generate_key() for _ in range(50)}) == 50
    assert hash_key("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    store = env_store()
    held = repr(vars(store)) + repr(store) + "".join(repr(e) for e in store._entries)
    for key in (READER_KEY, WRITER_KEY, ADMIN_KEY):
        assert key not in held
    assert store.names == ["web", "ingest", "ops"] and len(store) == 3


def test_scopes_and_admin_implies_all() -> None:
    store = env_store()
    reader, writer, admin = (store.authenticate(k) for k in (READER_KEY, WRITER_KEY, ADMIN_KEY))
    assert reader and writer and admin
    assert reader.require("read") is reader
    with pytest.raises(PermissionDenied, match="'web' lacks the 'write-events' scope"):
        reader.require("write-events")
    assert writer.allows("write-events") and not writer.allows("admin")
    assert all(admin.allows(s) for s in ("read", "write-events", "admin"))
    with pytest.raises(ValueError, match="unknown scope"):
        admin.require("delete-everything")


def test_wrong_or_missing_key_is_unauthenticated() -> None:
    store = env_store()
    for key in (None, "", READER_KEY + "x", READER_KEY[:-1], "x" * 10_000, hash_key(READER_KEY)):
        assert store.authenticate(key) is None
        with pytest.raises(Unauthenticated) as info:
            store.require(key, "read")
        assert (key or "<none>") not in str(info.value)
    assert store.require(WRITER_KEY, "write-events").name == "ingest"
    with pytest.raises(PermissionDenied):
        store.require(WRITER_KEY, "read")
    assert issubclass(Unauthenticated, EntertainAIError)
    assert issubclass(PermissionDenied, EntertainAIError)


def test_plaintext_development_keys_are_hashed_at_load(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        store = ApiKeyStore.from_env({ENV_VAR: "dev:read+write-events:plain=devkey:with:colons"})
    principal = store.authenticate("devkey:with:colons")
    assert principal and principal.allows("write-events") and not principal.allows("admin")
    assert "devkey" not in repr(vars(store)) + caplog.text
    assert "short plaintext" in caplog.text


def test_empty_environment_means_no_keys() -> None:
    assert len(ApiKeyStore.from_env({})) == 0
    assert ApiKeyStore.from_env({}).authenticate(READER_KEY) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("web:read", "expected name:scopes"),
        (f"web:fly:{'a' * 64}", "scopes must be"),
        (f"web::{'a' * 64}", "scopes must be"),
        ("web:read:notahash", "SHA-256"),
        (f"bad name:read:{'a' * 64}", "key name"),
        (f"a:read:{'a' * 64},a:read:{'b' * 64}", "duplicate key name"),
        (f"a:read:{'a' * 64},b:read:{'a' * 64}", "configured twice"),
        ("web:read:plain=", "empty plain key"),
    ],
)
def test_bad_env_entries_are_named_without_their_secret(value: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        ApiKeyStore.from_env({ENV_VAR: value})
    assert "notahash" not in str(info.value) and "a" * 64 not in str(info.value)


def test_secrets_file_and_combined_loading(tmp_path: Path) -> None:
    key, entry = new_key_entry("batch-job", ["read", "write-events"])
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps([entry.to_json()]))
    assert key not in path.read_text()

    store = ApiKeyStore.from_file(path)
    principal = store.authenticate(key)
    assert principal and principal.name == "batch-job" and principal.allows("write-events")

    both = ApiKeyStore.load(path, environ={ENV_VAR: f"ops:admin:{hash_key(ADMIN_KEY)}"})
    assert both.names == ["batch-job", "ops"]
    assert ApiKeyStore.from_env({ENV_VAR: env_entry(entry)}).authenticate(key) == principal


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"name": "x"}', "expected a JSON list"),
        ('[{"name": "x", "scopes": ["read"]}]', "entry 1"),
        ('[{"name": "x", "scopes": "read", "sha256": "' + "a" * 64 + '"}]', "scopes must be"),
    ],
)
def test_bad_secrets_file_is_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        ApiKeyStore.from_file(path)
    assert str(path) in str(info.value)
    with pytest.raises(InputError, match="not found"):
        ApiKeyStore.from_file(tmp_path / "missing.json")


def test_cli_prints_a_working_key_and_entries(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "--scopes", "write-events"]) == 0
    out = capsys.readouterr().out.splitlines()
    key = out[0].split()[-1]
    entry = json.loads(out[1].split(":", 1)[1])
    assert entry["sha256"] == hash_key(key) and entry["scopes"] == ["write-events"]
    store = ApiKeyStore.from_env({ENV_VAR: out[2].split()[-1]})
    assert store.require(key, "write-events").name == "ingest"
    with pytest.raises(SystemExit):
        main(["x", "--scopes", "root"])


# --------------------------------------------------------------------------- rate limits


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_with_retry_after() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=2.0, burst=3, clock=clock)
    assert [limiter.check("a") for _ in range(3)] == [0.0, 0.0, 0.0]  # the burst
    assert limiter.check("a") == pytest.approx(0.5)  # one token takes 1/rate seconds
    assert limiter.check("b") == 0.0  # buckets are per key
    clock.now += 0.25
    assert limiter.check("a") == pytest.approx(0.25)  # refused requests take nothing
    clock.now += 0.25
    assert limiter.check("a") == 0.0
    assert limiter.check("a") == pytest.approx(0.5)
    clock.now += 100  # refills only up to the burst
    assert [limiter.check("a") for _ in range(4)][-1] == pytest.approx(0.5)


def test_rate_limiter_bounds_memory_and_is_thread_safe() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=1.0, burst=1, clock=clock, max_keys=10)
    for i in range(100):
        limiter.check(f"ip{i}")
    assert len(limiter._buckets) == 10

    shared = RateLimiter(rate_per_s=1e-9, burst=50, clock=clock)
    allowed: list[int] = []

    def hammer() -> None:
        allowed.append(sum(shared.check("k") == 0.0 for _ in range(40)))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 50  # exactly the burst, no lost updates


def test_rate_limiter_rejects_bad_settings() -> None:
    with pytest.raises(InputError, match="rate_per_s"):
        RateLimiter(0, 1)
    with pytest.raises(InputError, match="burst"):
        RateLimiter(1.0, 0)


# --------------------------------------------------------------------------- redaction


def test_redact_masks_keys_hashes_and_labelled_secrets() -> None:
    text = (
        f"auth with {READER_KEY}; Authorization: Bearer short-token; X-API-Key: abc123; "
        f'api_key="k1"; {ENV_VAR}=dev:read:plain=devkey,web:read:{hash_key(READER_KEY)}; '
        "item i42 rated by user u7"
    )
    clean = redact(text)
    for secret in (READER_KEY, "short-token", "abc123", "k1", "devkey", hash_key(READER_KEY)):
        assert secret not in clean
    assert "item i42 rated by user u7" in clean and "***" in clean


def test_principal_repr_and_logging_filter_never_show_keys(
    caplog: pytest.LogCaptureFixture,
) -> None:
    principal = env_store().authenticate(ADMIN_KEY)
    assert repr(principal) == "Principal('ops')" and ADMIN_KEY not in str(principal)

    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="test.redaction"):
            logger.info("request key=%s from %s", ADMIN_KEY, principal)
    finally:
        logger.filters.clear()
    assert ADMIN_KEY not in caplog.text and "Principal('ops')" in caplog.text


def test_a_key_is_read_one_way_and_two_are_refused():
    assert key_from_headers([(b"x-api-key", b"k1")]) == "k1"
    assert key_from_headers([(b"authorization", b"Bearer  k2 ")]) == "k2"
    assert key_from_headers([(b"authorization", b"Bearer k2"), (b"x-api-key", b"k1")]) == "k1"
    assert key_from_headers([(b"authorization", b"Basic abc")]) is None
    assert key_from_headers([]) is None
    for twice in (
        [(b"x-api-key", b"k1"), (b"x-api-key", b"k2")],
        [(b"x-api-key", b"k1"), (b"x-api-key", b"k1")],
        [(b"authorization", b"Bearer a"), (b"authorization", b"bearer b")],
    ):
        with pytest.raises(Unauthenticated, match="more than one"):
            key_from_headers(twice)


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("/srv/registry/hybrid/3: not a model directory", "<path>: not a model directory"),
        ("no model named 'x' in s3://bucket/registry", "no model named 'x' in <path>"),
        ("event log ./runs/events/gateway-1 is closed", "event log <path> is closed"),
        (
            "[Errno 30] Read-only file system: '/data/r/_catalogue_additions/1.parquet'",
            "[Errno 30] Read-only file system: '<path>'",
        ),
        # Kept: API paths, and slashes that are not paths.
        ("unknown item ids ['i1']: POST them to /v1/items first", None),
        ("read/write, 1/2, 2026/11/23", None),
    ],
)
def test_server_paths_are_stripped_from_client_messages(message, shown):
    assert strip_paths(message) == (shown if shown is not None else message)


# --------------------------------------------------------------------------- issue 17: tokens


SECRET = b"t" * 32


def test_a_user_token_names_its_user_and_cannot_be_altered() -> None:
    now = [1000.0]
    signer = TokenSigner(SECRET, clock=lambda: now[0])
    token, expires = signer.issue("u42", ttl_s=60)
    assert token.startswith(TOKEN_PREFIX) and expires == 1060 and "u42" not in token
    principal = signer.verify(token)
    assert principal is not None and principal.user_id == "u42"
    assert principal.scopes == TOKEN_SCOPES and "u42" not in repr(signer)
    # Another user's name, a later expiry, another secret, garbage: all unknown.
    prefix, user, expiry, signature = token.split(".")
    other_user = (
        f"{prefix}.{TokenSigner(SECRET).issue('u43')[0].split('.')[1]}.{expiry}.{signature}"
    )
    later = f"{prefix}.{user}.{int(expiry) + 3600}.{signature}"
    for forged in (
        other_user,
        later,
        TokenSigner(b"x" * 32).issue("u42")[0],
        "eai1.",
        "eai1.a.b.c",
    ):
        assert signer.verify(forged) is None, forged
    now[0] = 1060.0
    with pytest.raises(Unauthenticated, match="expired"):
        signer.verify(token)
    with pytest.raises(InputError):
        TokenSigner(b"short")
    with pytest.raises(InputError, match="ttl_s"):
        signer.issue("u42", ttl_s=MAX_TOKEN_TTL_S + 1)


def test_keys_and_tokens_meet_in_one_store() -> None:
    store = ApiKeyStore.from_env({ENV_VAR: f"web:read:{hash_key(READER_KEY)}"})
    token = TokenSigner(SECRET).issue("u1")[0]
    assert store.authenticate(token) is None  # no secret configured: tokens are unknown
    store = ApiKeyStore.load(environ={ENV_VAR: "", TOKEN_SECRET_ENV: SECRET.decode()})
    principal = store.authenticate(token)
    assert principal is not None and principal.user_id == "u1"


def request(*headers: tuple[bytes, bytes]) -> dict:
    return {"headers": list(headers)}


def test_authorize_checks_scope_and_whose_data() -> None:
    store = ApiKeyStore.load(
        environ={ENV_VAR: f"web:read:{hash_key(READER_KEY)}", TOKEN_SECRET_ENV: SECRET.decode()}
    )
    token = TokenSigner(SECRET).issue("u1")[0]
    key = (b"x-api-key", READER_KEY.encode())
    assert authorize(store, request(key), "read", user_id="u2").name == "web"  # keys: any user
    bearer = (b"authorization", f"Bearer {token}".encode())
    assert authorize(store, request(bearer), "read", user_id="u1").user_id == "u1"
    assert authorize(store, request(bearer), "read", shared=True).user_id == "u1"
    for kwargs in ({"user_id": "u2"}, {}):  # another user, or a route about all users
        with pytest.raises(PermissionDenied, match="only its own user"):
            authorize(store, request(bearer), "read", **kwargs)
    # Its own user's events only (issue 18: a viewer's play / not interested).
    assert authorize(store, request(bearer), "write-events", user_id="u1").user_id == "u1"
    with pytest.raises(PermissionDenied, match="only its own user"):
        authorize(store, request(bearer), "write-events", user_id="u2")
    with pytest.raises(PermissionDenied, match="user token lacks the 'admin'"):
        authorize(store, request(bearer), "admin", user_id="u1")
    for headers in ((), ((b"x-api-key", b"nope"),), (key, key)):
        with pytest.raises(Unauthenticated):
            authorize(store, request(*headers), "read")
    assert authorize(None, request(), "admin").name == "anonymous"  # the API runs without keys


def test_authorize_charges_the_limiter_once_per_request() -> None:
    store = ApiKeyStore.from_env({ENV_VAR: f"web:read:{hash_key(READER_KEY)}"})
    limiter = RateLimiter(rate_per_s=1.0, burst=2, clock=lambda: 0.0)
    first = request((b"x-api-key", READER_KEY.encode()))
    for _ in range(3):  # e.g. the fast lane, then FastAPI rendering the lane's error
        authorize(store, first, "read", limiter=limiter)
    authorize(store, request((b"x-api-key", READER_KEY.encode())), "read", limiter=limiter)
    third = request((b"x-api-key", READER_KEY.encode()))
    for _ in range(2):  # refused, and still refused with the same wait: nothing taken twice
        with pytest.raises(RateLimited) as info:
            authorize(store, third, "read", limiter=limiter)
        assert info.value.retry_after_s == pytest.approx(1.0)
    # Refused for its scope: no token taken (the key's next request is not penalised).
    writer = ApiKeyStore.from_env({ENV_VAR: f"w:write-events:{hash_key(WRITER_KEY)}"})
    other = RateLimiter(rate_per_s=1.0, burst=1, clock=lambda: 0.0)
    with pytest.raises(PermissionDenied):
        authorize(writer, request((b"x-api-key", WRITER_KEY.encode())), "read", limiter=other)
    authorize(writer, request((b"x-api-key", WRITER_KEY.encode())), "write-events", limiter=other)


def test_a_cluster_limit_is_shared_by_the_replicas() -> None:
    assert replica_share(200.0, 400, 1) == (200.0, 400)
    assert replica_share(200.0, 400, 4) == (50.0, 100)
    assert replica_share(10.0, 3, 4) == (2.5, 1)  # never below one request
    with pytest.raises(InputError):
        replica_share(10.0, 3, 0)
    # Four replicas, each with its share, balanced traffic: the key gets the cluster burst.
    limiters = [RateLimiter(*replica_share(1.0, 8, 4), clock=lambda: 0.0) for _ in range(4)]
    allowed = sum(limiters[i % 4].check("web") == 0.0 for i in range(40))
    assert allowed == 8
    # Reconfigured (the replica count changed): the new share applies to existing buckets.
    limiters[0].reconfigure(*replica_share(1.0, 8, 8))
    assert (limiters[0].rate_per_s, limiters[0].burst) == (0.125, 1)
