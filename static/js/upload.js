/* Photo forms on weak networks. Without this script the form posts its files as usual.

   <form data-photo-upload data-upload-url="/uploads/" data-msg-...>: each chosen photo is made upright and at most
   1600 px (JPEG 0.85) in the browser, sent in 256 KB parts (the first with the request that opens the upload)
   that resume after a dropped connection
   (protocol in shops/uploads.py), then the form is posted with the upload ids in hidden `photo_uploads` inputs
   instead of the files. A progress bar shows each photo; the submit button is off while sending.
   <form data-photo-downscale>: the photos are made smaller the same way and the form posts them as usual (forms
   whose view takes files only). Both: a second tap on submit does nothing while the first is under way. */
(function () {
  "use strict";

  var MAX_SIDE = 1600;
  var QUALITY = 0.85;
  var MAX_PHOTOS = 10;
  var CHUNK = 262144;  // 256 KB, as the server's CHUNK_SIZE
  var MAX_TRIES = 60;  // about ten minutes of waiting for the network before giving up

  function canvasWorks() {
    var canvas = document.createElement("canvas");
    return !!(canvas.getContext && canvas.getContext("2d") && canvas.toBlob);
  }

  var capable = !!(window.fetch && window.Promise && window.XMLHttpRequest && window.Blob && canvasWorks());

  function text(form, name, values) {
    var message = form.getAttribute("data-msg-" + name) || "";
    Object.keys(values || {}).forEach(function (key) { message = message.split("{" + key + "}").join(values[key]); });
    return message;
  }

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function wait(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  function decode(file) {
    if (window.createImageBitmap) {
      // Upright as the camera meant it (EXIF orientation), before any resizing.
      return window.createImageBitmap(file, { imageOrientation: "from-image" });
    }
    return new Promise(function (resolve, reject) {
      var img = new Image();
      img.onload = function () { resolve(img); };
      img.onerror = reject;
      img.src = URL.createObjectURL(file);
    });
  }

  /* The photo at most MAX_SIDE px on its longest side, upright, as JPEG; the file itself when the browser cannot
     draw it (HEIC in most browsers: the server converts it) or when that would not be smaller. */
  function downscale(file) {
    if (!/^image\//.test(file.type || "image/")) return Promise.resolve(file);
    return decode(file).then(function (source) {
      var width = source.naturalWidth || source.width;
      var height = source.naturalHeight || source.height;
      var scale = Math.min(1, MAX_SIDE / Math.max(width, height));
      if (scale === 1 && file.type === "image/jpeg") {
        if (source.close) source.close();
        return file;  // small enough already; the server strips its metadata
      }
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(width * scale));
      canvas.height = Math.max(1, Math.round(height * scale));
      var context = canvas.getContext("2d");
      context.fillStyle = "#fff";  // JPEG has no transparency: white, not black, behind a transparent PNG
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.imageSmoothingEnabled = true;
      context.imageSmoothingQuality = "high";
      context.drawImage(source, 0, 0, canvas.width, canvas.height);
      if (source.close) source.close();
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) { resolve(blob && blob.size < file.size ? blob : file); }, "image/jpeg", QUALITY);
      });
    }).catch(function () { return file; });
  }

  function jpegName(name) {
    return (name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
  }

  /* A failure worth retrying (no network, a timeout, a server hiccup), or a final answer (4xx). */
  function Failure(retry, detail) {
    this.retry = retry;
    this.detail = detail || "";
  }

  function detailOf(body) {
    if (!body) return "";
    if (body.detail) return body.detail;
    return Object.keys(body).map(function (key) { return [].concat(body[key]).join(" "); }).join(" ");
  }

  function request(method, url, form, options) {
    options = options || {};
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRFToken", csrfToken(form));
      xhr.setRequestHeader("Accept", "application/json");
      Object.keys(options.headers || {}).forEach(function (key) { xhr.setRequestHeader(key, options.headers[key]); });
      xhr.timeout = 120000;
      if (options.onProgress && xhr.upload) xhr.upload.onprogress = options.onProgress;
      xhr.onload = function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        if (xhr.status >= 200 && xhr.status < 300) return resolve(body);
        if (xhr.status === 409 && body && typeof body.offset === "number") return resolve(body);
        var retry = xhr.status >= 500 || xhr.status === 429 || xhr.status === 0 || !body;
        reject(new Failure(retry, detailOf(body)));
      };
      xhr.onerror = xhr.ontimeout = xhr.onabort = function () { reject(new Failure(true)); };
      xhr.send(options.body === undefined ? null : options.body);
    });
  }

  /* Sends one photo; resolves with its upload id. `report(sentBytes, size, waiting)` follows the progress. */
  function send(form, blob, name, report) {
    var base = form.getAttribute("data-upload-url");
    var upload = null;
    var tries = 0;

    function again(failure) {
      if (!(failure instanceof Failure) || !failure.retry || ++tries > MAX_TRIES) throw failure;
      report(upload ? upload.offset : 0, blob.size, true);
      var delay = Math.min(10000, 500 * Math.pow(2, Math.min(tries, 5)));
      var online = navigator.onLine === false ? new Promise(function (resolve) {
        window.addEventListener("online", resolve, { once: true });
        window.setTimeout(resolve, delay);
      }) : wait(delay);
      return online.then(function () {
        if (!upload) return start();
        // Ask where the server is: the last part may have arrived even though its answer was lost.
        return request("GET", base + upload.id + "/", form).then(function (status) {
          upload.offset = status.offset;
          return next();
        });
      }).catch(again);
    }

    function start() {
      // The first part goes with the start: one round trip less.
      var end = Math.min(blob.size, CHUNK);
      report(0, blob.size, false);
      return request("POST", base, form, {
        headers: { "Content-Range": "bytes 0-" + (end - 1) + "/" + blob.size,
                   "Content-Type": "application/octet-stream",
                   "X-Upload-Type": blob.type || "image/jpeg",
                   "X-Upload-Name": encodeURIComponent(name) },
        body: blob.slice(0, end),
        onProgress: function (event) { report(event.loaded, blob.size, false); }
      }).then(function (answer) {
        upload = answer;
        tries = 0;
        return next();
      });
    }

    function next() {
      if (upload.offset >= blob.size) return upload.id;
      var from = upload.offset;
      var end = Math.min(blob.size, from + (upload.chunk_size || CHUNK));
      report(from, blob.size, false);
      return request("PUT", base + upload.id + "/", form, {
        headers: { "Content-Range": "bytes " + from + "-" + (end - 1) + "/" + blob.size,
                   "Content-Type": "application/octet-stream" },
        body: blob.slice(from, end),
        onProgress: function (event) { report(from + event.loaded, blob.size, false); }
      }).then(function (status) {
        upload.offset = status.offset;
        tries = 0;
        return next();
      }).catch(again);
    }

    return start().catch(again);
  }

  function submitButtons(form) {
    return Array.prototype.slice.call(form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]"));
  }

  function setBusy(form, busy) {
    form.setAttribute("aria-busy", busy ? "true" : "false");
    submitButtons(form).forEach(function (button) { button.disabled = busy; });
  }

  function progressBox(form) {
    var box = form.querySelector("[data-upload-progress]");
    return {
      show: function (message, fraction) {
        if (!box) return;
        box.hidden = false;
        var bar = box.querySelector("progress");
        var label = box.querySelector("[data-upload-text]");
        if (bar) {
          if (fraction === null) bar.removeAttribute("value");
          else bar.value = Math.round(fraction * 100);
        }
        if (label) label.textContent = message + (fraction === null ? "" : " " + Math.round(fraction * 100) + " %");
      },
      hide: function () { if (box) box.hidden = true; }
    };
  }

  function addHidden(form, id) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "photo_uploads";
    input.value = id;
    input.setAttribute("data-sent", "");
    form.appendChild(input);
  }

  function photoInputs(form) {
    return Array.prototype.slice.call(form.querySelectorAll("input[type=file]")).filter(function (input) {
      return input.files && input.files.length && !input.disabled;
    });
  }

  function setUpChunked(form) {
    var progress = progressBox(form);
    var sent = new Map();  // file -> upload id, so a retry after a failure sends only the rest
    var busy = false;
    form.addEventListener("photo-upload-reset", function () {
      // The ids sent were claimed by the page that followed: start over with the chosen files.
      busy = false;
      sent = new Map();
      Array.prototype.forEach.call(form.querySelectorAll("input[name=photo_uploads][data-sent]"), function (input) {
        input.remove();
      });
      Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (input) { input.disabled = false; });
    });

    form.addEventListener("submit", function (event) {
      if (busy) { event.preventDefault(); return; }
      var inputs = photoInputs(form);
      if (!inputs.length || !capable) {
        busy = true;
        window.setTimeout(function () { setBusy(form, true); }, 0);  // after the browser has read the submitter
        return;
      }
      event.preventDefault();
      busy = true;
      setBusy(form, true);
      var files = [];
      inputs.forEach(function (input) { files = files.concat(Array.prototype.slice.call(input.files)); });
      files = files.slice(0, MAX_PHOTOS);
      var total = files.length;

      var chain = Promise.resolve();
      files.forEach(function (file, index) {
        chain = chain.then(function () {
          if (sent.has(file)) return null;
          var numbers = { n: index + 1, total: total };
          progress.show(text(form, "preparing", numbers), null);
          return downscale(file).then(function (blob) {
            var name = blob === file ? file.name : jpegName(file.name);
            return send(form, blob, name, function (done, size, waiting) {
              progress.show(text(form, waiting ? "waiting" : "sending", numbers), size ? done / size : 0);
            });
          }).then(function (id) {
            sent.set(file, id);
            addHidden(form, id);
          });
        });
      });
      chain.then(function () {
        progress.show(text(form, "saving"), null);
        inputs.forEach(function (input) { input.disabled = true; });  // the photos went ahead; post only the ids
        HTMLFormElement.prototype.submit.call(form);
      }).catch(function (failure) {
        busy = false;
        setBusy(form, false);
        progress.show((failure && failure.detail) || text(form, "failed"), 0);
      });
    });
  }

  function setUpDownscale(form) {
    var busy = false;
    form.addEventListener("photo-upload-reset", function () { busy = false; });
    form.addEventListener("submit", function (event) {
      if (busy) { event.preventDefault(); return; }
      busy = true;
      var inputs = photoInputs(form);
      if (!inputs.length || !capable || !window.DataTransfer) {
        window.setTimeout(function () { setBusy(form, true); }, 0);
        return;
      }
      event.preventDefault();
      setBusy(form, true);
      var progress = progressBox(form);
      progress.show(text(form, "preparing", { n: 1, total: 1 }), null);
      Promise.all(inputs.map(function (input) {
        return Promise.all(Array.prototype.slice.call(input.files).map(downscale)).then(function (blobs) {
          var transfer = new DataTransfer();
          blobs.forEach(function (blob, i) {
            var file = input.files[i];
            transfer.items.add(blob === file ? file : new File([blob], jpegName(file.name), { type: "image/jpeg" }));
          });
          input.files = transfer.files;
        });
      })).then(function () {
        progress.show(text(form, "saving"), null);
        HTMLFormElement.prototype.submit.call(form);
      });
    });
  }

  // Back from the next page (back/forward cache): the form is usable again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    Array.prototype.forEach.call(document.querySelectorAll("form[data-photo-upload], form[data-photo-downscale]"),
      function (form) { setBusy(form, false); progressBox(form).hide(); form.dispatchEvent(new Event("photo-upload-reset")); });
  });

  Array.prototype.forEach.call(document.querySelectorAll("form[data-photo-upload]"), setUpChunked);
  Array.prototype.forEach.call(document.querySelectorAll("form[data-photo-downscale]"), setUpDownscale);
})();
