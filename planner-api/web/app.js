// The dispatcher's console: sign-in and the day's orders. Plain ES modules, no build step; every
// asset is embedded in the `luckygas` binary (planner-api/src/http/web.rs) and served under a
// content security policy without inline scripts or styles, so nothing here writes HTML from
// strings: elements are built with `h()`.

import { lang, setLang, t, translate } from "./i18n.js";
import { PALETTE, drawMap, drawTimeline, towns } from "./map.js";

const SESSION = "luckygas.session";

// --- DOM ---------------------------------------------------------------------------------------

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function show(...nodes) {
  const app = document.getElementById("app");
  app.replaceChildren(...nodes);
}

function notice(text, kind = "info") {
  const el = h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  return el;
}

// --- the API -----------------------------------------------------------------------------------

function session() {
  try {
    return JSON.parse(localStorage.getItem(SESSION) ?? "null");
  } catch {
    return null;
  }
}

function saveSession(s) {
  if (s) localStorage.setItem(SESSION, JSON.stringify(s));
  else localStorage.removeItem(SESSION);
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function refresh(s) {
  const res = await fetch("/v1/auth/refresh", {
    method: "POST",
    headers: { "content-type": "application/json", "accept-language": lang() },
    body: JSON.stringify({ refresh_token: s.refresh_token }),
  });
  if (!res.ok) return null;
  const tokens = await res.json();
  const next = { ...s, ...tokens };
  saveSession(next);
  return next;
}

// `fetch` of the API with the session's token (refreshed once when it has expired) and the
// chosen language for problems; JSON in, JSON out; a problem becomes an `ApiError`.
export async function api(path, { method = "GET", body, headers = {} } = {}) {
  let s = session();
  const send = (tokens) =>
    fetch(path, {
      method,
      headers: {
        accept: "application/json",
        "accept-language": lang(),
        ...(tokens ? { authorization: `Bearer ${tokens.access_token}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  let res = await send(s);
  if (res.status === 401 && s?.refresh_token) {
    s = await refresh(s);
    if (s) res = await send(s);
  }
  if (res.status === 401) {
    saveSession(null);
    route("login", { ended: true });
    throw new ApiError(401, await res.json().catch(() => null));
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// Every page of a keyset-paged list.
async function all(path) {
  const out = [];
  let after = "";
  for (;;) {
    const sep = path.includes("?") ? "&" : "?";
    const page = await api(`${path}${sep}limit=200&after=${encodeURIComponent(after)}`);
    out.push(...page.items);
    if (!page.next) return out;
    after = page.next;
  }
}

// --- views -------------------------------------------------------------------------------------

function today() {
  // The delivery day in Taipei, whatever the browser's zone.
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Taipei" }).format(new Date());
}

function loginView({ ended = false } = {}) {
  const error = h("div", { "aria-live": "polite" });
  const email = h("input", { id: "email", type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { id: "password", type: "password", name: "password", autocomplete: "current-password", required: true });
  const form = h(
    "form",
    {
      class: "card login",
      onsubmit: async (e) => {
        e.preventDefault();
        error.replaceChildren();
        try {
          const res = await fetch("/v1/auth/login", {
            method: "POST",
            headers: { "content-type": "application/json", "accept-language": lang() },
            body: JSON.stringify({ email: email.value.trim(), password: password.value }),
          });
          const data = await res.json().catch(() => null);
          if (!res.ok) throw new ApiError(res.status, data);
          saveSession({ ...data, email: email.value.trim() });
          route("day");
        } catch (err) {
          error.replaceChildren(notice(t("signInFailed", { reason: err.message }), "error"));
        }
      },
    },
    h("h1", {}, t("signIn")),
    ended ? notice(t("sessionEnded")) : null,
    h("label", { for: "email" }, t("email")),
    email,
    h("label", { for: "password" }, t("password")),
    password,
    h("button", { type: "submit", id: "signin" }, t("signIn")),
    error,
  );
  show(form);
  email.focus();
}

function cylindersText(cylinders) {
  return cylinders.map((c) => t("kg", { size: c.size_kg, quantity: c.quantity })).join("、");
}

function windowText(o) {
  if (o.time_window) return `${o.time_window.start}–${o.time_window.end}`;
  return t(o.preference ?? "anytime");
}

async function dayView({ date = today(), flash = null } = {}) {
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
      const tr = h(
        "tr",
        { "data-order": o.id, class: o.priority === "urgent" ? "urgent" : null },
        h("td", {}, c.name, h("div", { class: "muted small" }, c.address)),
        h("td", {}, c.phone ? h("a", { href: `tel:${c.phone}` }, c.phone) : ""),
        h("td", {}, cylindersText(o.cylinders)),
        h("td", {}, windowText(o)),
        h("td", {}, t(o.priority === "urgent" ? "urgent" : "normal")),
        h("td", { class: `status ${o.status}` }, t(`status.${o.status}`)),
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
    planSection(date, orders, byId),
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
function planSection(date, orders, customers) {
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
    if (receivedLeft > 0) head.append(planButton(date, section, () => dayView({ date })));
    section.replaceChildren(head);
    if (newest) section.append(await planView(await api(`/v1/plans/${newest.id}`), orders, customers));
  };
  render();
  return section;
}

function planButton(date, section, done) {
  const seconds = h("select", { id: "time-limit", "aria-label": t("searchTime") }, ...[5, 10, 30, 60].map((n) => h("option", { value: n, selected: n === 10 }, t("seconds", { n }))));
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
          const job = await api("/v1/plans", { method: "POST", body: { date, depot_ids: depots, options: { time_limit_s: Number(seconds.value) } } });
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
  return h("span", { class: "plan-controls" }, seconds, button);
}

async function planView(job, orders, customers) {
  const orderById = new Map(orders.map((o) => [o.id, o]));
  const who = (id) => customers.get(orderById.get(id)?.customer_id)?.name ?? `#${id}`;
  const plan = job.result;
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
    onStop: (stop, r, el) => {
      popup.replaceChildren(
        h("button", { type: "button", class: "link close", "aria-label": t("close"), onclick: close }, "×"),
        h("h3", {}, `${r.stops.indexOf(stop) + 1}. ${stop.name}`),
        h("p", { class: "muted small" }, stop.address),
        h("dl", {}, h("dt", {}, t("cylinders")), h("dd", {}, movesText(stop)), h("dt", {}, t("window")), h("dd", {}, stopWindows(stop)), h("dt", {}, t("arrival")), h("dd", { class: "arrival" }, stop.arrival), h("dt", {}, t("vehicle")), h("dd", {}, r.route.plate)),
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
    ...routes.map((r) =>
      h(
        "li",
        {},
        swatch(r.colour),
        ` ${r.route.plate}${r.route.driver_name ? `（${r.route.driver_name}）` : ""}: ${t("routeSummary", { stops: r.stops.length, km: (r.route.distance_m / 1000).toFixed(1), start: r.route.start, end: r.route.end })}`,
      ),
    ),
  );
  const unassigned = plan.unassigned.length
    ? h(
        "div",
        { class: "unassigned" },
        h("h3", {}, t("unassigned", { n: plan.unassigned.length })),
        h("ul", {}, ...plan.unassigned.map((u) => h("li", { "data-order": u.order_id }, `${who(u.order_id)}：${t(`reason.${u.reason}`) === `reason.${u.reason}` ? u.reason : t(`reason.${u.reason}`)}`))),
      )
    : null;
  const timeline = h("div", { class: "timeline-holder" });
  drawTimeline(timeline, routes);
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

// --- routing -----------------------------------------------------------------------------------

export function route(name, params = {}) {
  const query = new URLSearchParams(params).toString();
  const hash = `#/${name}${query ? `?${query}` : ""}`;
  if (location.hash !== hash) location.hash = hash;
  else render();
}

function render() {
  const [name, query] = location.hash.replace(/^#\/?/, "").split("?");
  const params = Object.fromEntries(new URLSearchParams(query ?? ""));
  const s = session();
  document.getElementById("who").textContent = s?.email ?? "";
  document.getElementById("signout").hidden = !s;
  if (!s || name === "login") return loginView({ ended: params.ended === "true" });
  return dayView(params);
}

function start() {
  setLang(lang());
  translate();
  const toggle = document.getElementById("lang");
  const label = () => {
    toggle.textContent = lang() === "en" ? "中文" : "English";
    toggle.lang = lang() === "en" ? "zh-TW" : "en";
  };
  label();
  toggle.addEventListener("click", () => {
    setLang(lang() === "en" ? "zh-TW" : "en");
    label();
    translate();
    render();
  });
  document.getElementById("signout").addEventListener("click", async () => {
    const s = session();
    saveSession(null);
    if (s?.refresh_token) {
      await fetch("/v1/auth/logout", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: s.refresh_token }),
      }).catch(() => {});
    }
    route("login");
  });
  window.addEventListener("hashchange", render);
  render();
}

start();
