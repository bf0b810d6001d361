// The reference storefront: a buyer's whole path through the shop, on the public GraphQL
// API alone (see docs/examples.md). Routes live in the URL's fragment: #/c/<slug>,
// #/p/<slug>, #/search?q=, #/cart, #/order/<id>, #/orders, #/signin.
import { render } from "preact";
import { useState } from "preact/hooks";
import { html, session, setSession } from "../shared/client.js";
import { useRoute, useSession } from "../shared/ui.js";
import { Home, CategoryPage, SearchPage, ProductPage } from "./catalog.js";
import { CartPage } from "./cart.js";
import { MyOrders, OrderPage } from "./account.js";
import { SignIn } from "./signin.js";

function Header() {
  const signedIn = useSession(session);
  const [query, setQuery] = useState("");
  const submit = (event) => {
    event.preventDefault();
    if (query.trim()) location.hash = `#/search?q=${encodeURIComponent(query.trim())}`;
  };
  return html`<header class="top">
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById("main").focus(); }}>Skip to content</a>
    <a class="brand" href="#/">Demo Shop</a>
    <form role="search" onSubmit=${submit}>
      <label class="visually-hidden" for="search-box">Search products</label>
      <input id="search-box" type="search" placeholder="Search products" value=${query}
        onInput=${(e) => setQuery(e.target.value)} />
      <button type="submit">Search</button>
    </form>
    <nav aria-label="Account">
      <a href="#/cart">Cart</a>
      ${signedIn
        ? html`<a href="#/orders">My orders</a>
            <span class="muted" style="color:#cfd6df">${signedIn.name}</span>
            <button class="secondary" type="button" onClick=${() => setSession(null)}>Sign out</button>`
        : html`<a href="#/signin">Sign in</a>`}
    </nav>
  </header>`;
}

function Page() {
  const { parts, params } = useRoute();
  const [first, second] = parts;
  if (!first) return html`<${Home} />`;
  if (first === "c" && second) return html`<${CategoryPage} slug=${second} key=${second} />`;
  if (first === "search") return html`<${SearchPage} query=${params.get("q") || ""} key=${params.toString()} />`;
  if (first === "p" && second) return html`<${ProductPage} slug=${second} key=${second} />`;
  if (first === "cart") return html`<${CartPage} />`;
  if (first === "order" && second) return html`<${OrderPage} id=${second} key=${second} confirmed=${params.has("placed")} />`;
  if (first === "orders") return html`<${MyOrders} />`;
  if (first === "signin") return html`<${SignIn} next=${params.get("next") || "#/"} />`;
  return html`<h1>Not found</h1><p><a href="#/">Back to the shop</a></p>`;
}

function App() {
  return html`<${Header} />
    <main id="main" tabindex="-1"><${Page} /></main>`;
}

const root = document.getElementById("app");
root.textContent = ""; // the "Loading…" placeholder
render(html`<${App} />`, root);
