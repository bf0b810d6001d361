"""Taking the buyer's money: one provider interface (provider.py), its providers (manual,
Alipay, WeChat Pay), and the shop's rules around them: paying an order, applying a
provider's notification once, expiring unpaid orders, refunding through the provider and
reconciling with its bill."""
