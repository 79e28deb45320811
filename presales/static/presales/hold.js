/* Farmgate card authorisation (pre-orders and buying groups): reserve the amount now, capture later.
 *
 * 1. stripe.createToken(card) turns the card into a token (the details go to the payment service, never here);
 * 2. the token is posted to Farmgate, which confirms the order's manual-capture PaymentIntent with it;
 * 3. if the bank asks for 3-D Secure, stripe.confirmCardPayment(clientSecret) shows it;
 * 4. the page asks Farmgate (which asks Stripe) until the reservation is recorded, then opens the next page.
 * Only calls that both Stripe.js v3 and localstripe's stand-in provide are used. Texts come from data attributes.
 */
(function () {
  'use strict';
  var form = document.getElementById('hold-form');
  if (!form) { return; }
  var d = form.dataset;
  var errorBox = document.getElementById('hold-error');
  var statusBox = document.getElementById('hold-status');
  var button = document.getElementById('hold-button');

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

  function csrfToken() {
    return form.querySelector('[name=csrfmiddlewaretoken]').value;
  }

  function firstError(body) {
    if (body.detail) { return body.detail; }
    for (var key in body) {
      if (Array.isArray(body[key]) && body[key].length) { return body[key][0]; }
    }
    return '';
  }

  function confirmOnServer(tokenId) {
    var data = new FormData();
    data.append('token', tokenId);
    return fetch(d.confirmUrl, {
      method: 'POST', body: data, credentials: 'same-origin',
      headers: {'X-CSRFToken': csrfToken(), 'Accept': 'application/json'}
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) { throw new Error(firstError(body) || d.msgFailed); }
        return body;
      });
    });
  }

  function waitUntilRecorded(deadline) {
    fetch(d.statusUrl, {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (state.done || Date.now() > deadline) {
          window.location.assign(state.next_url || d.doneUrl);
        } else {
          window.setTimeout(function () { waitUntilRecorded(deadline); }, 1000);
        }
      })
      .catch(function () { window.setTimeout(function () { waitUntilRecorded(deadline); }, 2000); });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (button.disabled) { return; }
    button.disabled = true;
    errorBox.textContent = '';
    statusBox.textContent = d.msgWorking;
    stripe.createToken(card)
      .then(function (result) {
        if (result.error || !result.token) { throw new Error((result.error && result.error.message) || d.msgCardError); }
        return confirmOnServer(result.token.id);
      })
      .then(function (intent) {
        if (intent.status === 'requires_action') {
          return stripe.confirmCardPayment(intent.client_secret).then(function (result) {
            if (result.error) { throw new Error(result.error.message || d.msgFailed); }
          });
        }
        if (intent.status !== 'requires_capture' && intent.status !== 'succeeded') { throw new Error(d.msgFailed); }
      })
      .then(function () {
        statusBox.textContent = d.msgWaiting;
        waitUntilRecorded(Date.now() + 60000);
      })
      .catch(function (error) { fail(error.message); });
  });
}());
