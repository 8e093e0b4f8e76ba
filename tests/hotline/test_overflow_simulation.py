"""The eight centres in the embedded PBX, end to end: a busy quarter hour in which Xiaoshan has
one seat for its share of the callers. With overflow (config/overflow.yaml) the IVR sends its
new callers to the city centre while Xiaoshan cannot answer, and more of them are answered
than without."""

from __future__ import annotations

import pytest

from config.settings import Settings
from hotline.simulation import SimulationError, run_simulation

pytestmark = pytest.mark.e2e


async def simulate(tmp_path, **kw: object) -> dict:
    args: dict = dict(
        seats=40,
        calls=150,
        hours=0.25,
        speed=1500.0,
        seed=3,
        talk_mean=None,
        patience_mean=None,
        wrapup=None,
        ring=2.0,
        progress=False,
        profile="flat",
        centres=True,
    )
    args.update(kw)
    url = f"sqlite:///{tmp_path / f'sim-{len(list(tmp_path.iterdir()))}.db'}"
    return await run_simulation(Settings(_env_file=None), database_url=url, **args)


async def busy_spell(tmp_path, overflow: bool) -> dict:
    return await simulate(tmp_path, centre_seats={"xiaoshan": 1}, overflow=overflow)


async def test_overflow_to_the_city_answers_more_of_a_short_staffed_district(tmp_path):
    on = await busy_spell(tmp_path, True)
    off = await busy_spell(tmp_path, False)
    for r in (on, off):
        centres = r["centres"]
        assert len(centres) == 8 and centres["xiaoshan"]["seats"] == 1
        assert sum(c["seats"] for c in centres.values()) == 41
        # every caller who reached a queue is some district's; the books balance
        assert sum(c["offered"] for c in centres.values()) == r["offered"]
        assert sum(c["answered"] for c in centres.values()) == r["answered"] == r["tickets"]
    assert off["overflowed"] == 0 < on["overflowed"]
    x_on, x_off = on["centres"]["xiaoshan"], off["centres"]["xiaoshan"]
    print(
        f"Xiaoshan's callers answered: {x_off['answer_rate']:.1%} without overflow, "
        f"{x_on['answer_rate']:.1%} with ({on['overflowed']} moved to the city centre); "
        f"all callers {off['answer_rate']:.1%} -> {on['answer_rate']:.1%}"
    )
    assert x_on["answer_rate"] > x_off["answer_rate"]
    assert on["answer_rate"] >= off["answer_rate"]


async def test_centres_need_the_traffic_model(tmp_path):
    with pytest.raises(SimulationError, match="--centres needs --profile"):
        await simulate(tmp_path, profile=None)
