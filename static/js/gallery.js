/* The product photos: a scroll-snap strip that works without this script (swipe, dots are anchors, each
   photo links to its large version). The script keeps the current dot in step with the strip, scrolls the strip
   (not the page) when a dot is tapped, and opens the large photo full screen in a <dialog> instead of leaving. */
(function () {
  "use strict";

  function setUp(gallery) {
    var strip = gallery.querySelector(".gallery-strip");
    var dots = Array.prototype.slice.call(gallery.querySelectorAll(".gallery-dots a"));
    var dialog = gallery.querySelector("[data-zoom-dialog]");
    if (!strip) return;

    function current() {
      return strip.clientWidth ? Math.round(strip.scrollLeft / strip.clientWidth) : 0;
    }

    function markDot() {
      var index = current();
      dots.forEach(function (dot, i) {
        if (i === index) dot.setAttribute("aria-current", "true");
        else dot.removeAttribute("aria-current");
      });
    }

    var pending = false;
    strip.addEventListener("scroll", function () {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () { pending = false; markDot(); });
    }, { passive: true });

    dots.forEach(function (dot, i) {
      dot.addEventListener("click", function (event) {
        event.preventDefault();
        strip.scrollTo({ left: i * strip.clientWidth, behavior: "smooth" });
      });
    });

    if (!dialog || typeof dialog.showModal !== "function") return;
    strip.addEventListener("click", function (event) {
      var link = event.target.closest("[data-zoom]");
      if (!link) return;
      event.preventDefault();
      var old = dialog.querySelector("img");
      if (old) old.remove();
      var img = document.createElement("img");
      img.src = link.getAttribute("href");
      var thumb = link.querySelector("img");
      img.alt = thumb ? thumb.alt : "";
      dialog.appendChild(img);
      dialog.showModal();
    });
    // A tap on the dark backdrop closes it, as the Close button and the Escape key do.
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) dialog.close();
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-gallery]"), setUp);
})();
