"""The operations the tests themselves send (to read what the pages should show): the
shop runs with PERSISTED_QUERIES_ONLY=true, so the fixture registers these as an operator
would with `gateway persisted add`."""

from __future__ import annotations

CATALOG = """
query StoryCatalog {
  products(first: 40, filter: {inStock: true}, sort: PRICE_ASC) {
    edges { node {
      slug name kind fulfillment presale { startsAt } bundleItems { quantity }
      skus { id code name active purchaseLimit stock { available } price { sale { amount } } }
    } }
  }
}
"""
ORDER = """
query StoryOrder($id: ID!) {
  order(id: $id) {
    number status
    cost { subtotal { amount } discountTotal { amount } total { amount } }
    lines { productName quantity total { amount } }
    afterSalesRequests { status refundAmount { amount } }
    refunds { amount { amount } }
  }
}
"""
SKU_STOCK = """
query StorySkuStock($id: ID!) {
  node(id: $id) { ... on Sku { stock { available warehouses { warehouseCode available } } } }
}
"""
STOCK_ADJUST = """
mutation StoryStockAdjust($skuId: ID!, $warehouseCode: String!, $delta: Int!) {
  stockAdjust(skuId: $skuId, warehouseCode: $warehouseCode, delta: $delta, reason: "race") {
    userErrors { code message }
  }
}
"""
ORDERS_OF_SKU = """
query StoryOrders {
  orders(first: 50) { edges { node { number status lines { sku { id } } } } }
}
"""
PRICE_SET = """
mutation StoryPriceSet($skuId: ID!, $price: Decimal!) {
  priceSet(skuId: $skuId, list: $price, sale: $price) { userErrors { code message } }
}
"""
TEST_OPERATIONS = (CATALOG, ORDER, SKU_STOCK, STOCK_ADJUST, ORDERS_OF_SKU, PRICE_SET)
