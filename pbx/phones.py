"""SIP phones for seats and callers, with pyVoIP 1.6.8 against Asterisk 20's chan_sip.

The one module that knows pyVoIP (what it does and does not do against chan_sip, and the
fixes below, were found by trying it here). A :class:`SeatPhone` registers as one peer of
``pbx/asterisk/sip.conf`` (queue member ``SIP/<peer>``, whose device state follows the
registration), answers when the queue rings it, sends audio (silence) for the talk time,
and hangs up. A :class:`CallerPhone` dials the hotline, presses keys in the IVR and hangs up
when its patience runs out.
:func:`run_phones` runs a set of both (``hotline phones``).

The pyVoIP defects met, and what is done about them here:

* import order: ``pyVoIP.VoIP`` before ``pyVoIP.SIP`` (the other order is a circular import);
* Call-IDs are a hash of a counter starting at 1 in every process: a phone restarted on the
  same address reuses its last REGISTER Call-ID, Asterisk answers 500 and pyVoIP waits 5 s.
  The counter is seeded at random;
* the RTP port is picked at random in the phone's range without asking the OS: each phone
  gets a range of its own (``rtp_ports``), above Asterisk's;
* a ``CANCEL`` (the caller gave up, or the queue stopped ringing this seat) is not passed to
  the call: it would stay ringing and ``answer()`` would still send 200 OK. Here the call is
  marked cancelled and answered ``487 Request Terminated``;
* (callers) the ACK of a 200 OK carries a fresh random To-tag and goes to the To URI, so
  Asterisk never matches it, holds back its BYE and cuts the call at 32 s: :func:`_gen_ack`
  sends it with the remote tag, to the Contact, on a new branch, with our own Via;
* (callers) pyVoIP cannot send DTMF: :func:`send_dtmf` sends RFC 4733 events (payload type
  101) on the call's RTP socket;
* incoming audio piles up unless read: it is read as fast as it comes while talking (pyVoIP
  still keeps every packet of a call in memory until the call ends).

Audio is 8 kHz 8-bit unsigned linear PCM for pyVoIP (silence is 0x80), PCMU on the wire.
Each phone costs two threads idle, two RTP threads and a callback thread per call.
"""

from __future__ import annotations

import logging
import random
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# pyVoIP.VoIP must be imported before pyVoIP.SIP (the other order is a circular import)
# isort: off
from pyVoIP.VoIP import CallState, PhoneStatus, VoIPCall, VoIPPhone
from pyVoIP import SIP

# isort: on

__all__ = ["CallerPhone", "SeatPhone", "SeatStats", "run_phones", "send_dtmf"]

log = logging.getLogger(__name__)

#: 20 ms of silence in pyVoIP's 8-bit unsigned linear PCM.
SILENCE_20MS = b"\x80" * 160


@dataclass
class SeatStats:
    rung: int = 0
    answered: int = 0
    cancelled: int = 0
    hung_up_by_seat: int = 0
    hung_up_by_caller: int = 0
    talk_s: list[float] = field(default_factory=list)


def _voip_phone(
    server: str,
    port: int,
    user: str,
    secret: str,
    sip_port: int,
    rtp_ports: tuple[int, int],
    my_ip: str,
    call_callback: Callable[[VoIPCall], None] | None = None,
) -> VoIPPhone:
    """A pyVoIP phone with the fixes every phone needs, seat or caller."""
    phone = VoIPPhone(
        server,
        port,
        user,
        secret,
        myIP=my_ip,
        callCallback=call_callback,
        sipPort=sip_port,
        rtpPortLow=rtp_ports[0],
        rtpPortHigh=rtp_ports[1],
    )
    # Defect 2: a Call-ID counter of our own, starting anywhere.
    phone.sip.callID = SIP.Counter(random.randrange(1, 2**31))
    return phone


