"""The one redaction: a corpus of secret spellings that must go, of look-alikes that must stay,
cuts that must not leave a tail, and bounded cost on hostile input."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.redaction import REDACTED, redact, redacted_tail, secret_values

SLACK_BOT = "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_USER = "xoxp-1234567890-1234567890-1234567890123-0123456789abcdef0123456789abcdef"
SLACK_APP = "xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef"
SLACK_REFRESH = "xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTAtMTIzNDU2Nzg5MC0xMjM0NTY3ODkw"
RESPONSE_PATH = "commands/T0123ABCD/1234567890123/AbCdEfGhIjKlMnOpQrStUvWx"
ACTIONS_PATH = "actions/T0123ABCD/1234567890123/ZyXwVuTsRqPoNmLkJiHgFeDc"
WEBHOOK_PATH = "services/T0123ABCD/B0123ABCD/AbCdEfGhIjKlMnOpQrStUvWx"
GITHUB = "ghp_0123456789abcdefghijABCDEFGHIJ012345"
GITHUB_PAT = "github_pat_11ABCDEFG0123456789abc_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
AWS = "AKIAIOSFODNN7EXAMPLE"
AWS_SESSION = "ASIAY34FZKBOKMUTVV7A"
PEM_BODY = "MIIEowIBAAKCAQEAx4UbaDzY8nL0PbK7lP1Ykg2fQ9c3iD5mF0eXn1r7Bq0Gv5Lm"
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n" + PEM_BODY + "\n" + PEM_BODY[::-1] + "\n"
    "-----END RSA PRIVATE KEY-----"
)
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
PASSWORD = "Tr0ub4dor-and-3"

# (spelling, what must not survive, what must stay)
CORPUS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    # Slack tokens: alone, in an assignment, in JSON, in a command line, at a line's end.
    (SLACK_BOT, ("AbCdEfGhIj", "1234567890123"), ()),
    (f"SLACK_BOT_TOKEN={SLACK_BOT}", ("AbCdEfGhIj",), ("SLACK_BOT_TOKEN=",)),
    (f'{{"token": "{SLACK_USER}", "ok": true}}', ("0123456789abcdef",), ('"ok": true',)),
    (f"sh -c 'curl -d token={SLACK_BOT} https://slack.com/api/x'", ("AbCdEfGh",), ("curl",)),
    (f"posting as {SLACK_BOT}\nnext line", ("AbCdEfGh",), ("next line", "posting as")),
    (SLACK_BOT.upper(), ("ABCDEFGHIJ",), ()),
    (f"app token {SLACK_APP}.", ("0123456789abcdef",), ("app token",)),
    (f"XAPP-{SLACK_APP[5:]}", ("0123456789abcdef",), ()),
    (f"refresh={SLACK_REFRESH}", ("Mi0yLTEy",), ()),
    (f"xoxa-2-{PASSWORD} xoxr-{PASSWORD} xoxs-{PASSWORD} xoxo-{PASSWORD}", (PASSWORD,), ()),
    # Slack webhook and response URLs, with and without port, scheme, case, JSON escaping.
    (f"https://hooks.slack.com/{RESPONSE_PATH}", ("AbCdEfGh", "T0123ABCD"), ("hooks.slack",)),
    (f"POST https://hooks.slack.com/{ACTIONS_PATH} - 503", ("ZyXwVu",), ("- 503",)),
    (f"url=https://hooks.slack.com:443/{WEBHOOK_PATH}&x", ("AbCdEfGh", "B0123ABCD"), ()),
    (f"HTTPS://HOOKS.SLACK.COM/{WEBHOOK_PATH.upper()}", ("ABCDEFGH",), ()),
    (f"hooks.slack.com/{WEBHOOK_PATH} (no scheme)", ("AbCdEfGh",), ("(no scheme)",)),
    (f"https://hooks.slack-gov.com/{RESPONSE_PATH}", ("AbCdEfGh",), ()),
    (
        '{"response_url": "https:\\/\\/hooks.slack.com\\/commands\\/T0123\\/456\\/AbCdEfGh"}',
        ("AbCdEfGh", "456"),
        ('"response_url"',),
    ),
    # GitHub.
    (GITHUB, ("0123456789abcdefghij",), ()),
    (f"git clone https://{GITHUB}@github.com/org/repo", ("0123456789abcdefghij",), ()),
    (f"GH_TOKEN={GITHUB_PAT}", ("abcdefghijklmnop",), ("GH_TOKEN=",)),
    (
        "gho_0123456789abcdefghijABCDEFGHIJ0123 ghs_0123456789abcdefghijABCDEFGHIJ0123 "
        "ghu_0123456789abcdefghijABCDEFGHIJ0123 ghr_0123456789abcdefghijABCDEFGHIJ0123",
        ("0123456789abcdefghij",),
        (),
    ),
    # AWS access key IDs.
    (f"AWS_ACCESS_KEY_ID={AWS}", ("IOSFODNN7",), ("AWS_ACCESS_KEY_ID=",)),
    (f'{{"AccessKeyId": "{AWS_SESSION}"}}', ("Y34FZKBOKM",), ('"AccessKeyId"',)),
    (f"aws configure set aws_access_key_id {AWS}", ("IOSFODNN7",), ("aws configure",)),
    # Private key blocks: whole, in JSON (escaped newlines), cut at either end.
    (f"key:\n{PEM}\nafter", (PEM_BODY, PEM_BODY[::-1]), ("key:", "after")),
    (PEM.replace("\n", "\\n").join(['{"key": "', '"}']), (PEM_BODY,), ('"key"',)),
    (PEM.replace("RSA ", "OPENSSH "), (PEM_BODY,), ()),
    (PEM.replace("RSA ", ""), (PEM_BODY,), ()),
    (PEM.replace("RSA PRIVATE KEY", "PGP PRIVATE KEY BLOCK"), (PEM_BODY,), ()),
    (PEM.replace("RSA ", "ec ").lower(), (PEM_BODY.lower(),), ()),
    ("starting\n" + PEM.rpartition("\n")[0], (PEM_BODY, PEM_BODY[::-1]), ("starting",)),
    (PEM.partition("\n")[2] + "\nrunning", (PEM_BODY, PEM_BODY[::-1]), ("running",)),
    # A URL's password; the user stays.
    (f"postgres://app:{PASSWORD}@db:5432/app", (PASSWORD,), ("postgres://app:", "@db:5432")),
    (f"redis://:{PASSWORD}@cache", (PASSWORD,), ("@cache",)),
    (f"https://bob:{PASSWORD}@registry.example.com/v2/", (PASSWORD,), ("bob",)),
    (f"mongodb://bob:p@ss:{PASSWORD}@mongo/db", (PASSWORD, "p@ss"), ("@mongo/db",)),
    (f"HTTP://BOB:{PASSWORD.upper()}@HOST", (PASSWORD.upper(),), ("BOB",)),
    (f'"url": "amqp:\\/\\/u:{PASSWORD}@mq"', (PASSWORD,), ()),
    # Authorization headers and bearer tokens.
    (f"Authorization: Bearer {PASSWORD}", (PASSWORD,), ("Authorization: Bearer",)),
    (f"curl -H 'authorization: basic {PASSWORD}' x", (PASSWORD,), ("curl",)),
    (f'{{"Authorization": "token {PASSWORD}"}}', (PASSWORD,), ()),
    (f"AUTHORIZATION={PASSWORD}", (PASSWORD,), ()),
    (f"proxy-authorization: {PASSWORD}", (PASSWORD,), ()),
    (f"using BEARER {PASSWORD}", (PASSWORD,), ("using",)),
    (JWT, ("c2lnbmF0dXJl", "eyJzdWIi"), ()),
    # Secret-named assignments, options and JSON keys.
    (f"DB_PASSWORD={PASSWORD}", (PASSWORD,), ("DB_PASSWORD=",)),
    (f"--password {PASSWORD} --user bob", (PASSWORD,), ("--user bob",)),
    (f"--api-key='{PASSWORD}'", (PASSWORD,), ("--api-key=",)),
    (f"https://api.example.com/x?access_token={PASSWORD}&page=2", (PASSWORD,), ("page=2",)),
    (f'{{"client_secret": "{PASSWORD}", "name": "web"}}', (PASSWORD,), ('"name": "web"',)),
    (f"MYSQL_ROOT_PASSWORD = {PASSWORD}", (PASSWORD,), ()),
    # Non-secrets that must stay as they are.
    ("the token expired; the password was wrong", (), ("the token expired; the password",)),
    ("sha256:3cecd7b94222e1a1fc2c8a8a3d8c4b1b2f1e6ec6b0e1d8c7a7f3a2d1c0b9a8f7", (), ("sha256:",)),
    ("4f9a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5", (), ("4f9a1b2c",)),
    ("nginx:1.25 postgres:16-alpine busybox@sha256:abcdef0123456789", (), ("nginx:1.25",)),
    ("https://example.com:8443/path?q=1 git@github.com:org/repo.git", (), ("8443/path?q=1",)),
    ("ghp_short AKIA1234 xoxb- github_pat_x", (), ("ghp_short AKIA1234 xoxb- github_pat_x",)),
    ("AKIAIOSFODNN7EXAMPLEX is too long", (), ("AKIAIOSFODNN7EXAMPLEX",)),
    ("PATH=/usr/local/bin:/usr/bin HOME=/root", (), ("PATH=/usr/local/bin:/usr/bin",)),
    ("Up 3 minutes (healthy) 0.0.0.0:8080->80/tcp", (), ("0.0.0.0:8080->80/tcp",)),
    ("https://slack.com/api/chat.postMessage", (), ("https://slack.com/api/chat.postMessage",)),
]


@pytest.mark.parametrize(("spelling", "gone", "kept"), CORPUS)
def test_the_corpus(spelling: str, gone: tuple[str, ...], kept: tuple[str, ...]) -> None:
    clean = redact(spelling)
    for fragment in gone:
        assert fragment not in clean, clean
    for fragment in kept:
        assert fragment in clean, clean
    if gone:
        assert REDACTED in clean
    else:
        assert clean == spelling
    assert redact(clean) == clean


@pytest.mark.parametrize(("spelling", "gone", "kept"), [c for c in CORPUS if c[1]])
@pytest.mark.parametrize("offset", [1, 5, 17, 40])
def test_a_secret_split_by_a_cut_leaves_no_tail(
    spelling: str, gone: tuple[str, ...], kept: tuple[str, ...], offset: int
) -> None:
    """The 4,000-character cut of a notice falls inside the secret: nothing of it shows."""
    limit = 4_000
    before = "".join(f"line {n} of the log\n" for n in range(1_000))
    offset = min(offset, len(spelling) - 1)
    after = "\n" + "x" * (limit - len(spelling) + offset - 1)  # the cut: ``offset`` in
    text = before + spelling + after
    assert text[-limit:] == spelling[min(offset, len(spelling) - 1) :] + after
    for shown in (redacted_tail(text, limit), redacted_tail(text.encode(), limit)):
        assert len(shown) <= limit
        for fragment in gone:
            assert fragment not in shown


def test_a_cut_never_splits_a_marker() -> None:
    text = "a" * 100 + SLACK_BOT + "\n" + "b" * 94
    assert redacted_tail(text, 100) == "\n" + "b" * 94


def test_a_long_text_is_cut_with_a_margin_then_redacted() -> None:
    """A secret longer than the part kept, cut far from the end: only its line's rest goes."""
    secret = "s3cret-" * 2_000
    text = "x" * 50_000 + secret + "\nlast line\n"
    for limit in (5, 100, 8_000, 20_000, 60_000):
        shown = redacted_tail(text, limit, (secret,))
        assert "s3cret" not in shown
        assert shown.endswith("last line\n") or "last line\n".endswith(shown)
        assert len(shown) <= limit


