/* The agent's station pages without a connection (the bar is templates/stations/offline_bar.html).

   Forms marked data-offline-kind (receive, deliver, collect_cash, shipment_event) post as usual while the server
   answers. Offline, or when the server cannot be reached, the submit becomes an action kept on the phone in
   IndexedDB (database "farmgate-station", store "actions", keyed by an id made here with crypto.randomUUID()),
   counted in "Waiting to send: N". The queue is sent in order, in one POST per batch, to the agent's actions API
   when the connection comes back, when a page loads and with "Send now". The server applies each id at most
   once and answers per action; the list shows what was applied, what was already applied, what was refused and
   why. Without JavaScript the forms simply post. */
(function () {
  "use strict";
  var bar = document.getElementById("offline-queue");
  var box = document.getElementById("offline-results-box"), list = document.getElementById("offline-results");
  if (!bar || !box || !list || !window.indexedDB || !window.fetch || !window.crypto || !crypto.randomUUID) return;

  var DB_NAME = "farmgate-station", STORE = "actions";
  var BATCH = 50, RESULTS_KEPT = 20, PROBE_MS = 5000, RETRY_MS = 30000;
  var t = bar.dataset, agent = bar.dataset.agent;
  var countBox = bar.querySelector("[data-pending]"), stateBox = bar.querySelector("[data-state]");
  var noteBox = bar.querySelector("[data-note]"), sendButton = bar.querySelector("[data-send]");
  var RESULTS_KEY = "farmgate-station-results-" + agent;
  var sending = false, submitting = false, justSent = false, order = 0;

  // --- The queue in IndexedDB --------------------------------------------------------------------------------------
  var opened;
  function database() {
    if (!opened) {
      opened = new Promise(function (resolve, reject) {
        var open = indexedDB.open(DB_NAME, 1);
        open.onupgradeneeded = function () {
          open.result.createObjectStore(STORE, {keyPath: "id"}).createIndex("agent", "agent");
        };
        open.onsuccess = function () { resolve(open.result); };
        open.onerror = function () { reject(open.error); };
      });
    }
    return opened;
  }

  function inStore(mode, work) {
    return database().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode), result;
        var req = work(tx.objectStore(STORE));
        if (req) req.onsuccess = function () { result = req.result; };
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function waiting() {
    return inStore("readonly", function (store) { return store.index("agent").getAll(agent); }).then(function (rows) {
      return (rows || []).sort(function (a, b) { return a.seq - b.seq; });
    });
  }

  function save(action) { return inStore("readwrite", function (store) { return store.put(action); }); }

  function drop(ids) {
    return inStore("readwrite", function (store) { ids.forEach(function (id) { store.delete(id); }); });
  }

  // --- What the server answered, kept for the next pages ----------------------------------------------------------
  function answered() {
    try { return JSON.parse(window.localStorage.getItem(RESULTS_KEY)) || []; } catch (e) { return []; }
  }

  function remember(items) {
    try {
      window.localStorage.setItem(RESULTS_KEY, JSON.stringify(items.concat(answered()).slice(0, RESULTS_KEPT)));
    } catch (e) { /* storage full or off: the list is shown this once */ }
  }

  // --- The bar -----------------------------------------------------------------------------------------------------
  var STATUS_WORDS = {waiting: t.tWaiting, applied: t.tApplied, duplicate: t.tDuplicate, rejected: t.tRejected};

  function row(status, label, detail) {
    var li = document.createElement("li"), head = document.createElement("strong"), what = document.createElement("span");
    li.className = "offline-item is-" + status;
    head.textContent = STATUS_WORDS[status] || status;
    what.textContent = " " + label;
    li.appendChild(head);
    li.appendChild(what);
    if (detail) {
      var why = document.createElement("span");
      why.className = "offline-detail";
      why.textContent = detail;
      li.appendChild(why);
    }
    return li;
  }

  function note(text) {
    noteBox.textContent = text || "";
    noteBox.hidden = !text;
  }

  function render() {
    return waiting().then(function (rows) {
      countBox.textContent = String(rows.length);
      bar.classList.toggle("has-pending", rows.length > 0);
      sendButton.hidden = rows.length === 0;
      stateBox.hidden = false;
      stateBox.textContent = sending ? t.tSending : (navigator.onLine ? t.tOnline : t.tOffline);
      stateBox.className = "badge " + (navigator.onLine ? "is-online" : "is-offline");
      list.textContent = "";
      rows.forEach(function (action) { list.appendChild(row("waiting", action.label, "")); });
      answered().forEach(function (item) { list.appendChild(row(item.status, item.label, item.detail)); });
      box.hidden = !list.children.length;
      // Open while something waits, and right after a send, so the answers are seen; otherwise out of the way.
      if (rows.length || justSent) box.open = true;
    });
  }

  // --- Sending -----------------------------------------------------------------------------------------------------
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : t.csrf;
  }

  function sendChunk(rows, start) {
    var chunk = rows.slice(start, start + BATCH);
    if (!chunk.length) return Promise.resolve();
    return fetch(t.url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify({actions: chunk.map(function (a) { return {id: a.id, kind: a.kind, args: a.args}; })})
    }).then(function (response) {
      if (response.status === 401 || response.status === 403) { note(t.tSignin); return null; }
      if (!response.ok) { note(t.tFailed); return null; }
      return response.json().then(function (data) {
        var byId = {}, done = [], shown = [];
        chunk.forEach(function (a) { byId[a.id] = a; });
        (data.results || []).forEach(function (result) {
          var action = byId[result.id];
          if (!action) return;
          done.push(action.id);
          shown.push({status: result.status, label: action.label, detail: result.detail});
        });
        remember(shown);
        return drop(done).then(function () { return sendChunk(rows, start + BATCH); });
      });
    }, function () { /* no connection after all: everything stays queued */ });
  }

  function send() {
    if (sending) return Promise.resolve();
    sending = true;
    note("");
    return render().then(waiting).then(function (rows) {
      if (!rows.length) return null;
      justSent = true;
      return sendChunk(rows, 0);
    }).catch(function () { note(t.tFailed); }).then(function () {
      sending = false;
      return render();
    });
  }

  function reachable() {
    if (!navigator.onLine) return Promise.resolve(false);
    var controller = window.AbortController ? new AbortController() : null;
    var timer = window.setTimeout(function () { if (controller) controller.abort(); }, PROBE_MS);
    return fetch(t.probe, {method: "HEAD", cache: "no-store", credentials: "same-origin",
                           signal: controller ? controller.signal : undefined})
      .then(function () { return true; }, function () { return false; })
      .then(function (up) { window.clearTimeout(timer); return up; });
  }

  // --- Forms become actions when offline ---------------------------------------------------------------------------
  function field(form, name) {
    var input = form.elements.namedItem(name);
    return input && typeof input.value === "string" ? input.value.trim() : "";
  }

  function actionOf(form) {
    var kind = form.dataset.offlineKind, label = form.dataset.offlineLabel || kind, args;
    if (kind === "receive") {
      args = {parcel: field(form, "code")};
      if (!args.parcel) return null;
      label += " " + args.parcel.toUpperCase();
    } else if (kind === "deliver") {
      var cash = form.elements.namedItem("cash_collected");
      args = {parcel: form.dataset.offlineParcel, delivery_code: field(form, "code"), cash_collected: !!(cash && cash.checked)};
      if (!args.delivery_code) return null;
      label += " " + args.parcel;
    } else if (kind === "collect_cash") {
      args = {parcel: form.dataset.offlineParcel};
      label += " " + args.parcel;
    } else if (kind === "shipment_event") {
      var chosen = form.querySelector('input[name="kind"]:checked');
      var event = form.dataset.offlineEvent || (chosen ? chosen.value : "");
      if (!event) return null;
      var parcels = Array.prototype.map.call(form.querySelectorAll('input[name="parcels"]:checked'),
                                             function (box) { return box.value; });
      args = {shipment: form.dataset.offlineShipment, kind: event, location: field(form, "location"),
              note: field(form, "note"), problem: field(form, "problem"), parcels: parcels};
      var chosenLabel = chosen && chosen.closest("label");
      if (chosenLabel) label += " · " + chosenLabel.textContent.trim();
    } else {
      return null;
    }
    order += 1;
    return {id: crypto.randomUUID(), agent: agent, kind: kind, args: args, label: label, seq: Date.now() + order / 1000};
  }

  function queue(form) {
    var photo = form.querySelector('input[type="file"]');
    if (photo && photo.files && photo.files.length) { note(t.tPhoto); return Promise.resolve(); }
    var action = actionOf(form);
    if (!action) { note(t.tMissing); return Promise.resolve(); }
    return save(action).then(function () {
      form.reset();
      note(t.tQueued);
      var first = form.querySelector("input:not([type=hidden]):not([type=checkbox]):not([type=radio])");
      if (first) first.focus();
      return render();
    });
  }

  function onSubmit(event) {
    var form = event.currentTarget;
    event.preventDefault();
    if (submitting) return;
    submitting = true;
    reachable().then(function (up) {
      if (up) {
        HTMLFormElement.prototype.submit.call(form);  // the ordinary post, as without JavaScript
        return null;
      }
      return queue(form).then(function () { submitting = false; });
    }).catch(function () { submitting = false; note(t.tFailed); });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-offline-kind]"), function (form) {
    form.addEventListener("submit", onSubmit);
    // A scanned code submits the form from script (scan.js): route it through the same check.
    if (form.requestSubmit) form.submit = function () { form.requestSubmit(); };
  });
  // The station's other forms (loading a shipment, a new shipment ...) need the server: say so instead of failing.
  Array.prototype.forEach.call(document.querySelectorAll("main form[method=post]:not([data-offline-kind])"), function (form) {
    form.addEventListener("submit", function (event) {
      if (!navigator.onLine) { event.preventDefault(); note(t.tConnection); }
    });
  });

  // --- When to send ------------------------------------------------------------------------------------------------
  sendButton.addEventListener("click", function () { send(); });
  window.addEventListener("online", function () { send(); });
  window.addEventListener("offline", function () { render(); });
  window.addEventListener("pageshow", function () { submitting = false; });
  window.setInterval(function () {
    if (!navigator.onLine || sending) return;
    waiting().then(function (rows) { if (rows.length) send(); });
  }, RETRY_MS);

  // Keep the station's main pages, and the parcels and shipments on screen, on the phone for offline use.
  function keepPages() {
    if (!navigator.onLine || !("serviceWorker" in navigator)) return;
    var urls = (t.keep || "").split(" ").filter(Boolean);
    Array.prototype.forEach.call(document.querySelectorAll('main a[href^="/agent/"]'), function (link) {
      urls.push(link.getAttribute("href"));
    });
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.active) registration.active.postMessage({type: "keep", urls: urls.slice(0, 30)});
    });
  }

  render().then(function () {
    keepPages();
    if (navigator.onLine) send();
  });
})();