class SeatPhone:
    """A seat's softphone: registered to ``server:port`` as ``user``.

    ``talk_s`` (seconds, or a function of nothing returning seconds) is how long it talks
    before hanging up; ``ring_s`` how long it lets the phone ring before answering.
    """

    def __init__(
        self,
        server: str,
        port: int,
        user: str,
        secret: str,
        *,
        sip_port: int,
        rtp_ports: tuple[int, int],
        talk_s: float | Callable[[], float] = 3.0,
        ring_s: float = 0.5,
        my_ip: str = "127.0.0.1",
    ) -> None:
        self.user = user
        self.talk_s = talk_s
        self.ring_s = ring_s
        self.stats = SeatStats()
        self._lock = threading.Lock()
        self._cancelled: set[str] = set()
        self.phone = _voip_phone(
            server, port, user, secret, sip_port, rtp_ports, my_ip, call_callback=self._on_call
        )
        # Defect 4: see CANCEL before pyVoIP drops it.
        self.phone.sip.callCallback = self._sip_message

    # -- life ---------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        """Register (pyVoIP's ``start`` registers in the background); wait until it has."""
        self.phone.start()
        deadline = time.monotonic() + timeout
        while self.phone.get_status() != PhoneStatus.REGISTERED:
            if self.phone.get_status() == PhoneStatus.FAILED or time.monotonic() > deadline:
                status = self.phone.get_status()
                self.stop()
                raise RuntimeError(f"SIP phone {self.user} did not register ({status.name})")
            time.sleep(0.05)

    def stop(self) -> None:
        """Hang up what is up, de-register, stop the threads."""
        try:
            self.phone.stop()
        except Exception:  # pyVoIP raises on a socket already closed; stop is best effort
            log.debug("stopping %s", self.user, exc_info=True)

    @property
    def registered(self) -> bool:
        return self.phone.get_status() == PhoneStatus.REGISTERED

    # -- SIP ----------------------------------------------------------------------------
    def _sip_message(self, message: SIP.SIPMessage) -> None:
        if message.type == SIP.SIPMessageType.MESSAGE and message.method == "CANCEL":
            call_id = message.headers["Call-ID"]
            with self._lock:
                self._cancelled.add(call_id)
            call = self.phone.calls.get(call_id)
            if call is not None and call.state == CallState.RINGING:
                self._terminate(call)
            return
        self.phone.callback(message)

    def _terminate(self, call: VoIPCall) -> None:
        """``487 Request Terminated`` for a cancelled INVITE; the call is over."""
        busy = self.phone.sip.gen_busy(call.request)
        response = busy.replace("SIP/2.0 486 Busy Here", "SIP/2.0 487 Request Terminated", 1)
        self.phone.sip.out.sendto(response.encode("utf8"), (self.phone.server, self.phone.port))
        call.state = CallState.ENDED
        self.phone.calls.pop(call.request.headers["Call-ID"], None)

    def _was_cancelled(self, call: VoIPCall) -> bool:
        with self._lock:
            return call.request.headers["Call-ID"] in self._cancelled

    # -- a call ---------------------------------------------------------------------------
    def _on_call(self, call: VoIPCall) -> None:
        """pyVoIP runs this in a thread of its own about 1 s after sending 180 Ringing."""
        self.stats.rung += 1
        try:
            time.sleep(self.ring_s)
            if self._was_cancelled(call) or call.state != CallState.RINGING:
                self.stats.cancelled += 1
                return
            call.answer()
            self.stats.answered += 1
            talk = self.talk_s() if callable(self.talk_s) else self.talk_s
            start = time.monotonic()
            next_at = start
            while call.state == CallState.ANSWERED and time.monotonic() - start < talk:
                call.write_audio(SILENCE_20MS)
                call.read_audio(160, blocking=False)  # keep up with what the caller sends
                next_at += 0.02
                time.sleep(max(0.0, next_at - time.monotonic()))
            self.stats.talk_s.append(time.monotonic() - start)
            if call.state == CallState.ANSWERED:
                call.hangup()
                self.stats.hung_up_by_seat += 1
            else:
                self.stats.hung_up_by_caller += 1
        except Exception:
            log.exception("seat phone %s: the call failed", self.user)


# -- callers ----------------------------------------------------------------------------------
#: RFC 4733 event codes.
_EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}


