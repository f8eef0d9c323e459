// The live map: your trucks moving over the position stream with their trails, your sites,
// the shipments you are party to with their state and event timeline. It works without map
// tiles (an empty tile URL in the settings): trucks and trails draw on a plain grid.
import { api, clock, config, el, follow, notice, quantity, signedIn, when } from "./api.js";

const L = window.L;
const SILENT_AFTER_MS = 5 * 60 * 1000;
const MOVING_MPS = 1.0;
const TRAIL_HOURS = 6;
const TRAIL_POINTS = 2000;
const ACTIVE = new Set(["assigned", "authorized", "slotted", "at_plant", "loaded", "in_transit"]);

const map = L.map("map", { zoomControl: true }).setView([53.1, 10.3], 8);
if (config.tileUrl) {
  L.tileLayer(config.tileUrl, {
    maxZoom: config.tileMaxZoom || 19,
    attribution: config.tileAttribution || "",
  }).addTo(map);
} else {
  document.getElementById("map").classList.add("no-tiles");
  map.attributionControl.addAttribution("no map tiles configured");
}

const trucks = new Map(); // device id -> { device, marker, trail, position, item }
const deliveries = new Map(); // delivery id -> delivery
let selected = null; // { kind: "device" | "delivery", id }
let destinationMarker = null;
let fitted = false;

