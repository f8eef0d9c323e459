// The pages' one way to the JSON API: the bearer token kept by the sign-in page, problems
// (RFC 9457) as errors, and server-sent events read over fetch so the token travels in a
// header rather than in a URL.

const TOKEN_KEY = "haulpoint.token";

export const config = JSON.parse(document.body.dataset.config || "{}");

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function keepToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export function toSignIn() {
  forgetToken();
  const here = location.pathname + location.search;
  location.assign(`/app/sign-in?next=${encodeURIComponent(here)}`);
}

function bearer() {
  const value = token();
  if (!value) {
    toSignIn();
    throw new Error("not signed in");
  }
  return `Bearer ${value}`;
}

export class Problem extends Error {
  constructor(status, body) {
    super(body.detail || body.title || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || null;
    this.body = body;
  }
}

// Idempotency keys need no cryptographic strength, but must not collide: the random source
// works outside secure contexts too, unlike crypto.randomUUID.
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function problemOf(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    body = { title: response.statusText };
  }
  return new Problem(response.status, body);
}

export async function api(path, { method = "GET", body, raw = false } = {}) {
  const headers = { Authorization: bearer(), Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["Idempotency-Key"] = newKey();
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    toSignIn();
    throw await problemOf(response);
  }
  if (!response.ok) throw await problemOf(response);
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

// An image the API serves behind the token (a pass's QR code), as an object URL.
export async function imageUrl(path) {
  const response = await api(path, { raw: true });
  return URL.createObjectURL(await response.blob());
}

function parseBlock(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  return { event, data: JSON.parse(data.join("\n")) };
}

// Follow a server-sent event stream; reconnects with backoff until closed. onOpen runs on
// every (re)connection, so a page reloads what it may have missed while away.
// A share link's stream passes auth: false: the link in its path is the credential.
export function follow(path, onMessage, { onOpen, onDown, auth = true } = {}) {
  let stopped = false;
  let controller = null;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function run() {
    let delay = 1000;
    while (!stopped) {
      controller = new AbortController();
      try {
        const headers = { Accept: "text/event-stream" };
        if (auth) headers.Authorization = bearer();
        const response = await fetch(path, {
          headers,
          signal: controller.signal,
          cache: "no-store",
        });
        if (response.status === 401 && auth) return toSignIn();
        if (!response.ok) throw await problemOf(response);
        delay = 1000;
        if (onOpen) onOpen();
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r/g, "");
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const message = parseBlock(buffer.slice(0, cut));
            buffer = buffer.slice(cut + 2);
            if (message) onMessage(message);
          }
        }
      } catch (error) {
        if (stopped) return;
        // A refusal (bad link, wrong account, missing parameter) will not change by retrying.
        if (error instanceof Problem && error.status >= 400 && error.status < 500 && ![408, 429].includes(error.status)) {
          if (onDown) onDown(error);
          return;
        }
        if (onDown) onDown(error);
      }
      if (stopped) return;
      await sleep(delay);
      delay = Math.min(delay * 2, 15000);
    }
  }

  run();
  return {
    close() {
      stopped = true;
      if (controller) controller.abort();
    },
  };
}

// The caller's account, with the header filled in and the sign-out button wired.
export async function signedIn() {
  const me = await api("/v1/me");
  const who = document.getElementById("who");
  const name = me.member ? me.member.name : "API key";
  who.textContent = `${name} · ${me.organization.name}`;
  const out = document.getElementById("sign-out");
  out.hidden = false;
  out.addEventListener("click", async () => {
    try {
      await api("/v1/auth/logout", { method: "POST" });
    } finally {
      toSignIn();
    }
  });
  return me;
}

let noticeTimer = null;

export function notice(text, kind = "info") {
  const box = document.getElementById("notice");
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    box.hidden = true;
  }, 6000);
}

// A small element builder: el("td", { class: "num" }, "12 t").
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function when(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export function clock(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

export function money(cents, currency) {
  if (cents === null || cents === undefined) return "—";
  return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(cents / 100);
}

// Quantities are exact integers of a base unit: kg and litres read better as t and m³.
export function quantity(amount, unit) {
  if (unit === "kg") return `${(amount / 1000).toLocaleString(undefined, { maximumFractionDigits: 3 })} t`;
  if (unit === "l") return `${(amount / 1000).toLocaleString(undefined, { maximumFractionDigits: 3 })} m³`;
  return `${amount.toLocaleString()} ${unit}${amount === 1 ? "" : "s"}`;
}
