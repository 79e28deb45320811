/* Farmgate's service worker, served at /sw.js so it looks after the whole site. `SW` (above, written by the
   view that serves this file) holds the version, the shell's URLs, the offline page's URL and the static prefix.

   - The shell (CSS, JS, icons, the offline page) is kept at install; other static files once fetched. Served from
     the phone, refreshed in the background.
   - The agent's station pages (/agent/...): network first, the kept copy when the network fails, so the station
     opens without a connection. The station's script asks for its main pages to be kept too.
   - Catalogue pages (home, category, product, shop, search) a visitor without a session saw last: network first,
     then the kept copy, then the offline page. Pages for a signed-in visitor say no-store and are never kept.
   - Nothing else is kept: no POST, no /api/, no other signed-in page. Signing in or out forgets the kept pages. */
"use strict";

var SHELL = "farmgate-shell-" + SW.version;
var AGENT_PAGES = "farmgate-agent";
var CATALOGUE_PAGES = "farmgate-pages";
var AGENT_LIMIT = 60, CATALOGUE_LIMIT = 30;
var WAIT_MS = 6000;  // a page slower than this on a weak connection gives way to the kept copy
var AGENT_PATH = /^\/agent\//;
var CATALOGUE_PATH = /^\/(c\/[^/]+\/|p\/\d+\/|s\/[^/]+\/|search\/)?$/;
var SIGN_IN_OR_OUT = /^\/accounts\/(login|logout)\//;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) {
    return cache.addAll(SW.shell.concat([SW.offline]));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("farmgate-shell-") === 0 && name !== SHELL;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function forgetPages() {
  return Promise.all([caches.delete(AGENT_PAGES), caches.delete(CATALOGUE_PAGES)]);
}

function trim(cache, limit) {
  return cache.keys().then(function (keys) {
    return Promise.all(keys.slice(0, Math.max(keys.length - limit, 0)).map(function (key) { return cache.delete(key); }));
  });
}

function keep(cacheName, request, response, limit) {
  return caches.open(cacheName).then(function (cache) {
    // Deleted first so the newest page goes to the end of the list, and the oldest are trimmed.
    return cache.delete(request, {ignoreVary: true}).then(function () {
      return cache.put(request, response);
    }).then(function () { return trim(cache, limit); });
  });
}

function kept(cacheName, request, anyQuery) {
  return caches.open(cacheName).then(function (cache) {
    return cache.match(request, {ignoreVary: true}).then(function (hit) {
      return hit || (anyQuery ? cache.match(request, {ignoreVary: true, ignoreSearch: true}) : undefined);
    });
  });
}

function offlinePage() {
  return caches.match(SW.offline, {ignoreVary: true}).then(function (hit) {
    return hit || new Response("", {status: 503, statusText: "Offline"});
  });
}

function plainPage(response) {
  return response && response.ok && response.type === "basic" && !response.redirected &&
    (response.headers.get("Content-Type") || "").indexOf("text/html") === 0;
}

function agentPage(response) {
  return plainPage(response);
}

function publicPage(response) {
  // A signed-in visitor's page is marked no-store: it is never kept.
  return plainPage(response) && !/no-store/i.test(response.headers.get("Cache-Control") || "");
}

function networkFirst(event, cacheName, worthKeeping, limit, anyQuery) {
  var request = event.request;
  var network = fetch(request);
  event.waitUntil(network.then(function (response) {
    if (worthKeeping(response)) return keep(cacheName, request, response.clone(), limit);
  }).catch(function () {}));
  return new Promise(function (resolve) {
    var done = false;
    function answer(response) { if (!done) { done = true; resolve(response); } }
    var timer = setTimeout(function () {
      kept(cacheName, request, anyQuery).then(function (hit) { if (hit) answer(hit); });
    }, WAIT_MS);
    network.then(function (response) {
      clearTimeout(timer);
      answer(response);
    }, function () {
      clearTimeout(timer);
      kept(cacheName, request, anyQuery).then(function (hit) { return hit || offlinePage(); }).then(answer);
    });
  });
}

function shellFirst(event) {
  var request = event.request;
  return caches.open(SHELL).then(function (cache) {
    return cache.match(request).then(function (hit) {
      var network = fetch(request).then(function (response) {
        if (response.ok && response.type === "basic") return cache.put(request, response.clone()).then(function () {
          return response;
        });
        return response;
      });
      if (hit) {
        event.waitUntil(network.catch(function () {}));
        return hit;
      }
      return network;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method !== "GET") {
    // Another person may use the phone next: what was kept for this one goes.
    if (SIGN_IN_OR_OUT.test(url.pathname)) event.waitUntil(forgetPages());
    return;
  }
  if (url.pathname.indexOf("/api/") === 0 || url.pathname === "/sw.js") return;
  if (url.pathname.indexOf(SW.static) === 0) {
    event.respondWith(shellFirst(event));
    return;
  }
  if (request.mode !== "navigate") return;
  if (AGENT_PATH.test(url.pathname)) {
    event.respondWith(networkFirst(event, AGENT_PAGES, agentPage, AGENT_LIMIT, true));
  } else if (CATALOGUE_PATH.test(url.pathname)) {
    event.respondWith(networkFirst(event, CATALOGUE_PAGES, publicPage, CATALOGUE_LIMIT, false));
  } else {
    event.respondWith(fetch(request).catch(offlinePage));
  }
});

// The station's script asks for its main pages (and the parcels on screen) to be kept, so they open offline.
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "keep" || !Array.isArray(data.urls)) return;
  event.waitUntil(caches.open(AGENT_PAGES).then(function (cache) {
    return Promise.all(data.urls.slice(0, 30).map(function (raw) {
      var url = new URL(raw, self.location.origin);
      if (url.origin !== self.location.origin || !AGENT_PATH.test(url.pathname)) return null;
      return cache.match(url.href, {ignoreVary: true}).then(function (hit) {
        if (hit && !data.refresh) return null;
        return fetch(url.href, {credentials: "same-origin"}).then(function (response) {
          if (agentPage(response)) return keep(AGENT_PAGES, new Request(url.href), response, AGENT_LIMIT);
        }).catch(function () {});
      });
    }));
  }));
});
