"""End to end: a simulated day ends with survey ratings on its tickets. Every call the
operator ended runs our IVR's ``survey`` script over FastAGI; calls the citizen ended get
none."""

from __future__ import annotations

import sqlite3

import pytest

from config.settings import Settings
from hotline import runtime as runtime_mod
from hotline.simulation import run_simulation

pytestmark = pytest.mark.e2e


async def test_a_simulated_day_ends_with_ratings_on_tickets(tmp_path, monkeypatch) -> None:
    events: list[dict[str, str]] = []
    start = runtime_mod.Runtime.start

    async def start_and_listen(self) -> None:  # type: ignore[no-untyped-def]
        await start(self)
        assert self.simulator is not None
        self.simulator.subscribe(events.append)

    monkeypatch.setattr(runtime_mod.Runtime, "start", start_and_listen)
    db = tmp_path / "tickets.db"
    r = await run_simulation(
        Settings(_env_file=None),
        seats=10,
        calls=60,
        hours=0.1,
        speed=300.0,
        seed=3,
        talk_mean=60.0,
        patience_mean=120.0,
        wrapup=5.0,
        ring=2.0,
        database_url=f"sqlite:///{db}",
        progress=False,
    )
    reasons = {
        e["Linkedid"]: e["Reason"]
        for e in events
        if e["Event"] == "AgentComplete" and e.get("Linkedid")
    }
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT linkedid, satisfaction FROM tickets").fetchall()
        pending = conn.execute("SELECT count(*) FROM pending_satisfaction").fetchone()[0]
    assert len(rows) == r["tickets"] == r["answered"] > 0
    scores = {link: s for link, s in rows}
    assert set(scores) == set(reasons)
    by_agent = {link for link, why in reasons.items() if why == "agent"}
    by_caller = {link for link, why in reasons.items() if why == "caller"}
    assert by_agent and by_caller  # both kinds of ending happened
    # Rated: exactly the calls the operator ended, each 1, 2 or 3.
    assert {link for link, s in scores.items() if s is not None} == by_agent
    assert all(scores[link] in (1, 2, 3) for link in by_agent)
    assert all(scores[link] is None for link in by_caller)
    assert r["rated"] == len(by_agent)
    assert pending == 0  # every answer found its ticket
    assert 1 in set(scores.values())


async def test_no_survey_without_the_ivr(tmp_path) -> None:
    r = await run_simulation(
        Settings(_env_file=None),
        seats=10,
        calls=20,
        hours=0.05,
        speed=600.0,
        seed=3,
        talk_mean=60.0,
        patience_mean=120.0,
        wrapup=5.0,
        ring=2.0,
        database_url=f"sqlite:///{tmp_path / 't.db'}",
        progress=False,
        ivr=False,
    )
    assert r["answered"] > 0 and r["rated"] == 0
