// The reference operator desk: plain JavaScript over the service's own API (no build step,
// nothing from another host). What it calls, and why it looks as it does:
//   sign in     POST /api/v1/auth/token, /refresh (before the access token expires, and
//               once on a 401), /logout; GET /api/v1/auth/me
//   seat        /api/v1/me/seat/sign-in, ready, pause {code}, sign-out; codes from
//               GET /api/v1/me/seat/pause-codes
//   live stream WebSocket /api/v1/me/stream, the token as the second subprotocol after
//               "bearer" (not in the URL: URLs land in logs); reconnects with ?after=<last seq>
//   the call    the screen pop (`connected`), transfer and hang-up (/api/v1/me/call/...)
//   ticket      PATCH /api/v1/me/drafts/{call} (save), POST .../submit with an
//               Idempotency-Key kept until the submission is answered (a retry sends it again)
//   knowledge   GET /api/v1/knowledge/search; "this helped" is kept for the call and recorded
//               with POST /api/v1/knowledge/articles/{id}/helpful once the call's ticket exists
//               (it is written when the call ends; the draft says its number)
"use strict";

const $ = (id) => document.getElementById(id);
const KEPT = "hotline-desk"; // sessionStorage: the refresh token and the call's state
const state = {
  access: null, refresh: null, refreshTimer: null, me: null,
  ws: null, lastSeq: null, retry: 0, call: null, draftTicket: {}, helped: {}, submitKey: null,
};

// -- the API --------------------------------------------------------------------------------

function notice(text) { $("notice").textContent = text || ""; }

function problemText(body, status) {
  if (body && typeof body === "object") {
    const fields = (body.errors || []).map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`);
    return [body.detail || body.title || `HTTP ${status}`, ...fields].join("; ");
  }
  return `HTTP ${status}`;
}

async function api(method, path, body, headers = {}, retried = false) {
  const init = { method, headers: { ...headers } };
  if (state.access) init.headers.Authorization = `Bearer ${state.access}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  if (r.status === 401 && state.refresh && !retried && !path.startsWith("/api/v1/auth/")) {
    if (await refreshTokens()) return api(method, path, body, headers, true);
  }
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!r.ok) {
    const err = new Error(problemText(data, r.status));
    err.status = r.status;
    throw err;
  }
  return data;
}

// -- signing in -----------------------------------------------------------------------------

function keep() {
  sessionStorage.setItem(KEPT, JSON.stringify({
    refresh: state.refresh, lastSeq: state.lastSeq, helped: state.helped,
  }));
}

function tokensArrived(t) {
  state.access = t.access_token;
  state.refresh = t.refresh_token;
  keep();
  clearTimeout(state.refreshTimer);
  // a minute before it expires (at least 10 s from now)
  const wait = Math.max(10, t.expires_in - 60) * 1000;
  state.refreshTimer = setTimeout(refreshTokens, wait);
}

async function refreshTokens() {
  try {
    tokensArrived(await api("POST", "/api/v1/auth/refresh", { refresh_token: state.refresh }));
    return true;
  } catch (e) {
    signedOut(`请重新登录 Sign in again (${e.message})`);
    return false;
  }
}

async function signIn(event) {
  event.preventDefault();
  notice("");
  $("login-button").disabled = true;
  try {
    tokensArrived(await api("POST", "/api/v1/auth/token", {
      username: $("username").value, password: $("password").value,
    }));
    $("password").value = "";
    await started();
  } catch (e) {
    notice(`登录失败 Sign-in failed: ${e.message}`);
  } finally {
    $("login-button").disabled = false;
  }
}

async function started() {
  state.me = await api("GET", "/api/v1/auth/me");
  $("who").textContent = `${state.me.display_name || state.me.username} (${state.me.role})` +
    (state.me.seat ? ` · ${state.me.seat}` : " · 无座席 no seat");
  $("login").hidden = true;
  $("desk").hidden = false;
  $("signout").hidden = false;
  await loadPauseCodes();
  await refreshSeat();
  if (state.me.seat) openStream();
}

