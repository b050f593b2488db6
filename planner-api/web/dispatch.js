// The dispatcher's pages: the day's orders (search, add, cancel), the plan with its map and
// timeline, events that replan it (previewed as a diff before they are accepted) and live updates
// of the plan from other dispatchers and the drivers. Loaded by app.js for every role but drivers.

import { all, api, clockNow, follow, h, notice, onLeave, route, show, today } from "./app.js";
import { t } from "./i18n.js";
import { PALETTE, drawMap, drawTimeline, towns } from "./map.js";

function cylindersText(cylinders) {
  return cylinders.map((c) => t("kg", { size: c.size_kg, quantity: c.quantity })).join("、");
}

function windowText(o) {
  if (o.time_window) return `${o.time_window.start}–${o.time_window.end}`;
  return t(o.preference ?? "anytime");
}

export async function dayView({ date = today(), flash = null } = {}) {
  show(h("p", { class: "muted" }, t("loading")));
  let orders;
  let customers;
  try {
    [orders, customers] = await Promise.all([all(`/v1/orders?date=${date}`), all("/v1/customers")]);
  } catch (err) {
    if (err.status === 401) return;
    show(notice(t("error", { reason: err.message }), "error"), h("button", { type: "button", onclick: () => dayView({ date }) }, t("retry")));
    return;
  }
  const byId = new Map(customers.map((c) => [c.id, c]));
  const status = h("div", { "aria-live": "polite" }, flash ? notice(flash) : null);
  const query = h("input", { type: "search", id: "search", placeholder: t("search"), "aria-label": t("search") });
  const count = h("p", { class: "muted", id: "shown" });
  const body = h("tbody");
  const picker = h("input", {
    type: "date",
    id: "date",
    value: date,
    "aria-label": t("day"),
    onchange: (e) => {
      if (e.target.value) route("day", { date: e.target.value });
    },
  });

  // The status cells, refreshed when the plan changes (a driver's report, another dispatcher).
  const statusCells = new Map();
  const refreshOrders = async () => {
    const fresh = await all(`/v1/orders?date=${date}`);
    for (const o of fresh) {
      const cell = statusCells.get(o.id);
      if (cell) {
        cell.className = `status ${o.status}`;
        cell.textContent = t(`status.${o.status}`);
      }
    }
    return fresh;
  };
  const rows = orders
    .sort((a, b) => a.id - b.id)
    .map((o) => {
      const c = byId.get(o.customer_id) ?? { name: `#${o.customer_id}`, phone: "", address: "" };
      const haystack = `${c.name} ${c.phone ?? ""} ${c.address} ${c.code ?? ""}`.toLowerCase();
      const cancel =
        ["received", "planned"].includes(o.status) &&
        h(
          "button",
          {
            type: "button",
            class: "danger",
            "data-order": o.id,
            onclick: async (e) => {
              if (!confirm(t("confirmCancel", { customer: c.name }))) return;
              e.target.disabled = true;
              try {
                await api(`/v1/orders/${o.id}/status`, { method: "POST", body: { status: "cancelled" } });
                const search = query.value;
                await dayView({ date, flash: t("cancelled", { customer: c.name }) });
                const again = document.getElementById("search");
                if (again && search) {
                  again.value = search;
                  again.dispatchEvent(new Event("input"));
                }
              } catch (err) {
                e.target.disabled = false;
                status.replaceChildren(notice(t("error", { reason: err.message }), "error"));
              }
            },
          },
          t("cancel"),
        );
      const statusCell = h("td", { class: `status ${o.status}` }, t(`status.${o.status}`));
      statusCells.set(o.id, statusCell);
      const tr = h(
        "tr",
        { "data-order": o.id, class: o.priority === "urgent" ? "urgent" : null },
        h("td", {}, c.name, h("div", { class: "muted small" }, c.address)),
        h("td", {}, c.phone ? h("a", { href: `tel:${c.phone}` }, c.phone) : ""),
        h("td", {}, cylindersText(o.cylinders)),
        h("td", {}, windowText(o)),
        h("td", {}, t(o.priority === "urgent" ? "urgent" : "normal")),
        statusCell,
        h("td", {}, cancel || ""),
      );
      return { tr, haystack };
    });

  const filter = () => {
    const q = query.value.trim().toLowerCase();
    const shown = rows.filter((r) => !q || r.haystack.includes(q));
    body.replaceChildren(...shown.map((r) => r.tr));
    count.textContent = t("shown", { shown: shown.length, count: rows.length });
  };
  query.addEventListener("input", filter);
  filter();

  show(
    h(
      "section",
      { class: "day" },
      h("div", { class: "toolbar" }, h("h1", { id: "title" }, t("ordersOfDay", { date, count: orders.length })), picker, query),
      status,
      newOrderForm(date),
      orders.length === 0
        ? h("p", { class: "muted" }, t("noOrders"))
        : h(
            "div",
            { class: "scroll" },
            h(
              "table",
              { class: "orders" },
              h(
                "thead",
                {},
                h("tr", {}, ...["customer", "phone", "cylinders", "window", "priority", "status", "actions"].map((k) => h("th", { scope: "col" }, t(k)))),
              ),
              body,
            ),
          ),
      count,
    ),
    planSection(date, orders, byId, refreshOrders),
  );
}

