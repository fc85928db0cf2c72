// Chairside e-signatures in the browser: the signer's key never leaves this device.
//
// - generateKey(): an ECDSA P-256 key pair made by WebCrypto with a NON-extractable private
//   key (the page can use it to sign but can never read or send it);
// - buildCsr(): a PKCS#10 certificate request (DER, built by hand below) signed by that key,
//   which the organization's CA turns into a certificate;
// - sign(): WebCrypto's ECDSA over the DER of the PDF signature's signed attributes (it
//   hashes its input itself: we give it the bytes, never a digest). The result is IEEE
//   P1363 (r||s, 64 bytes); we send it as is, base64, and the server converts it to DER;
// - keyStore: staff keys kept in IndexedDB (CryptoKey objects stay non-extractable there),
//   found again by the SHA-256 of their SubjectPublicKeyInfo — the certificate's spki_sha256;
// - SignaturePad: an optional handwritten signature drawn on a canvas, as a PNG.

const ECDSA = { name: "ECDSA", namedCurve: "P-256" };
const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" };

// --- bytes --------------------------------------------------------------------------------

export function b64encode(bytes) {
  let text = "";
  const view = new Uint8Array(bytes);
  for (let i = 0; i < view.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, view.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

export function b64decode(text) {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

export function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(...parts) {
  const size = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// --- DER (the few ASN.1 types a certificate request needs) --------------------------------

function derLength(n) {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n >>= 8;
  }
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

function der(tag, ...contents) {
  const body = concat(...contents);
  return concat(Uint8Array.of(tag), derLength(body.length), body);
}

const sequence = (...items) => der(0x30, ...items);
const set = (...items) => der(0x31, ...items);

function oid(dotted) {
  const parts = dotted.split(".").map(Number);
  const bytes = [40 * parts[0] + parts[1]];
  for (const part of parts.slice(2)) {
    const chunk = [part & 0x7f];
    let rest = part >> 7;
    while (rest > 0) {
      chunk.unshift((rest & 0x7f) | 0x80);
      rest >>= 7;
    }
    bytes.push(...chunk);
  }
  return der(0x06, Uint8Array.from(bytes));
}

function integer(unsignedBigEndian) {
  let bytes = Array.from(unsignedBigEndian);
  while (bytes.length > 1 && bytes[0] === 0) bytes.shift();
  if (bytes[0] & 0x80) bytes.unshift(0); // keep it positive
  return der(0x02, Uint8Array.from(bytes));
}

const utf8String = (text) => der(0x0c, new TextEncoder().encode(text));
const bitString = (bytes) => der(0x03, Uint8Array.of(0), bytes);

const OID_COMMON_NAME = "2.5.4.3";
const OID_ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";

/** The DER ECDSA-Sig-Value of a P1363 signature (r||s): what X.509 and CMS carry. */
export function p1363ToDer(signature) {
  const raw = new Uint8Array(signature);
  const half = raw.length / 2;
  return sequence(integer(raw.subarray(0, half)), integer(raw.subarray(half)));
}

// --- keys ---------------------------------------------------------------------------------

/** A fresh P-256 key pair whose private key cannot be exported by anyone. */
export async function generateKey() {
  return crypto.subtle.generateKey(ECDSA, false, ["sign", "verify"]);
}

export async function spkiOf(publicKey) {
  return new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
}

/** Hex SHA-256 of the key's SubjectPublicKeyInfo (the certificate's spki_sha256). */
export async function spkiSha256(publicKey) {
  return hex(await crypto.subtle.digest("SHA-256", await spkiOf(publicKey)));
}

/** ECDSA P-256 / SHA-256 over `bytes`: 64 bytes r||s (IEEE P1363), as WebCrypto gives it. */
export async function sign(privateKey, bytes) {
  return new Uint8Array(await crypto.subtle.sign(ECDSA_SHA256, privateKey, bytes));
}

/** A PKCS#10 certificate request (DER) for the key pair, signed by its private key (the CA
 * checks this proof of possession; it takes the subject from its own records). */
export async function buildCsr(keyPair, commonName) {
  const subject = sequence(set(sequence(oid(OID_COMMON_NAME), utf8String(commonName || "-"))));
  const info = sequence(
    integer(Uint8Array.of(0)), // version 1
    subject,
    await spkiOf(keyPair.publicKey),
    Uint8Array.of(0xa0, 0x00), // attributes: none
  );
  const signature = await sign(keyPair.privateKey, info);
  return sequence(info, sequence(oid(OID_ECDSA_WITH_SHA256)), bitString(p1363ToDer(signature)));
}

// --- IndexedDB: staff keys ------------------------------------------------------------------

const DB_NAME = "chairside-esign";
const STORE = "keys";

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "spki" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStore(mode, action) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = action(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  } finally {
    db.close();
  }
}

export const keyStore = {
  /** Keep a key pair under its spki_sha256 (the private key stays non-extractable). */
  async put(keyPair, extra = {}) {
    const spki = await spkiSha256(keyPair.publicKey);
    const record = { spki, privateKey: keyPair.privateKey, publicKey: keyPair.publicKey, createdAt: new Date().toISOString(), ...extra };
    await withStore("readwrite", (store) => store.put(record));
    return spki;
  },
  async get(spki) {
    return (await withStore("readonly", (store) => store.get(spki))) || null;
  },
  async remove(spki) {
    await withStore("readwrite", (store) => store.delete(spki));
  },
};

// --- a drawn signature ---------------------------------------------------------------------

export class SignaturePad {
  constructor(canvas) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.strokes = 0;
    this.drawing = false;
    this.resize();
    canvas.style.touchAction = "none";
    canvas.addEventListener("pointerdown", (e) => this.start(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    for (const name of ["pointerup", "pointercancel", "pointerleave"]) {
      canvas.addEventListener(name, () => (this.drawing = false));
    }
  }

  resize() {
    const ratio = Math.min(window.devicePixelRatio || 1, 2);
    const { width, height } = this.canvas.getBoundingClientRect();
    this.canvas.width = Math.max(1, Math.round(width * ratio));
    this.canvas.height = Math.max(1, Math.round(height * ratio));
    const ctx = this.context;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.lineWidth = 3;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111827";
    this.strokes = 0;
  }

  point(event) {
    const rect = this.canvas.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }

  start(event) {
    event.preventDefault();
    this.drawing = true;
    this.strokes += 1;
    const [x, y] = this.point(event);
    this.context.beginPath();
    this.context.moveTo(x, y);
    this.context.lineTo(x + 0.1, y + 0.1);
    this.context.stroke();
  }

  move(event) {
    if (!this.drawing) return;
    event.preventDefault();
    const [x, y] = this.point(event);
    this.context.lineTo(x, y);
    this.context.stroke();
  }

  clear() {
    this.context.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.strokes = 0;
  }

  isEmpty() {
    return this.strokes === 0;
  }

  /** The drawing as a PNG (transparent background), base64; null when nothing was drawn. */
  toPngBase64() {
    if (this.isEmpty()) return null;
    return this.canvas.toDataURL("image/png").split(",")[1];
  }
}

// --- talking to the server ------------------------------------------------------------------

/** POST JSON with the page's CSRF token; throws an Error carrying the server's message. */
export async function postJson(url, body, csrfToken) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken, Accept: "application/json" },
    body: JSON.stringify(body || {}),
  });
  let data = {};
  try {
    data = await response.json();
  } catch (_error) {
    data = {};
  }
  if (!response.ok) {
    const error = new Error(data.message || response.statusText || "Error");
    error.status = response.status;
    error.fields = data.fields || {};
    throw error;
  }
  return data;
}

export function supported() {
  return Boolean(window.isSecureContext && window.crypto && crypto.subtle && window.indexedDB);
}
