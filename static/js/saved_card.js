/* Saving a card (the saved cards page): the consent box, then a SetupIntent made by Farmgate and confirmed by
 * Stripe.js with the card element (stripe.confirmCardSetup), so the card details go only to the payment service;
 * then Farmgate records the card and the page reloads. Works unchanged against Stripe.js and localstripe's
 * stand-in (STRIPE_JS_URL). Texts come translated from the form's data attributes.
 */
(function () {
  'use strict';
  var form = document.querySelector('form[data-card-setup]');
  if (!form) { return; }
  var d = form.dataset;
  var ui = window.FarmgateCard.setup(form, 'card');
  if (!ui) { return; }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (!ui.start()) { return; }
    ui.post(d.setupUrl, new FormData(form)).then(function (setup) {
      return ui.stripe.confirmCardSetup(setup.client_secret, {payment_method: {card: ui.card}});
    }).then(function (result) {
      if (result.error) { throw new Error(result.error.message || d.msgFailed); }
      return fetch(d.statusUrl, {credentials: 'same-origin', headers: {'Accept': 'application/json'}});
    }).then(function (response) {
      return response.json();
    }).then(function (state) {
      window.location.assign(state.next_url || window.location.href);
    }).catch(function (error) { ui.fail(error.message); });
  });
}());
