/* Farmgate card forms (the pay page, and the card hold of pre-orders and buying groups): the Stripe.js card
 * element, then server-side confirmation of the order's PaymentIntent (captured now, or later for a hold).
 *
 * 1. stripe.createToken(card) turns the card into a token (the details go to the payment service, never here);
 * 2. the token is posted to Farmgate, which confirms the order's PaymentIntent with it;
 * 3. if the bank asks for 3-D Secure, stripe.confirmCardPayment(clientSecret) shows it;
 * 4. the page polls the order until Stripe's webhook has marked it paid, then opens the order page.
 * Only calls that both Stripe.js v3 and localstripe's stand-in provide are used, so the page runs unchanged
 * against either (STRIPE_JS_URL). Texts come translated from the page's data attributes.
 */
(function () {
  'use strict';
  // One script for every card form: the pay page (data-card-form="pay") and the card hold of pre-orders and
  // buying groups ("hold"); the form's data attributes say which statuses count as done and where to go.
  var form = document.querySelector('form[data-card-form]');
  if (!form) { return; }
  var d = form.dataset;
  var prefix = d.cardForm;
  var accepted = (d.acceptStatuses || 'succeeded processing').split(' ');
  var ui = window.FarmgateCard.setup(form, prefix);
  if (!ui) { return; }

  function confirmOnServer(tokenId) {
    var data = new FormData();
    data.append('token', tokenId);
    return ui.post(d.confirmUrl, data);
  }

  // The order status endpoint answers {"status"}; the hold status endpoint {"done","next_url"}.
  function finished(state) {
    return 'done' in state ? state.done : state.status !== 'pending_payment';
  }

  function waitUntilRecorded(deadline) {
    fetch(d.statusUrl, {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (finished(state) || Date.now() > deadline) {
          window.location.assign(state.next_url || d.doneUrl);
        } else {
          window.setTimeout(function () { waitUntilRecorded(deadline); }, 1000);
        }
      })
      .catch(function () { window.setTimeout(function () { waitUntilRecorded(deadline); }, 2000); });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (!ui.start()) { return; }
    ui.stripe.createToken(ui.card)
      .then(function (result) {
        if (result.error || !result.token) { throw new Error((result.error && result.error.message) || d.msgCardError); }
        return confirmOnServer(result.token.id);
      })
      .then(function (intent) {
        if (intent.status === 'requires_action') {
          return ui.stripe.confirmCardPayment(intent.client_secret).then(function (result) {
            if (result.error) { throw new Error(result.error.message || d.msgFailed); }
          });
        }
        if (accepted.indexOf(intent.status) === -1) { throw new Error(d.msgFailed); }
      })
      .then(function () {
        ui.statusBox.textContent = d.msgWaiting;
        waitUntilRecorded(Date.now() + 60000);
      })
      .catch(function (error) { ui.fail(error.message); });
  });
}());
