// Sign-in: exchange a login for a bearer token (or take one pasted from `haulpoint demo`),
// keep it for this tab, and go on to the page the account works in.
import { Problem, forgetToken, keepToken } from "./api.js";

const form = document.getElementById("sign-in-form");
const error = document.getElementById("sign-in-error");

function startPage(me) {
  const next = new URLSearchParams(location.search).get("next");
  // Only paths of this site: a crafted link must not send the signed-in user elsewhere.
  if (next && next.startsWith("/app/") && !next.startsWith("//")) return next;
  const kinds = me.organization.kinds;
  if (me.role === "driver") return "/app/driver";
  if (me.role === "clerk" && kinds.includes("plant_operator")) return "/app/yard";
  if (kinds.includes("carrier")) return "/app/loads";
  return "/app/map";
}

async function enter(token) {
  const response = await fetch("/v1/me", { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Problem(response.status, body);
  }
  keepToken(token);
  location.assign(startPage(await response.json()));
}

function show(problem) {
  error.textContent = problem.message || "Could not sign in";
  error.hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const data = new FormData(form);
  try {
    const response = await fetch("/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ login: data.get("login"), password: data.get("password") }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Problem(response.status, body);
    await enter(body.access_token);
  } catch (problem) {
    show(problem);
  }
});

document.getElementById("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  try {
    await enter(new FormData(event.target).get("token").trim());
  } catch (problem) {
    show(problem);
  }
});

forgetToken();