// --- a new order ----------------------------------------------------------------------------

// Finds a customer by name, code, address or phone (server-side search), then takes the order:
// cylinders, morning or afternoon, urgency and a note; the day reloads with the new order.
function newOrderForm(date) {
  const results = h("ul", { class: "results", id: "customer-results", "aria-live": "polite" });
  const said = h("div", { "aria-live": "polite" });
  const chosen = h("p", { class: "chosen", id: "chosen" });
  let customer = null;
  let searching = 0;
  const find = h("input", { type: "search", id: "customer-search", placeholder: t("findCustomer"), "aria-label": t("findCustomer"), autocomplete: "off" });
  find.addEventListener("input", async () => {
    const q = find.value.trim();
    const mine = ++searching;
    if (q.length < 1) return results.replaceChildren();
    try {
      const page = await api(`/v1/customers?q=${encodeURIComponent(q)}&limit=10`);
      if (mine !== searching) return;
      results.replaceChildren(
        ...(page.items.length
          ? page.items.map((c) =>
              h(
                "li",
                {},
                h(
                  "button",
                  {
                    type: "button",
                    class: "pick",
                    "data-customer": c.id,
                    onclick: () => {
                      customer = c;
                      chosen.replaceChildren(t("orderFor", { name: c.name }), h("span", { class: "muted small" }, ` ${c.code} ${c.phone ?? ""} ${c.address}`));
                      results.replaceChildren();
                      const usual = c.usual_cylinders?.[0];
                      if (usual) {
                        size.value = String(usual.size_kg);
                        quantity.value = String(usual.quantity);
                      }
                      size.focus();
                    },
                  },
                  `${c.name}（${c.code}）${c.phone ?? ""} ${c.address}`,
                ),
              ),
            )
          : [h("li", { class: "muted" }, t("noCustomer"))]),
      );
    } catch (err) {
      if (err.status !== 401) results.replaceChildren(h("li", {}, notice(t("error", { reason: err.message }), "error")));
    }
  });
  const size = h("select", { id: "size", "aria-label": t("size") }, ...[4, 10, 16, 20, 50].map((kg) => h("option", { value: kg, selected: kg === 20 }, t("kgOnly", { size: kg }))));
  const quantity = h("input", { type: "number", id: "quantity", min: 1, max: 50, value: 1, "aria-label": t("quantity") });
  const preference = h("select", { id: "preference", "aria-label": t("window") }, h("option", { value: "" }, t("anytime")), h("option", { value: "morning" }, t("morning")), h("option", { value: "afternoon" }, t("afternoon")));
  const urgent = h("input", { type: "checkbox", id: "urgent" });
  const note = h("input", { type: "text", id: "note", maxlength: 200, placeholder: t("note"), "aria-label": t("note") });
  const form = h(
    "form",
    {
      class: "card new-order",
      onsubmit: async (e) => {
        e.preventDefault();
        if (!customer) {
          said.replaceChildren(notice(t("pickCustomer"), "error"));
          find.focus();
          return;
        }
        const body = {
          customer_id: customer.id,
          delivery_date: date,
          cylinders: [{ size_kg: Number(size.value), quantity: Number(quantity.value) }],
          priority: urgent.checked ? "urgent" : "normal",
          ...(preference.value ? { preference: preference.value } : {}),
          ...(note.value.trim() ? { note: note.value.trim() } : {}),
        };
        try {
          await api("/v1/orders", { method: "POST", body });
          await dayView({ date, flash: t("orderAdded", { name: customer.name }) });
        } catch (err) {
          if (err.status === 401) return;
          const fields = (err.problem?.errors ?? []).map((f) => `${f.field}: ${f.message}`).join("；");
          said.replaceChildren(notice(t("error", { reason: fields || err.message }), "error"));
        }
      },
    },
    h("h2", {}, t("newOrder")),
    find,
    results,
    chosen,
    h("div", { class: "row" }, size, quantity, preference, h("label", { class: "check" }, urgent, ` ${t("urgent")}`), note, h("button", { type: "submit", id: "add-order" }, t("addOrder"))),
    said,
  );
  return h("details", { class: "add", id: "new-order" }, h("summary", {}, t("newOrder")), form);
}

