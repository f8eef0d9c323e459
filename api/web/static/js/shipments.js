// Shipments on a Leaflet map: a marker per shipment with a position, its trail, a list entry
// with state, ETA and last fix, and the selected shipment's event timeline, all kept current
// by a shipment stream (snapshot, event, positions, resync frames). The live map feeds it
// from the party's API, the share-link page from the link's public endpoints.
import { clock, el, follow, notice, when } from "./api.js";

const L = window.L;
const SILENT_AFTER_MS = 5 * 60 * 1000;
const TRAIL_POINTS = 2000;

export const TRACKED = new Set(["assigned", "authorized", "slotted", "at_plant", "loaded", "in_transit"]);

export function stateLabel(state) {
  return state.replace(/_/g, " ");
}

export function etaText(shipment) {
  if (!shipment.eta) return null;
  const to = shipment.eta.leg === "plant" ? "plant" : "destination";
  const km = Math.round(shipment.eta.remaining_m / 100) / 10;
  return `ETA ${clock(shipment.eta.eta_at)} at the ${to} · ${km} km to go`;
}

function silent(shipment) {
  if (shipment.silent_since) return true;
  const fix = shipment.position;
  return Boolean(fix) && Date.now() - new Date(fix.recorded_at).getTime() > SILENT_AFTER_MS;
}

export class ShipmentLayer {
  // source: { stream, auth, one(id), events(id, after), trail(id) }
  constructor(map, source, { list, timeline, details, onChange, autoSelect = false } = {}) {
    this.autoSelect = autoSelect;
    this.map = map;
    this.source = source;
    this.list = list;
    this.timeline = timeline;
    this.details = details;
    this.onChange = onChange || (() => {});
    this.entries = new Map();
    this.selected = null;
    this.fitted = false;
    this.destination = null;
  }

  start({ onOpen, onDown } = {}) {
    this.stream = follow(this.source.stream, (message) => this.onFrame(message.data), {
      auth: this.source.auth,
      onOpen,
      onDown,
    });
  }

  onFrame(frame) {
    if (frame.type === "snapshot") {
      for (const shipment of frame.shipments) this.upsert(shipment);
      this.fitOnce();
      if (this.autoSelect && !this.selected && this.entries.size === 1) {
        this.select(this.entries.keys().next().value);
        return;
      }
      if (this.selected) this.catchUp(this.selected);
    } else if (frame.type === "positions") {
      for (const position of frame.positions) this.onPosition(position);
    } else if (frame.type === "event") {
      this.onEvent(frame);
    } else if (frame.type === "resync") {
      for (const id of this.entries.keys()) this.reload(id);
      if (this.selected) this.catchUp(this.selected);
    }
  }

  upsert(shipment) {
    let entry = this.entries.get(shipment.id);
    if (!entry) {
      entry = {
        shipment,
        marker: null,
        trail: L.polyline([], { color: "#1d4ed8", weight: 3, opacity: 0.55 }).addTo(this.map),
        item: null,
        timelineSeq: 0,
      };
      this.entries.set(shipment.id, entry);
      this.loadTrail(entry);
    }
    entry.shipment = shipment;
    this.place(entry);
    this.renderItem(entry);
    this.onChange();
    return entry;
  }

  async reload(id) {
    try {
      this.upsert(await this.source.one(id));
      if (this.selected === id) this.showDetails(this.entries.get(id));
    } catch (problem) {
      notice(problem.message, "bad");
    }
  }

  async loadTrail(entry) {
    try {
      const feature = await this.source.trail(entry.shipment.id);
      const coordinates = (feature.geometry && feature.geometry.coordinates) || [];
      const live = entry.trail.getLatLngs();
      entry.trail.setLatLngs([...coordinates.map(([lon, lat]) => [lat, lon]), ...live]);
    } catch (problem) {
      notice(`Trail of ${entry.shipment.number}: ${problem.message}`, "bad");
    }
  }

  onPosition(position) {
    const entry = this.entries.get(position.shipment_id);
    if (!entry) {
      this.reload(position.shipment_id);
      return;
    }
    const known = entry.shipment.position;
    if (known && new Date(position.recorded_at) < new Date(known.recorded_at)) return;
    entry.shipment = {
      ...entry.shipment,
      position: { lat: position.lat, lon: position.lon, recorded_at: position.recorded_at },
      silent_since: null,
    };
    entry.trail.addLatLng([position.lat, position.lon]);
    const points = entry.trail.getLatLngs();
    if (points.length > TRAIL_POINTS) entry.trail.setLatLngs(points.slice(-TRAIL_POINTS));
    this.place(entry);
    this.renderItem(entry);
    this.onChange();
  }

