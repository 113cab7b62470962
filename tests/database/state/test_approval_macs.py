"""Approval rows cannot be edited into running (issue 17): each column of a request and each of
its votes, changed directly in the database, is caught before anything runs; the request is
marked tampered, audited and announced, once. On SQLite and PostgreSQL.

The finding replayed: someone who could write the state volume edited a pending ``rm`` request
to ``auto_run`` with a past expiry, and the bot removed the container with no approver.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.engine import Engine

from bot.console.text import render_reply
from bot.core.approvals import ApprovalOutcomeKind, ApprovalRules, ApprovalService, ApprovalState
from bot.core.parsing.parser import parse_command
from bot.core.pipeline import Reply
from bot.core.results import ApprovalList
from bot.service.approvals import ExpirySweeper, report_tampered
from bot.slack.render.replies import render_slack
from bot.state.approval_macs import COVERED, approval_key, row_mac
from bot.state.approvals import SqlApprovalRepository
from bot.state.audit import SqlAuditLog
from bot.state.database import open_database
from bot.state.tables import approval_votes, approvals
from tests.conftest import AUDIT_KEY
from tests.database.state.test_approval_lifecycle import CountingPlanner
from tests.unit.service.test_requests import FakeChat

KEY = AUDIT_KEY.encode()
START = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
ADMINS = ("U0A1", "U0A2", "U0A3")


@dataclass
class Rig:
    """The approval service as the bot wires it: the SQL repository, the sweeper, the audit
    log and a chat that records what was announced."""

    database: Engine
    service: ApprovalService
    sweeper: ExpirySweeper
    planner: CountingPlanner
    audit: SqlAuditLog
    chat: FakeChat
    now: list[datetime]

    def ask(self, *, veto_window: timedelta | None = None) -> int:
        command = parse_command("rm web")
        return self.service.request(
            requester="U0REQ",
            channel_id="C0OPS",
            command=command,
            engine="local",
            plan=self.service.plan(command, engine="local"),
            veto_window=veto_window,
        ).id

    def edit(self, approval_id: int, **values: Any) -> None:
        """Write the row directly, as someone with the database but not the key would."""
        with self.database.begin() as connection:
            connection.execute(
                update(approvals).where(approvals.c.id == approval_id).values(**values)
            )

    def state(self, approval_id: int) -> str:
        with self.database.connect() as connection:
            found = connection.execute(
                select(approvals.c.state).where(approvals.c.id == approval_id)
            ).scalar_one()
        return str(found)

    def tampered_reports(self, approval_id: int) -> tuple[int, int]:
        """How many audit entries and announcements report ``approval_id`` as tampered."""
        audited = [
            e
            for e in self.audit.recent(500)
            if e.event == "tampered" and e.detail.startswith(f"#{approval_id} ")
        ]
        told = [t for i, t in self.chat.told if i == approval_id and "integrity check" in t]
        return len(audited), len(told)

    def assert_caught(self, approval_id: int) -> None:
        assert self.planner.executed == [], "an edited request ran"
        assert self.state(approval_id) == ApprovalState.TAMPERED.value
        assert self.tampered_reports(approval_id) == (1, 1)
        assert self.audit.verify().ok


def make_rig(url: str, *, min_approvals: int = 2) -> Rig:
    database = open_database(url)
    audit = SqlAuditLog(engine=database, key=KEY)
    chat = FakeChat()
    planner = CountingPlanner()
    now = [START]
    service = ApprovalService(
        repository=SqlApprovalRepository(engine=database, key=KEY),
        planner_for=lambda name: planner,
        rules=ApprovalRules(
            approvers=("admin",), min_approvals=min_approvals, expire_after=timedelta(minutes=15)
        ),
        has_role=lambda role, user, groups: role == "admin" and user in ADMINS,
        clock=lambda: now[0],
        on_tampered=lambda record: report_tampered(chat=chat, audit=audit, record=record),
    )
    sweeper = ExpirySweeper(service=service, chat=chat, audit=audit)
    return Rig(
        database=database,
        service=service,
        sweeper=sweeper,
        planner=planner,
        audit=audit,
        chat=chat,
        now=now,
    )


@pytest.fixture
def rig(database_url: str) -> Rig:
    return make_rig(database_url)


# --- the finding, and its positive controls ------------------------------------------------


def test_the_finding_a_pending_rm_edited_to_auto_run_with_a_past_expiry_never_runs(
    rig: Rig,
) -> None:
    approval_id = rig.ask()
    rig.edit(approval_id, auto_run=True, expires_at=START - timedelta(hours=1))
    rig.sweeper.sweep()
    rig.assert_caught(approval_id)
    assert rig.service.get(approval_id) is not None
    # Reported once: later sweeps and clicks find it marked and say so, nothing more.
    rig.now[0] += timedelta(hours=1)
    rig.sweeper.sweep()
    refused = rig.service.approve(approval_id, user_id="U0A1", groups=frozenset())
    assert refused.kind is ApprovalOutcomeKind.REFUSED and "integrity check" in refused.message
    rig.assert_caught(approval_id)


def test_positive_control_an_unedited_veto_window_request_runs_when_its_window_ends(
    rig: Rig,
) -> None:
    approval_id = rig.ask(veto_window=timedelta(minutes=5))
    rig.sweeper.sweep()
    assert rig.planner.executed == []  # not yet: the window is open
    rig.now[0] += timedelta(minutes=6)
    rig.sweeper.sweep()
    assert len(rig.planner.executed) == 1
    assert rig.state(approval_id) == ApprovalState.DONE.value
    assert rig.tampered_reports(approval_id) == (0, 0)


def test_positive_control_an_unedited_request_runs_when_approved(rig: Rig) -> None:
    approval_id = rig.ask()
    first = rig.service.approve(approval_id, user_id="U0A1", groups=frozenset())
    assert first.kind is ApprovalOutcomeKind.RECORDED
    rig.sweeper.sweep()
    done = rig.service.approve(approval_id, user_id="U0A2", groups=frozenset())
    assert done.kind is ApprovalOutcomeKind.EXECUTED and len(rig.planner.executed) == 1
    assert rig.state(approval_id) == ApprovalState.DONE.value
    assert rig.tampered_reports(approval_id) == (0, 0)


# --- each column, each vote ----------------------------------------------------------------

EDITS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "state": lambda row: {"state": "approved"},  # then the interrupted sweep meets it
    "requester": lambda row: {"requester": "U0A3"},
    "channel_id": lambda row: {"channel_id": "C0ELSE"},
    "engine": lambda row: {"engine": "prod"},
    "command_text": lambda row: {"command_text": "rm db"},
    "plan": lambda row: {
        "plan": {
            **row["plan"],
            "items": [{**row["plan"]["items"][0], "id": "d" * 64, "target": "db"}],
        }
    },
    "created_at": lambda row: {"created_at": row["created_at"] - timedelta(days=1)},
    "expires_at": lambda row: {"expires_at": START - timedelta(minutes=1)},
    "message_channel": lambda row: {"message_channel": "C0EVIL"},
    "message_ts": lambda row: {"message_ts": "1700000000.000999"},
    "outcome": lambda row: {"outcome": "approved by U0A2"},
    "auto_run": lambda row: {"auto_run": True},
    "mac": lambda row: {"mac": None},  # as if from before MACs: not run either
}


def test_every_covered_column_has_an_edit_here() -> None:
    """A column added to the table without adding it to the MAC fails here."""
    assert set(approvals.c.keys()) == {*COVERED, "mac"}
    assert set(EDITS) == set(approvals.c.keys()) - {"id"}


def _row(rig: Rig, approval_id: int) -> dict[str, Any]:
    with rig.database.connect() as connection:
        found = connection.execute(select(approvals).where(approvals.c.id == approval_id)).one()
    return dict(found._mapping)


@pytest.mark.parametrize("column", sorted(EDITS))
def test_an_edited_column_is_caught_before_anything_runs(rig: Rig, column: str) -> None:
    approval_id = rig.ask()
    rig.service.attach_message(approval_id, channel="C0APPROVE", ts="1700000000.000100")
    assert rig.service.approve(approval_id, user_id="U0A1", groups=frozenset()).kind is (
        ApprovalOutcomeKind.RECORDED
    )
    rig.edit(approval_id, **EDITS[column](_row(rig, approval_id)))
    # The second approval would run it; it is refused, and so is every other path.
    outcome = rig.service.approve(approval_id, user_id="U0A2", groups=frozenset())
    assert outcome.kind is ApprovalOutcomeKind.REFUSED and "integrity check" in outcome.message
    rig.now[0] += timedelta(hours=2)
    rig.sweeper.sweep()
    assert rig.service.cancel(approval_id, user_id="U0REQ").kind is ApprovalOutcomeKind.REFUSED
    rig.assert_caught(approval_id)


def test_an_edited_state_is_caught_by_the_interrupted_sweep(rig: Rig) -> None:
    """approved with no lease: what a dead execution looks like; the sweep verifies first."""
    approval_id = rig.ask()
    rig.edit(approval_id, state="approved")
    rig.now[0] += timedelta(minutes=5)
    assert rig.service.interrupt_abandoned() == []
    rig.assert_caught(approval_id)


VOTE_EDITS: dict[str, Callable[[Rig, int], None]] = {}


def _vote_edit(name: str) -> Callable[[Callable[[Rig, int], None]], Callable[[Rig, int], None]]:
    def register(edit: Callable[[Rig, int], None]) -> Callable[[Rig, int], None]:
        VOTE_EDITS[name] = edit
        return edit

    return register


@_vote_edit("inserted")
def _insert_vote(rig: Rig, approval_id: int) -> None:
    with rig.database.begin() as connection:
        connection.execute(
            insert(approval_votes).values(approval_id=approval_id, user_id="U0A2", at=START)
        )


@_vote_edit("removed")
def _remove_vote(rig: Rig, approval_id: int) -> None:
    with rig.database.begin() as connection:
        connection.execute(
            delete(approval_votes).where(approval_votes.c.approval_id == approval_id)
        )


@_vote_edit("voter changed")
def _change_voter(rig: Rig, approval_id: int) -> None:
    with rig.database.begin() as connection:
        connection.execute(update(approval_votes).values(user_id="U0A3"))


@_vote_edit("time changed")
def _change_vote_time(rig: Rig, approval_id: int) -> None:
    with rig.database.begin() as connection:
        connection.execute(update(approval_votes).values(at=START - timedelta(days=1)))


@pytest.mark.parametrize("edit", sorted(VOTE_EDITS))
def test_an_inserted_removed_or_edited_vote_is_caught(rig: Rig, edit: str) -> None:
    approval_id = rig.ask()
    rig.service.approve(approval_id, user_id="U0A1", groups=frozenset())
    VOTE_EDITS[edit](rig, approval_id)
    # With an inserted vote, one more approval would have been enough.
    outcome = rig.service.approve(approval_id, user_id="U0A3", groups=frozenset())
    assert outcome.kind is ApprovalOutcomeKind.REFUSED
    rig.sweeper.sweep()
    rig.assert_caught(approval_id)


def test_a_mac_copied_from_another_row_does_not_verify(rig: Rig) -> None:
    """The MAC covers the row's id: two requests with the same content still differ."""
    first, second = rig.ask(), rig.ask()
    rig.edit(second, mac=_row(rig, first)["mac"])
    rig.sweeper.sweep()
    rig.assert_caught(second)
    assert rig.state(first) == ApprovalState.PENDING.value


