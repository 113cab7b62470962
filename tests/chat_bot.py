"""The pipeline as chat drives it, with the default approvals, on one real engine: what the
scenario tests of approval-gated commands share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.config import configured_policy
from bot.core.approvals import ApprovalRules, ApprovalService
from bot.core.pipeline import Pipeline, Reply
from bot.core.policy import Actor
from bot.core.results import ActionResult, ApprovalRequested
from bot.engine.directory import DockerEngineDirectory
from bot.engine.docker_engine import DockerEngine, EngineLimits
from bot.state.approvals import SqlApprovalRepository
from bot.state.database import open_database
from tests.conftest import AUDIT_KEY, make_settings

ADMIN = Actor(user_id="U0ADMIN", channel_id="C0OPS")
OPERATOR = Actor(user_id="U0OPS", channel_id="C0OPS")


class ChatBot:
    """Operators ask, the admin approves; ``settle``: upgrades' and services' monitor."""

    def __init__(self, *, host: str, database: str, settle: float, engine: str = "default") -> None:
        settings = make_settings(
            host,
            roles={"viewer": ["*"], "operator": ["U0OPS"], "admin": ["U0ADMIN"]},
            approvals={"approvers": ["admin"]},
        )
        docker_engine = DockerEngine(
            name=engine, url=host, limits=EngineLimits(), upgrade_settle=settle
        )
        self.engines = DockerEngineDirectory(engines={engine: docker_engine}, default=engine)
        self.approvals = ApprovalService(
            repository=SqlApprovalRepository(
                engine=open_database(database), key=AUDIT_KEY.encode()
            ),
            planner_for=self.engines.get,
            rules=ApprovalRules(approvers=("admin",), expire_after=timedelta(minutes=15)),
            has_role=lambda role, user, groups: role == "admin" and user == ADMIN.user_id,
            clock=lambda: datetime.now(UTC),
        )
        self.pipeline = Pipeline(
            engines=self.engines, policy=configured_policy(settings), approvals=self.approvals
        )

    def ask(self, text: str, actor: Actor = OPERATOR) -> Reply:
        return self.pipeline.handle(text, actor=actor)

    def approve(self, reply: Reply) -> ActionResult:
        """The admin approves the request ``reply`` made; what running it gave."""
        assert isinstance(reply.result, ApprovalRequested), reply.error
        outcome = self.approvals.approve(
            reply.result.record.id, user_id=ADMIN.user_id, groups=frozenset()
        )
        assert isinstance(outcome.result, ActionResult), outcome
        return outcome.result

    def approved(self, text: str) -> ActionResult:
        return self.approve(self.ask(text))
