// The day's map without tiles: the district outlines of the basemap (embedded in the binary),
// depots, and each vehicle's stops numbered in order and joined in its colour. SVG presentation
// attributes only (no style attributes), so the page's CSP needs no 'unsafe-inline'.

import { t } from "./i18n.js";

const NS = "http://www.w3.org/2000/svg";

// Colours that stay apart for the usual fleet (cycled beyond).
export const PALETTE = ["#c8102e", "#1f6fb2", "#2e8540", "#9a5b00", "#6b3fa0", "#0a7f7f", "#b0417a", "#4d5b0f", "#d4622a", "#3b4a63"];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

let basemap = null;
export async function towns() {
  if (!basemap) basemap = fetch("/assets/towns.geojson").then((r) => r.json()).catch(() => ({ features: [] }));
  return basemap;
}

// Draws into `holder` and returns the SVG. `routes`: [{ vehicle, colour, stops: [{lat, lon, label, ...}] }];
// `depots`: [{lat, lon, name}]; `onStop(stop, route, element)` opens a stop's details.
// `changes` (order id → `added`, `moved` or `retimed`) rings the stops a replan preview changes;
// a stop's `status` (done, failed, in_progress) shows what the driver reported.
export function drawMap(holder, { geo, depots, routes, onStop, changes = new Map() }) {
  const points = [...depots, ...routes.flatMap((r) => r.stops)].filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon));
  if (points.length === 0) {
    holder.replaceChildren();
    return null;
  }
  let [minLat, maxLat, minLon, maxLon] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const p of points) {
    minLat = Math.min(minLat, p.lat);
    maxLat = Math.max(maxLat, p.lat);
    minLon = Math.min(minLon, p.lon);
    maxLon = Math.max(maxLon, p.lon);
  }
  const pad = 0.01;
  [minLat, maxLat, minLon, maxLon] = [minLat - pad, maxLat + pad, minLon - pad, maxLon + pad];
  const k = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
  const width = 1000;
  const scale = width / ((maxLon - minLon) * k);
  const height = Math.max(200, Math.round((maxLat - minLat) * scale));
  const x = (lon) => ((lon - minLon) * k * scale).toFixed(1);
  const y = (lat) => ((maxLat - lat) * scale).toFixed(1);

  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "map", role: "img", "aria-label": t("map") });
  const base = s("g", { class: "towns" });
  for (const f of geo.features ?? []) {
    const polys = f.geometry?.type === "Polygon" ? [f.geometry.coordinates] : f.geometry?.type === "MultiPolygon" ? f.geometry.coordinates : [];
    for (const poly of polys) {
      const d = poly.map((ring) => `M${ring.map(([lon, lat]) => `${x(lon)},${y(lat)}`).join("L")}Z`).join("");
      base.append(s("path", { d, fill: "#eef1f4", stroke: "#b9c2cc", "stroke-width": 1 }, s("title", {}, f.properties?.current ?? f.properties?.name ?? "")));
    }
  }
  svg.append(base);

  for (const r of routes) {
    const line = r.path.filter((p) => Number.isFinite(p.lat)).map((p) => `${x(p.lon)},${y(p.lat)}`).join(" ");
    svg.append(s("polyline", { points: line, fill: "none", stroke: r.colour, "stroke-width": 3, "stroke-linejoin": "round", "stroke-opacity": 0.85 }));
  }
  for (const dpt of depots) {
    svg.append(
      s("rect", { x: Number(x(dpt.lon)) - 9, y: Number(y(dpt.lat)) - 9, width: 18, height: 18, fill: "#1d2430", class: "depot" }, s("title", {}, dpt.name)),
    );
  }
  // Stops at one address (or a few metres apart) would hide each other: every marker keeps a
  // clear circle, those pushed off their place get a thin leader line back to it.
  const placed = spread(
    routes.flatMap((r) => r.stops.map((stop) => [Number(x(stop.lon)), Number(y(stop.lat))])),
    24,
    [12, width - 12, 12, height - 12],
  );
  const leaders = s("g", { class: "leaders" });
  svg.append(leaders);
  let at = 0;
  for (const r of routes) {
    r.stops.forEach((stop, i) => {
      const [px, py] = placed[at++];
      const [tx, ty] = [Number(x(stop.lon)), Number(y(stop.lat))];
      const status = stop.status ?? "planned";
      const change = changes.get(stop.order_id);
      const served = status === "done" || status === "failed";
      const g = s("g", {
        class: `stop ${status}${change ? ` changed ${change}` : ""}`,
        tabindex: 0,
        role: "button",
        "data-order": stop.order_id,
        "data-status": status,
        "aria-label": `${i + 1} ${stop.name} ${t(`stop.${status}`)}${change ? ` ${t(`change.${change}`)}` : ""}`,
      });
      if (px !== tx || py !== ty) {
        leaders.append(s("line", { x1: tx, y1: ty, x2: px.toFixed(1), y2: py.toFixed(1), stroke: r.colour, "stroke-width": 1.5 }), s("circle", { cx: tx, cy: ty, r: 2.5, fill: r.colour }));
      }
      const [cx, cy] = [px.toFixed(1), py.toFixed(1)];
      if (change) g.append(s("circle", { cx, cy, r: 17, fill: "none", stroke: "#f0a500", "stroke-width": 4, class: "ring" }));
      g.append(
        s("circle", { cx, cy, r: 11, fill: served ? "#fff" : r.colour, stroke: served ? r.colour : "#fff", "stroke-width": served ? 3 : 2, "stroke-dasharray": status === "failed" ? "3 2" : undefined }),
        s("text", { x: cx, y: (py + 4).toFixed(1), "text-anchor": "middle", "font-size": 11, fill: served ? r.colour : "#fff", "font-weight": 700 }, status === "done" ? "✓" : status === "failed" ? "✗" : String(i + 1)),
      );
      if (status === "in_progress") g.append(s("circle", { cx, cy, r: 14, fill: "none", stroke: r.colour, "stroke-width": 2, "stroke-dasharray": "4 3" }));
      const open = () => onStop(stop, r, g);
      g.addEventListener("click", open);
      g.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          open();
        }
      });
      svg.append(g);
    });
  }
  holder.replaceChildren(svg);
  return svg;
}

