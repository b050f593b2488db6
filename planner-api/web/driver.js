// The driver's phone view: their route of the day in order, each stop with its address, phone
// (tap to call), cylinders, note and a link that opens the phone's maps app; arrive, deliver
// (with what was collected), fail with a reason.
//
// Offline first: every action is put in an outbox kept in localStorage and sent from there, one
// at a time and in the order taken, whenever the connection allows. Each action carries its own
// id, made on the phone, as its `Idempotency-Key`: a resend after a lost answer is recognised by
// the server and answered again without acting twice. The screen shows the stops as the driver
// left them and says what is still waiting to be sent.

import { api, clockNow, h, notice, onLeave, session, show, today } from "./app.js";
import { t } from "./i18n.js";

const DAY = "luckygas.driver.day";
const OUTBOX = "luckygas.driver.outbox";
const REFUSED = "luckygas.driver.refused";
const RETRY_MS = 5000;

// Per signed-in user, so two drivers sharing a phone never send each other's actions.
const key = (name) => `${name}:${session()?.email ?? ""}`;
const load = (name, fallback) => {
  try {
    return JSON.parse(localStorage.getItem(key(name)) ?? "null") ?? fallback;
  } catch {
    return fallback;
  }
};
const keep = (name, value) => localStorage.setItem(key(name), JSON.stringify(value));

// An id nobody else makes: 128 random bits (crypto.getRandomValues works outside secure contexts too).
function actionId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `act-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

// The stop's status as the phone knows it: what the server said, then the driver's own actions
// not yet confirmed.
function localStatus(stop, outbox) {
  let status = stop.status ?? "planned";
  for (const a of outbox) {
    if (a.order_id !== stop.order_id) continue;
    if (a.kind === "arrive" && status === "planned") status = "in_progress";
    if (a.kind === "deliver") status = "done";
    if (a.kind === "fail") status = "failed";
  }
  return status;
}

function mapsLink(stop) {
  // Opens the phone's maps app (Android and iOS hand this address to it) at the coordinates.
  return `https://www.google.com/maps/search/?api=1&query=${stop.lat.toFixed(6)},${stop.lon.toFixed(6)}`;
}

function movesText(stop) {
  return stop.cylinders
    .map((c) => [c.deliver ? t("deliverN", { size: c.size_kg, n: c.deliver }) : null, c.collect ? t("collectN", { size: c.size_kg, n: c.collect }) : null].filter(Boolean).join("，"))
    .join("；");
}