function signedOut(why) {
  clearTimeout(state.refreshTimer);
  if (state.ws) { state.ws.onclose = null; state.ws.close(); state.ws = null; }
  Object.assign(state, { access: null, refresh: null, me: null, lastSeq: null });
  sessionStorage.removeItem(KEPT);
  $("desk").hidden = true;
  $("signout").hidden = true;
  $("login").hidden = false;
  $("who").textContent = "";
  notice(why || "");
}

async function logout() {
  const refresh = state.refresh;
  signedOut("");
  if (refresh) await api("POST", "/api/v1/auth/logout", { refresh_token: refresh }).catch(() => {});
}

// -- the seat -------------------------------------------------------------------------------

async function loadPauseCodes() {
  const codes = await api("GET", "/api/v1/me/seat/pause-codes");
  $("pause-code").replaceChildren(...codes.map((c) => {
    const o = document.createElement("option");
    o.value = c.code;
    o.textContent = `${c.label} (${c.code}, ${Math.round(c.limit_s / 60)} min)`;
    return o;
  }));
}

function showSeat(s) {
  let text = s.state;
  if (s.reason) text += ` · ${s.reason_label || s.reason}`;
  if (s.pending) text += ` · 等待确认 pending ${s.pending}`;
  if (s.overdue) text += " · 超时 overdue";
  $("seat-state").textContent = text;
}

async function refreshSeat() { showSeat(await api("GET", "/api/v1/me/seat")); }

async function seatAction(path, body) {
  notice("");
  try {
    showSeat(await api("POST", `/api/v1/me/seat/${path}`, body ?? {}));
  } catch (e) {
    notice(`座席操作失败 Seat: ${e.message}`);
  }
}

// -- the live stream ------------------------------------------------------------------------

function openStream() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const after = state.lastSeq === null ? "" : `?after=${state.lastSeq}`;
  const ws = new WebSocket(`${scheme}://${location.host}/api/v1/me/stream${after}`,
    ["bearer", state.access]);
  state.ws = ws;
  ws.onopen = () => { state.retry = 0; $("stream-state").textContent = "· 在线 live"; };
  ws.onmessage = (m) => received(JSON.parse(m.data));
  ws.onclose = async (e) => {
    $("stream-state").textContent = `· 断开 disconnected (${e.code})`;
    if (state.ws !== ws || !state.me) return;
    if (e.code === 4403) { notice(e.reason); return; }
    if (e.code === 4401 && !(await refreshTokens())) return;
    state.retry = Math.min(state.retry + 1, 5);
    setTimeout(() => { if (state.me) openStream(); }, 500 * 2 ** state.retry);
  };
}

function logEvent(msg) {
  const li = document.createElement("li");
  li.textContent = `#${msg.seq} ${msg.kind} ${msg.call || msg.state || msg.reason || ""}`;
  $("events").prepend(li);
  while ($("events").children.length > 50) $("events").lastChild.remove();
}

function received(msg) {
  state.lastSeq = msg.seq;
  keep();
  logEvent(msg);
  switch (msg.kind) {
    case "snapshot":
      $("phone-state").textContent = msg.state;
      refreshSeat().catch(() => {});
      showPop(msg.call);
      break;
    case "seat_state":
      $("phone-state").textContent = msg.state;
      refreshSeat().catch(() => {});
      break;
    case "connected":
      showPop(msg);
      break;
    case "ended":
      if (state.call && state.call.call === msg.call) {
        $("pop-empty").textContent = `通话结束 Call ended (${Math.round(msg.talk_s)} s)`;
        $("pop-empty").hidden = false;
        setTimeout(() => recordHelpedWhenTicketed(msg.call, 10), 1000);
      }
      break;
    case "pause_limit":
      notice(`示忙超时 Pause over its limit: ${msg.reason}`);
      break;
    case "draft_incomplete":
      notice(`工单未在时限内提交 Draft left incomplete: ${msg.call}`);
      break;
    default:
      break;
  }
}

// -- the call and its screen pop ------------------------------------------------------------