def test_a_mac_made_with_the_audit_chains_own_key_does_not_verify(rig: Rig) -> None:
    """Domain separation: the row key is derived, so neither MAC can stand for the other."""
    approval_id = rig.ask()
    row = _row(rig, approval_id)
    assert row["mac"] == row_mac(approval_key(KEY), row, [])
    assert row["mac"] != row_mac(KEY, row, [])
    rig.edit(approval_id, mac=row_mac(KEY, row, []))
    rig.sweeper.sweep()
    rig.assert_caught(approval_id)


def test_a_row_sealed_under_another_key_does_not_verify(database_url: str) -> None:
    ours = make_rig(database_url)
    approval_id = ours.ask()
    theirs = SqlApprovalRepository(engine=ours.database, key=b"x" * 32)
    record = theirs.get(approval_id)
    assert record is not None and not record.intact


# --- rows from before the MAC, and rows the code cannot read -------------------------------


def test_the_release_0_1_rows_pending_is_never_run_and_finished_ones_stay_history(
    database_url: str,
) -> None:
    from tests.database.state.test_schema import load_release_state

    load_release_state(database_url)
    rig = make_rig(database_url, min_approvals=1)
    [waiting] = rig.service.pending()
    assert not waiting.intact and waiting.command_text == "rm web"
    assert rig.service.approve(waiting.id, user_id="U0A1", groups=frozenset()).kind is (
        ApprovalOutcomeKind.REFUSED
    )
    rig.sweeper.sweep()
    rig.assert_caught(waiting.id)
    marked = rig.service.get(waiting.id)
    assert marked is not None and marked.outcome.startswith("unverifiable: stored without a MAC")
    done = rig.service.get(2)
    assert done is not None and done.state is ApprovalState.DONE and done.outcome == "Removed old"
    assert rig.state(2) == ApprovalState.DONE.value and rig.tampered_reports(2) == (0, 0)


