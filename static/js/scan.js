/* Agent's station page: scan a parcel's QR code with the phone camera where the browser can read QR codes;
   typing the code always works. */
(function () {
  var button = document.getElementById("scan"), video = document.getElementById("scan-video");
  var input = document.getElementById("id_code");
  if (!button || !input || !("BarcodeDetector" in window) || !(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var detector = new window.BarcodeDetector({formats: ["qr_code"]});
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}}).then(function (stream) {
      video.srcObject = stream; video.hidden = false; video.play();
      function stop() { stream.getTracks().forEach(function (t) { t.stop(); }); video.hidden = true; }
      function look() {
        detector.detect(video).then(function (found) {
          if (found.length) { stop(); input.value = found[0].rawValue; input.form.submit(); }
          else { window.requestAnimationFrame(look); }
        }, function () { window.requestAnimationFrame(look); });
      }
      look();
    }, function () { button.hidden = true; input.focus(); });
  });
})();
