"""The smoke journey: a buyer, a farmer and a village agent, through the load balancer's public address only.

    .venv/bin/python deploy/smoke.py https://127.0.0.1:8443 [--ca deploy-tls.crt]

Only HTTP, as a phone or a browser would: the HTML pages with their CSRF tokens for browsing and signing in,
the JSON API with tokens for the rest (names from the API contract). On the demo data (`manage.py load_demo`):

1. browse: the home page, a search, a product page and its photo (a thumbnail from the object store, /media/);
2. sign in: the buyer signs in on the HTML form (CSRF token and cookie) and sees their profile;
3. photo: the farmer adds a product photo; the images worker makes its thumbnails, served from /media/;
4. checkout: the buyer puts a product of the farmer's Guoluku cooperative in the cart and checks out, cash on
   delivery;
5. seller: the farmer accepts, packs from a harvest lot and hands the parcel to the village station;
6. agent: the agent of the station receives the parcel;
7. trace: the public tracking of the parcel and the trace page of its lot.

`on_step(name)` is called after each step (the rehearsal kills an app server there). Every response must be
what the step expects, else SmokeFailed names the step, the request and the answer.
"""
import argparse
import io
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

PASSWORD = "farmgate-demo"  # the demo users' published password (README)
HOME_VILLAGE = "国路夼村"  # the demo agent's station serves this village; the demo farmer has a cooperative there


class SmokeFailed(AssertionError):
    pass