def test_a_value_sqlite_holds_but_the_code_cannot_read_is_listed_not_raised(
    tmp_path: Any,
) -> None:
    rig = make_rig(f"sqlite:///{tmp_path}/state.db")
    garbled, bogus, fine = rig.ask(), rig.ask(), rig.ask()
    with rig.database.begin() as connection:
        connection.execute(
            text("UPDATE approvals SET expires_at = 'soon', plan = 'not json' WHERE id = :id"),
            {"id": garbled},
        )
        connection.execute(text("UPDATE approvals SET auto_run = 7 WHERE id = :id"), {"id": bogus})
    listed = rig.service.pending()
    assert [(r.id, r.intact) for r in listed] == [(garbled, False), (bogus, False), (fine, True)]
    shown = render_reply(Reply(text="approvals", result=ApprovalList(records=tuple(listed))))
    assert shown.count("TAMPERED") == 2 and "rm web" in shown
    blocks = str(render_slack(Reply(text="approvals", result=ApprovalList(records=tuple(listed)))))
    assert blocks.count("failed its integrity check") == 2
    rig.sweeper.sweep()
    rig.assert_caught(garbled)
    rig.assert_caught(bogus)
    assert rig.state(fine) == ApprovalState.PENDING.value


def test_a_state_the_code_does_not_know_is_shown_tampered_and_never_acted_on(rig: Rig) -> None:
    approval_id = rig.ask()
    rig.edit(approval_id, state="running")
    record = rig.service.get(approval_id)
    assert record is not None and not record.intact and record.state is ApprovalState.TAMPERED
    outcome = rig.service.approve(approval_id, user_id="U0A1", groups=frozenset())
    assert outcome.kind is ApprovalOutcomeKind.REFUSED
    rig.assert_caught(approval_id)


