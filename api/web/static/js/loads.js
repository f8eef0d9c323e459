// The carrier's load board: open loads from the market, kept current by the live feed,
// with grab (posted rate), bid (auction) and accept/decline (tender turn), and the bookings.
import { api, el, follow, money, notice, quantity, signedIn, when } from "./api.js";

const loadsBody = document.querySelector("#loads tbody");
const bookingsBody = document.querySelector("#bookings tbody");
const feedState = document.getElementById("feed-state");
const offers = new Map(); // offer id -> { offer, available }
const references = new Map(); // offer id -> reference, for the bookings table

const BASIS = {
  per_tonne: "/t",
  per_m3: "/m³",
  per_unit: "/unit",
  per_trip: "/trip",
  per_load: "/load",
};

function priceOf(offer) {
  const basis = BASIS[offer.rate_basis] || "";
  if (offer.pricing_mode === "auction") {
    const best = offer.best_bid_cents === null || offer.best_bid_cents === undefined
      ? "no bids yet"
      : `best ${money(offer.best_bid_cents, offer.currency)}${basis}`;
    const ceiling = offer.ceiling_cents ? ` · ceiling ${money(offer.ceiling_cents, offer.currency)}${basis}` : "";
    return [el("span", { class: "pill" }, "auction"), ` ${best}${ceiling}`,
      offer.closes_at ? el("div", { class: "muted" }, `closes ${when(offer.closes_at)}`) : null];
  }
  const rate = `${money(offer.rate_cents, offer.currency)}${basis}`;
  if (offer.pricing_mode === "tender") return [el("span", { class: "pill warn" }, "tender"), ` ${rate}`];
  return rate;
}

async function act(button, work, done) {
  button.disabled = true;
  try {
    const result = await work();
    notice(done(result), "good");
    await loadBookings();
  } catch (problem) {
    notice(problem.message, "bad");
  } finally {
    button.disabled = false;
  }
}

// Grab quantities are typed in the unit the table shows (t, m³) and sent in the base unit.
function displayUnit(unit) {
  if (unit === "kg") return { scale: 1000, label: "t" };
  if (unit === "l") return { scale: 1000, label: "m³" };
  return { scale: 1, label: unit };
}

function grabForm(offer) {
  const { scale, label } = displayUnit(offer.unit);
  const amount = el("input", {
    type: "number", min: offer.min_lot / scale, max: offer.remaining / scale,
    value: offer.remaining / scale, step: "any", "aria-label": `quantity to grab in ${label}`,
    title: `quantity in ${label}`,
  });
  const button = el("button", { type: "button", class: "grab" }, "Grab");
  button.addEventListener("click", () => act(
    button,
    () => api(`/v1/market/offers/${offer.id}/grab`, {
      method: "POST", body: { quantity: Math.round(Number(amount.value) * scale) },
    }),
    (booking) => `Booked ${quantity(booking.quantity, booking.unit)} of ${offer.reference}: ${booking.confirmation_no}`,
  ));
  return el("div", { class: "actions" }, offer.min_lot < offer.remaining ? amount : null, button);
}

function bidForm(offer) {
  const rate = el("input", {
    type: "number", min: 0.01, step: 0.01, placeholder: `rate ${BASIS[offer.rate_basis] || ""}`,
    "aria-label": `your rate in ${offer.currency}`,
  });
  const button = el("button", { type: "button", class: "bid" }, "Bid");
  button.addEventListener("click", () => act(
    button,
    () => api(`/v1/market/offers/${offer.id}/bids`, {
      method: "POST", body: { rate_cents: Math.round(Number(rate.value) * 100) },
    }),
    (bid) => `Bid ${money(bid.rate_cents, offer.currency)} on ${offer.reference} stands`,
  ));
  return el("div", { class: "actions" }, rate, button);
}

function tenderForm(offer) {
  const accept = el("button", { type: "button" }, "Accept");
  const decline = el("button", { type: "button", class: "secondary" }, "Decline");
  accept.addEventListener("click", () => act(
    accept,
    () => api(`/v1/market/offers/${offer.id}/tender/accept`, { method: "POST" }),
    (booking) => `Booked ${offer.reference}: ${booking.confirmation_no}`,
  ));
  decline.addEventListener("click", () => act(
    decline,
    () => api(`/v1/market/offers/${offer.id}/tender/decline`, { method: "POST", body: {} }),
    () => `Declined ${offer.reference}`,
  ));
  return el("div", { class: "actions" }, accept, decline);
}

function actionsOf(offer, available) {
  if (!available) return el("span", { class: "pill" }, offer.remaining > 0 ? offer.state : "taken");
  if (offer.pricing_mode === "auction") return bidForm(offer);
  if (offer.pricing_mode === "tender") return tenderForm(offer);
  return grabForm(offer);
}

