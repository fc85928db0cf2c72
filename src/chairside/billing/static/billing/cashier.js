// The cashier's split payment (Alpine component "cashierPayment"): rows of method + amount,
// what is still due, and for cash what was handed over and the change. Amounts are kept in
// fen (integers), never floats. The idempotency key is made once per page load: a double
// click or a browser retry sends the same key, and the server answers the first payment
// instead of charging again.
(function () {
  "use strict";

  var MAX_ROWS = 6;
  var uid = 0;

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  // "1,234.5" / "¥12" -> fen; null when it is not an amount.
  function toFen(text) {
    var clean = String(text == null ? "" : text).replace(/[¥￥,\s]/g, "");
    if (!/^\d+(\.\d{0,2})?$/.test(clean)) {
      return null;
    }
    var parts = clean.split(".");
    var fraction = ((parts[1] || "") + "00").slice(0, 2);
    return parseInt(parts[0], 10) * 100 + parseInt(fraction, 10);
  }

  function money(fen) {
    var negative = fen < 0;
    var abs = Math.abs(fen);
    var yuan = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var cents = ("0" + (abs % 100)).slice(-2);
    return (negative ? "-¥" : "¥") + yuan + "." + cents;
  }

  function plain(fen) {
    return Math.floor(fen / 100) + "." + ("0" + (fen % 100)).slice(-2);
  }

  function cashierPayment() {
    var source = document.getElementById("payment-config");
    var config = source ? JSON.parse(source.textContent) : { due: "0", methods: [], cards: [], rows: [] };
    var cards = config.cards || [];

    function row(method, amount, tendered, reference, account) {
      uid += 1;
      return {
        uid: uid,
        method: method,
        amount: amount || "",
        tendered: tendered || "",
        reference: reference || "",
        account: account || (cards.length ? String(cards[0].id) : ""),
      };
    }

    var rows = (config.rows || []).map(function (r) {
      return row(r.method, r.amount, r.tendered, r.reference, r.account);
    });
    var due = toFen(config.due) || 0;
    if (!rows.length) {
      rows = [row("cash", plain(due))];
    }

    return {
      key: newKey(),
      busy: false,
      due: due,
      rows: rows,
      methods: config.methods || [],
      cards: cards,
      labels: config.labels || {},
      money: money,

      fen: function (text) {
        return toFen(text);
      },
      entered: function () {
        return this.rows.reduce(function (sum, r) {
          return sum + (toFen(r.amount) || 0);
        }, 0);
      },
      remaining: function () {
        return this.due - this.entered();
      },
      changeOf: function (r) {
        if (r.method !== "cash") {
          return 0;
        }
        var amount = toFen(r.amount);
        var tendered = toFen(r.tendered);
        if (amount === null || tendered === null || tendered <= amount) {
          return 0;
        }
        return tendered - amount;
      },
      shortOf: function (r) {
        if (r.method !== "cash" || !r.tendered) {
          return false;
        }
        var amount = toFen(r.amount);
        var tendered = toFen(r.tendered);
        return amount !== null && tendered !== null && tendered < amount;
      },
      changeTotal: function () {
        var self = this;
        return this.rows.reduce(function (sum, r) {
          return sum + self.changeOf(r);
        }, 0);
      },
      ready: function () {
        var self = this;
        var any = false;
        var ok = this.rows.every(function (r) {
          var amount = toFen(r.amount);
          if (!r.amount) {
            return !r.tendered;
          }
          any = true;
          return amount !== null && amount > 0 && !self.shortOf(r) &&
            (r.tendered === "" || toFen(r.tendered) !== null);
        });
        return ok && any && this.remaining() >= 0;
      },
      add: function () {
        if (this.rows.length >= MAX_ROWS) {
          return;
        }
        var left = Math.max(this.remaining(), 0);
        var used = this.rows.map(function (r) { return r.method; });
        var next = this.methods.filter(function (m) { return used.indexOf(m.value) < 0; })[0];
        this.rows.push(row(next ? next.value : "cash", left ? plain(left) : ""));
      },
      remove: function (index) {
        this.rows.splice(index, 1);
      },
      methodChanged: function (r) {
        if (r.method !== "cash") {
          r.tendered = "";
        }
      },
      submit: function (event) {
        if (this.busy || !this.ready()) {
          event.preventDefault();
          return;
        }
        // Keep the key: a second submit of this page must not become a second payment.
        this.busy = true;
      },
    };
  }

  window.cashierPayment = cashierPayment;
  document.addEventListener("alpine:init", function () {
    window.Alpine.data("cashierPayment", cashierPayment);
  });
})();
