// The gate clerk's yard board: a plant's day by column (expected, en route, arrived, waiting,
// called, at dock, loaded, left), docks that call the next truck, the weighbridge, and pass
// verification by paste or by the camera (jsQR, vendored). The board reloads every few
// seconds and right after each action.
import { api, clock, el, notice, quantity, signedIn } from "./api.js";

const REFRESH_MS = 4000;
const COLUMNS = [
  ["expected", "Expected"],
  ["en_route", "En route"],
  ["arrived", "Arrived"],
  ["waiting", "Waiting"],
  ["called", "Called"],
  ["at_dock", "At dock"],
  ["loaded", "Loaded"],
  ["left", "Left"],
];

const plantSelect = document.getElementById("plant");
const dayInput = document.getElementById("day");
const state = document.getElementById("board-state");
const deliveries = new Map(); // delivery id -> delivery (for plates of trucks not yet here)
const tared = new Set(); // visits weighed in from this screen
let docks = new Map();
let timer = null;

function params() {
  return new URLSearchParams(location.search);
}

function localDay() {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

async function act(button, work, done) {
  button.disabled = true;
  try {
    const result = await work();
    if (done) notice(done(result), "good");
  } catch (problem) {
    notice(problem.message, "bad");
  } finally {
    button.disabled = false;
    await refresh();
  }
}

function post(path, body) {
  return api(path, { method: "POST", body });
}

function numberInput(placeholder, label) {
  return el("input", { type: "number", min: 1, step: 1, placeholder, "aria-label": label, required: true });
}

function weighIn(visit) {
  if (tared.has(visit.id)) return null;
  const weight = numberInput("tare kg", `tare of ${visit.plate} in kg`);
  const button = el("button", { type: "submit", class: "secondary" }, "Tare");
  return el("form", {
    class: "tare",
    onsubmit: (event) => {
      event.preventDefault();
      act(button, () => post(`/v1/yard/visits/${visit.id}/tare`, { weight_kg: Number(weight.value) }), (ticket) => {
        tared.add(visit.id);
        return `${visit.plate}: tare ${ticket.tare_kg.toLocaleString()} kg, ticket ${ticket.number}`;
      });
    },
  }, weight, button);
}

function weighOut(visit) {
  const weight = numberInput("gross kg", `gross of ${visit.plate} in kg`);
  const seals = el("input", { placeholder: "seals, comma separated", "aria-label": "seal numbers" });
  const button = el("button", { type: "submit" }, "Weigh out");
  return el("form", {
    class: "gross",
    onsubmit: (event) => {
      event.preventDefault();
      const sealNumbers = seals.value.split(",").map((s) => s.trim()).filter(Boolean);
      act(button, () => post(`/v1/yard/visits/${visit.id}/gross`, { weight_kg: Number(weight.value), seal_numbers: sealNumbers }),
        (ticket) => `${visit.plate}: net ${ticket.net_kg.toLocaleString()} kg${ticket.out_of_tolerance ? " — OUT OF TOLERANCE" : ""}`);
    },
  }, weight, seals, button);
}

function simpleAction(label, path, message, kind = "secondary") {
  const button = el("button", { type: "button", class: kind }, label);
  button.addEventListener("click", () => act(button, () => post(path), () => message));
  return button;
}

function refuseAction(visit) {
  const button = el("button", { type: "button", class: "secondary" }, "Refuse");
  button.addEventListener("click", () => {
    const reason = prompt(`Why will ${visit.plate} not be loaded?`);
    if (!reason) return;
    act(button, () => post(`/v1/yard/visits/${visit.id}/refuse`, { reason }), () => `${visit.plate} refused`);
  });
  return button;
}

function visitCard(visit, column) {
  const dock = visit.dock_id && docks.get(visit.dock_id);
  const actions = [];
  if (column === "arrived" || column === "waiting") actions.push(refuseAction(visit));
  if (column === "called") {
    actions.push(simpleAction("At dock", `/v1/yard/visits/${visit.id}/at-dock`, `${visit.plate} is at the dock`, "at-dock"));
    actions.push(weighIn(visit));
  }
  if (column === "at_dock") actions.push(weighIn(visit), weighOut(visit));
  if (column === "loaded") actions.push(simpleAction("Left", `/v1/yard/visits/${visit.id}/leave`, `${visit.plate} left`));
  const times = {
    arrived: `arrived ${clock(visit.arrived_at)}`,
    waiting: `arrived ${clock(visit.arrived_at)} · ${visit.standing.replace("_", " ")}`,
    called: `called ${clock(visit.called_at)} · by ${clock(visit.respond_by)}`,
    at_dock: `at dock ${clock(visit.at_dock_at)}`,
    loaded: `loaded ${clock(visit.loaded_at)}`,
    left: `left ${clock(visit.left_at)}`,
  };
  return el(
    "div",
    { class: "truck-card", dataset: { visit: visit.id, delivery: visit.delivery_id || "" } },
    el("div", { class: "plate" }, visit.plate),
    el("div", {}, `${visit.product} · ${quantity(visit.quantity_kg, "kg")}`),
    dock ? el("div", {}, `dock ${dock.name}`) : null,
    el("div", { class: "muted" }, times[column] || ""),
    actions.filter(Boolean).length ? el("div", { class: "actions" }, ...actions.filter(Boolean)) : null,
  );
}

function appointmentCard(appointment) {
  const delivery = deliveries.get(appointment.delivery_id);
  const dock = docks.get(appointment.dock_id);
  return el(
    "div",
    { class: "truck-card", dataset: { appointment: appointment.id, delivery: appointment.delivery_id } },
    el("div", { class: "plate" }, delivery ? delivery.vehicle_plate : "…"),
    delivery ? el("div", {}, `${delivery.number} · ${quantity(delivery.quantity, delivery.unit)}`) : null,
    el("div", { class: "muted" }, `slot ${clock(appointment.starts_at)}${dock ? ` · ${dock.name}` : ""}`),
    appointment.eta_at ? el("div", { class: "muted" }, `ETA ${clock(appointment.eta_at)}`) : null,
  );
}

function dockCard(dock, plantId) {
  const busy = dock.visit_id ? el("div", { class: "muted" }, "truck on it") : null;
  return el(
    "div",
    { class: "dock", dataset: { dock: dock.id, state: dock.state } },
    el("strong", {}, dock.name), " ",
    el("span", { class: `pill ${dock.state === "free" ? "good" : "warn"}` }, dock.state),
    el("div", { class: "muted" }, dock.products.join(", ")),
    busy,
    dock.state === "free" ? callButton(dock, plantId) : null,
  );
}

function callButton(dock, plantId) {
  const button = el("button", { type: "button", class: "call-next" }, "Call next");
  button.addEventListener("click", () => act(
    button,
    () => post(`/v1/yard/plants/${plantId}/docks/${dock.id}/call`),
    (called) => (called.visit ? `${called.visit.plate} called to ${dock.name}` : `${dock.name} waits: the next truck is on its way`),
  ));
  return button;
}

function render(board) {
  docks = new Map(board.docks.map((dock) => [dock.id, dock]));
  document.getElementById("docks").replaceChildren(...board.docks.map((dock) => dockCard(dock, board.site_id)));
  const columns = COLUMNS.map(([key, title]) => {
    const entries = board.columns[key] || [];
    const cards = key === "expected" || key === "en_route"
      ? entries.map(appointmentCard)
      : entries.map((visit) => visitCard(visit, key));
    return el(
      "div",
      { class: "column", dataset: { column: key } },
      el("h3", {}, title, el("span", {}, String(entries.length))),
      ...cards,
    );
  });
  document.getElementById("board").replaceChildren(...columns);
  const refused = board.columns.refused || [];
  document.getElementById("refused").replaceChildren(...refused.map((visit) => el(
    "li", { dataset: { visit: visit.id } }, el("strong", {}, visit.plate), ` · ${visit.refuse_reason || ""}`,
  )));
}

async function loadDeliveries() {
  const page = await api(`/v1/deliveries?planned_day=${dayInput.value}&limit=200`);
  for (const delivery of page.data) deliveries.set(delivery.id, delivery);
}

async function refresh() {
  if (!plantSelect.value) return;
  clearTimeout(timer);
  try {
    const board = await api(`/v1/yard/plants/${plantSelect.value}/board?day=${dayInput.value}`);
    const unknown = [...(board.columns.expected || []), ...(board.columns.en_route || [])]
      .some((a) => !deliveries.has(a.delivery_id));
    if (unknown) await loadDeliveries();
    render(board);
    state.dataset.live = "true";
    state.textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (problem) {
    state.dataset.live = "false";
    state.textContent = problem.message;
  } finally {
    timer = setTimeout(refresh, REFRESH_MS);
  }
}

function remember() {
  const query = new URLSearchParams({ plant: plantSelect.value, day: dayInput.value });
  history.replaceState(null, "", `${location.pathname}?${query}`);
}

async function verify(event) {
  event.preventDefault();
  const verdictBox = document.getElementById("verdict");
  verdictBox.textContent = "checking…";
  try {
    const result = await post(`/v1/yard/plants/${plantSelect.value}/check-in`, {
      token: document.getElementById("pass-token").value.trim(),
      plate_seen: document.getElementById("plate-seen").value.trim(),
    });
    const verdict = result.verdict;
    verdictBox.className = verdict.valid ? "" : "error";
    const who = verdict.claims ? `${verdict.claims.driver_name}, ${verdict.claims.vehicle_plate}` : "";
    const load = verdict.may_load ? ` · may load ${quantity(verdict.may_load.quantity, verdict.may_load.unit)} ${verdict.may_load.product}` : "";
    verdictBox.dataset.valid = String(verdict.valid);
    verdictBox.textContent = verdict.valid
      ? `Valid: ${result.visit.plate} checked in (${who})${load}`
      : `Refused: ${(verdict.reason || "invalid").replace(/_/g, " ")}. ${verdict.detail}`;
    if (verdict.valid) event.target.reset();
  } catch (problem) {
    verdictBox.className = "error";
    verdictBox.textContent = problem.message;
  }
  await refresh();
}

// Camera scanning where the browser offers a camera: frames go through jsQR until a code reads.
async function scan() {
  const video = document.getElementById("scanner");
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  } catch (problem) {
    notice(`No camera: ${problem.message}`, "bad");
    return;
  }
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const stop = () => {
    for (const track of stream.getTracks()) track.stop();
    video.hidden = true;
  };
  const deadline = Date.now() + 60000;
  const tick = () => {
    if (Date.now() > deadline) return stop();
    if (video.readyState === video.HAVE_ENOUGH_DATA) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0);
      const frame = context.getImageData(0, 0, canvas.width, canvas.height);
      const code = window.jsQR(frame.data, frame.width, frame.height, { inversionAttempts: "dontInvert" });
      if (code && code.data) {
        document.getElementById("pass-token").value = code.data;
        stop();
        document.getElementById("plate-seen").focus();
        return;
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

async function start() {
  await signedIn();
  const sites = await api("/v1/sites");
  const plants = sites.data.filter((site) => site.kind === "plant");
  if (!plants.length) {
    state.textContent = "your organization runs no plant";
    return;
  }
  plantSelect.replaceChildren(...plants.map((site) => el("option", { value: site.id }, site.name)));
  const wanted = params();
  if (wanted.get("plant") && plants.some((site) => site.id === wanted.get("plant"))) plantSelect.value = wanted.get("plant");
  dayInput.value = wanted.get("day") || localDay();
  for (const input of [plantSelect, dayInput]) {
    input.addEventListener("change", () => {
      deliveries.clear();
      remember();
      refresh();
    });
  }
  document.getElementById("verify").addEventListener("submit", verify);
  const scanButton = document.getElementById("scan");
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.jsQR) {
    scanButton.hidden = false;
    scanButton.addEventListener("click", scan);
  }
  await refresh();
}

start().catch((problem) => notice(problem.message, "bad"));