@pytest.mark.parametrize("tail_of", [SLACK_BOT[9:], "plain-env-value-42"[3:], PEM[40:]])
def test_a_buffer_cut_at_its_start_loses_its_first_line(tail_of: str) -> None:
    """A bounded buffer (a run's output) that began inside a secret: that line never shows."""
    buffer = tail_of + "\nsecond line\n" + "y" * 50
    for text in (buffer, buffer.encode()):
        shown = redacted_tail(text, 10_000, ["plain-env-value-42"], cut=True)
        assert tail_of[:12] not in shown and "second line" in shown
    long_line = "z" * 9_000 + " rest"  # no newline within the margin: up to a space after it
    assert redacted_tail(long_line, 100, cut=True) == "rest"


# -- known values ----------------------------------------------------------------------------


def test_environment_values_are_redacted_by_the_rules_of_the_notices() -> None:
    env = [
        "API_TOKEN=plain-value-123",
        "PATH=/usr/bin:/bin",
        "SHORT=abc",
        "FLAG",
        "EMPTY=",
        "HOME=/home/someone",
        "A=longer-plain-value-123",
        "B=plain-value-123",
    ]
    values = secret_values(env)
    assert values == ("longer-plain-value-123", "plain-value-123")  # longest first, once
    text = "got longer-plain-value-123 and plain-value-123 in /usr/bin:/bin for abc"
    assert redact(text, values) == f"got {REDACTED} and {REDACTED} in /usr/bin:/bin for abc"