function initials(name) {
  return name.split(/[\s']+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join("");
}

function stateOf(position) {
  if (!position) return { label: "no position", kind: "" };
  if (Date.now() - new Date(position.recorded_at).getTime() > SILENT_AFTER_MS) {
    return { label: "silent", kind: "bad" };
  }
  if ((position.speed_mps || 0) >= MOVING_MPS) return { label: "moving", kind: "good" };
  return { label: "stopped", kind: "warn" };
}

function deliveryOfDevice(device) {
  for (const delivery of deliveries.values()) {
    if (!ACTIVE.has(delivery.state)) continue;
    if (device.vehicle_id && delivery.vehicle_id === device.vehicle_id) return delivery;
    if (device.driver_member_id && delivery.driver_member_id === device.driver_member_id) return delivery;
  }
  return null;
}

function truckIcon(entry) {
  const silent = stateOf(entry.position).label === "silent";
  const label = el("span", {}, initials(entry.device.name));
  return L.divIcon({
    className: `truck-icon${silent ? " stale" : ""}`,
    html: label,
    iconSize: [28, 28],
    iconAnchor: [14, 14],
  });
}

function renderTruckItem(entry) {
  const state = stateOf(entry.position);
  const delivery = deliveryOfDevice(entry.device);
  const position = entry.position;
  const speed = position && position.speed_mps !== null ? `${Math.round(position.speed_mps * 3.6)} km/h` : "";
  const item = el(
    "li",
    {
      dataset: { device: entry.device.id, lat: position ? position.lat : "", lon: position ? position.lon : "" },
      "aria-selected": String(selected && selected.kind === "device" && selected.id === entry.device.id),
      onclick: () => select("device", entry.device.id),
    },
    el("strong", {}, entry.device.name), " ",
    el("span", { class: `pill ${state.kind}` }, state.label),
    el("div", { class: "muted" },
      delivery ? `${delivery.number} · ${delivery.vehicle_plate} · ${delivery.state.replace("_", " ")}` : "no shipment now"),
    el("div", { class: "muted" }, position ? `${speed} · seen ${clock(position.recorded_at)}` : ""),
  );
  if (entry.item) entry.item.replaceWith(item);
  else document.getElementById("trucks").append(item);
  entry.item = item;
}

function placeTruck(entry) {
  const { lat, lon } = entry.position;
  if (!entry.marker) {
    entry.marker = L.marker([lat, lon], { icon: truckIcon(entry), title: entry.device.name, keyboard: true })
      .addTo(map)
      .on("click", () => select("device", entry.device.id));
  } else {
    entry.marker.setLatLng([lat, lon]);
    entry.marker.setIcon(truckIcon(entry));
  }
  entry.marker.getElement().dataset.device = entry.device.id;
}

function onPosition(position) {
  const entry = trucks.get(position.device_id);
  if (!entry) return; // a device registered after the page loaded: picked up on reload
  if (entry.position && new Date(position.recorded_at) < new Date(entry.position.recorded_at)) return;
  entry.position = position;
  entry.trail.addLatLng([position.lat, position.lon]);
  const points = entry.trail.getLatLngs();
  if (points.length > TRAIL_POINTS) entry.trail.setLatLngs(points.slice(-TRAIL_POINTS));
  placeTruck(entry);
  renderTruckItem(entry);
}

function fitOnce() {
  if (fitted) return;
  const points = [];
  for (const entry of trucks.values()) if (entry.position) points.push([entry.position.lat, entry.position.lon]);
  if (!points.length) return;
  fitted = true;
  map.fitBounds(L.latLngBounds(points).pad(0.3), { maxZoom: 12 });
}

function onFrame({ data }) {
  if (data.type !== "snapshot" && data.type !== "positions") return;
  for (const position of data.positions) onPosition(position);
  document.getElementById("trucks-empty").hidden = [...trucks.values()].some((t) => t.position);
  if (data.type === "snapshot") fitOnce();
}

async function loadTrail(entry) {
  const since = new Date(Date.now() - TRAIL_HOURS * 3600 * 1000).toISOString();
  try {
    const feature = await api(`/v1/devices/${entry.device.id}/trail?since=${encodeURIComponent(since)}&tolerance_m=15`);
    const coordinates = (feature.geometry && feature.geometry.coordinates) || [];
    const live = entry.trail.getLatLngs();
    entry.trail.setLatLngs([...coordinates.map(([lon, lat]) => [lat, lon]), ...live]);
  } catch (problem) {
    notice(`Trail of ${entry.device.name}: ${problem.message}`, "bad");
  }
}

function renderShipments() {
  const list = document.getElementById("shipments");
  const active = [...deliveries.values()].filter((d) => ACTIVE.has(d.state));
  list.replaceChildren(...active.map((delivery) => el(
    "li",
    {
      dataset: { delivery: delivery.id },
      "aria-selected": String(selected && selected.kind === "delivery" && selected.id === delivery.id),
      onclick: () => select("delivery", delivery.id),
    },
    el("strong", {}, delivery.number), " ",
    el("span", { class: "pill" }, delivery.state.replace("_", " ")),
    el("div", { class: "muted" }, `${delivery.product} · ${quantity(delivery.quantity, delivery.unit)} · ${delivery.vehicle_plate}`),
    el("div", { class: "muted" }, `to ${delivery.destination_address}`),
  )));
  document.getElementById("shipments-empty").hidden = active.length > 0;
}

function fact(term, value) {
  return [el("dt", {}, term), el("dd", {}, value)];
}

async function showDelivery(delivery, truck) {
  const detail = document.getElementById("detail");
  detail.hidden = false;
  document.getElementById("detail-title").textContent = `Delivery ${delivery.number}`;
  const position = truck && truck.position;
  document.getElementById("detail-facts").replaceChildren(
    ...fact("State", delivery.state.replace("_", " ")),
    ...fact("Load", `${delivery.product} · ${quantity(delivery.quantity, delivery.unit)}`),
    ...fact("Truck", delivery.vehicle_plate),
    ...fact("Slot", delivery.slot_starts_at ? when(delivery.slot_starts_at) : "not yet"),
    ...fact("To", delivery.destination_address),
    ...fact("Last seen", position ? when(position.recorded_at) : "—"),
  );
  if (destinationMarker) destinationMarker.remove();
  destinationMarker = L.marker([delivery.destination_lat, delivery.destination_lon], {
    icon: L.divIcon({ className: "site-icon", iconSize: [14, 14] }),
    title: delivery.destination_address,
  }).addTo(map);
  const timeline = document.getElementById("timeline");
  timeline.replaceChildren(el("li", { class: "muted" }, "loading…"));
  try {
    const page = await api(`/v1/events?subject=${encodeURIComponent(`delivery:${delivery.id}`)}&limit=200`);
    timeline.replaceChildren(...page.data.slice().reverse().map((event) => el(
      "li",
      { dataset: { seq: event.seq } },
      el("strong", {}, event.kind.replace(/[._]/g, " ")),
      el("div", { class: "muted" }, when(event.recorded_at)),
    )));
    if (!page.data.length) timeline.replaceChildren(el("li", { class: "muted" }, "nothing recorded yet"));
  } catch (problem) {
    timeline.replaceChildren(el("li", { class: "error" }, problem.message));
  }
}

function select(kind, id) {
  selected = { kind, id };
  for (const entry of trucks.values()) {
    const on = kind === "device" && id === entry.device.id;
    entry.trail.setStyle({ weight: on ? 5 : 3, opacity: on ? 0.9 : 0.45 });
    renderTruckItem(entry);
  }
  renderShipments();
  if (kind === "device") {
    const entry = trucks.get(id);
    if (entry.position) map.panTo([entry.position.lat, entry.position.lon]);
    const delivery = deliveryOfDevice(entry.device);
    if (delivery) showDelivery(delivery, entry);
    else document.getElementById("detail").hidden = true;
  } else {
    const delivery = deliveries.get(id);
    const truck = [...trucks.values()].find((entry) => deliveryOfDevice(entry.device) === delivery);
    if (truck && truck.position) map.panTo([truck.position.lat, truck.position.lon]);
    showDelivery(delivery, truck);
  }
}

async function loadSites() {
  const sites = await api("/v1/sites");
  for (const site of sites.data) {
    L.marker([site.lat, site.lon], {
      icon: L.divIcon({ className: "site-icon", iconSize: [14, 14] }),
      title: site.name,
    }).addTo(map).bindTooltip(site.name);
  }
}

async function start() {
  await signedIn();
  const [devices, shipments] = await Promise.all([
    api("/v1/devices"),
    api("/v1/deliveries?limit=200"),
  ]);
  for (const delivery of shipments.data) deliveries.set(delivery.id, delivery);
  renderShipments();
  for (const device of devices.data.filter((d) => d.active)) {
    const entry = { device, marker: null, trail: L.polyline([], { color: "#0b6e4f", weight: 3, opacity: 0.45 }).addTo(map), position: null, item: null };
    trucks.set(device.id, entry);
    renderTruckItem(entry);
  }
  document.getElementById("trucks-empty").hidden = trucks.size > 0;
  loadSites().catch((problem) => notice(problem.message, "bad"));
  await Promise.all([...trucks.values()].map(loadTrail));
  const state = document.getElementById("stream-state");
  follow("/v1/live/positions/sse", onFrame, {
    onOpen: () => {
      state.dataset.live = "true";
      state.textContent = "live";
    },
    onDown: () => {
      state.dataset.live = "false";
      state.textContent = "reconnecting…";
    },
  });
  // Silence is a state too: repaint the list now and then even when no frame arrives.
  setInterval(() => {
    for (const entry of trucks.values()) if (entry.position) renderTruckItem(entry);
  }, 30000);
}

start().catch((problem) => notice(problem.message, "bad"));