// --- the day's plan ----------------------------------------------------------------------------

function stopWindows(stop) {
  return stop.time_windows?.length ? stop.time_windows.map((w) => `${w.start}–${w.end}`).join("、") : t("anytime");
}

function movesText(stop) {
  return stop.cylinders
    .map((c) => [c.deliver ? t("deliverN", { size: c.size_kg, n: c.deliver }) : null, c.collect ? t("collectN", { size: c.size_kg, n: c.collect }) : null].filter(Boolean).join("，"))
    .join("；");
}

// The plan of `date`: the newest that succeeded, or a button that requests one with its progress.
function planSection(date, orders, customers, refreshOrders) {
  const section = h("section", { class: "plan", "aria-labelledby": "plan-title" });
  const render = async () => {
    let jobs = [];
    try {
      jobs = (await all("/v1/plans?status=succeeded")).filter((j) => j.date === date);
    } catch (err) {
      if (err.status !== 401) section.replaceChildren(notice(t("error", { reason: err.message }), "error"));
      return;
    }
    const newest = jobs.sort((a, b) => b.id - a.id)[0];
    const head = h("div", { class: "toolbar" }, h("h2", { id: "plan-title" }, newest ? t("planOf", { id: newest.id }) : t("noPlan")));
    const receivedLeft = orders.filter((o) => o.status === "received" && !o.plan_id).length;
    if (receivedLeft > 0 && !newest) head.append(planButton(date, section, () => dayView({ date })));
    section.replaceChildren(head);
    if (newest) {
      try {
        await planBoard(section, head, newest.id, orders, customers, refreshOrders);
      } catch (err) {
        if (err.status !== 401) section.append(notice(t("error", { reason: err.message }), "error"));
      }
    }
  };
  render();
  return section;
}

