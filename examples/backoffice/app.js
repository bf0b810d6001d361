// The reference back office: what staff do with orders, after-sales and stock, on the
// public GraphQL API alone. Each page shows only what the signed-in staff member's
// permissions allow (the API refuses the rest anyway). Routes: #/ (orders queue),
// #/order/<id>, #/after-sales, #/shipments-due, #/stock, #/prices, #/settlement, #/signin.
import { render } from "preact";
import { useState } from "preact/hooks";
import { html, session, setSession, demoAccounts, signIn } from "../shared/client.js";
import { useRoute, useSession, useQuery, Loading } from "../shared/ui.js";
import { OrdersQueue, StaffOrderPage } from "./orders.js";
import { AfterSalesQueue } from "./aftersales.js";
import { LowStockPage } from "./stock.js";
import { SettlementPage, ShipmentsDuePage } from "./finance.js";
import { PricesPage } from "./prices.js";

export const can = (staff, permission) => Boolean(staff?.permissions?.includes(permission));

function SignIn({ next }) {
  const accounts = useQuery(demoAccounts, "accounts");
  const [problem, setProblem] = useState(null);
  const choose = async (email) => {
    try { await signIn(email); location.hash = next; } catch (error) { setProblem(error.message); }
  };
  return html`<h1>Staff sign-in</h1>
    <p class="muted">A demo: choose a seeded staff account; each has its own permissions.</p>
    ${problem && html`<p class="error" role="alert">${problem}</p>`}
    <${Loading} state=${accounts}>${(data) => html`<ul class="lines">${data.staff.map((s) => html`<li class="row">
      <span style="flex:1"><strong>${s.name}</strong> <span class="muted">${s.email}</span><br />
        ${s.permissions.map((p) => html`<span class="tag">${p}</span>`)}</span>
      <button type="button" onClick=${() => choose(s.email)} aria-label=${`Sign in as ${s.name}`}>Sign in</button>
    </li>`)}</ul>`}<//>`;
}

function Header({ staff }) {
  return html`<header class="top">
    <a class="brand" href="#/">Back office</a>
    <nav aria-label="Sections">
      ${can(staff, "MANAGE_ORDERS") && html`<a href="#/">Orders</a>`}
      ${can(staff, "MANAGE_AFTER_SALES") && html`<a href="#/after-sales">After-sales</a>`}
      ${can(staff, "MANAGE_ORDERS") && html`<a href="#/shipments-due">Shipments due</a>`}
      ${can(staff, "MANAGE_STOCK") && html`<a href="#/stock">Low stock</a>`}
      ${can(staff, "MANAGE_PRICES") && html`<a href="#/prices">Prices</a>`}
      ${can(staff, "VIEW_FINANCE") && html`<a href="#/settlement">Settlement</a>`}
      ${staff
        ? html`<span style="color:#cfd6df">${staff.name}</span>
            <button type="button" class="secondary" onClick=${() => setSession(null)}>Sign out</button>`
        : html`<a href="#/signin">Sign in</a>`}
    </nav>
  </header>`;
}

function Page({ staff }) {
  const { parts, params } = useRoute();
  const [first, second] = parts;
  if (first === "signin" || !staff) return html`<${SignIn} next=${params.get("next") || "#/"} />`;
  if (first === "order" && second) return html`<${StaffOrderPage} id=${second} staff=${staff} key=${second} />`;
  if (first === "after-sales") return html`<${AfterSalesQueue} staff=${staff} />`;
  if (first === "stock") return html`<${LowStockPage} staff=${staff} />`;
  if (first === "shipments-due") return html`<${ShipmentsDuePage} />`;
  if (first === "settlement") return html`<${SettlementPage} />`;
  if (first === "prices") return html`<${PricesPage} />`;
  if (!first) {
    if (can(staff, "MANAGE_ORDERS")) return html`<${OrdersQueue} />`;
    if (can(staff, "MANAGE_AFTER_SALES")) return html`<${AfterSalesQueue} staff=${staff} />`;
    if (can(staff, "MANAGE_STOCK")) return html`<${LowStockPage} staff=${staff} />`;
    if (can(staff, "MANAGE_PRICES")) return html`<${PricesPage} />`;
    if (can(staff, "VIEW_FINANCE")) return html`<${SettlementPage} />`;
    return html`<h1>Nothing to do here</h1><p>Your account has no permission these pages use.</p>`;
  }
  return html`<h1>Not found</h1>`;
}

function App() {
  const staff = useSession(session);
  return html`<${Header} staff=${staff} /><main id="main" tabindex="-1"><${Page} staff=${staff} /></main>`;
}

const root = document.getElementById("app");
root.textContent = ""; // the "Loading…" placeholder
render(html`<${App} />`, root);