function showPop(pop) {
  const empty = !pop;
  $("pop-details").hidden = empty;
  $("pop-empty").hidden = !empty;
  $("pop-empty").textContent = "无通话 No call";
  if (empty) return;
  if (!state.call || state.call.call !== pop.call) startDraft(pop);
  state.call = pop;
  $("pop-caller").textContent = pop.caller || "未显示 withheld";
  $("pop-name").textContent = pop.caller_name || "—";
  const repeat = $("pop-repeat");
  repeat.textContent = pop.repeat_caller ? "是 yes" : (pop.repeat_caller === false ? "否 no" : "—");
  repeat.className = pop.repeat_caller ? "repeat" : "";
  $("pop-waited").textContent = `${pop.waited_s} s`;
  $("pop-queue").textContent = pop.queue;
  const ivr = pop.ivr;
  $("pop-ivr").textContent = ivr
    ? [ivr.menu, ivr.language, ivr.district, ivr.kind, ivr.queue].filter(Boolean).join(" › ")
    : "未经语音导航 not through the IVR";
  $("pop-call").textContent = `${pop.call} (Linkedid ${pop.linkedid})`;
  $("pop-tickets").replaceChildren(...(pop.earlier_tickets || []).map((t) => {
    const li = document.createElement("li");
    li.textContent = `${t.number} · ${t.kind} · ${t.status} · ${(t.at || "").slice(0, 10)}`;
    return li;
  }));
}

function startDraft(pop) {
  $("ticket").reset();
  state.submitKey = null;
  $("ticket-call").textContent = pop.call;
  $("ticket-fields").disabled = !pop.draft;
  $("ticket-status").textContent = pop.draft ? "草稿已建立 Draft open" : "";
}

async function callControl(path, body) {
  notice("");
  try {
    await api("POST", `/api/v1/me/call/${path}`, body);
  } catch (e) {
    notice(`通话操作失败 Call: ${e.message}`);
  }
}

function transfer() {
  const queue = $("transfer-queue").value.trim();
  const number = $("transfer-number").value.trim();
  if (!queue === !number) { notice("转接：填队列或号码之一 Transfer: a queue or a number"); return; }
  callControl("transfer", queue ? { queue } : { number });
}

// -- the ticket -----------------------------------------------------------------------------

function fields() {
  const v = (id) => $(id).value.trim() || null;
  const answered = $("outcome-answered").checked;
  return {
    kind: v("kind"), district: v("district"), address: v("address"),
    description: v("description"), answer: answered ? v("answer") : null,
  };
}

function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs https
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function saveDraft() {
  if (!state.call) return;
  try {
    await api("PATCH", `/api/v1/me/drafts/${encodeURIComponent(state.call.call)}`, fields());
    $("ticket-status").textContent = "草稿已保存 Draft saved";
  } catch (e) {
    $("ticket-status").textContent = `保存失败 Not saved: ${e.message}`;
  }
}

async function submitDraft(event) {
  event.preventDefault();
  if (!state.call) return;
  const body = fields();
  if ($("outcome-answered").checked && !body.answer) {
    $("ticket-status").textContent = "即时答复需填写答复内容 An answer is needed";
    $("answer").focus();
    return;
  }
  const call = state.call.call;
  const asJson = JSON.stringify(body);
  if (!state.submitKey || state.submitKey.body !== asJson) {
    state.submitKey = { key: randomKey(), body: asJson };
  }
  try {
    const d = await api("POST", `/api/v1/me/drafts/${encodeURIComponent(call)}/submit`, body,
      { "Idempotency-Key": state.submitKey.key });
    $("ticket-status").textContent =
      `已提交 Submitted: ${d.kind}, ${d.resolved_on_call ? "即时答复 answered" : "转办 routed"}` +
      (d.ticket ? ` · 工单 ticket ${d.ticket}` : "");
    $("ticket-fields").disabled = true;
    if (d.ticket) state.draftTicket[call] = d.ticket;
    recordHelpedWhenTicketed(call, 0);
  } catch (e) {
    $("ticket-status").textContent = `提交失败 Not submitted: ${e.message}`;
  }
}