// Places markers at `points` ([x, y]) so that no two centres are closer than `gap`: each keeps its
// place when that is free, or takes the nearest free spot on a golden-angle spiral around it
// (inside `bounds` [x0, x1, y0, y1]). A grid of `gap`-sized cells keeps it linear in the stops.
export function spread(points, gap, [x0, x1, y0, y1]) {
  const grid = new Map();
  const key = (cx, cy) => `${cx},${cy}`;
  const free = (px, py) => {
    const [cx, cy] = [Math.floor(px / gap), Math.floor(py / gap)];
    for (let dx = -1; dx <= 1; dx++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (const [qx, qy] of grid.get(key(cx + dx, cy + dy)) ?? []) if ((qx - px) ** 2 + (qy - py) ** 2 < gap * gap) return false;
      }
    }
    return true;
  };
  const clamp = (v, lo, hi) => (lo <= hi ? Math.min(hi, Math.max(lo, v)) : v);
  return points.map(([px, py]) => {
    let spot = [px, py];
    for (let k = 1; k < 2000 && !free(...spot); k++) {
      const radius = gap * 0.55 * Math.sqrt(k);
      const angle = k * 2.399963;
      spot = [clamp(px + radius * Math.cos(angle), x0, x1), clamp(py + radius * Math.sin(angle), y0, y1)];
    }
    const cell = key(Math.floor(spot[0] / gap), Math.floor(spot[1] / gap));
    grid.set(cell, [...(grid.get(cell) ?? []), spot]);
    return spot;
  });
}

// Minutes since midnight of `HH:MM[:SS]`.
export function minutes(hhmm) {
  const [h, m, s] = String(hhmm ?? "").split(":").map(Number);
  return Number.isFinite(h) && Number.isFinite(m) ? h * 60 + m + (Number.isFinite(s) ? s / 60 : 0) : NaN;
}

// Whether a stop's arrival falls in one of its windows (no window: any time).
export function onTime(stop) {
  const at = minutes(stop.arrival);
  if (!stop.time_windows?.length) return true;
  return stop.time_windows.some((w) => at >= minutes(w.start) && at <= minutes(w.end));
}