def _gen_ack(sip: SIP.SIPClient, response: SIP.SIPMessage) -> str:
    """The ACK pyVoIP should send for ``response`` to its INVITE (defect 1)."""
    to_tag = response.headers["To"].get("tag") or sip.gen_tag()
    from_tag = response.headers["From"].get("tag") or sip.tagLibrary[response.headers["Call-ID"]]
    if response.status == SIP.SIPStatus.OK:  # a new transaction: to the Contact, new branch
        contact = str(response.headers.get("Contact", ""))
        uri = contact.split("<", 1)[-1].split(">", 1)[0].strip() or response.headers["To"]["raw"]
        branch = f"z9hG4bK{secrets.token_hex(8)}"
        via = f"Via: SIP/2.0/UDP {sip.myIP}:{sip.myPort};branch={branch};rport\r\n"
    else:  # ACK of a final error answer: same transaction (its branch), to the request URI
        uri = response.headers["To"]["raw"].strip("<").strip(">")
        via = sip._gen_response_via_header(response)
    return (
        f"ACK {uri} SIP/2.0\r\n{via}Max-Forwards: 70\r\n"
        f"To: {response.headers['To']['raw']};tag={to_tag}\r\n"
        f"From: {response.headers['From']['raw']};tag={from_tag}\r\n"
        f"Call-ID: {response.headers['Call-ID']}\r\n"
        f"CSeq: {response.headers['CSeq']['check']} ACK\r\n"
        "Content-Length: 0\r\n\r\n"
    )


def send_dtmf(call: VoIPCall, digits: str, *, duration_ms: int = 120, gap_s: float = 0.25) -> None:
    """Send ``digits`` as RFC 4733 telephone events on the call's RTP socket (defect 5):
    payload type 101, the call's SSRC, marker on the first packet of a digit, three end
    packets, ``duration_ms`` a digit and ``gap_s`` between digits."""
    client = call.RTPClients[0]
    dest = (client.outIP, client.outPort)
    steps = max(1, duration_ms // 20)
    for n, digit in enumerate(digits):
        if n:
            time.sleep(gap_s)
        event = _EVENTS[digit]
        ts = client.outTimestamp
        for i in range(steps + 3):
            end = i >= steps
            duration = 160 * min(i + 1, steps)
            seq = client.outSequence = (client.outSequence + 1) % 65536
            header = struct.pack(
                "!BBHII", 0x80, (0x80 if i == 0 else 0) | 101, seq, ts, client.outSSRC
            )
            payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)
            client.sout.sendto(header + payload, dest)
            if not end:
                time.sleep(0.02)


class CallerPhone:
    """A citizen's phone registered as ``user`` (a peer whose context leads to the hotline):
    :meth:`dial` calls, presses keys in the IVR, and hangs up when its patience runs out
    unless the other side hung up first."""

    def __init__(
        self,
        server: str,
        port: int,
        user: str,
        secret: str,
        *,
        sip_port: int,
        rtp_ports: tuple[int, int],
        my_ip: str = "127.0.0.1",
    ) -> None:
        self.user = user
        self.phone = _voip_phone(server, port, user, secret, sip_port, rtp_ports, my_ip)
        sip = self.phone.sip
        sip.gen_ack = lambda response: _gen_ack(sip, response)  # type: ignore[method-assign]

    start = SeatPhone.start
    stop = SeatPhone.stop
    registered = SeatPhone.registered

    def dial(
        self,
        number: str,
        *,
        keys: str = "",
        first_key_s: float = 1.0,
        key_gap_s: float = 1.0,
        patience_s: float = 30.0,
        answer_timeout_s: float = 10.0,
    ) -> str:
        """Call ``number``; once answered, press ``keys`` (the first after ``first_key_s``,
        then one every ``key_gap_s``), sending silence meanwhile; hang up ``patience_s``
        after the answer unless the other side hung up first. Returns ``"remote"`` (the
        other side hung up), ``"caller"`` (patience ran out) or ``"unanswered"``."""
        call = self.phone.call(number)
        deadline = time.monotonic() + answer_timeout_s
        while call.state == CallState.DIALING:
            if time.monotonic() > deadline:
                return "unanswered"
            time.sleep(0.02)
        if call.state != CallState.ANSWERED:
            return "unanswered"
        start = time.monotonic()
        pending = list(keys)
        next_key = start + first_key_s
        while call.state == CallState.ANSWERED and time.monotonic() - start < patience_s:
            call.write_audio(SILENCE_20MS)
            call.read_audio(160, blocking=False)
            if pending and time.monotonic() >= next_key:
                send_dtmf(call, pending.pop(0))
                next_key = time.monotonic() + key_gap_s
            time.sleep(0.02)
        if call.state == CallState.ANSWERED:
            call.hangup()
            return "caller"
        return "remote"