function planButton(date, section, done) {
  const seconds = h("select", { id: "time-limit", "aria-label": t("searchTime") }, ...[5, 10, 30, 60].map((n) => h("option", { value: n, selected: n === 10 }, t("seconds", { n }))));
  // Off by default: with a break every route's schedule is computed exactly in the search, which
  // is slower (planner-api/README.md, "Driver breaks").
  const lunch = h("input", { type: "checkbox", id: "lunch" });
  // Taipei's peaks as the planning option's example bands (planner-api/README.md, "rush_hours"),
  // and a fair-day weight that evens the days almost for free (README, "Fair days").
  const rush = h("input", { type: "checkbox", id: "rush-hours" });
  const fair = h("input", { type: "checkbox", id: "fair-days" });
  const button = h(
    "button",
    {
      type: "button",
      id: "plan",
      onclick: async () => {
        button.disabled = true;
        const bar = h("progress", { id: "progress", max: Number(seconds.value), value: 0, "aria-label": t("planning") });
        const said = h("span", { class: "muted", "aria-live": "polite" }, t("planning"));
        section.append(h("div", { class: "progress" }, bar, said));
        try {
          const depots = (await all("/v1/depots")).map((d) => d.id);
          const options = { time_limit_s: Number(seconds.value) };
          if (lunch.checked) options.driver_break = { earliest: "11:30", latest: "13:30", minutes: 30 };
          if (rush.checked) {
            options.rush_hours = [
              { start: "07:30", end: "09:30", speed_percent: 55 },
              { start: "17:00", end: "19:00", speed_percent: 50 },
            ];
          }
          if (fair.checked) options.fair_day_ntd_per_hour_squared = 10;
          const job = await api("/v1/plans", { method: "POST", body: { date, depot_ids: depots, options } });
          for (;;) {
            const now = await api(`/v1/plans/${job.id}`);
            const last = now.progress?.[now.progress.length - 1];
            if (last) {
              bar.value = Math.min(last.elapsed_s, bar.max);
              said.textContent = t("progress", { s: last.elapsed_s.toFixed(1), cost: Math.round(last.best_cost_ntd).toLocaleString() });
            }
            if (now.status === "succeeded") break;
            if (["failed", "cancelled"].includes(now.status)) throw new Error(now.error ?? now.status);
            await new Promise((r) => setTimeout(r, 500));
          }
          bar.value = bar.max;
          await done();
        } catch (err) {
          button.disabled = false;
          said.textContent = t("error", { reason: err.message });
        }
      },
    },
    t("planDay"),
  );
  return h(
    "span",
    { class: "plan-controls" },
    h("label", { class: "check" }, lunch, ` ${t("lunchBreak")}`),
    h("label", { class: "check" }, rush, ` ${t("rushHours")}`),
    h("label", { class: "check" }, fair, ` ${t("fairDays")}`),
    seconds,
    button,
  );
}

