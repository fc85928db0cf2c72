// The treatment plan builder (Alpine.js component "planBuilder"): search the catalogue, add
// lines, pick teeth on an FDI grid, set quantity and price, and see the totals live.
// Loaded without `defer` so it registers before Alpine starts.
//
// The page embeds {mode, catalogue: [{id, code, name, pinyin, category, unit, unit_label,
// price, insured}], lines: [...], errors: {"items.0.teeth": [..]}, units} with json_script;
// the lines are posted as JSON in the hidden input named "items_json". Money is added up in
// whole fen (integers), never in floating point yuan.
(function () {
  "use strict";

  var PERMANENT = [
    [[18, 17, 16, 15, 14, 13, 12, 11], [21, 22, 23, 24, 25, 26, 27, 28]],
    [[48, 47, 46, 45, 44, 43, 42, 41], [31, 32, 33, 34, 35, 36, 37, 38]],
  ];
  var PRIMARY = [
    [[55, 54, 53, 52, 51], [61, 62, 63, 64, 65]],
    [[85, 84, 83, 82, 81], [71, 72, 73, 74, 75]],
  ];
  var VALID = {};
  PERMANENT.concat(PRIMARY).forEach(function (row) {
    row.forEach(function (quadrant) {
      quadrant.forEach(function (code) {
        VALID[code] = true;
      });
    });
  });

  function readData(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }

  // "1,234.5" / "¥12" -> 123450 / 1200 fen; null when it is not an amount.
  function toFen(text) {
    var cleaned = String(text == null ? "" : text).replace(/[¥￥,\s]/g, "");
    var match = /^(\d{1,9})(?:\.(\d{0,2}))?$/.exec(cleaned);
    if (!match) {
      return null;
    }
    var fraction = (match[2] || "").padEnd(2, "0");
    return parseInt(match[1], 10) * 100 + parseInt(fraction, 10);
  }

  function formatFen(fen) {
    var yuan = Math.floor(fen / 100);
    var rest = String(fen % 100).padStart(2, "0");
    return "¥" + yuan.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + rest;
  }

  function defaultQuantity(line) {
    if (line.unit === "tooth" && line.teeth.length) {
      return line.teeth.length;
    }
    if (line.unit === "arch" && line.arch === "both") {
      return 2;
    }
    return 1;
  }

  function planBuilder(dataId) {
    var data = readData(dataId);
    var catalogue = data.catalogue || [];
    var byId = {};
    catalogue.forEach(function (item) {
      byId[item.id] = item;
    });

    return {
      mode: data.mode || "new",
      query: "",
      lines: (data.lines || []).map(function (line) {
        var item = byId[line.item_id] || {};
        var teeth = Array.isArray(line.teeth) ? line.teeth.slice() : [];
        var result = {
          plan_item_id: line.plan_item_id || null,
          item_id: line.item_id,
          code: line.code || item.code || "",
          name: line.name || item.name || "",
          unit: line.unit || item.unit || "",
          teeth: teeth,
          arch: line.arch || "",
          quantity: line.quantity === "" || line.quantity == null ? 1 : Number(line.quantity),
          unit_price: line.unit_price == null ? item.price || "0.00" : String(line.unit_price),
          note: line.note || "",
          executed: line.executed || 0,
          status: line.status || "planned",
          autoQuantity: false,
        };
        return result;
      }),
      errors: data.errors || {},
      picking: null,
      dentition: "permanent",
      message: "",
      permanent: PERMANENT,
      primary: PRIMARY,

      get results() {
        var q = this.query.trim().toLowerCase();
        if (!q) {
          return [];
        }
        return catalogue
          .filter(function (item) {
            return (
              item.name.toLowerCase().indexOf(q) >= 0 ||
              item.code.toLowerCase().indexOf(q) === 0 ||
              (item.pinyin || "").indexOf(q) >= 0
            );
          })
          .slice(0, 12);
      },

      add(item) {
        var line = {
          plan_item_id: null,
          item_id: item.id,
          code: item.code,
          name: item.name,
          unit: item.unit,
          teeth: [],
          arch: item.unit === "arch" ? "upper" : "",
          quantity: 1,
          unit_price: item.price,
          note: "",
          executed: 0,
          status: "planned",
          autoQuantity: true,
        };
        this.lines.push(line);
        this.query = "";
        if (item.unit === "tooth") {
          this.picking = this.lines.length - 1;
        }
      },

      remove(index) {
        var line = this.lines[index];
        if (line.executed > 0) {
          this.message = this.$root.dataset.executedMessage || "";
          return;
        }
        this.lines.splice(index, 1);
        this.errors = {};
        if (this.picking === index) {
          this.picking = null;
        }
      },

      move(index, step) {
        var target = index + step;
        if (target < 0 || target >= this.lines.length) {
          return;
        }
        var line = this.lines.splice(index, 1)[0];
        this.lines.splice(target, 0, line);
        this.errors = {};
      },

      refreshQuantity(line) {
        if (line.autoQuantity) {
          line.quantity = defaultQuantity(line);
        }
      },

      toggleTooth(line, code) {
        var at = line.teeth.indexOf(code);
        if (at >= 0) {
          line.teeth.splice(at, 1);
        } else {
          line.teeth.push(code);
          line.teeth.sort(function (a, b) {
            return a - b;
          });
        }
        this.refreshQuantity(line);
      },

      hasTooth(line, code) {
        return line.teeth.indexOf(code) >= 0;
      },

      setTeeth(line, text) {
        var codes = String(text)
          .split(/[\s,，、;；]+/)
          .filter(Boolean)
          .map(function (t) {
            return parseInt(t, 10);
          });
        var valid = codes.filter(function (c) {
          return VALID[c];
        });
        line.teeth = valid.filter(function (c, i) {
          return valid.indexOf(c) === i;
        }).sort(function (a, b) {
          return a - b;
        });
        this.refreshQuantity(line);
        return valid.length === codes.length;
      },

      quantityChanged(line) {
        line.autoQuantity = false;
      },

      amountFen(line) {
        var price = toFen(line.unit_price);
        var quantity = parseInt(line.quantity, 10);
        if (price === null || !(quantity >= 1)) {
          return null;
        }
        return price * quantity;
      },

      amount(line) {
        var fen = this.amountFen(line);
        return fen === null ? "—" : formatFen(fen);
      },

      get totalFen() {
        var self = this;
        return this.lines.reduce(function (sum, line) {
          var fen = self.amountFen(line);
          return sum + (fen === null ? 0 : fen);
        }, 0);
      },

      get total() {
        return formatFen(this.totalFen);
      },

      get toothCount() {
        var seen = {};
        this.lines.forEach(function (line) {
          line.teeth.forEach(function (code) {
            seen[code] = true;
          });
        });
        return Object.keys(seen).length;
      },

      get invalid() {
        var self = this;
        return (
          !this.lines.length ||
          this.lines.some(function (line) {
            return self.amountFen(line) === null;
          })
        );
      },

      errorsFor(index, field) {
        return this.errors["items." + index + "." + field] || [];
      },

      get itemsJson() {
        return JSON.stringify(
          this.lines.map(function (line) {
            return {
              plan_item_id: line.plan_item_id,
              item_id: line.item_id,
              teeth: line.teeth,
              arch: line.arch,
              quantity: parseInt(line.quantity, 10) || "",
              unit_price: line.unit_price,
              note: line.note,
            };
          })
        );
      },
    };
  }

  window.planBuilder = planBuilder;
})();
