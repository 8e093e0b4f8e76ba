"""The reference desk page (``/desk``) and the API docs in a real headless Chromium.

An operator signs in through the page's form, refreshes the sign-in, signs in to the seat
(the seat starts out of the queue: the page's button is what adds it), pauses with a code the
API lists and is ready again; the embedded PBX places a call that is answered at that seat;
the screen pop shows on the page (masked number, earlier tickets, repeat caller, IVR path);
the ticket form is filled and submitted and a knowledge-base article is marked as having
helped; then the database holds the draft with what was typed, the call's ticket with its
kind and outcome, and the article recorded on the ticket. ``/docs`` and ``/redoc`` render
(Swagger UI lists the operations, ReDoc the same), and no page loaded anything from another
host than the service's.

The browser is blocking (selenium): its steps run in a worker thread while the runtime and
uvicorn run on the test's event loop.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from tests.browser.conftest import REQUIRE_ENV

if importlib.util.find_spec("selenium") is None and not os.environ.get(REQUIRE_ENV):
    pytest.skip("no selenium: pip install -e '.[test]'", allow_module_level=True)

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from agents.roles import Role
from config.settings import Settings
from hotline.app import create_app
from hotline.page_policy import POLICY
from knowledge.models import TicketArticle
from tests.agents.signin import PASSWORD, make_user
from tests.hotline.desk_setup import CALLER, SEAT, desk_runtime, earlier_tickets, place_call, serve
from tickets.models import OperatorDraft, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

#: What the operator types (checked in the database afterwards).
TYPED = {
    "district": "西湖区",
    "address": "文三路 100 号",
    "description": "社保卡丢了，问怎么补办",
    "answer": "带身份证到社保服务网点挂失补办",
}
WAIT_S = 30.0


def _wait(driver: Any, timeout: float = WAIT_S) -> WebDriverWait:
    return WebDriverWait(driver, timeout)


def _text_is(element_id: str, check: Any) -> Any:
    """A wait condition: the element's text passes ``check``; the text, when it does."""

    def condition(driver: Any) -> Any:
        text = driver.find_element(By.ID, element_id).text
        return text if check(text) else False

    return condition


def _resources_from_elsewhere(driver: Any, base: str) -> list[str]:
    """What the page asked for (scripts, styles, images, fetches, fonts...) from another
    host than ``base``, and the browser did not refuse for the page's Content-Security-Policy
    (a refused request never leaves the machine)."""
    names = driver.execute_script(
        "return [location.href].concat(performance.getEntriesByType('resource').map(e => e.name))"
    )
    refused = [
        e["message"]
        for e in driver.get_log("browser")
        if "violates the following Content Security Policy directive" in e["message"]
    ]
    return [
        n for n in names if not n.startswith(base + "/") and not any(f"'{n}'" in m for m in refused)
    ]


def _sign_in_and_take_the_seat(driver: Any, base: str) -> None:
    driver.get(f"{base}/desk")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    # every control has its label
    for control in driver.find_elements(By.CSS_SELECTOR, "input, select, textarea"):
        ident = control.get_attribute("id")
        assert driver.find_elements(By.CSS_SELECTOR, f"label[for='{ident}']"), ident
    driver.find_element(By.ID, "username").send_keys("op1")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-button").click()
    _wait(driver).until(_text_is("who", lambda t: "op1" in t and SEAT in t))
    assert driver.find_element(By.ID, "login").is_displayed() is False
    # the live stream is open: its snapshot said the seat is out of the queue
    _wait(driver).until(_text_is("stream-state", lambda t: "live" in t))
    _wait(driver).until(_text_is("seat-state", lambda t: t.startswith("signed_out")))

    # a refresh of the sign-in: the page goes on with the new access token
    old = driver.execute_script("return state.access")
    assert driver.execute_async_script("refreshTokens().then(arguments[0])") is True
    assert driver.execute_script("return state.access") != old

    driver.find_element(By.ID, "seat-sign-in").click()
    _wait(driver).until(_text_is("seat-state", lambda t: t.startswith("ready")))
    codes = Select(driver.find_element(By.ID, "pause-code"))
    labels = [o.get_attribute("value") for o in codes.options]
    assert "lunch" in labels and "no_answer" not in labels  # the system's own code is not offered
    codes.select_by_value("lunch")
    driver.find_element(By.ID, "seat-pause").click()
    _wait(driver).until(_text_is("seat-state", lambda t: t.startswith("paused") and "午餐" in t))
    driver.find_element(By.ID, "seat-ready").click()
    _wait(driver).until(_text_is("seat-state", lambda t: t.startswith("ready")))


