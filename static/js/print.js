/* A button with data-print prints the page (the parcel label). */
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) window.print();
});
