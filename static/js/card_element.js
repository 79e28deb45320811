/* What every Farmgate card form shares (paying, card holds, saving a card): the Stripe.js card element, the
 * form's message boxes, and posting to Farmgate with the CSRF token. Loaded before pay.js or saved_card.js.
 * FarmgateCard.setup(form, prefix) returns null (and says why on the page) when Stripe.js did not load.
 */
(function () {
  'use strict';

  function firstError(body) {
    if (body.detail) { return body.detail; }
    for (var key in body) {
      if (Array.isArray(body[key]) && body[key].length) { return body[key][0]; }
    }
    return '';
  }

  function setup(form, prefix) {
    var d = form.dataset;
    var ui = {
      d: d,
      errorBox: document.getElementById(prefix + '-error'),
      statusBox: document.getElementById(prefix + '-status'),
      button: document.getElementById(prefix + '-button')
    };
    ui.fail = function (message) {
      ui.errorBox.textContent = message || d.msgFailed;
      ui.statusBox.textContent = '';
      ui.button.disabled = false;
    };
    if (typeof window.Stripe !== 'function') {
      ui.button.disabled = true;
      ui.errorBox.textContent = d.msgNoStripe;
      return null;
    }
    ui.stripe = window.Stripe(d.publishableKey);
    ui.card = ui.stripe.elements().create('card');
    ui.card.mount('#card-element');
    // POST to Farmgate; resolves with the JSON answer, rejects with its first error message.
    ui.post = function (url, data) {
      return fetch(url, {
        method: 'POST', body: data, credentials: 'same-origin',
        headers: {'X-CSRFToken': form.querySelector('[name=csrfmiddlewaretoken]').value, 'Accept': 'application/json'}
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) { throw new Error(firstError(body) || d.msgFailed); }
          return body;
        });
      });
    };
    // Starts sending: one submission at a time, the working message shown.
    ui.start = function () {
      if (ui.button.disabled) { return false; }
      ui.button.disabled = true;
      ui.errorBox.textContent = '';
      ui.statusBox.textContent = d.msgWorking;
      return true;
    };
    return ui;
  }

  window.FarmgateCard = {setup: setup};
}());