def _screen_pop_and_ticket(driver: Any) -> dict[str, str]:
    caller = _wait(driver).until(_text_is("pop-caller", lambda t: t == "138****5678"))
    assert CALLER not in driver.page_source
    assert driver.find_element(By.ID, "pop-name").text == "张伟"
    assert driver.find_element(By.ID, "pop-repeat").text.startswith("是")  # 3 days ago
    tickets = driver.find_elements(By.CSS_SELECTOR, "#pop-tickets li")
    assert [li.text.split(" · ")[1] for li in tickets] == ["report", "complaint"]
    assert "not through the IVR" not in driver.find_element(By.ID, "pop-ivr").text
    assert driver.find_element(By.ID, "pop-waited").text.endswith(" s")
    call = driver.find_element(By.ID, "ticket-call").text
    assert call and caller

    # the knowledge base: search, and mark the best article as having helped
    driver.find_element(By.ID, "kb-q").send_keys("社保卡丢了")
    driver.find_element(By.CSS_SELECTOR, "#kb-search button").click()
    first = _wait(driver).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "#kb-hits li button:nth-of-type(2)"))
    )
    article_title = driver.find_element(By.CSS_SELECTOR, "#kb-hits li button").text
    first.click()
    _wait(driver).until(ec.text_to_be_present_in_element((By.ID, "kb-hits"), "已记录"))

    # the ticket form
    _wait(driver).until(ec.element_to_be_clickable((By.ID, "kind")))
    Select(driver.find_element(By.ID, "kind")).select_by_value("consultation")
    for field in ("district", "address", "description"):
        driver.find_element(By.ID, field).send_keys(TYPED[field])
    driver.find_element(By.ID, "outcome-answered").click()
    driver.find_element(By.ID, "answer").send_keys(TYPED["answer"])
    driver.find_element(By.ID, "submit").click()
    _wait(driver).until(_text_is("ticket-status", lambda t: t.startswith("已提交")))
    return {"call": call, "article_title": article_title}


async def test_a_call_taken_and_its_ticket_written_on_the_desk_page(
    tmp_path: Path, browser: Any
) -> None:
    rt = desk_runtime(tmp_path)
    await rt.start()
    server, serving, port = await serve(create_app(rt))
    base = f"http://127.0.0.1:{port}"
    try:
        assert rt.sessions is not None and rt.gateway is not None and rt.simulator is not None
        await make_user(rt.sessions, "op1", Role.OPERATOR, seat=SEAT)
        await earlier_tickets(rt)
        hotline = rt.simulator.core.queues["hotline"]
        # the embedded PBX logs its seat in at start: out with it, the page signs it in
        await rt.gateway.remove_member("hotline", SEAT)
        assert SEAT.lower() not in hotline.members

        await asyncio.to_thread(_sign_in_and_take_the_seat, browser, base)
        assert SEAT.lower() in hotline.members  # the page's sign-in was a QueueAdd

        # 200 s of talk: 10 s at 20x, time to type
        await place_call(rt, caller_id=f'"张伟" <{CALLER}>', talk_s=200)
        seen = await asyncio.to_thread(_screen_pop_and_ticket, browser)
        call = seen["call"]

        # the call ends, its ticket is written, and the article is recorded on it
        async with asyncio.timeout(WAIT_S):
            while True:
                await rt.settle()
                async with rt.sessions() as s:
                    ticket = await s.scalar(select(Ticket).where(Ticket.call_uniqueid == call))
                    tid = ticket.id if ticket is not None else -1
                    rows = await s.scalars(
                        select(TicketArticle).where(TicketArticle.ticket_id == tid)
                    )
                    helped = rows.all()
                if helped:
                    break
                await asyncio.sleep(0.2)
        async with rt.sessions() as s:
            draft = await s.scalar(select(OperatorDraft).where(OperatorDraft.call_uniqueid == call))
        assert draft is not None and draft.status == "submitted"
        assert draft.seat == SEAT and draft.kind == "consultation"
        assert {f: getattr(draft, f) for f in TYPED} == TYPED
        assert draft.resolved_on_call is True and draft.idempotency_key
        assert ticket is not None
        assert (ticket.kind, ticket.resolved_on_call, ticket.status) == (
            "consultation",
            True,
            "resolved",
        )
        assert len(helped) == 1

        articles = await asyncio.to_thread(
            browser.execute_script,
            "return fetch('/api/v1/knowledge/tickets/' + arguments[0] + '/articles',"
            " {headers: {Authorization: 'Bearer ' + state.access}}).then(r => r.json())",
            ticket.number,
        )
        assert [a["title"] for a in articles] == [seen["article_title"]]
        away = await asyncio.to_thread(_resources_from_elsewhere, browser, base)
        assert away == []
    finally:
        server.should_exit = True
        await serving
        await rt.stop()


def _docs_render(driver: Any, base: str, operations: int) -> None:
    driver.get(f"{base}/docs")
    _wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= operations)
    shown = {e.text for e in driver.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert "/api/v1/auth/token" in shown and "/api/v1/me/drafts/{call}" in shown
    assert _resources_from_elsewhere(driver, base) == []

    driver.get(f"{base}/redoc")
    _wait(driver).until(
        lambda d: (
            len(d.find_elements(By.CSS_SELECTOR, "[data-section-id^='operation/']")) >= operations
        )
    )
    assert "12345 hotline backend" in driver.find_element(By.TAG_NAME, "h1").text
    assert _resources_from_elsewhere(driver, base) == []


async def test_docs_and_redoc_render_from_the_service_alone(browser: Any) -> None:
    runtime = SimpleNamespace(
        sessions=None, now=lambda: 1_795_000_000.0, settings=Settings(_env_file=None)
    )
    app = create_app(runtime)  # type: ignore[arg-type]
    doc = app.openapi()
    operations = sum(len(item) for item in doc["paths"].values())
    assert operations > 30
    server, serving, port = await serve(app)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            for page in ("/docs", "/redoc", "/desk", "/desk/desk.js"):
                r = await http.get(page)
                assert r.status_code == 200, page
                assert r.headers["content-security-policy"] == POLICY, page
            assert "content-security-policy" not in (await http.get("/healthz")).headers
            assert (await http.get("/desk/__init__.py")).status_code == 404  # static/ only
        await asyncio.to_thread(_docs_render, browser, base, operations)
    finally:
        server.should_exit = True
        await serving