  onEvent(frame) {
    const entry = this.entries.get(frame.shipment_id);
    if (!entry) {
      this.reload(frame.shipment_id);
      return;
    }
    entry.shipment = { ...entry.shipment, last_seq: Math.max(entry.shipment.last_seq, frame.seq) };
    // State, ETA and silence are derived on the server: read the shipment again.
    this.reload(frame.shipment_id);
    if (this.selected === frame.shipment_id) this.appendEvents(entry, [frame]);
  }

  place(entry) {
    const fix = entry.shipment.position;
    if (!fix) return;
    const label = el("span", {}, entry.shipment.vehicle_plate.replace(/[^A-Z0-9]/gi, "").slice(-3));
    const icon = L.divIcon({
      className: `truck-icon shipment${silent(entry.shipment) ? " stale" : ""}`,
      html: label,
      iconSize: [32, 32],
      iconAnchor: [16, 16],
    });
    if (!entry.marker) {
      entry.marker = L.marker([fix.lat, fix.lon], { icon, title: entry.shipment.number, keyboard: true })
        .addTo(this.map)
        .on("click", () => this.select(entry.shipment.id));
    } else {
      entry.marker.setLatLng([fix.lat, fix.lon]);
      entry.marker.setIcon(icon);
    }
    entry.marker.getElement().dataset.shipment = entry.shipment.id;
  }

  renderItem(entry) {
    if (!this.list) return;
    const shipment = entry.shipment;
    const fix = shipment.position;
    const item = el(
      "li",
      {
        dataset: { shipment: shipment.id, state: shipment.state, lat: fix ? fix.lat : "", lon: fix ? fix.lon : "" },
        "aria-selected": String(this.selected === shipment.id),
        onclick: () => this.select(shipment.id),
      },
      el("strong", {}, shipment.number), " ",
      el("span", { class: `pill ${silent(shipment) ? "bad" : ""}` }, silent(shipment) ? "silent" : stateLabel(shipment.state)),
      el("div", { class: "muted" }, `${shipment.product} · ${shipment.vehicle_plate}`),
      etaText(shipment) ? el("div", { class: "eta" }, etaText(shipment)) : null,
      el("div", { class: "muted" }, fix ? `seen ${clock(fix.recorded_at)}` : "no position yet"),
    );
    if (entry.item && entry.item.isConnected) entry.item.replaceWith(item);
    else this.list.append(item);
    entry.item = item;
  }

  fitOnce() {
    if (this.fitted) return;
    const points = [];
    for (const entry of this.entries.values()) {
      const fix = entry.shipment.position;
      if (fix) points.push([fix.lat, fix.lon]);
    }
    if (!points.length) return;
    this.fitted = true;
    this.map.fitBounds(L.latLngBounds(points).pad(0.3), { maxZoom: 12, animate: false });
  }

  select(id) {
    this.selected = id;
    for (const entry of this.entries.values()) {
      const on = entry.shipment.id === id;
      entry.trail.setStyle({ weight: on ? 5 : 3, opacity: on ? 0.9 : 0.55 });
      this.renderItem(entry);
    }
    const entry = this.entries.get(id);
    if (!entry) return;
    const fix = entry.shipment.position;
    if (fix) this.map.panTo([fix.lat, fix.lon]);
    this.showDetails(entry);
    entry.timelineSeq = 0;
    if (this.timeline) this.timeline.replaceChildren();
    this.catchUp(id);
  }

  showDetails(entry) {
    const shipment = entry.shipment;
    if (this.destination) this.destination.remove();
    this.destination = L.marker([shipment.destination.lat, shipment.destination.lon], {
      icon: L.divIcon({ className: "site-icon", iconSize: [14, 14] }),
      title: shipment.destination.address,
    }).addTo(this.map);
    if (this.details) this.details(shipment);
  }

  async catchUp(id) {
    const entry = this.entries.get(id);
    if (!entry || !this.timeline) return;
    try {
      let after = entry.timelineSeq;
      for (;;) {
        const page = await this.source.events(id, after);
        this.appendEvents(entry, page.data);
        if (page.next_after === null || page.next_after === undefined) break;
        after = page.next_after;
      }
    } catch (problem) {
      notice(problem.message, "bad");
    }
  }

  appendEvents(entry, events) {
    for (const event of events) {
      if (event.seq <= entry.timelineSeq) continue;
      entry.timelineSeq = event.seq;
      this.timeline.prepend(el(
        "li",
        { dataset: { seq: event.seq, kind: event.kind } },
        el("strong", {}, event.kind.replace(/[._]/g, " ")),
        el("div", { class: "muted" }, when(event.recorded_at)),
      ));
    }
  }
}