function rowOf(offer, available, fresh) {
  const hazard = offer.hazard_class ? el("span", { class: "pill bad" }, `ADR ${offer.hazard_class}${offer.un_number ? ` · ${offer.un_number}` : ""}`) : null;
  const food = offer.food_grade ? el("span", { class: "pill good" }, "food grade") : null;
  return el(
    "tr",
    { dataset: { offer: offer.id }, class: [fresh ? "fresh" : "", available ? "" : "gone"].join(" ").trim() || null },
    el("td", {}, el("strong", {}, offer.reference), el("div", {}, offer.commodity, " ", hazard, " ", food),
      el("div", { class: "muted" }, (offer.body_types || []).join(", "))),
    el("td", {}, offer.origin_name, " → ", offer.destination_address,
      offer.distance_km !== null && offer.distance_km !== undefined ? el("div", { class: "muted" }, `${offer.distance_km} km away`) : null),
    el("td", {}, when(offer.pickup_from), el("div", { class: "muted" }, `until ${when(offer.pickup_until)}`)),
    el("td", { class: "num remaining" }, quantity(offer.remaining, offer.unit),
      el("div", { class: "muted" }, `of ${quantity(offer.quantity, offer.unit)}`)),
    el("td", {}, priceOf(offer)),
    el("td", {}, actionsOf(offer, available)),
  );
}

function render(offerId, fresh = false) {
  const entry = offers.get(offerId);
  const existing = loadsBody.querySelector(`tr[data-offer="${offerId}"]`);
  const row = rowOf(entry.offer, entry.available, fresh);
  if (existing) existing.replaceWith(row);
  else loadsBody.prepend(row);
  document.getElementById("loads-empty").hidden = offers.size > 0;
}

let feedTick = 0; // counts feed messages, so a reload never overwrites a newer one

async function loadOffers() {
  const started = feedTick;
  const page = await api("/v1/market/loads?limit=100");
  const listed = new Set(page.data.map((offer) => offer.id));
  for (const [id, entry] of offers) {
    if (!listed.has(id) && entry.tick <= started && entry.available) {
      entry.available = false;
      render(id);
    }
  }
  for (const offer of page.data.slice().reverse()) {
    const entry = offers.get(offer.id);
    if (entry && entry.tick > started) continue;
    offers.set(offer.id, { offer, available: true, tick: started });
    references.set(offer.id, offer.reference);
    render(offer.id);
  }
  document.getElementById("loads-empty").hidden = offers.size > 0;
  loadsBody.dataset.loaded = "true";
}

async function referenceOf(offerId) {
  if (!references.has(offerId)) {
    try {
      references.set(offerId, (await api(`/v1/market/offers/${offerId}`)).reference);
    } catch {
      references.set(offerId, "—");
    }
  }
  return references.get(offerId);
}

const BOOKING_PILL = { confirmed: "good", pending_approval: "warn", cancelled: "bad", no_show: "bad" };

async function loadBookings() {
  const page = await api("/v1/market/bookings?side=carrier&limit=100");
  const rows = await Promise.all(page.data.map(async (booking) => el(
    "tr",
    { dataset: { booking: booking.id } },
    el("td", {}, el("strong", {}, booking.confirmation_no)),
    el("td", {}, await referenceOf(booking.offer_id)),
    el("td", { class: "num" }, quantity(booking.quantity, booking.unit)),
    el("td", { class: "num" }, money(booking.amount_cents, booking.currency)),
    el("td", {}, when(booking.pickup_from)),
    el("td", {}, el("span", { class: `pill ${BOOKING_PILL[booking.state] || ""}` }, booking.state.replace("_", " "))),
  )));
  bookingsBody.replaceChildren(...rows);
  document.getElementById("bookings-empty").hidden = rows.length > 0;
}

function onFeed({ event, data }) {
  if (event === "offer") {
    const known = offers.has(data.offer.id);
    if (!known && !data.available) return;
    feedTick += 1;
    const offer = { ...data.offer, distance_km: data.distance_km };
    offers.set(offer.id, { offer, available: data.available, tick: feedTick });
    references.set(offer.id, offer.reference);
    render(offer.id, !known);
  } else if (event === "gap") {
    loadOffers().catch((problem) => notice(problem.message, "bad"));
  }
}

function live(on, text) {
  feedState.dataset.live = String(on);
  feedState.textContent = text;
}

async function start() {
  const me = await signedIn();
  if (!me.organization.kinds.includes("carrier")) {
    live(false, "not a carrier");
    document.getElementById("loads-empty").textContent = "The load board is for carriers: your organization is not one.";
    document.getElementById("loads-empty").hidden = false;
    return;
  }
  follow("/v1/market/feed/events", onFeed, {
    // Every (re)connection reloads the list: what changed while away is not replayed.
    onOpen: () => {
      live(true, "live");
      loadOffers().catch((problem) => notice(problem.message, "bad"));
    },
    onDown: () => live(false, "reconnecting…"),
  });
  await loadBookings();
}

start().catch((problem) => notice(problem.message, "bad"));
