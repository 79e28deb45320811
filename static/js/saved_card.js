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
  var errorBox = document.getElementById('card-error');
  var statusBox = document.getElementById('card-status');
  var button = document.getElementById('card-button');

  function fail(message) {
    errorBox.textContent = message || d.msgFailed;
    statusBox.textContent = '';
    button.disabled = false;
  }

  if (typeof window.Stripe !== 'function') {
    button.disabled = true;
    errorBox.textContent = d.msgNoStripe;
    return;
  }
  var stripe = window.Stripe(d.publishableKey);
  var card = stripe.elements().create('card');
  card.mount('#card-element');

  function firstError(body) {
    if (body.detail) { return body.detail; }
    for (var key in body) {
      if (Array.isArray(body[key]) && body[key].length) { return body[key][0]; }
    }
    return '';
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (button.disabled) { return; }
    button.disabled = true;
    errorBox.textContent = '';
    statusBox.textContent = d.msgWorking;
    fetch(d.setupUrl, {
      method: 'POST', body: new FormData(form), credentials: 'same-origin',
      headers: {'X-CSRFToken': form.querySelector('[name=csrfmiddlewaretoken]').value, 'Accept': 'application/json'}
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) { throw new Error(firstError(body) || d.msgFailed); }
        return body;
      });
    }).then(function (setup) {
      return stripe.confirmCardSetup(setup.client_secret, {payment_method: {card: card}});
    }).then(function (result) {
      if (result.error) { throw new Error(result.error.message || d.msgFailed); }
      return fetch(d.statusUrl, {credentials: 'same-origin', headers: {'Accept': 'application/json'}});
    }).then(function (response) {
      return response.json();
    }).then(function (state) {
      window.location.assign(state.next_url || window.location.href);
    }).catch(function (error) { fail(error.message); });
  });
}());
