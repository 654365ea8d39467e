"""Seed 000's `MMDemoService` ("和Service的集成"), as the document writes it.

The class body below is the document's: `on_ws_place_order_callback` and `ws_place_order`
with `req_id=self.kraken_ws_api.get_next_request_id()`. Only what the fragment leaves out is
added: the imports, the `logger`, `self._orders`, an `on_start` that calls `ws_place_order`,
and the stop (once Kraken reports the order live, the service stops; `cancel_on_stop` in
config.json cancels the order on the way out).

    hftpy run examples/seed_service/config.json --module examples/seed_service/service.py --sim
"""

# ruff: noqa: F841 (the document's callback keeps an unused `my_order`)
import logging

from hftpy.common import CurrencyPair, Side
from hftpy.service import ServiceBase

logger = logging.getLogger(__name__)


class MMDemoService(ServiceBase):
    # (added) the fragment shows no start: place the document's order once the members are
    # ready (and make the self._orders it uses)
    async def on_start(self):
        self._orders = {}
        await self.ws_place_order()

    # (added) the stop: once the order is live, stop (cancel_on_stop cancels it)
    def on_order_update(self, venue, update):
        logger.warning(f"order_update:{venue}:{update.client_order_id}:{update.status}")
        if update.status.is_open and update.order_id is not None:
            self.stop()

    # -- from here on the document's code, verbatim (so not reformatted) --
    # fmt: off
    # ws下单回调函数
    def on_ws_place_order_callback(self, request_id, method, request, response, latency):
        """
        下maker单成功:
        {
            'token': '+zoUqE6bqQclouXTUmuchmCxMaRNqmdZYRdSwQe7u0g',
            'order_type': 'limit',
            'post_only': True,
            'symbol': 'EUR/USD',
            'order_qty': 1.0,
            'side': 'buy',
            'limit_price': 1.01,
            'cl_ord_id': '636a0574df7c4aa09c3b119a97f7c58b',
            'time_in_force': 'gtc'
        }
        {
            'method': 'add_order',
            'req_id': 3,
            'result': {
                'cl_ord_id': '636a0574df7c4aa09c3b119a97f7c58b',
                'order_id': 'OJZGTY-IZ3D4-EVVSTJ'
            },
            'success': True,
            'time_in': '2025-07-24T00:57:21.688509Z',
            'time_out': '2025-07-24T00:57:21.691084Z'
        }

        下maker单失败:
        {
            'token': '+zoUqE6bqQclouXTUmuchmCxMaRNqmdZYRdSwQe7u0g',
            'order_type': 'limit',
            'post_only': True,
            'symbol': 'EUR/USD',
            'order_qty': 0.1,
            'side': 'buy',
            'limit_price': 1.01,
            'cl_ord_id': 'f1c24e1f0fa44726add4999b2e086b3d',
            'time_in_force': 'gtc'
        }
        {
            'error': 'EGeneral:Invalid arguments:volume minimum not met',
            'method': 'add_order',
            'req_id': 2,
            'success': False,
            'time_in': '2025-07-24T00:56:33.320028Z',
            'time_out': '2025-07-24T00:56:33.328907Z'
        }
        """
        if isinstance(response, dict) and response.get("success"):
            # 下单成功，可以进行后续处理
            pass
        else:
            # 下单失败, 把订单从本地删除
            if isinstance(response, dict) and response.get("success") is False:
                client_order_id = request.get("cl_ord_id")
                # 获取老的订单信息
                my_order = self._orders.get(client_order_id, None)
                self._orders.pop(client_order_id, None)
            logger.warning(f"ws_place_order:{request_id}:{method}:{request}:{response}:{latency}")

    async def ws_place_order(self):
        params = {
            "symbol": CurrencyPair.BTC_USD,
            "side": Side.BUY,
            "amount": 0.001,
            "price": 80000.0,
            "order_type": "limit",
            "post_only": True,
            "req_id": self.kraken_ws_api.get_next_request_id(),
            "callback": self.on_ws_place_order_callback
        }
        await self.kraken_ws_api.place_order(**params)
    # fmt: on
