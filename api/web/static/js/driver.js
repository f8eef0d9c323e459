// The driver's phone view: the next delivery and what to do now, the slot, the pickup pass
// as the server's QR code, and what comes after.
import { api, clock, el, imageUrl, notice, quantity, signedIn, when } from "./api.js";

const STEPS = {
  wait_for_pass: "Wait for your pickup pass",
  wait_for_slot: "Wait for your loading slot",
  drive_to_plant: "Drive to the plant",
  load: "Load at the plant",
  depart: "Leave the plant",
  deliver: "Deliver to the customer",
  none: "Nothing to do",
};

let qrUrl = null;
let current = null;

function fact(term, ...value) {
  return [el("dt", {}, term), el("dd", {}, ...value)];
}

function mapLink(place) {
  const href = `geo:${place.lat},${place.lon}?q=${place.lat},${place.lon}(${encodeURIComponent(place.name)})`;
  return el("a", { href }, place.name);
}

function showNext(delivery) {
  document.getElementById("next-empty").hidden = Boolean(delivery);
  document.getElementById("next-body").hidden = !delivery;
  if (!delivery) {
    document.getElementById("next-empty").textContent = "No delivery for you today.";
    return;
  }
  document.getElementById("next").dataset.delivery = delivery.id;
  document.getElementById("next-step").textContent = STEPS[delivery.next_step] || delivery.next_step;
  document.getElementById("next-facts").replaceChildren(
    ...fact("Delivery", `${delivery.number} · trip ${delivery.trip_no}`),
    ...fact("Day", new Date(`${delivery.planned_day}T12:00:00`).toLocaleDateString(undefined, { weekday: "long", day: "numeric", month: "long" })),
    ...fact("Slot", delivery.slot_starts_at ? when(delivery.slot_starts_at) : "not given yet"),
    ...fact("Pick up", mapLink(delivery.plant), delivery.plant.address && delivery.plant.address !== delivery.plant.name ? el("div", { class: "muted" }, delivery.plant.address) : null,
      delivery.plant.instructions ? el("div", {}, delivery.plant.instructions) : null),
    ...fact("Load", `${delivery.product} · ${quantity(delivery.quantity, delivery.unit)}`,
      delivery.hazard_class ? el("span", { class: "pill bad" }, ` ADR ${delivery.hazard_class}`) : null),
    ...fact("Truck", delivery.vehicle.plate),
    ...fact("Deliver to", mapLink(delivery.destination)),
  );
}

function passState(found) {
  const window = `valid ${when(found.not_before)} – ${clock(found.expires_at)}`;
  if (found.state === "issued") return `Ready for the gate · ${window}`;
  if (found.state === "presented") return `Checked in at ${clock(found.presented_at)}`;
  return found.state;
}

async function showPass(delivery) {
  const section = document.getElementById("pass");
  if (!delivery) {
    section.hidden = true;
    return;
  }
  const passes = await api(`/v1/passes?delivery_id=${delivery.id}`);
  const usable = passes.data.find((p) => p.state === "issued" || p.state === "presented");
  if (!usable) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  section.dataset.pass = usable.id;
  document.getElementById("pass-state").textContent = passState(usable);
  const image = document.getElementById("pass-qr");
  if (image.dataset.pass !== usable.id) {
    if (qrUrl) URL.revokeObjectURL(qrUrl);
    qrUrl = await imageUrl(`/v1/passes/${usable.id}/qr.svg`);
    image.src = qrUrl;
    image.dataset.pass = usable.id;
  }
}

function showUpcoming(deliveries) {
  const list = document.getElementById("upcoming");
  list.replaceChildren(...deliveries.map((delivery) => el(
    "li",
    { dataset: { delivery: delivery.id } },
    el("strong", {}, delivery.number), " ",
    el("span", { class: "muted" }, new Date(`${delivery.planned_day}T12:00:00`).toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short" })),
    el("div", {}, `${delivery.product} · ${quantity(delivery.quantity, delivery.unit)} · ${delivery.plant.name}`),
    delivery.slot_starts_at ? el("div", { class: "muted" }, `slot ${when(delivery.slot_starts_at)}`) : null,
  )));
  document.getElementById("upcoming-empty").hidden = deliveries.length > 0;
}

async function refresh() {
  const day = await api("/v1/deliveries/mine");
  const queue = [...day.today, ...day.upcoming].filter((d) => d.state !== "delivered" && d.state !== "cancelled");
  current = queue[0] || null;
  showNext(current);
  showUpcoming(queue.slice(1));
  await showPass(current);
  return current;
}

async function start() {
  await signedIn();
  await refresh();
  // A pass or a slot may come while the phone is open; look again now and then.
  setInterval(() => refresh().catch((problem) => notice(problem.message, "bad")), 60000);
}

start().catch((problem) => notice(problem.message, "bad"));