// The plan as it stands (its newest version), kept current from the plan's live stream; events
// replan it through a preview: the preview's routes are drawn with what changed marked, and only
// "accept" stores the new version.
async function planBoard(section, head, planId, orders, customers, refreshOrders) {
  let current = await api(`/v1/plans/${planId}/versions/latest`);
  let preview = null; // { body, version, stale }
  let orderById = new Map(orders.map((o) => [o.id, o]));
  const versionTag = h("span", { class: "version", id: "version" });
  head.append(versionTag);
  const live = h("div", { id: "live", "aria-live": "polite" });
  const holder = h("div");
  const name = (id) => {
    for (const v of [preview?.version, current]) {
      for (const r of v?.plan.routes ?? []) for (const trip of r.trips) for (const s of trip.stops) if (s.order_id === id) return s.name;
    }
    return customers.get(orderById.get(id)?.customer_id)?.name ?? `#${id}`;
  };
  const plates = () => new Map([...(preview?.version.plan.routes ?? []), ...current.plan.routes].map((r) => [r.vehicle_id, r.plate]));

  let panel = null;
  const draw = async () => {
    versionTag.textContent = t("versionN", { n: current.version });
    panel?.refresh();
    if (!preview) {
      holder.replaceChildren(await planView(current, { name }));
      return;
    }
    const v = preview.version;
    const plate = plates();
    const p = (id) => plate.get(id) ?? `#${id}`;
    const changes = new Map();
    const ghosts = [];
    const items = [];
    for (const a of v.diff.added) {
      changes.set(a.order_id, "added");
      items.push(h("li", { class: "added", "data-order": a.order_id }, t("diffAdded", { name: name(a.order_id), plate: p(a.vehicle_id), at: a.arrival })));
    }
    for (const m of v.diff.moved) {
      changes.set(m.order_id, "moved");
      ghosts.push({ order_id: m.order_id, vehicle_id: m.from_vehicle_id, arrival: m.from_arrival });
      items.push(h("li", { class: "moved", "data-order": m.order_id }, t("diffMoved", { name: name(m.order_id), from: p(m.from_vehicle_id), fromAt: m.from_arrival, to: p(m.to_vehicle_id), toAt: m.to_arrival })));
    }
    for (const r of v.diff.removed) {
      items.push(h("li", { class: "removed", "data-order": r.order_id }, t("diffRemoved", { name: name(r.order_id), plate: p(r.vehicle_id), reason: reasonText(r.reason) })));
    }
    // Stops only retimed are many after a delay: counted, listed on demand.
    const retimed = v.diff.retimed.map((r) => {
      changes.set(r.order_id, "retimed");
      ghosts.push({ order_id: r.order_id, vehicle_id: r.vehicle_id, arrival: r.from_arrival });
      return h("li", { class: "retimed", "data-order": r.order_id }, t("diffRetimed", { name: name(r.order_id), plate: p(r.vehicle_id), from: r.from_arrival, to: r.to_arrival }));
    });
    if (retimed.length) items.push(h("li", { class: "retimed-all" }, h("details", {}, h("summary", {}, t("retimedN", { n: retimed.length })), h("ul", {}, ...retimed))));
    const said = h("div", { "aria-live": "polite" });
    const accept = h(
      "button",
      {
        type: "button",
        id: "accept",
        class: "primary",
        disabled: preview.stale,
        onclick: async () => {
          accept.disabled = true;
          try {
            current = await api(`/v1/plans/${planId}/events`, { method: "POST", body: preview.body });
            preview = null;
            live.replaceChildren(notice(t("replanned", { n: current.version })));
            orderById = new Map((await refreshOrders()).map((o) => [o.id, o]));
            await draw();
          } catch (err) {
            if (err.status === 409) {
              preview = null;
              current = await api(`/v1/plans/${planId}/versions/latest`);
              live.replaceChildren(notice(t("changedMeanwhile"), "error"));
              await draw();
            } else {
              accept.disabled = false;
              said.replaceChildren(notice(t("error", { reason: problemText(err) }), "error"));
            }
          }
        },
      },
      t("accept"),
    );
    const discard = h(
      "button",
      {
        type: "button",
        id: "discard",
        onclick: async () => {
          preview = null;
          await draw();
        },
      },
      t("discard"),
    );
    holder.replaceChildren(
      h(
        "div",
        { class: "preview", id: "preview", role: "region", "aria-label": t("previewTitle") },
        h("h3", {}, t("previewTitle")),
        h("p", {}, t("previewCost", { from: current.plan.cost_ntd.toLocaleString(), to: v.plan.cost_ntd.toLocaleString(), unassigned: v.plan.unassigned.length })),
        preview.stale ? notice(t("previewStale"), "error") : null,
        items.length ? h("ul", { class: "diff", id: "diff" }, ...items) : h("p", { class: "muted", id: "diff" }, t("noChange")),
        h("div", { class: "row" }, accept, discard),
        said,
      ),
      await planView(v, { name, changes, ghosts }),
    );
    accept.focus();
  };

  panel = eventsPanel({
    vehicles: () => current.plan.routes.map((r) => ({ id: r.vehicle_id, plate: r.plate })),
    orders: () => [...orderById.values()].filter((o) => o.status === "received" && !o.plan_id),
    name,
    onPreview: async (body) => {
      const version = await api(`/v1/plans/${planId}/preview`, { method: "POST", body: { ...body, base_version: current.version } });
      preview = { body: { ...body, base_version: current.version }, version, stale: false };
      await draw();
    },
  });
  section.append(live, panel, holder);
  await draw();

  // Live: every new version (a driver's report, another dispatcher's replan) redraws the plan; a
  // preview open meanwhile can no longer be accepted (it was based on the older version).
  const stop = new AbortController();
  onLeave(() => stop.abort());
  follow(
    `/v1/plans/${planId}/live`,
    async (event, v) => {
      if (event !== "version" || !v || v.version <= current.version) return;
      current = v;
      live.replaceChildren(notice(t("liveUpdate", { n: v.version, who: v.created_by })));
      if (preview) preview.stale = true;
      try {
        orderById = new Map((await refreshOrders()).map((o) => [o.id, o]));
      } catch {
        // the table stays as it was; the plan is redrawn anyway
      }
      await draw();
    },
    stop.signal,
  );
}

function problemText(err) {
  const fields = (err.problem?.errors ?? []).map((f) => `${f.field}: ${f.message}`).join("；");
  return fields || err.message;
}

