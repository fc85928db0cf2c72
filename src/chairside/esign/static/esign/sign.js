// The signing page: the patient's (/sign/<token>/, a fresh key for this one signature) and
// a doctor's (/esign/documents/<id>/sign/, the key enrolled in this browser).
//
// Steps: (patient: SMS code, and ID number where asked) → draw (optional) → the server
// prepares the signature and shows the exact pages whose digest is signed → "confirm" →
// this browser signs the signed attributes → the server embeds the signature. The private
// key never leaves the browser; the patient's is forgotten when the page is done.
import { b64decode, b64encode, buildCsr, generateKey, keyStore, postJson, sign, SignaturePad, supported } from "./signer.js";

const root = document.getElementById("signer");
const config = root.dataset;
const text = JSON.parse(document.getElementById("signer-text").textContent);
const csrf = config.csrf;
const isPatient = config.mode === "patient";

const steps = Array.from(root.querySelectorAll("[data-step]"));
const errorBox = root.querySelector("[data-error]");
let pad = null;
let session = null;
let patientKey = null;
let staffKey = null;

function show(name) {
  for (const step of steps) step.hidden = step.dataset.step !== name;
  hideError();
  window.scrollTo(0, 0);
  if (name === "draw" && pad) requestAnimationFrame(() => pad.resize());
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

function hideError() {
  errorBox.hidden = true;
  errorBox.textContent = "";
}

function busy(button, on) {
  if (!button) return;
  button.disabled = on;
  button.classList.toggle("is-busy", on);
}

async function guarded(button, action) {
  busy(button, true);
  hideError();
  try {
    await action();
  } catch (error) {
    showError(error.message || text.failed);
  } finally {
    busy(button, false);
  }
}

function url(name, id) {
  if (isPatient) return config.base + name + "/";
  return config[name + "Url"].replace("/0/", `/${id}/`);
}

// --- patient: who is signing -------------------------------------------------------------

function startCountdown(button) {
  let left = 60;
  button.disabled = true;
  const label = button.textContent;
  const tick = () => {
    if (left <= 0) {
      button.disabled = false;
      button.textContent = label;
      return;
    }
    button.textContent = text.resendIn.replace("%(seconds)s", String(left));
    left -= 1;
    setTimeout(tick, 1000);
  };
  tick();
}

function wireIdentify() {
  const sendButton = root.querySelector("[data-send-code]");
  const verifyButton = root.querySelector("[data-verify]");
  const codeInput = root.querySelector("[name=code]");
  const idInput = root.querySelector("[name=id_number]");
  const sentNote = root.querySelector("[data-sent]");
  sendButton.addEventListener("click", () =>
    guarded(sendButton, async () => {
      const answer = await postJson(url("code"), {}, csrf);
      sentNote.textContent = text.codeSent.replace("%(phone)s", answer.sent_to);
      sentNote.hidden = false;
      codeInput.focus();
      startCountdown(sendButton);
    }),
  );
  verifyButton.addEventListener("click", () =>
    guarded(verifyButton, async () => {
      await postJson(url("verify"), { code: codeInput.value.trim(), id_number: idInput ? idInput.value.trim() : "" }, csrf);
      // Confirmed: the page comes back with the document's title and the full name.
      window.location.reload();
    }),
  );
}

// --- drawing, preparing and previewing ---------------------------------------------------------

async function prepare() {
  const handwriting = pad ? pad.toPngBase64() : null;
  if (isPatient) {
    // A key for this one signature, made here and never stored.
    patientKey = await generateKey();
    const csr = await buildCsr(patientKey, "patient");
    session = await postJson(url("prepare"), { csr: b64encode(csr), handwriting_png: handwriting }, csrf);
  } else {
    session = await postJson(config.prepareUrl, { handwriting_png: handwriting }, csrf);
    if (session.spki_sha256 !== config.spki) throw new Error(text.noKey);
  }
  const body = isPatient ? { session: session.id } : {};
  const preview = await postJson(url("preview", session.id), body, csrf);
  const pages = root.querySelector("[data-pages]");
  pages.replaceChildren(
    ...preview.pages.map((src, i) => {
      const image = document.createElement("img");
      image.src = src;
      image.alt = text.page.replace("%(number)s", String(i + 1));
      image.className = "preview-page";
      // Tap to read the small print: the page doubles in width and scrolls sideways.
      image.addEventListener("click", () => image.classList.toggle("is-zoomed"));
      return image;
    }),
  );
  root.querySelector("[data-digest]").textContent = preview.document_digest;
  root.querySelector("[data-preview-sha]").textContent = preview.preview_sha256;
  show("preview");
}

async function finish() {
  const key = isPatient ? patientKey.privateKey : staffKey.privateKey;
  const signature = await sign(key, b64decode(session.signed_attributes));
  const body = { signature: b64encode(signature) };
  if (isPatient) body.session = session.id;
  const done = await postJson(url("finish", session.id), body, csrf);
  patientKey = null; // the patient's key is dropped: it signed its one document
  session = null;
  const number = root.querySelector("[data-done-number]");
  if (number && done.number) number.textContent = done.number;
  show("done");
}

async function main() {
  if (!supported()) {
    show("unsupported");
    return;
  }
  const canvas = root.querySelector("canvas");
  if (canvas) pad = new SignaturePad(canvas);
  root.querySelector("[data-clear]")?.addEventListener("click", () => pad && pad.clear());
  const prepareButton = root.querySelector("[data-prepare]");
  prepareButton.addEventListener("click", () => guarded(prepareButton, prepare));
  const confirmButton = root.querySelector("[data-confirm]");
  confirmButton.addEventListener("click", () => guarded(confirmButton, finish));
  root.querySelector("[data-redo]")?.addEventListener("click", () => show("draw"));

  if (isPatient) {
    wireIdentify();
    show(config.verified === "true" ? "draw" : "identify");
    return;
  }
  staffKey = config.spki ? await keyStore.get(config.spki) : null;
  show(staffKey ? "draw" : "nokey");
}

main();
