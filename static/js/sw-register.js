/* Installs the site's service worker (static/sw.js, served at /sw.js) once the page has loaded. */
(function () {
  var script = document.currentScript;
  if (!script || !("serviceWorker" in navigator)) return;
  var url = script.getAttribute("data-sw") || "/sw.js";
  function register() { navigator.serviceWorker.register(url, {scope: "/"}).catch(function () {}); }
  if (document.readyState === "complete") register(); else window.addEventListener("load", register);
})();