# -- a set of phones (hotline phones) ---------------------------------------------------------
def run_phones(
    server: str,
    port: int,
    *,
    seats: dict[str, str],
    callers: dict[str, str] | None = None,
    calls: int = 0,
    calls_per_minute: float = 6.0,
    number: str = "12345",
    keys: str = "",
    talk_mean_s: float = 20.0,
    patience_mean_s: float = 60.0,
    ring_s: float = 1.0,
    duration_s: float | None = None,
    my_ip: str = "127.0.0.1",
    rtp_base: int = 41000,
    seed: int | None = None,
    stop: threading.Event | None = None,
) -> dict[str, object]:
    """Register ``seats`` (peer -> secret) as answering seat phones and ``callers`` (peer ->
    secret) as callers; place ``calls`` calls (Poisson, ``calls_per_minute``) from the callers
    in turn, each pressing ``keys`` in the IVR and hanging up after an exponential patience
    (mean ``patience_mean_s``) unless the hotline hung up first; seats talk an exponential
    time (mean ``talk_mean_s``). Runs until the calls are over and ``duration_s`` (if given)
    has passed, or ``stop`` is set; then de-registers everything and returns a summary."""
    rng = random.Random(seed)
    stop = stop or threading.Event()
    phones: list[SeatPhone | CallerPhone] = []
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def udp_port() -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((my_ip, 0))
            return int(s.getsockname()[1])

    def talk() -> float:
        with lock:
            return max(1.0, rng.expovariate(1 / talk_mean_s))

    started = time.monotonic()
    try:
        for i, (peer, secret) in enumerate(seats.items()):
            rtp = (rtp_base + 20 * i, rtp_base + 20 * i + 19)
            seat = SeatPhone(
                server, port, peer, secret, sip_port=udp_port(), rtp_ports=rtp,
                talk_s=talk, ring_s=ring_s, my_ip=my_ip,
            )  # fmt: skip
            seat.start()
            phones.append(seat)
        dialers: list[CallerPhone] = []
        for j, (peer, secret) in enumerate((callers or {}).items()):
            k = len(seats) + j
            rtp = (rtp_base + 20 * k, rtp_base + 20 * k + 19)
            caller = CallerPhone(
                server, port, peer, secret, sip_port=udp_port(), rtp_ports=rtp, my_ip=my_ip
            )
            caller.start()
            phones.append(caller)
            dialers.append(caller)

        def one_call(caller: CallerPhone, patience: float) -> None:
            try:
                how = caller.dial(number, keys=keys, patience_s=patience)
            except Exception:
                log.exception("caller %s: the call failed", caller.user)
                how = "failed"
            with lock:
                outcomes[how] = outcomes.get(how, 0) + 1

        threads: list[threading.Thread] = []
        if dialers:
            for n in range(calls):
                if n:
                    stop.wait(rng.expovariate(calls_per_minute / 60.0))
                if stop.is_set():
                    break
                patience = max(1.0, rng.expovariate(1 / patience_mean_s))
                t = threading.Thread(
                    target=one_call, args=(dialers[n % len(dialers)], patience), daemon=True
                )
                t.start()
                threads.append(t)
        for t in threads:
            while t.is_alive() and not stop.is_set():
                t.join(0.2)
        if duration_s is not None:
            stop.wait(max(0.0, duration_s - (time.monotonic() - started)))
        elif not dialers:
            stop.wait()
    finally:
        for p in phones:
            p.stop()
    seat_phones = [p for p in phones if isinstance(p, SeatPhone)]
    return {
        "seats": len(seat_phones),
        "rung": sum(p.stats.rung for p in seat_phones),
        "answered": sum(p.stats.answered for p in seat_phones),
        "cancelled": sum(p.stats.cancelled for p in seat_phones),
        "hung_up_by_seat": sum(p.stats.hung_up_by_seat for p in seat_phones),
        "calls": sum(outcomes.values()),
        "caller_outcomes": outcomes,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