def test_adjacent_and_overlapping_values_make_one_marker() -> None:
    assert redact("xxabcdefabcdefyy", ["abcdef"]) == f"xx{REDACTED}yy"
    assert redact("xxabcdefghyy", ["abcdef", "defgh"]) == f"xx{REDACTED}yy"


def test_a_value_inside_the_marker_changes_nothing() -> None:
    assert redact(f"a {REDACTED} redacted b", ["redacted"]) == f"a {REDACTED} {REDACTED} b"


# -- properties ------------------------------------------------------------------------------

_SECRETS = st.sampled_from(
    [
        SLACK_BOT,
        SLACK_APP,
        GITHUB,
        GITHUB_PAT,
        AWS,
        PEM,
        JWT,
        f"https://hooks.slack.com/{RESPONSE_PATH}",
    ]
)
_TEXT = st.lists(
    st.sampled_from(
        [
            *"ab xo-_=:/@<>\"'\n\\.?&",
            "xoxb-",
            "ghp_",
            "https://",
            "password",
            REDACTED,
            "-----END RSA PRIVATE KEY-----",
            "Bearer ",
            "AKIA",
        ]
    ),
    max_size=60,
).map("".join)
_VALUES = st.lists(st.text(alphabet="abcdex<>-=", min_size=1, max_size=12), max_size=4)