function reasonText(reason) {
  const key = `reason.${reason}`;
  return t(key) === key ? reason : t(key);
}

// What happened, as the dispatcher tells it: an urgent order to fit in, a vehicle held up, a
// vehicle broken down. "Preview" asks the server what the replan would make.
function eventsPanel({ vehicles, orders, name, onPreview }) {
  const kind = h(
    "select",
    { id: "event-kind", "aria-label": t("eventKind") },
    h("option", { value: "order_added" }, t("event.order_added")),
    h("option", { value: "vehicle_delayed" }, t("event.vehicle_delayed")),
    h("option", { value: "vehicle_unavailable" }, t("event.vehicle_unavailable")),
  );
  const order = h("select", { id: "event-order", "aria-label": t("eventOrder") });
  const vehicle = h("select", { id: "event-vehicle", "aria-label": t("vehicle") });
  const minutes = h("input", { id: "event-minutes", type: "number", min: 1, max: 600, value: 30, "aria-label": t("delayMinutes") });
  const at = h("input", { id: "event-at", type: "time", value: clockNow().slice(0, 5), "aria-label": t("eventAt") });
  const said = h("div", { "aria-live": "polite" });
  const fill = () => {
    const was = { order: order.value, vehicle: vehicle.value };
    const open = orders().sort((a, b) => (a.priority === "urgent" ? 0 : 1) - (b.priority === "urgent" ? 0 : 1) || b.id - a.id);
    const label = (o) => `${name(o.id)}（#${o.id}${o.priority === "urgent" ? `，${t("urgent")}` : ""}）${o.note ? ` ${o.note}` : ""}`;
    order.replaceChildren(...(open.length ? open.map((o) => h("option", { value: o.id }, label(o))) : [h("option", { value: "" }, t("noOpenOrders"))]));
    vehicle.replaceChildren(...vehicles().map((v) => h("option", { value: v.id }, v.plate)));
    // What the dispatcher had chosen stays chosen while it is still offered.
    for (const [select, value] of [[order, was.order], [vehicle, was.vehicle]]) {
      if (value && [...select.options].some((o) => o.value === value)) select.value = value;
    }
    const k = kind.value;
    order.hidden = k !== "order_added";
    vehicle.hidden = k === "order_added";
    minutes.hidden = k !== "vehicle_delayed";
  };
  kind.addEventListener("change", fill);
  const form = h(
    "form",
    {
      class: "card events",
      id: "events",
      onsubmit: async (e) => {
        e.preventDefault();
        said.replaceChildren();
        const k = kind.value;
        const event = { type: k };
        if (k === "order_added") {
          if (!order.value) return said.replaceChildren(notice(t("noOpenOrders"), "error"));
          event.order_id = Number(order.value);
        } else {
          event.vehicle_id = Number(vehicle.value);
          if (k === "vehicle_delayed") event.minutes = Number(minutes.value);
        }
        const button = form.querySelector("button[type=submit]");
        button.disabled = true;
        try {
          await onPreview({ at: at.value, events: [event] });
        } catch (err) {
          if (err.status !== 401) said.replaceChildren(notice(t("error", { reason: problemText(err) }), "error"));
        } finally {
          button.disabled = false;
        }
      },
    },
    h("h3", {}, t("events")),
    h("div", { class: "row" }, kind, order, vehicle, minutes, h("label", { class: "check" }, t("eventAt"), at), h("button", { type: "submit", id: "preview-replan" }, t("previewReplan"))),
    said,
  );
  fill();
  const panel = h("details", { class: "add", id: "events-panel" }, h("summary", {}, t("events")), form);
  // The orders and vehicles offered follow the plan.
  panel.refresh = fill;
  return panel;
}

