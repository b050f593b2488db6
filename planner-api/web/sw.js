// The console's service worker: keeps the page and its files so a driver's phone can open the
// route again with no signal (a basement, a lane), and the outbox waiting in localStorage is sent
// when the connection returns. Network first: while online every load is the server's current
// files (and refreshes the copy); offline, the copy. The API (/v1/) is never cached here: the
// driver's day is kept by the page itself.

const CACHE = "luckygas-console";
// What a driver's phone needs to open the route (the dispatcher's files are kept as they are used).
const SHELL = ["/", "/assets/app.js", "/assets/i18n.js", "/assets/driver.js", "/assets/app.css", "/assets/icon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/v1/") || url.pathname === "/sw.js") return;
  event.respondWith(
    fetch(event.request)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return res;
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true }).then((hit) => hit ?? Response.error())),
  );
});
