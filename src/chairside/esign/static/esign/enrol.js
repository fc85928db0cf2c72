// Enrolling a staff signing key in this browser: an SMS code to my mobile, then a key pair
// made here (non-extractable), its certificate request with my name and resident ID number
// to the API; the CA's certificate comes back and the key is kept in IndexedDB under the
// certificate's spki_sha256.
import { b64encode, buildCsr, generateKey, keyStore, postJson, spkiSha256, supported } from "./signer.js";

const root = document.getElementById("enrol");
const config = root.dataset;
const text = JSON.parse(document.getElementById("enrol-text").textContent);
const errorBox = root.querySelector("[data-error]");

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

async function guarded(button, action) {
  button.disabled = true;
  showError("");
  try {
    await action();
  } catch (error) {
    showError(error.message || text.failed);
  } finally {
    button.disabled = false;
  }
}

async function checkThisDevice() {
  const status = root.querySelector("[data-device]");
  if (!config.spki) return;
  const found = await keyStore.get(config.spki);
  status.textContent = found ? text.keyHere : text.keyElsewhere;
  status.hidden = false;
}

function main() {
  if (!supported()) {
    showError(text.unsupported);
    root.querySelector("form").hidden = true;
    return;
  }
  checkThisDevice();
  const sendButton = root.querySelector("[data-send-code]");
  const sent = root.querySelector("[data-sent]");
  sendButton.addEventListener("click", () =>
    guarded(sendButton, async () => {
      const answer = await postJson(config.codeUrl, {}, config.csrf);
      sent.textContent = text.codeSent.replace("%(phone)s", answer.sent_to);
      sent.hidden = false;
    }),
  );
  const form = root.querySelector("form");
  const submit = form.querySelector("[type=submit]");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(submit, async () => {
      const field = (name) => form.elements.namedItem(name).value.trim();
      const keyPair = await generateKey();
      const csr = await buildCsr(keyPair, field("name"));
      const certificate = await postJson(
        config.enrolUrl,
        {
          csr: b64encode(csr),
          code: field("code"),
          name: field("name"),
          id_number: field("id_number"),
        },
        config.csrf,
      );
      const spki = await spkiSha256(keyPair.publicKey);
      if (spki !== certificate.spki_sha256) throw new Error(text.failed);
      await keyStore.put(keyPair, { serial: certificate.serial, staff: config.staff });
      window.location.assign(config.doneUrl);
    });
  });
}

main();
