// A share link's live view for a receiver without an account: the link's token rides in the
// URL fragment (never sent to a server or a log) and is the only credential the page uses.
import { Problem, notice } from "./api.js";
import { baseMap, shipmentFacts } from "./map.js";
import { ShipmentLayer } from "./shipments.js";

const token = decodeURIComponent(location.hash.slice(1));
const state = document.getElementById("shipments-state");

function refuse(text) {
  const box = document.getElementById("link-error");
  box.textContent = text;
  box.hidden = false;
  state.dataset.live = "false";
  state.textContent = "closed";
}

async function get(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Problem(response.status, body);
  return body;
}

function details(shipment) {
  document.getElementById("detail").hidden = false;
  document.getElementById("detail").dataset.shipment = shipment.id;
  document.getElementById("detail-title").textContent = `Shipment ${shipment.number}`;
  document.getElementById("detail-facts").replaceChildren(...shipmentFacts(shipment));
}

function start() {
  if (!/^[A-Za-z0-9._~-]{8,120}$/.test(token)) {
    refuse("This link is incomplete: open the whole link you were sent.");
    return;
  }
  const base = `/v1/shared/${token}`;
  const map = baseMap("map");
  const layer = new ShipmentLayer(
    map,
    {
      stream: `/v1/live/shared/${token}/sse`,
      auth: false,
      one: () => get(base),
      events: (_id, after) => get(`${base}/events?after=${after}&limit=200`),
      trail: () => get(`${base}/trail?tolerance_m=15`),
    },
    { timeline: document.getElementById("timeline"), details, autoSelect: true },
  );
  layer.start({
    onOpen: () => {
      state.dataset.live = "true";
      state.textContent = "live";
    },
    onDown: (error) => {
      if (error instanceof Problem && error.status < 500) {
        layer.stream.close();
        refuse("This link has expired or is not valid. Ask the sender for a new one.");
        return;
      }
      state.dataset.live = "false";
      state.textContent = "reconnecting…";
    },
  });
}

try {
  start();
} catch (problem) {
  notice(problem.message, "bad");
}
