// The FDI tooth chart (Alpine.js component "toothChart"), shared by the patient's chart and
// the record editor. Loaded without `defer` so it registers before Alpine starts.
//
// The page embeds its data with json_script: {mode: "view"|"pick", dentition, marks,
// findings, vocabulary: [{value, label, colour}]}. In "view" mode the teeth show `marks`
// (tooth code -> [{finding, label, colour, note}]); in "pick" mode a click selects teeth,
// "Add" turns the selection into a finding row, and the rows are posted as JSON in the
// hidden input named "findings".
(function () {
  "use strict";

  function readData(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }

  function toothChart(dataId) {
    var data = readData(dataId);
    var vocabulary = data.vocabulary || [];
    var byValue = {};
    vocabulary.forEach(function (item) {
      byValue[item.value] = item;
    });

    return {
      mode: data.mode || "view",
      dentition: data.dentition || "permanent",
      selected: [],
      findings: (data.findings || []).map(function (f) {
        return { teeth: f.teeth.slice(), finding: f.finding, note: f.note || "" };
      }),
      staticMarks: data.marks || {},
      vocabulary: vocabulary,
      finding: vocabulary.length ? vocabulary[0].value : "",
      note: "",
      message: "",

      get picking() {
        return this.mode === "pick";
      },

      // tooth code (string) -> [{finding, label, colour, note}]
      get marks() {
        if (!this.picking) {
          return this.staticMarks;
        }
        var marks = {};
        this.findings.forEach(function (row) {
          var item = byValue[row.finding] || { label: row.finding, colour: "#495057" };
          row.teeth.forEach(function (code) {
            var key = String(code);
            (marks[key] = marks[key] || []).push({
              finding: row.finding,
              label: item.label,
              colour: item.colour,
              note: row.note,
            });
          });
        });
        return marks;
      },

      get findingsJson() {
        return JSON.stringify(this.findings);
      },

      marksOf(code) {
        return this.marks[String(code)] || [];
      },

      fill(code) {
        var marks = this.marksOf(code);
        return marks.length ? "background-color: " + marks[0].colour + "; color: #fff;" : "";
      },

      title(code) {
        var marks = this.marksOf(code);
        if (!marks.length) {
          return String(code);
        }
        return (
          code +
          ": " +
          marks
            .map(function (m) {
              return m.note ? m.label + " (" + m.note + ")" : m.label;
            })
            .join(", ")
        );
      },

      isSelected(code) {
        return this.selected.indexOf(code) !== -1;
      },

      toggle(code) {
        if (!this.picking) {
          return;
        }
        var at = this.selected.indexOf(code);
        if (at === -1) {
          this.selected.push(code);
        } else {
          this.selected.splice(at, 1);
        }
        this.message = "";
      },

      clearSelection() {
        this.selected = [];
      },

      labelOf(value) {
        return (byValue[value] || { label: value }).label;
      },

      colourOf(value) {
        return (byValue[value] || { colour: "#495057" }).colour;
      },

      addFinding(emptyMessage) {
        if (!this.selected.length) {
          this.message = emptyMessage;
          return;
        }
        this.findings.push({
          teeth: this.selected.slice().sort(function (a, b) {
            return a - b;
          }),
          finding: this.finding,
          note: this.note.trim(),
        });
        this.selected = [];
        this.note = "";
        this.message = "";
      },

      removeFinding(index) {
        this.findings.splice(index, 1);
      },
    };
  }

  window.toothChart = toothChart;
  document.addEventListener("alpine:init", function () {
    window.Alpine.data("toothChart", toothChart);
  });
})();