// -- the knowledge base ---------------------------------------------------------------------

async function search(event) {
  event.preventDefault();
  const q = $("kb-q").value.trim();
  if (!q) return;
  try {
    const hits = await api("GET", `/api/v1/knowledge/search?q=${encodeURIComponent(q)}`);
    $("kb-hits").replaceChildren(...hits.map(hitItem));
    if (!hits.length) $("kb-hits").textContent = "没有找到 Nothing found";
  } catch (e) {
    notice(`搜索失败 Search: ${e.message}`);
  }
}

function hitItem(h) {
  const li = document.createElement("li");
  const open = document.createElement("button");
  open.type = "button";
  open.textContent = h.title;
  open.addEventListener("click", () => showArticle(h.id));
  const helped = document.createElement("button");
  helped.type = "button";
  helped.textContent = "有帮助 This helped";
  helped.setAttribute("aria-label", `有帮助 This helped: ${h.title}`);
  helped.addEventListener("click", () => thisHelped(h, helped));
  const about = document.createElement("p");
  about.textContent = `${h.department} · ${h.snippet}`;
  li.append(open, " ", helped, about);
  return li;
}

async function showArticle(id) {
  const a = await api("GET", `/api/v1/knowledge/articles/${id}`);
  const box = $("kb-article");
  const h = document.createElement("h3");
  h.textContent = a.title;
  const body = document.createElement("p");
  body.textContent = a.body;
  box.replaceChildren(h, body);
  box.hidden = false;
}

function thisHelped(hit, button) {
  if (!state.call) { notice("没有通话 No call to record it on"); return; }
  const call = state.call.call;
  const list = (state.helped[call] ||= []);
  if (!list.includes(hit.id)) list.push(hit.id);
  keep();
  button.disabled = true;
  button.textContent = "已记录 Noted";
  recordHelpedWhenTicketed(call, 0);
}

// The call's ticket is written when the call ends; its draft then says its number.
async function recordHelpedWhenTicketed(call, tries) {
  const pending = state.helped[call] || [];
  if (!pending.length) return;
  let ticket = state.draftTicket[call];
  if (!ticket) {
    try {
      ticket = (await api("GET", `/api/v1/me/drafts/${encodeURIComponent(call)}`)).ticket;
    } catch { ticket = null; }
  }
  if (!ticket) {
    if (tries > 0) setTimeout(() => recordHelpedWhenTicketed(call, tries - 1), 2000);
    return;
  }
  state.draftTicket[call] = ticket;
  for (const id of [...pending]) {
    try {
      await api("POST", `/api/v1/knowledge/articles/${id}/helpful`, { ticket });
      pending.splice(pending.indexOf(id), 1);
    } catch (e) {
      notice(`记录失败 Not recorded: ${e.message}`);
    }
  }
  keep();
}

// -- start ----------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", signIn);
  $("signout").addEventListener("click", logout);
  $("seat-sign-in").addEventListener("click", () => seatAction("sign-in"));
  $("seat-ready").addEventListener("click", () => seatAction("ready"));
  $("seat-pause").addEventListener("click", () => seatAction("pause", { code: $("pause-code").value }));
  $("seat-sign-out").addEventListener("click", () => seatAction("sign-out"));
  $("transfer").addEventListener("click", transfer);
  $("hangup").addEventListener("click", () => callControl("hangup"));
  $("save").addEventListener("click", saveDraft);
  $("ticket").addEventListener("submit", submitDraft);
  $("kb-search").addEventListener("submit", search);
  const kept = JSON.parse(sessionStorage.getItem(KEPT) || "null");
  if (kept && kept.refresh) { // a reload: the refresh token signs in again, the stream resumes
    Object.assign(state, { refresh: kept.refresh, lastSeq: kept.lastSeq, helped: kept.helped || {} });
    refreshTokens().then((ok) => ok && started()).catch((e) => notice(e.message));
  }
});