def _pieces_in_order(clean: str, original: str) -> bool:
    """Whether ``clean`` is ``original`` with spans replaced by markers: what is not a marker
    comes from ``original``, in order (redaction never makes text up)."""
    at = 0
    for piece in clean.split(REDACTED):
        found = original.find(piece, at)
        if found < 0:
            return False
        at = found + len(piece)
    return True


@settings(max_examples=400, deadline=1_000)
@given(text=_TEXT, values=_VALUES)
def test_redaction_is_idempotent_and_only_ever_removes(text: str, values: list[str]) -> None:
    clean = redact(text, values)
    assert redact(clean, values) == clean
    assert _pieces_in_order(clean, text)


@settings(max_examples=300, deadline=1_000)
@given(before=_TEXT, secret=_SECRETS, after=st.text(max_size=40))
def test_a_known_shape_never_survives_whatever_surrounds_it(
    before: str, secret: str, after: str
) -> None:
    separator = " " if before[-1:].isalnum() or before[-1:] in "_-" else ""
    clean = redact(before + separator + secret + "\n" + after)
    core = secret[len(secret) // 2 : len(secret) // 2 + 12]
    assert core not in clean


@settings(max_examples=200, deadline=1_000)
@given(text=st.text(max_size=2_000))
def test_fuzz_random_text_in_bounded_time(text: str) -> None:
    clean = redact(text, ["abcdef"])
    assert redact(clean, ["abcdef"]) == clean


_HOSTILE = {
    "one long word": "a" * 200_000,
    "slack prefixes": "xoxb-" * 40_000,
    "github prefixes": "ghp_" * 50_000,
    "github pat prefixes": "github_pat_" * 18_000,
    "pem starts": "-----BEGIN RSA PRIVATE KEY-----" * 6_000,
    "pem ends": "-----END RSA PRIVATE KEY-----" * 6_000,
    "almost pem ends": "-----END RSA PRIVATE KEY-----" + "-----END RSA PRIVATE KE" * 8_000,
    "url passwords": "a.a.a.a://" + ("b" * 250 + ":" + "c" * 250 + " a.a.a.a://") * 380,
    "schemes": "a://b:" * 33_000,
    "authorization": "authorization: " * 13_000,
    "bearer": "bearer " * 28_000,
    "jwt starts": "eyJ" * 66_000,
    "jwt halves": "eyJaaaaaaaaaaa." * 13_000,
    "assignments": "password=" * 22_000,
    "names": "secret_token_password_api_key" * 7_000,
    "json keys": '"password": "' * 15_000,
    "options": "--password " * 18_000,
    "hooks": "hooks.slack.com/" * 12_500,
    "colons": ":" * 200_000,
    "ats": "@" * 200_000,
    "spaces after a name": "token" + " " * 200_000,
    "escapes": '"password": "' + "\\" * 200_000,
}


@pytest.mark.parametrize("text", list(_HOSTILE.values()), ids=list(_HOSTILE))
def test_hostile_input_costs_linear_time(text: str) -> None:
    """200,000 characters of each worst case in well under a second (a quadratic pattern
    would take minutes)."""
    started = time.perf_counter()
    clean = redact(text, ["abcdef", "xoxb-x"])
    small = time.perf_counter() - started
    assert small < 2.0
    assert redact(clean, ["abcdef", "xoxb-x"]) == clean
