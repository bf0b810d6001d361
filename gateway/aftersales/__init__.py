"""What happens to an order after checkout: payment (in one step, or a presale's deposit
then balance), the split into shipments, shipping and delivery, after-sales requests and
their refunds, cancelling a paid order, and the finance settlement. Plain Python, no
GraphQL: the resolvers call in, unit tests reach it without a server."""