@dataclass
class Journey:
    base: str
    ca: str | bool = True
    on_step: Callable[[str], None] | None = None
    timings: list[tuple[str, float]] = field(default_factory=list)
    facts: dict = field(default_factory=dict)

    # --- HTTP -----------------------------------------------------------------------------

    def session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE or a proxy from the environment would override us
        session.verify = self.ca
        session.headers["User-Agent"] = "farmgate-smoke"
        return session

    def expect(self, response: requests.Response, status: int | tuple, what: str) -> requests.Response:
        statuses = status if isinstance(status, tuple) else (status,)
        if response.status_code not in statuses:
            raise SmokeFailed(f"{what}: {response.request.method} {response.url} answered {response.status_code} "
                              f"(wanted {status}): {response.text[:500]}")
        return response

    def api(self, token: str) -> requests.Session:
        session = self.session()
        session.headers["Authorization"] = f"Token {token}"
        return session

    def token(self, username: str) -> str:
        response = self.session().post(f"{self.base}/api/v1/auth/token/",
                                       json={"username": username, "password": PASSWORD}, timeout=30)
        return self.expect(response, 200, f"token for {username}").json()["token"]

    # --- Steps ----------------------------------------------------------------------------

    def browse(self) -> None:
        web = self.session()
        home = self.expect(web.get(f"{self.base}/", timeout=30), 200, "home page")
        self.facts["first_request_id"] = home.headers.get("X-Request-ID")
        self.expect(web.get(f"{self.base}/search/", params={"q": "苹果"}, timeout=30), 200, "search")
        products = self.expect(web.get(f"{self.base}/api/v1/products/", params={"in_stock": "true"}, timeout=30),
                               200, "product list").json()["results"]
        if not products:
            raise SmokeFailed("browse: no product in stock (was load_demo run?)")
        with_photo = next((p for p in products if any(i.get("thumbnails") for i in p.get("images", []))), None)
        product = with_photo or products[0]
        page = self.expect(web.get(f"{self.base}/p/{product['id']}/", timeout=30), 200, "product page")
        if product["title"] not in page.text:
            raise SmokeFailed(f"product page: {product['title']!r} not on the page")
        if with_photo:
            thumbnail = next(i for i in with_photo["images"] if i.get("thumbnails"))["thumbnails"]
            url = thumbnail[min(thumbnail, key=int)]
            image = self.expect(web.get(url, timeout=30), 200, "product thumbnail")
            if not url.startswith(f"{self.base}/media/") or image.headers["Content-Type"] != "image/webp":
                raise SmokeFailed(f"thumbnail {url}: {image.headers['Content-Type']}, not a WebP under /media/")

    def sign_in(self) -> None:
        web = self.session()
        form = self.expect(web.get(f"{self.base}/accounts/login/", timeout=30), 200, "sign-in page")
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        if not match or "csrftoken" not in web.cookies:
            raise SmokeFailed("sign-in page: no CSRF token or cookie")
        response = web.post(f"{self.base}/accounts/login/", timeout=30,
                            data={"username": "buyer", "password": PASSWORD, "csrfmiddlewaretoken": match[1]},
                            headers={"Referer": f"{self.base}/accounts/login/", "Origin": self.base})
        self.expect(response, 200, "sign in")
        if not response.url.rstrip("/").endswith("/accounts/profile") or "buyer" not in response.text:
            raise SmokeFailed(f"sign in: ended on {response.url}, not the buyer's profile")
        if not web.cookies.get("sessionid"):
            raise SmokeFailed("sign in: no session cookie")
        self.facts["buyer_session"] = web

    def _farm(self, farmer) -> tuple[dict, dict, dict]:
        """The farmer's shop in the agent's village, a product of it in stock and a lot that may be sold."""
        shops = self.expect(farmer.get(f"{self.base}/api/v1/shops/", params={"mine": "true"}, timeout=30), 200,
                            "the farmer's shops").json()["results"]
        shops.sort(key=lambda s: s.get("village_name") != HOME_VILLAGE)
        for shop in shops:
            lots = self.expect(farmer.get(f"{self.base}/api/v1/lots/", params={"shop": shop["slug"]}, timeout=30),
                               200, "lots").json()["results"]
            for lot in (lot for lot in lots if not lot.get("phi_violation")):
                product = self.expect(farmer.get(f"{self.base}/api/v1/products/{lot['product']}/", timeout=30), 200,
                                      "product").json()
                if product.get("is_active") and product.get("stock", 0) >= 1:
                    return shop, product, lot
        raise SmokeFailed("no product of the farmer with stock and a lot that may be sold")

    def photo(self) -> None:
        from PIL import Image

        farmer = self.api(self.token("farmer"))
        self.facts["farmer"] = farmer
        shop, product, lot = self._farm(farmer)
        self.facts.update(shop=shop, product=product, lot=lot)
        buffer = io.BytesIO()
        Image.new("RGB", (1400, 1050), (180, 40, 40)).save(buffer, format="JPEG", quality=85)
        response = farmer.post(f"{self.base}/api/v1/products/{product['id']}/images/", timeout=60,
                               files={"image": ("rehearsal.jpg", buffer.getvalue(), "image/jpeg")})
        photo = self.expect(response, 201, "photo upload").json()
        self.facts["upload_request_id"] = response.headers.get("X-Request-ID")
        deadline = time.monotonic() + 90
        while True:
            images = self.expect(farmer.get(f"{self.base}/api/v1/products/{product['id']}/", timeout=30), 200,
                                 "product").json()["images"]
            mine = next(i for i in images if i["id"] == photo["id"])
            if mine["status"] == "ready":
                break
            if mine["status"] == "failed" or time.monotonic() > deadline:
                raise SmokeFailed(f"photo: thumbnails not made ({mine['status']})")
            time.sleep(0.5)
        for url in mine["thumbnails"].values():
            image = self.expect(self.session().get(url, timeout=30), 200, "new thumbnail")
            if image.headers["Content-Type"] != "image/webp":
                raise SmokeFailed(f"new thumbnail {url} is {image.headers['Content-Type']}")
        self.facts["thumbnails"] = len(mine["thumbnails"])

    def checkout(self) -> None:
        buyer = self.api(self.token("buyer"))
        self.facts["buyer"] = buyer
        product = self.facts["product"]
        cart = self.expect(buyer.get(f"{self.base}/api/v1/cart/", timeout=30), 200, "cart").json()
        for item in (item for group in cart.get("shops", []) for item in group["items"]):  # start from an empty cart
            self.expect(buyer.delete(f"{self.base}/api/v1/cart/items/{item['id']}/", timeout=30), 204, "empty cart")
        self.expect(buyer.post(f"{self.base}/api/v1/cart/items/", json={"product": product["id"], "quantity": 1},
                               timeout=30), 201, "add to cart")
        addresses = self.expect(buyer.get(f"{self.base}/api/v1/addresses/", timeout=30), 200, "addresses").json()
        addresses = addresses["results"] if isinstance(addresses, dict) else addresses
        if not addresses:
            raise SmokeFailed("checkout: the demo buyer has no address")
        order = self.expect(buyer.post(f"{self.base}/api/v1/orders/", timeout=60, json={
            "address": addresses[0]["id"], "payment_method": "cod"}), 201, "checkout").json()
        self.facts["order"] = order
        if len(order["shop_orders"]) != 1:
            raise SmokeFailed(f"checkout: {len(order['shop_orders'])} shop orders, wanted 1")

    def seller(self) -> None:
        farmer, lot = self.facts["farmer"], self.facts["lot"]
        part = self.facts["order"]["shop_orders"][0]
        base = f"{self.base}/api/v1/seller/orders/{part['id']}"
        self.expect(farmer.post(f"{base}/accept/", timeout=30), 200, "accept")
        lines = [{"line": line["id"], "lot": lot["id"]} for line in part["lines"]]
        self.expect(farmer.post(f"{base}/pack/", json={"lines": lines}, timeout=30), 200, "pack")
        parcel = self.expect(farmer.post(f"{base}/hand-over/", timeout=30), 201, "hand over").json()
        self.facts["parcel"] = parcel["code"]
        self.facts["station"] = parcel["station"]["id"]

    def agent(self) -> None:
        agent = self.api(self.token("agent"))
        self.facts["agent"] = agent
        code = self.facts["parcel"]
        parcel = self.expect(agent.post(f"{self.base}/api/v1/agent/parcels/{code}/receive/", timeout=30), 200,
                             "agent receives the parcel").json()
        self.facts["parcel_status"] = parcel.get("status")

    def trace(self) -> None:
        web = self.session()
        track = self.expect(web.get(f"{self.base}/api/v1/track/{self.facts['parcel']}/", timeout=30), 200,
                            "public tracking").json()
        if track.get("status") != "at_station" and not track.get("events"):
            raise SmokeFailed(f"tracking: {track}")
        lot = self.facts["lot"]["code"]
        page = self.expect(web.get(f"{self.base}/t/{lot}", timeout=30), 200, "trace page")
        if lot not in page.text:
            raise SmokeFailed(f"trace page: lot {lot} not on it")
        self.facts["track_status"] = track.get("status")

    STEPS = ("browse", "sign_in", "photo", "checkout", "seller", "agent", "trace")

    def run(self) -> list[tuple[str, float]]:
        for name in self.STEPS:
            started = time.perf_counter()
            getattr(self, name)()
            self.timings.append((name, time.perf_counter() - started))
            if self.on_step:
                self.on_step(name)
        return self.timings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the load balancer's address, e.g. https://127.0.0.1:8443")
    parser.add_argument("--ca", default=True, help="the certificate to trust (a self-signed one)")
    args = parser.parse_args(argv)
    journey = Journey(args.base.rstrip("/"), args.ca)
    try:
        journey.run()
    except SmokeFailed as exc:
        print(f"smoke journey FAILED: {exc}", file=sys.stderr)
        return 1
    for name, seconds in journey.timings:
        print(f"  {name:10} {seconds:6.2f} s")
    print(f"smoke journey OK: order {journey.facts['order']['number']}, parcel {journey.facts['parcel']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
