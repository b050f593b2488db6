// The console's core: sign-in, the API client, routing. The dispatcher's pages (dispatch.js) and
// the driver's phone view (driver.js) are loaded on demand by role, so a driver's phone never
// downloads the map code. Plain ES modules, no build step; every asset is embedded in the
// `luckygas` binary (planner-api/src/http/web.rs) and served under a content security policy
// without inline scripts or styles, so nothing here writes HTML from strings: elements are built
// with `h()`.

import { lang, setLang, t, translate } from "./i18n.js";

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

export function show(...nodes) {
  const app = document.getElementById("app");
  app.replaceChildren(...nodes);
}

export function notice(text, kind = "info") {
  const el = h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  return el;
}

// --- the API -----------------------------------------------------------------------------------

export function session() {
  try {
    return JSON.parse(localStorage.getItem(SESSION) ?? "null");
  } catch {
    return null;
  }
}

export function saveSession(s) {
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

// Follows a Server-Sent Events stream of the API with `fetch` (EventSource cannot send the
// token): `onEvent(name, data)` for each event (data parsed as JSON), reconnecting after a drop,
// until `signal` aborts.
export async function follow(path, onEvent, signal) {
  while (!signal.aborted) {
    try {
      let s = session();
      const res = await fetch(path, { headers: { accept: "text/event-stream", authorization: `Bearer ${s?.access_token}` }, signal });
      if (res.status === 401) {
        s = s?.refresh_token ? await refresh(s) : null;
        if (!s) return;
        continue;
      }
      if (res.ok && res.body) {
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n/g, "\n");
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let name = "message";
            const data = [];
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) name = line.slice(6).trim();
              else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
            }
            if (data.length === 0) continue;
            let parsed = data.join("\n");
            try {
              parsed = JSON.parse(parsed);
            } catch {
              // not JSON: handed on as text
            }
            onEvent(name, parsed);
          }
        }
      } else {
        await res.body?.cancel();
      }
    } catch {
      if (signal.aborted) return;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

// The time of day in Taipei, `HH:MM:SS`, whatever the browser's zone.
export function clockNow() {
  return new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Taipei", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).format(new Date());
}

// Every page of a keyset-paged list.
export async function all(path) {
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

export function today() {
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

// --- routing -----------------------------------------------------------------------------------

export function route(name, params = {}) {
  const query = new URLSearchParams(params).toString();
  const hash = `#/${name}${query ? `?${query}` : ""}`;
  if (location.hash !== hash) location.hash = hash;
  else render();
}

// The claims of the session's access token (its role, its driver record): what to show, not
// what is allowed (the server decides that on every request).
export function claims(s = session()) {
  try {
    const part = s.access_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(Uint8Array.from(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")), (c) => c.charCodeAt(0)));
    return JSON.parse(json);
  } catch {
    return null;
  }
}

// Every page view registers what to stop when it is left (a live stream, a timer).
let leaving = [];
export function onLeave(f) {
  leaving.push(f);
}

async function render() {
  for (const f of leaving.splice(0)) f();
  const [name, query] = location.hash.replace(/^#\/?/, "").split("?");
  const params = Object.fromEntries(new URLSearchParams(query ?? ""));
  const s = session();
  document.getElementById("who").textContent = s?.email ?? "";
  document.getElementById("signout").hidden = !s;
  if (!s || name === "login") return loginView({ ended: params.ended === "true" });
  if (claims(s)?.role === "driver") return (await import("./driver.js")).driverView(params);
  return (await import("./dispatch.js")).dayView(params);
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
  // Keeps the page for opening with no signal (sw.js); where service workers are not allowed
  // (plain http other than localhost) the console works online as before.
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
  render();
}

start();