// A version's routes: the map (numbered stops, popups), the legend, the timeline, the orders left
// out. `changes` (order id → added/moved/retimed) and `ghosts` (where changed stops were) mark a
// preview's diff.
async function planView(version, { name, changes = new Map(), ghosts = [] }) {
  const plan = version.plan;
  const geo = await towns();
  const depots = plan.depots;
  const depotById = new Map(depots.map((d) => [d.id, d]));
  const routes = plan.routes.map((r, i) => {
    const stops = r.trips.flatMap((trip) => trip.stops);
    const path = [];
    for (const trip of r.trips) {
      path.push(depotById.get(trip.depot_id) ?? {});
      path.push(...trip.stops);
    }
    path.push(depotById.get(r.depot_id) ?? {});
    return { route: r, colour: PALETTE[i % PALETTE.length], stops, path };
  });
  const popup = h("div", { class: "popup", role: "dialog", "aria-modal": "false", hidden: true, id: "popup" });
  const holder = h("div", { class: "map-holder" });
  const close = () => {
    popup.hidden = true;
  };
  drawMap(holder, {
    geo,
    depots,
    routes,
    changes,
    onStop: (stop, r, el) => {
      popup.replaceChildren(
        h("button", { type: "button", class: "link close", "aria-label": t("close"), onclick: close }, "×"),
        h("h3", {}, `${r.stops.indexOf(stop) + 1}. ${stop.name}`),
        h("p", { class: "muted small" }, stop.address, stop.address_index ? t("altAddress") : ""),
        h(
          "dl",
          {},
          h("dt", {}, t("cylinders")),
          h("dd", {}, movesText(stop)),
          h("dt", {}, t("window")),
          h("dd", {}, stopWindows(stop)),
          h("dt", {}, t(stop.status === "planned" || !stop.status ? "arrival" : "reportedAt")),
          h("dd", { class: "arrival" }, stop.arrival),
          stop.waiting_s > 0 ? h("dt", {}, t("waiting")) : null,
          stop.waiting_s > 0 ? h("dd", { class: "waiting" }, t("waitingMin", { n: Math.round(stop.waiting_s / 60) })) : null,
          h("dt", {}, t("status")),
          h("dd", { class: `stop-status ${stop.status ?? "planned"}` }, t(`stop.${stop.status ?? "planned"}`)),
          h("dt", {}, t("vehicle")),
          h("dd", {}, r.route.plate),
        ),
      );
      popup.hidden = false;
      popup.querySelector("button").focus();
      el.dispatchEvent(new Event("opened"));
    },
  });
  popup.addEventListener("keydown", (e) => {
    if (e.key === "Escape") close();
  });
  const legend = h(
    "ul",
    { class: "legend" },
    ...routes.map((r) => {
      const done = r.stops.filter((s) => s.status === "done" || s.status === "failed").length;
      return h(
        "li",
        { "data-vehicle": r.route.vehicle_id },
        swatch(r.colour),
        ` ${r.route.plate}${r.route.driver_name ? `（${r.route.driver_name}）` : ""}: ${t("routeSummary", { stops: r.stops.length, km: (r.route.distance_m / 1000).toFixed(1), start: r.route.start, end: r.route.end })}`,
        done ? h("span", { class: "done-count" }, ` ${t("doneOf", { done, stops: r.stops.length })}`) : null,
      );
    }),
  );
  const unassigned = plan.unassigned.length
    ? h(
        "div",
        { class: "unassigned" },
        h("h3", {}, t("unassigned", { n: plan.unassigned.length })),
        h("ul", {}, ...plan.unassigned.map((u) => h("li", { "data-order": u.order_id }, `${name(u.order_id)}：${reasonText(u.reason)}`))),
      )
    : null;
  const timeline = h("div", { class: "timeline-holder" });
  drawTimeline(timeline, routes, { changes, ghosts });
  performance.mark("luckygas:plan-drawn");
  return h(
    "div",
    { class: "plan-view" },
    h("p", { class: "muted" }, t("planCost", { cost: plan.cost_ntd.toLocaleString(), routes: plan.routes.length })),
    h("div", { class: "map-wrap" }, holder, popup),
    legend,
    h("h3", {}, t("timeline")),
    timeline,
    unassigned,
    h("p", { class: "attribution small muted" }, t("attribution")),
  );
}

function swatch(colour) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", "14");
  svg.setAttribute("height", "14");
  svg.setAttribute("aria-hidden", "true");
  const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
  for (const [k, v] of Object.entries({ width: 14, height: 14, rx: 3, fill: colour })) rect.setAttribute(k, String(v));
  svg.append(rect);
  return svg;
}
