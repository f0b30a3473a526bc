"""Order facts the call flow needs, and a bounded per-app cache of the last good copy."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["OrderCache", "OrderInfo"]


@dataclass(frozen=True, slots=True)
class OrderInfo:
    order_id: str
    name: str
    phone: str | None
    total_amount: str
    currency: str
    payment_gateways: tuple[str, ...]
    customer_first_name: str | None = None

    @property
    def cash_on_delivery(self) -> bool:
        return any(
            "cash on delivery" in g.lower() or "cod" in g.lower().split()
            for g in self.payment_gateways
        )

    @property
    def payment_description(self) -> str:
        return "as cash on delivery" if self.cash_on_delivery else "online"

    def prompt_facts(self) -> str:
        """What the script writer may know: no phone number, no address (PII stays here)."""
        who = self.customer_first_name or "the customer"
        return (
            f"Customer first name: {who}. Order {self.name}, total {self.total_amount} "
            f"{self.currency}, payment {self.payment_description}."
        )

    @classmethod
    def from_graphql(cls, order_id: str, order: Mapping[str, Any]) -> OrderInfo:
        money = order["totalPriceSet"]["shopMoney"]
        customer = order.get("customer") or {}
        return cls(
            order_id=order_id,
            name=str(order["name"]),
            phone=order.get("phone"),
            total_amount=str(money["amount"]),
            currency=str(money["currencyCode"]),
            payment_gateways=tuple(str(g) for g in order.get("paymentGatewayNames") or ()),
            customer_first_name=customer.get("firstName"),
        )

    @classmethod
    def from_webhook(cls, payload: Mapping[str, Any]) -> OrderInfo:
        """From an ``orders/create`` webhook body (REST representation)."""
        customer = payload.get("customer") or {}
        return cls(
            order_id=str(payload["id"]),
            name=str(payload.get("name") or f"#{payload.get('order_number', payload['id'])}"),
            phone=payload.get("phone") or customer.get("phone"),
            total_amount=str(payload.get("total_price", "0.00")),
            currency=str(payload.get("currency", "")),
            payment_gateways=tuple(str(g) for g in payload.get("payment_gateway_names") or ()),
            customer_first_name=customer.get("first_name"),
        )


class OrderCache:
    """Last good order data per ``(shop, order_id)``, least recently used evicted first."""

    def __init__(self, max_entries: int = 1024) -> None:
        self._max = max_entries
        self._items: OrderedDict[tuple[str, str], OrderInfo] = OrderedDict()

    def put(self, shop: str, order: OrderInfo) -> None:
        key = (shop, order.order_id)
        self._items[key] = order
        self._items.move_to_end(key)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    def get(self, shop: str, order_id: str) -> OrderInfo | None:
        key = (shop, order_id)
        order = self._items.get(key)
        if order is not None:
            self._items.move_to_end(key)
        return order

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
