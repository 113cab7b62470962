"""A notice's buttons and blocks: tampered values refused, engine text never a mention."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.core.notices.classify import Occurrence
from bot.core.notices.events import NoticeDetails
from bot.core.notices.incidents import IncidentView, SummaryView
from bot.core.notices.intents import Cause
from bot.core.notices.rules import NoticeKind
from bot.core.notices.silences import Silence
from bot.core.operations import ChangeContainers, ContainerAction, ShowLogs, SilenceContainers
from bot.slack.notices import notice_command
from bot.slack.render.notices import (
    NOTICE_ACTIONS,
    NOTICE_SILENCE_ACTIONS,
    button_value,
    incident_message,
    summary_message,
    thread_text,
)

CID = "0123456789ab" * 4 + "0123456789abcdef"


def view(**changes: object) -> IncidentView:
    values: dict[str, object] = dict(
        id=1,
        engine="prod",
        container_id=CID,
        name="web",
        image="nginx",
        kind=NoticeKind.CRASH,
        count=1,
        first_ns=1_700_000_000 * 10**9,
        last_ns=1_700_000_000 * 10**9,
        exit_code=3,
        restarts=0,
        details=NoticeDetails(log_tail="ready\n"),
    )
    return IncidentView(**(values | changes))  # type: ignore[arg-type]


def test_buttons_stand_for_the_commands_a_person_would_type() -> None:
    value = button_value("prod", CID)
    logs = notice_command("chatops_notice_logs", value, ["prod"])
    assert logs is not None and logs.engine == "prod"
    assert isinstance(logs.operation, ShowLogs) and logs.operation.container == CID
    restart = notice_command("chatops_notice_restart", value, ["prod"])
    assert restart is not None and isinstance(restart.operation, ChangeContainers)
    assert restart.operation.action is ContainerAction.RESTART
    assert restart.operation.containers == (CID,)


def test_tampered_values_are_refused() -> None:
    assert notice_command("chatops_notice_logs", button_value("other", CID), ["prod"]) is None
    assert notice_command("chatops_notice_logs", button_value("prod", "web; rm"), ["prod"]) is None
    assert notice_command("chatops_notice_exec", button_value("prod", CID), ["prod"]) is None
    assert notice_command("chatops_notice_logs", "not json", ["prod"]) is None


@given(st.sampled_from(NOTICE_ACTIONS), st.text(max_size=600))
def test_any_value_is_a_well_formed_command_or_nothing(action: str, value: str) -> None:
    command = notice_command(action, value, ["prod"])
    if command is not None:
        assert command.engine == "prod"
        data = json.loads(value)
        assert (data["name"] if action in NOTICE_SILENCE_ACTIONS else data["container"]) in (
            command.shown
        )


def test_engine_text_cannot_mention_anyone() -> None:
    hostile = view(
        name="web<!channel>",
        image="evil<@U0BOSS>",
        details=NoticeDetails(log_tail="<!here> ```\nboom & <b>"),
    )
    text, blocks = incident_message(hostile)
    rendered = text + json.dumps(blocks)
    assert "<!channel>" not in rendered and "<!here>" not in rendered
    assert "<@U0BOSS>" not in rendered
    assert "&lt;!here&gt;" in json.dumps(blocks)
    summary = SummaryView(id=2, channel="C1", incidents=(hostile,), total=1, events=1)
    assert "<!channel>" not in json.dumps(summary_message(summary))
    repeat = Occurrence(
        kind=NoticeKind.CRASH,
        engine="prod",
        container_id=CID,
        name="x<!everyone>",
        image="i",
        at_ns=0,
        exit_code=1,
    )
    assert "<!everyone>" not in thread_text((repeat,), 0)


def test_an_incident_says_what_where_when_and_how_often() -> None:
    text, blocks = incident_message(view(count=4, kind=NoticeKind.RESTART_LOOP, restarts=3))
    assert text == "web is restarting in a loop on prod (exit code 3), 4 times"
    flat = json.dumps(blocks)
    assert "nginx" in flat and "ready" in flat and "<!date^1700000000^" in flat
    assert [
        e["action_id"] for b in blocks for e in b.get("elements", []) if "action_id" in e
    ] == list(NOTICE_ACTIONS)


def test_what_happened_during_the_bots_own_action_says_which_and_whose() -> None:
    oom = view(kind=NoticeKind.OOM, during=Cause(action="restart", user="U0DANA", intent=3))
    text, blocks = incident_message(oom)
    assert "during a restart by @U0DANA" in text
    assert "during a restart by <@U0DANA>" in json.dumps(blocks)
    housekeeping = view(during=Cause(action="housekeeping", user="housekeeping", intent=4))
    assert "during housekeeping" in incident_message(housekeeping)[0]
    odd = view(during=Cause(action="stop", user="<!channel>", intent=5))
    assert "<!channel>" not in json.dumps(incident_message(odd))
    assert "during" not in incident_message(view())[0]


def _buttons(blocks: list[dict[str, object]]) -> dict[str, str]:
    found = {}
    for block in blocks:
        for element in block.get("elements", []):  # type: ignore[attr-defined]
            if "action_id" in element:
                found[element["action_id"]] = element["value"]
    return found


def test_the_silence_buttons_silence_the_container_by_name_for_an_hour_or_a_day() -> None:
    for kind in NoticeKind:
        if kind is NoticeKind.ENGINE:
            continue
        _, blocks = incident_message(view(kind=kind))
        values = _buttons(blocks)
        assert {"chatops_notice_silence_1h", "chatops_notice_silence_24h"} <= set(values), kind
    values = _buttons(incident_message(view(name="/web"))[1])
    hour = notice_command(
        "chatops_notice_silence_1h", values["chatops_notice_silence_1h"], ["prod"]
    )
    assert hour is not None and hour.engine == "prod"
    assert hour.operation == SilenceContainers(pattern="web", duration=timedelta(hours=1))
    day = notice_command(
        "chatops_notice_silence_24h", values["chatops_notice_silence_24h"], ["prod"]
    )
    assert day is not None
    assert day.operation == SilenceContainers(pattern="web", duration=timedelta(hours=24))


def test_a_silence_button_with_a_tampered_name_is_nothing() -> None:
    for name in ("web*", "web; rm", "", "-web", "<!channel>", None):
        value = button_value("prod", CID, name)
        assert notice_command("chatops_notice_silence_1h", value, ["prod"]) is None, name
    assert (
        notice_command("chatops_notice_silence_1h", button_value("x", CID, "web"), ["prod"]) is None
    )
    # A name Docker would never give: the notice has no Silence buttons at all.
    assert "chatops_notice_silence_1h" not in _buttons(incident_message(view(name="a b"))[1])


def test_a_silenced_notice_says_by_whom_and_until_when() -> None:
    until = datetime(2026, 12, 6, 14, 5, tzinfo=UTC)
    silence = Silence(
        id=3,
        engine="prod",
        pattern="web*",
        created_by="U0DANA",
        created_at=until - timedelta(hours=1),
        until=until,
    )
    text, blocks = incident_message(view(silenced=silence))
    assert text.endswith("; silenced by @U0DANA until 14:05 UTC")
    flat = json.dumps(blocks)
    assert f"Silenced by <@U0DANA> until <!date^{int(until.timestamp())}^" in flat
    assert "2026-12-06 14:05 UTC" in flat and "#3" in flat
    assert "silenced" not in incident_message(view())[0]
    summary = SummaryView(
        id=2, channel="C1", incidents=(view(silenced=silence), view(id=3)), total=2, events=2
    )
    assert json.dumps(summary_message(summary)).count("(silenced)") == 1
