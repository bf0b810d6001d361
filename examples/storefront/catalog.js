// Browsing: categories, a category's listing with filters, sort and "load more" by
// cursor, search with facets, and a product's page.
import { useEffect, useRef, useState } from "preact/hooks";
import { html, gql, money, day } from "../shared/client.js";
import { useQuery, Loading, Problems } from "../shared/ui.js";
import { addToCart } from "./cart-store.js";

const PAGE = 12;

export function ProductCard({ product }) {
  const { min, max } = product.priceRange;
  return html`<article class="card product-card">
    <h3><a href=${`#/p/${product.slug}`}>${product.name}</a></h3>
    <div class="muted">${product.brand || ""}</div>
    <div class="price">${money(min)}${max.amount !== min.amount ? ` – ${money(max)}` : ""}</div>
    <div>
      ${product.inStock ? "" : html`<span class="tag bad">Out of stock</span>`}
      ${product.presale ? html`<span class="tag warn">Presale</span>` : ""}
      ${product.promotions.slice(0, 1).map((p) => html`<span class="tag">${p.name}</span>`)}
    </div>
  </article>`;
}

export function Home() {
  const state = useQuery(() => gql("Categories"), "categories");
  const featured = useQuery(() => gql("Products", { first: 8, sort: "NEWEST", filter: { inStock: true } }), "featured");
  return html`<h1>Welcome to the demo shop</h1>
    <section aria-labelledby="cat-heading">
      <h2 id="cat-heading">Categories</h2>
      <${Loading} state=${state}>${(data) => {
        const top = data.categories.filter((c) => !c.parent);
        return html`<div class="grid">${top.map((c) => html`<div class="card">
          <h3><a href=${`#/c/${c.slug}`}>${c.name}</a></h3>
          <div class="muted">${data.categories.filter((s) => s.parent?.slug === c.slug).map((s, i) => html`${i ? ", " : ""}<a href=${`#/c/${s.slug}`}>${s.name}</a>`)}</div>
        </div>`)}</div>`;
      }}<//>
    </section>
    <section aria-labelledby="new-heading">
      <h2 id="new-heading">New in</h2>
      <${Loading} state=${featured}>${(data) => html`<div class="grid">
        ${data.products.edges.map((e) => html`<${ProductCard} product=${e.node} />`)}</div>`}<//>
    </section>`;
}

// Pages of a connection, appended by cursor; restarts when `key` changes.
// Results of an older key are never shown (nor extended) once the key has changed.
function usePages(load, key) {
  const [state, setState] = useState({ key: null, edges: [], page: null, loading: true, error: null });
  const latest = useRef(key);
  latest.current = key;
  const fetchPage = async (after, reset) => {
    setState((s) => ({ ...s, loading: true }));
    try {
      const page = await load(after);
      if (latest.current !== key) return; // an answer for filters the buyer has left
      setState((s) => ({ key, edges: [...(reset ? [] : s.edges), ...page.edges], page, loading: false, error: null }));
    } catch (error) {
      setState((s) => ({ ...s, key, loading: false, error }));
    }
  };
  useEffect(() => { fetchPage(null, true); }, [key]);
  if (state.key !== key) return { edges: [], page: null, loading: true, error: null, more: () => {} };
  return { ...state, more: () => fetchPage(state.page.pageInfo.endCursor, false) };
}

function Results({ pages, label }) {
  if (pages.error) return html`<p class="error" role="alert">${pages.error.message}</p>`;
  if (!pages.page) return html`<p class="loading" aria-busy="true">Loading…</p>`;
  return html`<p class="muted" aria-live="polite">${pages.page.totalCount} ${label}, ${pages.edges.length} shown</p>
    <div class="grid">${pages.edges.map((e) => html`<${ProductCard} product=${e.node} key=${e.cursor} />`)}</div>
    ${pages.page.pageInfo.hasNextPage && html`<p><button type="button" onClick=${pages.more} disabled=${pages.loading}>
      ${pages.loading ? "Loading…" : "Load more"}</button></p>`}`;
}

export function CategoryPage({ slug }) {
  const [sort, setSort] = useState("NEWEST");
  const [inStock, setInStock] = useState(false);
  const [minPrice, setMin] = useState("");
  const [maxPrice, setMax] = useState("");
  const [applied, setApplied] = useState({ minPrice: "", maxPrice: "" });
  const categories = useQuery(() => gql("Categories"), "categories");
  const filter = { categorySlug: slug };
  if (inStock) filter.inStock = true;
  if (applied.minPrice) filter.minPrice = applied.minPrice;
  if (applied.maxPrice) filter.maxPrice = applied.maxPrice;
  const pages = usePages(
    (after) => gql("Products", { first: PAGE, after, filter, sort }).then((d) => d.products),
    JSON.stringify([filter, sort]),
  );
  const category = categories.data?.categories.find((c) => c.slug === slug);
  const children = categories.data?.categories.filter((c) => c.parent?.slug === slug) || [];
  return html`<h1>${category ? category.name : slug}</h1>
    ${children.length > 0 && html`<nav aria-label="Subcategories" class="row">${children.map((c) => html`<a class="tag" href=${`#/c/${c.slug}`}>${c.name}</a>`)}</nav>`}
    <form class="filters" aria-label="Filters" onSubmit=${(e) => { e.preventDefault(); setApplied({ minPrice, maxPrice }); }}>
      <div class="field"><label for="sort">Sort by</label>
        <select id="sort" value=${sort} onChange=${(e) => setSort(e.target.value)}>
          <option value="NEWEST">Newest</option><option value="PRICE_ASC">Price: low to high</option>
          <option value="PRICE_DESC">Price: high to low</option><option value="NAME">Name</option>
        </select></div>
      <div class="field"><label for="min-price">Min price</label>
        <input id="min-price" inputmode="decimal" size="6" value=${minPrice} onInput=${(e) => setMin(e.target.value)} /></div>
      <div class="field"><label for="max-price">Max price</label>
        <input id="max-price" inputmode="decimal" size="6" value=${maxPrice} onInput=${(e) => setMax(e.target.value)} /></div>
      <button type="submit" class="secondary">Apply prices</button>
      <label class="row"><input type="checkbox" checked=${inStock} onChange=${(e) => setInStock(e.target.checked)} /> In stock only</label>
    </form>
    <${Results} pages=${pages} label="products" />`;
}

// Facet name -> how its selected values narrow the ProductFilter.
const FACET_FILTERS = {
  brand: (values) => ({ brands: values }),
  category: (values) => ({ categorySlugs: values }),
  price: (values) => ({ priceBand: values[0] }),
  availability: (values) => (values.length === 1 ? { inStock: values[0] === "IN_STOCK" } : {}),
  kind: (values) => ({ kind: values[0] }),
};

export function SearchPage({ query }) {
  const [sort, setSort] = useState("RELEVANCE");
  const [selected, setSelected] = useState({});
  let filter = {};
  for (const [name, values] of Object.entries(selected)) {
    if (values.length && FACET_FILTERS[name]) filter = { ...filter, ...FACET_FILTERS[name](values) };
  }
  const [facets, setFacets] = useState([]);
  const [corrected, setCorrected] = useState(null);
  const pages = usePages(async (after) => {
    const { search } = await gql("Search", { query, first: PAGE, after, filter, sort });
    if (!after) { setFacets(search.facets); setCorrected(search.correctedQuery); }
    return search;
  }, JSON.stringify([query, filter, sort]));
  const toggle = (name, value) => {
    const current = selected[name] || [];
    const next = current.includes(value) ? current.filter((v) => v !== value) : [...current, value];
    setSelected({ ...selected, [name]: next });
  };
  return html`<h1>Search: “${query}”</h1>
    ${corrected && html`<p>Showing results for <a href=${`#/search?q=${encodeURIComponent(corrected)}`}>${corrected}</a></p>`}
    <div class="filters">
      <div class="field"><label for="search-sort">Sort by</label>
        <select id="search-sort" value=${sort} onChange=${(e) => setSort(e.target.value)}>
          <option value="RELEVANCE">Relevance</option><option value="PRICE_ASC">Price: low to high</option>
          <option value="PRICE_DESC">Price: high to low</option><option value="NEWEST">Newest</option>
        </select></div>
      ${facets.filter((f) => FACET_FILTERS[f.name] && f.values.length).map((f) => html`<fieldset class="facet">
        <legend>${f.label}</legend>
        ${f.values.slice(0, 8).map((v) => html`<label class="row"><input type="checkbox"
          checked=${(selected[f.name] || []).includes(v.value)} onChange=${() => toggle(f.name, v.value)} />
          ${v.label} <span class="muted">(${v.count})</span></label>`)}
      </fieldset>`)}
    </div>
    <${Results} pages=${pages} label="results" />`;
}

// The stock a buyer sees by its status, not its figure: a shop may hide exact counts
// (STOCK_VISIBILITY), and the status reads the same whatever it shows.
const STOCK_TAGS = {
  IN_STOCK: ["good", "In stock"],
  LOW_STOCK: ["warn", "Only a few left"],
  OUT_OF_STOCK: ["bad", "Out of stock"],
};

function StockTag({ stock }) {
  const [tone, text] = STOCK_TAGS[stock.status];
  return html`<span class=${`tag ${tone} stock-status`} data-status=${stock.status}>${text}</span>`;
}

function SkuChoice({ sku, checked, onChoose }) {
  const onSale = Number(sku.price.sale.amount) < Number(sku.price.list.amount);
  const options = sku.selectedOptions.map((o) => `${o.name}: ${o.value}`).join(", ");
  return html`<li><label>
    <input type="radio" name="sku" value=${sku.id} checked=${checked} disabled=${!sku.active} onChange=${onChoose} />
    <span style="flex:1"><strong>${sku.name}</strong> <span class="muted">${sku.code}${options ? ` · ${options}` : ""}</span><br />
      <span class="price ${onSale ? "sale" : ""}">${money(sku.price.sale)}</span>
      ${onSale && html`<s class="muted" aria-label=${`list price ${money(sku.price.list)}`}>${money(sku.price.list)}</s>`}
      ${" "}<${StockTag} stock=${sku.stock} />
      ${sku.purchaseLimit ? html`<span class="tag warn">Limit ${sku.purchaseLimit} per order</span>` : ""}
    </span>
  </label></li>`;
}

export function ProductPage({ slug }) {
  const state = useQuery(() => gql("Product", { slug }), slug);
  const [skuId, setSkuId] = useState(null);
  const [quantity, setQuantity] = useState(1);
  const [result, setResult] = useState(null);
  const [busy, setBusy] = useState(false);
  return html`<${Loading} state=${state}>${({ product }) => {
    if (!product) return html`<h1>Not found</h1><p>No product ${slug}.</p>`;
    const chosen = product.skus.find((s) => s.id === skuId) || product.skus.find((s) => s.active && s.stock.inStock) || product.skus[0];
    const add = async (event) => {
      event.preventDefault();
      setBusy(true);
      try {
        setResult(await addToCart(chosen.id, Number(quantity)));
      } catch (error) {
        setResult({ ok: false, problems: [{ code: error.code || "NETWORK", message: error.message }] });
      } finally {
        setBusy(false);
      }
    };
    return html`<nav class="muted" aria-label="Breadcrumb"><a href="#/">Home</a>${product.category && html` › <a href=${`#/c/${product.category.slug}`}>${product.category.name}</a>`}</nav>
      <h1>${product.name}</h1>
      <div class="two">
        <div>
          <p class="muted">${product.brand}</p>
          <p>${product.description}</p>
          ${product.presale && html`<div class="notice warn presale">
            <strong>Presale.</strong> Deposit ${money(product.presale.deposit)} now; orders from ${day(product.presale.startsAt)}
            to ${day(product.presale.endsAt)}; ships from ${day(product.presale.shipsFrom)}. The balance is due by
            ${day(product.presale.balanceDueAt)}: an order still unpaid then is cancelled and its deposit is kept.</div>`}
          ${product.reserveOnAdd && html`<div class="notice warn flash-sale"><strong>Flash sale.</strong> Units you add
            to your cart are held for you for a few minutes, so nobody can buy them from under you.</div>`}
          ${product.promotions.length > 0 && html`<h2>Promotions</h2><ul>${product.promotions.map((p) => html`<li>
            <strong>${p.name}</strong> — ${p.description}${p.couponRequired ? " (with a coupon)" : ""}${p.endsAt ? `, until ${day(p.endsAt)}` : ""}</li>`)}</ul>`}
          ${product.bundleItems.length > 0 && html`<h2>In this bundle</h2><ul class="bundle">${product.bundleItems.map((b) => html`<li>
            ${b.quantity} × <a href=${`#/p/${b.sku.product.slug}`}>${b.sku.product.name}</a> <span class="muted">${b.sku.name}</span></li>`)}</ul>`}
          ${product.fulfillment && product.fulfillment !== "WAREHOUSE" && html`<p class="muted">Fulfilment: ${product.fulfillment.toLowerCase().replace(/_/g, " ")}</p>`}
        </div>
        <form class="buy-box" onSubmit=${add} aria-label="Add to cart">
          <fieldset><legend>Choose a variant</legend>
            <ul class="skus">${product.skus.map((s) => html`<${SkuChoice} sku=${s} checked=${s.id === chosen.id} onChoose=${() => setSkuId(s.id)} />`)}</ul>
          </fieldset>
          <div class="field"><label for="quantity">Quantity</label>
            <input id="quantity" type="number" min="1" max=${chosen.purchaseLimit || 99} value=${quantity} onInput=${(e) => setQuantity(e.target.value)} /></div>
          <button type="submit" disabled=${busy || !chosen.active}>Add to cart</button>
          <div aria-live="polite">
            ${result && result.ok && html`<p class="notice added">Added ${quantity} × ${chosen.name}. <a href="#/cart">View cart</a></p>`}
            ${result && !result.ok && html`<${Problems} problems=${result.problems} />`}
          </div>
        </form>
      </div>`;
  }}<//>`;
}
