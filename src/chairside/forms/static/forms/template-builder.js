// The form template builder (Alpine.js component "formBuilder"): add, edit, move and remove
// blocks (headings, paragraphs with placeholders, fields), and order the signers.
// Loaded without `defer` so it registers before Alpine starts.
//
// The page embeds {blocks, signers, errors: {"blocks.3.options": [..], "signers": [..]},
// placeholders: [{key, label}], kinds: [{value, label}], roles: [{value, label}]} with
// json_script; the blocks and signers are posted as JSON in the hidden inputs
// "blocks_json" and "signers_json". The server checks everything again.
(function () {
  "use strict";

  var CHOICES = { choice: true, multichoice: true };
  var SIGNATURES = { patient_signature: true, doctor_signature: true };

  function readData(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }

  var nextUid = 1;

  function toUi(block) {
    return {
      uid: nextUid++,
      type: block.type || "paragraph",
      text: block.text || "",
      key: block.key || "",
      label: block.label || "",
      kind: block.kind || "text",
      required: Boolean(block.required),
      optionsText: Array.isArray(block.options) ? block.options.join("\n") : "",
      help: block.help || "",
    };
  }

  function toStored(block) {
    if (block.type !== "field") {
      return { type: block.type, text: block.text };
    }
    var stored = {
      type: "field",
      key: block.key.trim(),
      label: block.label,
      kind: block.kind,
      required: SIGNATURES[block.kind] ? false : block.required,
    };
    if (CHOICES[block.kind]) {
      stored.options = block.optionsText
        .split("\n")
        .map(function (line) {
          return line.trim();
        })
        .filter(function (line) {
          return line.length > 0;
        });
    }
    if (block.help.trim()) {
      stored.help = block.help.trim();
    }
    return stored;
  }

  function formBuilder(dataId) {
    var data = readData(dataId);
    return {
      blocks: (data.blocks || []).map(toUi),
      signers: (data.signers || []).slice(),
      errors: data.errors || {},
      placeholders: data.placeholders || [],
      kinds: data.kinds || [],
      roles: data.roles || [],

      isChoice(block) {
        return Boolean(CHOICES[block.kind]);
      },
      isSignature(block) {
        return Boolean(SIGNATURES[block.kind]);
      },
      errorsFor(index, part) {
        return this.errors["blocks." + index + "." + part] || [];
      },
      hasErrors(index) {
        var prefix = "blocks." + index + ".";
        return Object.keys(this.errors).some(function (name) {
          return name.indexOf(prefix) === 0;
        });
      },
      generalErrors(name) {
        return this.errors[name] || [];
      },
      // Indices shift when blocks move: old messages would point at the wrong block.
      changed() {
        this.errors = {};
      },
      freeKey() {
        var used = {};
        this.blocks.forEach(function (b) {
          used[b.key] = true;
        });
        var n = this.blocks.length + 1;
        while (used["field_" + n]) {
          n += 1;
        }
        return "field_" + n;
      },
      add(type, at) {
        var block = toUi({ type: type });
        if (type === "field") {
          block.key = this.freeKey();
        }
        var index = at === undefined ? this.blocks.length : at + 1;
        this.blocks.splice(index, 0, block);
        this.changed();
      },
      move(index, step) {
        var target = index + step;
        if (target < 0 || target >= this.blocks.length) {
          return;
        }
        var moved = this.blocks.splice(index, 1)[0];
        this.blocks.splice(target, 0, moved);
        this.changed();
      },
      remove(index) {
        this.blocks.splice(index, 1);
        this.changed();
      },
      insertPlaceholder(block, event) {
        var key = event.target.value;
        event.target.value = "";
        if (!key) {
          return;
        }
        var token = "{{" + key + "}}";
        var area = event.target.closest(".builder-block").querySelector("textarea, input.block-text");
        var at = area && typeof area.selectionStart === "number" ? area.selectionStart : block.text.length;
        block.text = block.text.slice(0, at) + token + block.text.slice(at);
      },
      roleLabel(role) {
        var found = this.roles.find(function (r) {
          return r.value === role;
        });
        return found ? found.label : role;
      },
      missingRoles() {
        var signers = this.signers;
        return this.roles.filter(function (r) {
          return signers.indexOf(r.value) < 0;
        });
      },
      addSigner(role) {
        this.signers.push(role);
      },
      moveSigner(index, step) {
        var target = index + step;
        if (target < 0 || target >= this.signers.length) {
          return;
        }
        var moved = this.signers.splice(index, 1)[0];
        this.signers.splice(target, 0, moved);
      },
      removeSigner(index) {
        this.signers.splice(index, 1);
      },
      get blocksJson() {
        return JSON.stringify(this.blocks.map(toStored));
      },
      get signersJson() {
        return JSON.stringify(this.signers);
      },
    };
  }

  window.formBuilder = formBuilder;
})();