// One row per vehicle on a shared time axis: its working span, each trip's departure from the
// depot (a reload after the first), and each stop at its arrival, against its window (a band
// line under the row; the marker is hollow when it misses the window).
// With a replan preview: `changes` rings the changed stops and `ghosts` ([{ vehicle_id, arrival }])
// marks where moved or retimed stops were.
export function drawTimeline(holder, routes, { changes = new Map(), ghosts = [] } = {}) {
  const all = routes.flatMap((r) => [minutes(r.route.start), minutes(r.route.end)]).filter(Number.isFinite);
  if (all.length === 0) {
    holder.replaceChildren();
    return null;
  }
  const from = Math.floor(Math.min(...all) / 60) * 60;
  const to = Math.ceil(Math.max(...all) / 60) * 60;
  const left = 120;
  const width = 1000;
  const row = 34;
  const height = 24 + routes.length * row;
  const x = (m) => (left + ((m - from) / (to - from)) * (width - left - 10)).toFixed(1);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "timeline", role: "img", "aria-label": t("timeline") });
  for (let m = from; m <= to; m += 60) {
    svg.append(
      s("line", { x1: x(m), x2: x(m), y1: 16, y2: height, stroke: "#e1e5ea" }),
      s("text", { x: x(m), y: 12, "text-anchor": "middle", "font-size": 11, fill: "#5b6675" }, `${String(m / 60).padStart(2, "0")}:00`),
    );
  }
  routes.forEach((r, i) => {
    const y = 24 + i * row;
    const g = s("g", { class: "vehicle", "data-vehicle": r.route.vehicle_id });
    g.append(
      s("text", { x: 4, y: y + 16, "font-size": 12, fill: "#1d2430" }, r.route.plate),
      s("rect", { x: x(minutes(r.route.start)), y: y + 9, width: Math.max(1, x(minutes(r.route.end)) - x(minutes(r.route.start))), height: 6, rx: 3, fill: r.colour, "fill-opacity": 0.25 }),
    );
    // The driver's breaks: a hatched block on the row.
    for (const b of r.route.breaks ?? []) {
      g.append(
        s("rect", { x: x(minutes(b.start)), y: y + 2, width: Math.max(2, x(minutes(b.end)) - x(minutes(b.start))), height: 20, fill: "#8a94a3", "fill-opacity": 0.45, class: "break" }, s("title", {}, `${t("break")} ${b.start}–${b.end}`)),
      );
    }
    r.route.trips.forEach((trip, k) => {
      if (!trip.depart) return;
      g.append(s("rect", { x: Number(x(minutes(trip.depart))) - 2, y: y + 4, width: 4, height: 16, fill: "#1d2430", class: k === 0 ? "depart" : "reload" }, s("title", {}, `${k === 0 ? t("depart") : t("reload")} ${trip.depart}`)));
    });
    r.stops.forEach((stop, n) => {
      for (const w of stop.time_windows ?? []) {
        g.append(s("line", { x1: x(minutes(w.start)), x2: x(minutes(w.end)), y1: y + 23, y2: y + 23, stroke: "#c3cbd4", "stroke-width": 2 }));
      }
      // Waiting for the window to open: a dotted line up to the service start.
      if (stop.waiting_s > 0) {
        const from = minutes(stop.arrival) - stop.waiting_s / 60;
        g.append(
          s("line", { x1: x(from), x2: x(minutes(stop.arrival)), y1: y + 12, y2: y + 12, stroke: r.colour, "stroke-width": 2, "stroke-dasharray": "2 3", class: "waiting", "data-order": stop.order_id }, s("title", {}, t("waitingMin", { n: Math.round(stop.waiting_s / 60) }))),
        );
      }
      const late = !onTime(stop);
      const change = changes.get(stop.order_id);
      if (change) g.append(s("circle", { cx: x(minutes(stop.arrival)), cy: y + 12, r: 9, fill: "none", stroke: "#f0a500", "stroke-width": 3, class: `changed ${change}`, "data-order": stop.order_id }));
      g.append(
        s(
          "circle",
          { cx: x(minutes(stop.arrival)), cy: y + 12, r: 5, fill: late ? "#fff" : r.colour, stroke: r.colour, "stroke-width": 2, class: late ? "stop late" : "stop", "data-order": stop.order_id },
          s("title", {}, `${n + 1}. ${stop.name} ${stop.arrival}${stop.time_windows?.length ? ` (${stop.time_windows.map((w) => `${w.start}–${w.end}`).join(", ")})` : ""}`),
        ),
      );
    });
    for (const ghost of ghosts.filter((gh) => gh.vehicle_id === r.route.vehicle_id)) {
      g.append(
        s("circle", { cx: x(minutes(ghost.arrival)), cy: y + 12, r: 5, fill: "none", stroke: "#8a94a3", "stroke-width": 2, "stroke-dasharray": "2 2", class: "ghost", "data-order": ghost.order_id }, s("title", {}, `${t("was")} ${ghost.arrival}`)),
      );
    }
    svg.append(g);
  });
  holder.replaceChildren(svg);
  return svg;
}