# --- any single-column edit (hypothesis) ---------------------------------------------------

_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30)
_MOMENT = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
_STATES = st.sampled_from([s.value for s in ApprovalState])


def _new_value(column: str) -> st.SearchStrategy[Any]:
    match column:
        case "state":
            return _STATES
        case "created_at" | "expires_at":
            return _MOMENT
        case "auto_run":
            return st.booleans()
        case "channel_id" | "message_channel" | "message_ts" | "mac":
            return st.none() | _TEXT
        case "plan":
            return _TEXT.map(
                lambda target: {
                    "action": "rm",
                    "force": False,
                    "volumes": False,
                    "no_prune": False,
                    "items": [
                        {
                            "kind": "container",
                            "id": "c1",
                            "target": target,
                            "description": "web",
                            "marker": "",
                            "size": 0,
                        }
                    ],
                }
            )
        case _:
            return _TEXT


_EDIT = st.sampled_from(sorted(EDITS)).flatmap(
    lambda column: st.tuples(st.just(column), _new_value(column))
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edit=_EDIT)
def test_any_single_column_edit_is_caught(edit: tuple[str, Any]) -> None:
    column, value = edit
    rig = _shared_rig()
    approval_id = rig.ask()
    before = _row(rig, approval_id)
    rig.edit(approval_id, **{column: value})
    after = _row(rig, approval_id)
    record = rig.service.get(approval_id)
    assert record is not None
    if after == before:
        assert record.intact  # the same value written back: nothing was changed
        return
    assert not record.intact
    runs = len(rig.planner.executed)
    rig.service.approve(approval_id, user_id="U0A1", groups=frozenset())
    rig.service.approve(approval_id, user_id="U0A2", groups=frozenset())
    rig.now[0] += timedelta(days=36500)  # past any expiry it could have been given
    rig.sweeper.sweep()
    rig.now[0] = START
    assert len(rig.planner.executed) == runs, f"ran after {column} was edited"
    assert rig.state(approval_id) in {"tampered", *(s for s in _FINAL_AS_EDITED)}


_FINAL_AS_EDITED = {
    "done",
    "failed",
    "rejected",
    "expired",
    "cancelled",
    "withdrawn",
    "interrupted",
}  # a finished state written in: left as found, never run
_RIG: list[Rig] = []
_RIG_FOLDER = tempfile.TemporaryDirectory()  # removed when the process ends


def _shared_rig() -> Rig:
    """One SQLite database for every example (a fresh request each)."""
    if not _RIG:
        _RIG.append(make_rig(f"sqlite:///{_RIG_FOLDER.name}/state.db"))
    return _RIG[0]


def test_a_vote_committed_between_reading_the_row_and_its_votes_is_no_edit(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found with two replicas: the slower of two approvers was told the request "failed its
    integrity check" because another process's vote landed between the two reads."""
    import bot.state.approvals as stored

    approval_id = rig.ask()
    real_votes = stored._votes
    interleaved: list[bool] = []

    def votes_after_another_vote(connection: Any, wanted: int) -> Any:
        if not interleaved:  # once: another approver's vote commits right now
            interleaved.append(True)
            assert rig.service.approve(wanted, user_id="U0A1", groups=frozenset()).kind
        return real_votes(connection, wanted)

    monkeypatch.setattr(stored, "_votes", votes_after_another_vote)
    record = rig.service.get(approval_id)
    assert interleaved, "the vote did not come between the two reads"
    assert record is not None and record.intact
    assert record.approvers == ("U0A1",)
    assert rig.state(approval_id) == ApprovalState.PENDING.value
    assert rig.tampered_reports(approval_id) == (0, 0)
    # Positive control: an edit made outside the bot is still caught by the same read.
    rig.edit(approval_id, command_text="rm -f everything")
    edited = rig.service.get(approval_id)
    assert edited is not None and not edited.intact
