// The live map: the shipments you are party to (buyer, seller, carrier, plant) moving over
// the shipment stream with trail, state, ETA and event timeline; and, for an organization
// with its own phones (a carrier), every truck of the fleet over the position stream, busy or
// not. It works without map tiles (an empty tile URL in the settings).
import { api, clock, config, el, follow, notice, quantity, signedIn, when } from "./api.js";
import { ShipmentLayer, TRACKED, etaText, stateLabel } from "./shipments.js";

const L = window.L;
const SILENT_AFTER_MS = 5 * 60 * 1000;
const MOVING_MPS = 1.0;
const TRAIL_HOURS = 6;
const TRAIL_POINTS = 2000;

export function baseMap(element) {
  const map = L.map(element, { zoomControl: true }).setView([53.1, 10.3], 8);
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, {
      maxZoom: config.tileMaxZoom || 19,
      attribution: config.tileAttribution || "",
    }).addTo(map);
  } else {
    document.getElementById(element).classList.add("no-tiles");
    map.attributionControl.addAttribution("no map tiles configured");
  }
  return map;
}

function fact(term, value) {
  return [el("dt", {}, term), el("dd", {}, value)];
}

export function shipmentFacts(shipment) {
  const fix = shipment.position;
  return [
    ...fact("State", stateLabel(shipment.state)),
    ...fact("Load", shipment.quantity ? `${shipment.product} · ${quantity(shipment.quantity, shipment.unit)}` : shipment.product),
    ...fact("Truck", shipment.vehicle_plate),
    ...(shipment.slot_starts_at ? fact("Slot", when(shipment.slot_starts_at)) : []),
    ...fact("ETA", etaText(shipment) || "—"),
    ...fact("To", shipment.destination.address),
    ...fact("Last seen", fix ? when(fix.recorded_at) : "—"),
  ];
}

function showDetails(shipment) {
  const link = document.getElementById("share-link");
  if (document.getElementById("detail").dataset.shipment !== shipment.id) link.hidden = true;
  document.getElementById("detail").hidden = false;
  document.getElementById("detail").dataset.shipment = shipment.id;
  document.getElementById("detail-title").textContent = `Shipment ${shipment.number}`;
  document.getElementById("detail-facts").replaceChildren(...shipmentFacts(shipment));
}

// The fleet: the organization's own phones, idle or carrying a shipment.
class FleetLayer {
  constructor(map, shipments) {
    this.map = map;
    this.shipments = shipments;
    this.trucks = new Map();
    this.deliveries = new Map();
    this.fitted = false;
  }

  async start() {
    const [devices, deliveries] = await Promise.all([api("/v1/devices"), api("/v1/deliveries?limit=200")]);
    for (const delivery of deliveries.data) this.deliveries.set(delivery.id, delivery);
    for (const device of devices.data.filter((d) => d.active)) {
      const entry = {
        device,
        marker: null,
        position: null,
        item: null,
        trail: L.polyline([], { color: "#0b6e4f", weight: 3, opacity: 0.45 }).addTo(this.map),
      };
      this.trucks.set(device.id, entry);
      this.renderItem(entry);
    }
    document.getElementById("trucks-section").hidden = this.trucks.size === 0;
    await Promise.all([...this.trucks.values()].map((entry) => this.loadTrail(entry)));
    if (!this.trucks.size) return;
    const state = document.getElementById("stream-state");
    follow("/v1/live/positions/sse", ({ data }) => this.onFrame(data), {
      onOpen: () => {
        state.dataset.live = "true";
        state.textContent = "live";
      },
      onDown: () => {
        state.dataset.live = "false";
        state.textContent = "reconnecting…";
      },
    });
  }

  shipmentOf(device) {
    for (const delivery of this.deliveries.values()) {
      if (!TRACKED.has(delivery.state)) continue;
      if (device.vehicle_id && delivery.vehicle_id === device.vehicle_id) return delivery;
      if (device.driver_member_id && delivery.driver_member_id === device.driver_member_id) return delivery;
    }
    return null;
  }

  stateOf(position) {
    if (!position) return { label: "no position", kind: "" };
    if (Date.now() - new Date(position.recorded_at).getTime() > SILENT_AFTER_MS) return { label: "silent", kind: "bad" };
    if ((position.speed_mps || 0) >= MOVING_MPS) return { label: "moving", kind: "good" };
    return { label: "stopped", kind: "warn" };
  }

  renderItem(entry) {
    const state = this.stateOf(entry.position);
    const delivery = this.shipmentOf(entry.device);
    const fix = entry.position;
    const speed = fix && fix.speed_mps !== null ? `${Math.round(fix.speed_mps * 3.6)} km/h · ` : "";
    const item = el(
      "li",
      {
        dataset: { device: entry.device.id, lat: fix ? fix.lat : "", lon: fix ? fix.lon : "" },
        onclick: () => {
          if (fix) this.map.panTo([fix.lat, fix.lon]);
          if (delivery && this.shipments.entries.has(delivery.id)) this.shipments.select(delivery.id);
        },
      },
      el("strong", {}, entry.device.name), " ",
      el("span", { class: `pill ${state.kind}` }, state.label),
      el("div", { class: "muted" }, delivery ? `${delivery.number} · ${delivery.vehicle_plate}` : "no shipment now"),
      el("div", { class: "muted" }, fix ? `${speed}seen ${clock(fix.recorded_at)}` : ""),
    );
    if (entry.item) entry.item.replaceWith(item);
    else document.getElementById("trucks").append(item);
    entry.item = item;
  }