export async function driverView({ date = today() } = {}) {
  let day = load(DAY, null);
  if (day && day.date !== date) day = null;
  let outbox = load(OUTBOX, []);
  let refused = load(REFUSED, []);
  let sending = false;
  let timer = null;

  const sync = h("p", { class: "sync", id: "sync", role: "status", "aria-live": "polite" });
  const list = h("ol", { class: "stops", id: "stops" });
  const problems = h("div", { id: "refused", "aria-live": "polite" });
  const title = h("h1", { id: "title" }, t("myRoute", { date }));
  const reload = h("button", { type: "button", id: "reload", class: "link", onclick: () => fetchDay() }, t("reloadRoute"));
  const page = h("section", { class: "driver" }, h("div", { class: "toolbar" }, title, reload), sync, problems, list);
  show(page);

  const drawSync = () => {
    const waiting = outbox.length;
    const online = navigator.onLine;
    sync.className = `sync ${waiting ? "waiting" : "sent"} ${online ? "online" : "offline"}`;
    sync.replaceChildren(
      online ? "" : h("strong", {}, `${t("offlineNow")}　`),
      waiting ? t("waitingToSend", { n: waiting }) : t("allSent"),
    );
    sync.dataset.waiting = String(waiting);
    problems.replaceChildren(
      ...refused.map((r) =>
        notice(
          t("actionRefused", { name: r.name, action: t(`action.${r.kind}`), reason: r.reason }),
          "error",
        ),
      ),
    );
  };

  const drawStops = () => {
    if (!day) {
      list.replaceChildren(h("li", { class: "muted" }, t("loading")));
      return;
    }
    if (!day.routes.some((r) => r.trips.some((trip) => trip.stops.length > 0))) {
      list.replaceChildren(h("li", { class: "muted", id: "no-route" }, t("noRouteToday")));
      return;
    }
    // The stops in order, each break where the plan puts it (after so many stops of a trip).
    const items = [];
    let n = 0;
    for (const route of day.routes) {
      route.trips.forEach((trip, k) => {
        const rest = (after) => (route.breaks ?? []).filter((b) => b.trip === k && b.after === after).map((b) => h("li", { class: "break" }, t("breakAt", { start: b.start, end: b.end })));
        items.push(...rest(0));
        trip.stops.forEach((stop, i) => {
          items.push(stopItem(stop, route, ++n));
          items.push(...rest(i + 1));
        });
      });
    }
    list.replaceChildren(...items);
  };

  const stopItem = (stop, route, n) => {
    const status = localStatus(stop, outbox);
    const pending = outbox.some((a) => a.order_id === stop.order_id);
    const actions = h("div", { class: "actions" });
    const form = h("div", { class: "report" });
    const windows = stop.time_windows?.length ? stop.time_windows.map((w) => `${w.start}–${w.end}`).join("、") : t("anytime");
    if (status === "planned") {
      actions.append(h("button", { type: "button", class: "arrive", onclick: () => act("arrive", stop) }, t("action.arrive")));
    }
    if (status === "planned" || status === "in_progress") {
      actions.append(
        h("button", { type: "button", class: "deliver primary", onclick: () => deliverForm(form, stop) }, t("action.deliver")),
        h("button", { type: "button", class: "fail danger", onclick: () => failForm(form, stop) }, t("action.fail")),
      );
    }
    return h(
      "li",
      { class: `stop ${status}${pending ? " pending" : ""}`, "data-order": stop.order_id, "data-status": status },
      h("div", { class: "head" }, h("span", { class: "n" }, String(n)), h("strong", {}, stop.name), h("span", { class: "at" }, stop.arrival)),
      h("div", { class: "muted small" }, `${route.plate}　${t("window")} ${windows}`),
      h("div", { class: "address" }, stop.address, stop.address_index ? h("span", { class: "muted small" }, t("altAddress")) : ""),
      h(
        "div",
        { class: "links" },
        stop.phone ? h("a", { href: `tel:${stop.phone.replace(/[^0-9+]/g, "")}`, class: "call" }, t("call", { phone: stop.phone })) : null,
        h("a", { href: mapsLink(stop), class: "maps", target: "_blank", rel: "noopener" }, t("openMaps")),
      ),
      h("div", { class: "cylinders" }, movesText(stop)),
      stop.note ? h("div", { class: "note" }, `${t("note")}：${stop.note}`) : null,
      h("div", { class: "state" }, t(`stop.${status}`), pending ? h("span", { class: "badge" }, t("notSentYet")) : null),
      actions,
      form,
    );
  };

  // Delivered, with what was collected: how it is paid, the cash taken, the cylinders lent and
  // the empties returned per size (prefilled from the plan).
  const deliverForm = (holder, stop) => {
    const method = h(
      "select",
      { class: "method", "aria-label": t("payment") },
      ...["cash", "monthly", "transfer"].map((m) => h("option", { value: m }, t(`pay.${m}`))),
    );
    const cash = h("input", { type: "number", class: "cash", inputmode: "numeric", min: -100000, max: 1000000, value: 0, "aria-label": t("cashTaken") });
    const sizes = stop.cylinders.map((c) => ({
      kg: c.size_kg,
      lent: h("input", { type: "number", class: "lent", inputmode: "numeric", min: 0, max: 99, value: 0, "aria-label": t("lentN", { size: c.size_kg }) }),
      returned: h("input", { type: "number", class: "returned", inputmode: "numeric", min: 0, max: 99, value: c.collect, "aria-label": t("returnedN", { size: c.size_kg }) }),
    }));
    holder.replaceChildren(
      h(
        "form",
        {
          class: "card",
          onsubmit: (e) => {
            e.preventDefault();
            const cylinders = sizes
              .map((s) => ({ kg: s.kg, lent: Number(s.lent.value) || 0, returned: Number(s.returned.value) || 0 }))
              .filter((c) => c.lent || c.returned);
            const collection = { method: method.value, cash: method.value === "cash" ? Number(cash.value) || 0 : 0, cylinders };
            act("deliver", stop, { collection });
          },
        },
        h("label", {}, t("payment"), method),
        h("label", {}, t("cashTaken"), cash),
        ...sizes.map((s) => h("div", { class: "row" }, h("span", {}, t("kgOnly", { size: s.kg })), h("label", {}, t("lent"), s.lent), h("label", {}, t("returned"), s.returned))),
        h("div", { class: "row" }, h("button", { type: "submit", class: "confirm-deliver" }, t("confirmDeliver")), h("button", { type: "button", onclick: () => holder.replaceChildren() }, t("back"))),
      ),
    );
    holder.querySelector("select").focus();
  };

  const failForm = (holder, stop) => {
    const reason = h(
      "select",
      { class: "reason", "aria-label": t("failReason") },
      ...["not_home", "refused", "no_access", "wrong_address", "other"].map((r) => h("option", { value: r }, t(`fail.${r}`))),
    );
    const note = h("input", { type: "text", class: "fail-note", maxlength: 200, placeholder: t("note"), "aria-label": t("note") });
    holder.replaceChildren(
      h(
        "form",
        {
          class: "card",
          onsubmit: (e) => {
            e.preventDefault();
            const text = [t(`fail.${reason.value}`), note.value.trim()].filter(Boolean).join("：");
            act("fail", stop, { note: text });
          },
        },
        h("label", {}, t("failReason"), reason),
        note,
        h("div", { class: "row" }, h("button", { type: "submit", class: "confirm-fail danger" }, t("confirmFail")), h("button", { type: "button", onclick: () => holder.replaceChildren() }, t("back"))),
      ),
    );
    reason.focus();
  };

  // Takes an action: into the outbox (kept at once), then sent when possible.
  const act = (kind, stop, extra = {}) => {
    outbox.push({ id: actionId(), kind, order_id: stop.order_id, name: stop.name, at: clockNow(), ...extra });
    keep(OUTBOX, outbox);
    drawStops();
    drawSync();
    send();
  };

  const request = (a) => {
    const headers = { "idempotency-key": a.id };
    if (a.kind === "arrive") return api(`/v1/orders/${a.order_id}/arrival`, { method: "POST", body: { at: a.at }, headers });
    const body = { status: a.kind === "deliver" ? "delivered" : "failed", at: a.at };
    if (a.note) body.note = a.note;
    if (a.collection) body.collection = a.collection;
    return api(`/v1/orders/${a.order_id}/status`, { method: "POST", body, headers });
  };

  // Sends the outbox in order, one at a time; stops at the first action that cannot be sent now
  // (offline, the server busy) and tries again later. An action the server refuses (it names why)
  // leaves the outbox and is shown, so it cannot hold up the ones after it.
  const send = async () => {
    if (sending) return;
    sending = true;
    let sentAny = false;
    try {
      while (outbox.length > 0) {
        const a = outbox[0];
        try {
          await request(a);
        } catch (err) {
          const retry = !err.status || err.status === 401 || err.status === 408 || err.status === 409 && err.problem?.type?.endsWith("idempotency-in-flight") || err.status === 429 || err.status >= 500;
          if (retry) break;
          const fields = (err.problem?.errors ?? []).map((f) => f.message).join("；");
          refused.push({ id: a.id, kind: a.kind, name: a.name, reason: fields || err.message });
          keep(REFUSED, refused);
        }
        outbox.shift();
        keep(OUTBOX, outbox);
        sentAny = true;
        drawSync();
      }
    } finally {
      sending = false;
      drawSync();
    }
    if (sentAny && outbox.length === 0) await fetchDay();
  };

  const fetchDay = async () => {
    try {
      const fresh = await api(`/v1/plans/mine?date=${date}`);
      day = fresh;
      keep(DAY, day);
    } catch (err) {
      if (err.status === 401) return;
      if (!day) list.replaceChildren(h("li", {}, notice(t("error", { reason: err.message }), "error")));
    }
    drawStops();
    drawSync();
  };

  const online = () => send();
  const status = () => drawSync();
  window.addEventListener("online", online);
  window.addEventListener("offline", status);
  timer = setInterval(() => {
    if (outbox.length) send();
  }, RETRY_MS);
  onLeave(() => {
    window.removeEventListener("online", online);
    window.removeEventListener("offline", status);
    clearInterval(timer);
  });

  drawStops();
  drawSync();
  await fetchDay();
  if (outbox.length) send();
}
