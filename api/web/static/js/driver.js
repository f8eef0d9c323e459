// The driver's phone view: the next delivery and what to do now, the slot, the pickup pass
// as the server's QR code, and what comes after.
import { Problem, api, clock, el, follow, imageUrl, notice, quantity, signedIn, when } from "./api.js";

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
  const window = `valid ${when(found.not_before)} – ${when(found.expires_at)}`;
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

const VISIT_STATES = {
  waiting: "Checked in: wait to be called",
  called: "Called to the dock",
  at_dock: "Loading",
  loaded: "Loaded: weighed out",
  left: "Left the plant",
  refused: "Loading refused",
};

async function slotOf(delivery) {
  try {
    return await api(`/v1/yard/mine/${delivery.id}`);
  } catch (problem) {
    if (problem instanceof Problem && (problem.status === 404 || problem.status === 403)) return null;
    throw problem;
  }
}

async function showYard(delivery) {
  const section = document.getElementById("yard");
  const slot = delivery ? await slotOf(delivery) : null;
  section.hidden = !slot;
  if (!slot) return;
  if (slot.visit_state !== "called") document.getElementById("call").hidden = true;
  const rows = [
    ...fact("Slot", `${when(slot.starts_at)} – ${clock(slot.ends_at)}`),
    ...fact("Dock", slot.dock || "given when you are called"),
  ];
  if (slot.eta_at) rows.push(...fact("Your ETA", clock(slot.eta_at)));
  if (slot.gate_instructions) rows.push(...fact("At the gate", slot.gate_instructions));
  if (slot.visit_state) rows.push(...fact("Now", VISIT_STATES[slot.visit_state] || slot.visit_state));
  if (slot.visit_state === "waiting" || slot.visit_state === "called") {
    const place = await api(`/v1/yard/mine/${delivery.id}/queue`);
    if (place.position !== null) rows.push(...fact("Queue", `number ${place.position}`));
    if (place.expected_call_at) rows.push(...fact("Call expected", clock(place.expected_call_at)));
    if (place.state === "called") showCall({ dock: place.dock, respond_by: place.respond_by });
  }
  document.getElementById("yard-facts").replaceChildren(...rows);
  document.getElementById("check-in").hidden = Boolean(slot.visit_id);
  // Set last: it tells watchers (and the tests) that the section shows this state in full.
  section.dataset.visitState = slot.visit_state || "";
}

function showCall(call) {
  const banner = document.getElementById("call");
  banner.hidden = false;
  banner.dataset.dock = call.dock || "";
  banner.textContent = `Drive to ${call.dock || "the dock"} now${call.respond_by ? `: be there by ${clock(call.respond_by)}` : ""}`;
  if (navigator.vibrate) navigator.vibrate([300, 100, 300]);
}

async function checkIn(event) {
  event.preventDefault();
  if (!current) return;
  const button = event.target.querySelector("button");
  button.disabled = true;
  try {
    await api(`/v1/yard/mine/${current.id}/check-in`, {
      method: "POST", body: { code: document.getElementById("gate-code").value.trim() },
    });
    notice("Checked in: wait where the gate tells you; this phone shows the call.", "good");
    event.target.reset();
    await refresh();
  } catch (problem) {
    notice(problem.message, "bad");
  } finally {
    button.disabled = false;
  }
}

async function refresh() {
  const day = await api("/v1/deliveries/mine");
  const queue = [...day.today, ...day.upcoming].filter((d) => d.state !== "delivered" && d.state !== "cancelled");
  current = queue[0] || null;
  showNext(current);
  showUpcoming(queue.slice(1));
  await Promise.all([showPass(current), showYard(current)]);
  return current;
}

async function start() {
  await signedIn();
  await refresh();
  document.getElementById("check-in").addEventListener("submit", checkIn);
  const live = document.getElementById("next");
  follow("/v1/live/yard", ({ event, data }) => {
    if (event !== "called") return;
    showCall(data);
    refresh().catch((problem) => notice(problem.message, "bad"));
  }, {
    onOpen: () => { live.dataset.live = "true"; },
    onDown: () => { live.dataset.live = "false"; },
  });
  // A pass or a slot may come while the phone is open; look again now and then.
  setInterval(() => refresh().catch((problem) => notice(problem.message, "bad")), 60000);
}

start().catch((problem) => notice(problem.message, "bad"));