  place(entry) {
    const { lat, lon } = entry.position;
    const initials = entry.device.name.split(/[\s']+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join("");
    const icon = L.divIcon({
      className: `truck-icon${this.stateOf(entry.position).label === "silent" ? " stale" : ""}`,
      html: el("span", {}, initials),
      iconSize: [28, 28],
      iconAnchor: [14, 14],
    });
    if (!entry.marker) {
      entry.marker = L.marker([lat, lon], { icon, title: entry.device.name, keyboard: true }).addTo(this.map);
    } else {
      entry.marker.setLatLng([lat, lon]);
      entry.marker.setIcon(icon);
    }
    entry.marker.getElement().dataset.device = entry.device.id;
  }

  async loadTrail(entry) {
    const since = new Date(Date.now() - TRAIL_HOURS * 3600 * 1000).toISOString();
    try {
      const feature = await api(`/v1/devices/${entry.device.id}/trail?since=${encodeURIComponent(since)}&tolerance_m=15`);
      const coordinates = (feature.geometry && feature.geometry.coordinates) || [];
      entry.trail.setLatLngs([...coordinates.map(([lon, lat]) => [lat, lon]), ...entry.trail.getLatLngs()]);
    } catch (problem) {
      notice(`Trail of ${entry.device.name}: ${problem.message}`, "bad");
    }
  }

  onFrame(frame) {
    if (frame.type !== "snapshot" && frame.type !== "positions") return;
    for (const position of frame.positions) {
      const entry = this.trucks.get(position.device_id);
      if (!entry) continue;
      if (entry.position && new Date(position.recorded_at) < new Date(entry.position.recorded_at)) continue;
      entry.position = position;
      entry.trail.addLatLng([position.lat, position.lon]);
      const points = entry.trail.getLatLngs();
      if (points.length > TRAIL_POINTS) entry.trail.setLatLngs(points.slice(-TRAIL_POINTS));
      this.place(entry);
      this.renderItem(entry);
    }
    // Frame the fleet once, unless the shipments framed the map already.
    if (frame.type === "snapshot" && !this.fitted && !this.shipments.fitted) {
      const points = [...this.trucks.values()].filter((t) => t.position).map((t) => [t.position.lat, t.position.lon]);
      if (points.length) {
        this.fitted = true;
        this.map.fitBounds(L.latLngBounds(points).pad(0.3), { maxZoom: 12, animate: false });
      }
    }
  }
}

async function loadSites(map) {
  const sites = await api("/v1/sites");
  for (const site of sites.data) {
    L.marker([site.lat, site.lon], {
      icon: L.divIcon({ className: "site-icon", iconSize: [14, 14] }),
      title: site.name,
    }).addTo(map).bindTooltip(el("span", {}, site.name)); // an element: names are text, never HTML
  }
}

// A receiver without an account gets a read-only, expiring link; its token goes in the
// fragment of the page's URL, which browsers never send to a server.
async function share() {
  const id = document.getElementById("detail").dataset.shipment;
  const button = document.getElementById("share");
  button.disabled = true;
  try {
    const made = await api(`/v1/shipments/${id}/share`, { method: "POST", body: {} });
    const link = document.getElementById("share-link");
    link.value = `${location.origin}/app/shared#${made.token}`;
    link.hidden = false;
    link.select();
    notice(`Link valid until ${when(made.expires_at)}`, "good");
  } catch (problem) {
    notice(problem.message, "bad");
  } finally {
    button.disabled = false;
  }
}

async function start() {
  await signedIn();
  document.getElementById("share").addEventListener("click", share);
  const map = baseMap("map");
  const list = document.getElementById("shipments");
  const shipments = new ShipmentLayer(
    map,
    {
      stream: "/v1/live/shipments/sse",
      auth: true,
      one: (id) => api(`/v1/shipments/${id}`),
      events: (id, after) => api(`/v1/shipments/${id}/events?after=${after}&limit=200`),
      trail: (id) => api(`/v1/shipments/${id}/trail?tolerance_m=15`),
    },
    {
      list,
      timeline: document.getElementById("timeline"),
      details: showDetails,
      onChange: () => {
        document.getElementById("shipments-empty").hidden = list.children.length > 0;
      },
    },
  );
  const state = document.getElementById("shipments-state");
  shipments.start({
    onOpen: () => {
      state.dataset.live = "true";
      state.textContent = "live";
    },
    onDown: () => {
      state.dataset.live = "false";
      state.textContent = "reconnecting…";
    },
  });
  loadSites(map).catch((problem) => notice(problem.message, "bad"));
  await new FleetLayer(map, shipments).start();
}

if (document.body.dataset.page === "map") start().catch((problem) => notice(problem.message, "bad"));
