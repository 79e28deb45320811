"""The demo catalogue: 12 farms and cooperatives in 6 real villages of Shandong, Zhejiang and Yunnan,
65 products with generated photos, and harvest lots with their input logs.

Everything goes through the shop services (so search documents, lot codes and the pre-harvest
interval check are the real ones). Idempotent: a shop is found by owner and name, a product by
shop and title; photos and lots are added only to a product that has none.
"""
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.demo import DEMO_PASSWORD
from accounts.models import User

from . import images, services
from .demo_photos import demo_photo
from .models import Category, InputApplication, Product, ProductImage, Shop, ShopMember, Village, gtin_is_valid

PHOTO_SIZE = (640, 480)  # smaller than a phone photo, so load_demo stays quick

# Farmers the catalogue needs besides accounts.demo's farmer, farmer2 and farmer3.
EXTRA_FARMERS = [
    ("farmer4", "刘春生 Liu Chunsheng"),
    ("farmer5", "孙桂兰 Sun Guilan"),
    ("farmer6", "岩温 Yan Wen"),
    ("farmer7", "张大山 Zhang Dashan"),
    ("farmer8", "李秋菊 Li Qiuju"),
    ("farmer9", "段丽芬 Duan Lifen"),
]

VILLAGES = {
    # key: (province, county, village)
    "guoluku": ("山东省", "栖霞市", "国路夼村"),
    "sanyuanzhu": ("山东省", "寿光市", "三元朱村"),
    "longjing": ("浙江省", "西湖区", "龙井村"),
    "huangdu": ("浙江省", "安吉县", "黄杜村"),
    "hekai": ("云南省", "勐海县", "贺开村"),
    "dounan": ("云南省", "呈贡区", "斗南村"),
}


def gtin(body: str) -> str:
    """A GTIN-13 from its first 12 digits, with the GS1 check digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    code = body + str((10 - total % 10) % 10)
    assert gtin_is_valid(code)
    return code


@dataclass
class Lot:
    days_ago: int
    quantity: int
    plot: str
    grower: str | None = None  # a username; the shop owner when None
    notes: str = ""
    # (kind, product applied, days before the harvest, dose, pre-harvest interval in days or None)
    inputs: list = field(default_factory=list)


@dataclass
class Item:
    title: str
    category: str
    unit: str
    weight: str
    price: str
    stock: int
    months: tuple = ()
    description: str = ""
    origin: str = ""
    min_order: int = 1
    perishable: bool = False
    cold_chain: bool = False
    organic: bool = False
    green_food: bool = False
    gi: bool = False
    gtin: str = ""
    photos: int = 1
    lots: list = field(default_factory=list)


@dataclass
class DemoShop:
    owner: str
    name: str
    kind: str
    village: str
    description: str
    verification: str = Shop.Verification.VERIFIED
    members: list = field(default_factory=list)  # (username, role)
    items: list = field(default_factory=list)


U = Product.Unit
FERT, PEST = InputApplication.Kind.FERTILISER, InputApplication.Kind.PESTICIDE
FARM, COOP = Shop.Kind.FARM, Shop.Kind.COOPERATIVE
MEMBER, MANAGER = ShopMember.Role.MEMBER, ShopMember.Role.MANAGER

SHOPS = [
    DemoShop("farmer", "王秀英家庭果园", FARM, "guoluku",
             "栖霞北山坡上的家庭果园，种苹果二十多年。果子树上自然熟，摘下当天发货。", items=[
        Item("Fuji apples", "apples", U.BOX, "5", "79.00", 150, (10, 11, 12, 1), origin="山东烟台栖霞",
             description="Crisp, sweet Fuji apples from the hills of Qixia, picked ripe and packed by hand.",
             green_food=True, gi=True, gtin=gtin("692357100001"), photos=2, lots=[
                 Lot(20, 120, "东坡 3 号地", inputs=[
                     (FERT, "腐熟羊粪有机肥", 160, "300 kg/亩", None),
                     (PEST, "石硫合剂", 120, "稀释 200 倍", 15),
                     (PEST, "甲基硫菌灵", 40, "稀释 1000 倍", 21)])]),
        Item("烟台红富士苹果 特级 果径85mm", "apples", U.BOX, "10", "138.00", 80, (10, 11, 12, 1),
             origin="山东烟台栖霞", description="<p>果径 85 mm 以上，套袋种植，<strong>脆甜多汁</strong>。</p>",
             gi=True, lots=[Lot(12, 60, "东坡 5 号地", inputs=[(FERT, "硫酸钾复合肥", 75, "40 kg/亩", None)])]),
        Item("栖霞嘎啦苹果", "apples", U.JIN, "0.5", "6.80", 400, (8, 9), origin="山东烟台栖霞", min_order=5,
             description="早熟品种，酸甜适口，适合榨汁和孩子零食。"),
        Item("黄元帅苹果（金帅）", "apples", U.BOX, "5", "65.00", 60, (10, 11), origin="山东烟台栖霞",
             description="果肉细腻绵软，香气浓，老人孩子都爱吃。"),
        Item("秋月梨", "pears", U.BOX, "5", "72.00", 90, (9, 10), origin="山东烟台栖霞", photos=2,
             description="皮薄肉细，汁水足，冷藏后更好吃。",
             lots=[Lot(35, 80, "西沟梨园", inputs=[(FERT, "饼肥", 120, "150 kg/亩", None)])]),
        Item("烟台大樱桃 美早", "stone-fruit", U.BOX, "2.5", "168.00", 40, (5, 6), origin="山东烟台",
             perishable=True, cold_chain=True, description="个大肉厚，冷链发货，收到请尽快冷藏。"),
    ]),
    DemoShop("farmer", "国路夼果品专业合作社", COOP, "guoluku",
             "国路夼村二十八户果农的合作社，统一技术、统一分级、统一发货。",
             members=[("farmer7", MEMBER), ("farmer8", MEMBER)], items=[
        Item("栖霞红富士 家庭装（果面有瑕疵）", "apples", U.BOX, "10", "59.00", 200, (10, 11, 12, 1, 2),
             origin="山东烟台栖霞", description="果面有小斑点或轻微磕碰，口感和特级果一样，价格实惠。"),
        Item("Organic Fuji apples, 12 pieces", "apples", U.BOX, "3.5", "98.00", 70, (10, 11, 12),
             origin="山东烟台栖霞", organic=True, photos=2,
             description="Certified organic orchard; no synthetic pesticides or fertiliser.",
             lots=[Lot(18, 50, "南沟 2 号园", grower="farmer7",
                       inputs=[(FERT, "羊粪有机肥", 150, "500 kg/亩", None)])]),
        Item("冻干苹果脆片", "dried-fruit", U.BAG, "0.1", "19.90", 300, tuple(range(1, 13)), origin="山东烟台栖霞",
             gtin=gtin("692357100018"), description="只用苹果，不加糖不油炸，低温冻干。"),
        Item("薄皮核桃", "nuts", U.BAG, "1", "45.00", 120, (9, 10, 11), origin="山东烟台栖霞",
             description="当年新核桃，皮薄易剥，自然晾干。"),
        Item("果园散养土鸡蛋", "eggs", U.DOZEN, "0.6", "28.00", 90, tuple(range(1, 13)), origin="山东烟台栖霞",
             perishable=True, description="鸡在果园里散养，吃虫子和青草，蛋黄颜色深。",
             lots=[Lot(2, 40, "果园鸡舍", grower="farmer8")]),
        Item("苹果花蜂蜜", "honey", U.BOTTLE, "0.5", "58.00", 80, (5, 6, 7), origin="山东烟台栖霞",
             description="春天苹果花期采的蜜，清香淡雅。"),
    ]),
    DemoShop("farmer4", "三元朱村绿色蔬菜合作社", COOP, "sanyuanzhu",
             "寿光三元朱村冬暖式大棚蔬菜，绿色食品认证，每天清晨采收。",
             members=[("farmer8", MEMBER), ("farmer7", MANAGER)], items=[
        Item("寿光粉番茄", "vegetables", U.KG, "1", "8.80", 500, tuple(range(1, 13)), origin="山东潍坊寿光",
             green_food=True, gi=True, photos=2, description="沙瓤粉果，酸甜浓郁，自然转红。",
             lots=[Lot(3, 300, "7 号大棚", grower="farmer8",
                       inputs=[(FERT, "水溶肥（高钾）", 20, "5 kg/亩", None),
                               (PEST, "枯草芽孢杆菌", 15, "稀释 800 倍", 3)])]),
        Item("Shouguang mini cucumbers", "gourds", U.KG, "1", "9.50", 400, tuple(range(1, 13)),
             origin="山东潍坊寿光", green_food=True, description="Thin-skinned, crunchy mini cucumbers.",
             lots=[
                 Lot(6, 250, "3 号大棚", inputs=[(FERT, "生物有机肥", 45, "200 kg/亩", None)]),
                 # Sprayed after rain three days before picking: inside the 7-day interval.
                 Lot(1, 180, "5 号大棚", notes="雨后补喷一次。", inputs=[
                     (FERT, "水溶肥（平衡型）", 25, "5 kg/亩", None),
                     (PEST, "阿维菌素", 3, "稀释 2000 倍", 7)]),
             ]),
        Item("圆茄子", "vegetables", U.KG, "1", "5.60", 300, (5, 6, 7, 8, 9), origin="山东潍坊寿光",
             description="紫黑发亮，肉质紧实，红烧凉拌都好吃。"),
        Item("彩椒 红黄双色", "vegetables", U.BOX, "2.5", "32.00", 120, tuple(range(1, 13)), origin="山东潍坊寿光",
             green_food=True, description="甜椒不辣，厚肉多汁，可生吃。"),
        Item("大棚菠菜", "leafy-greens", U.JIN, "0.5", "4.50", 300, (10, 11, 12, 1, 2, 3), origin="山东潍坊寿光",
             perishable=True, cold_chain=True, min_order=2, description="叶片厚实，根红叶绿，现摘现发。"),
        Item("油豆角", "beans", U.JIN, "0.5", "6.50", 200, (6, 7, 8, 9), origin="山东潍坊寿光",
             perishable=True, description="豆荚宽厚，炖着吃软糯入味。"),
    ]),
    DemoShop("farmer4", "老刘家大棚", FARM, "sanyuanzhu", "老刘家三个大棚，种什么就卖什么，不打催熟药。",
             verification=Shop.Verification.UNVERIFIED, items=[
        Item("千禧樱桃番茄", "vegetables", U.BOX, "3", "45.00", 90, (11, 12, 1, 2, 3, 4), origin="山东潍坊寿光",
             description="小番茄，一口一个，甜度高。", photos=2),
        Item("水果黄瓜", "gourds", U.BOX, "2.5", "29.00", 100, tuple(range(1, 13)), origin="山东潍坊寿光",
             description="可以直接生吃的小黄瓜。"),
        Item("贝贝南瓜", "gourds", U.BOX, "5", "39.90", 80, (7, 8, 9, 10), origin="山东潍坊寿光",
             description="粉糯香甜，像板栗一样，蒸着吃最好。"),
        Item("小白菜", "leafy-greens", U.JIN, "0.5", "3.20", 200, tuple(range(1, 13)), origin="山东潍坊寿光",
             perishable=True, min_order=2, description="嫩叶小白菜，清炒下火锅都行。"),
        Item("大棚山药", "root-vegetables", U.BOX, "2.5", "49.00", 60, (10, 11, 12, 1), origin="山东潍坊寿光",
             description="沙地种植，口感面糯。"),
    ]),
    DemoShop("farmer2", "陈家龙井茶园", FARM, "longjing",
             "龙井村狮峰山下的家庭茶园，手工炒制，三代做茶。", items=[
        Item("西湖龙井 明前特级 250g", "green-tea", U.BOX, "0.25", "680.00", 30, (3, 4), origin="浙江杭州西湖龙井村",
             gi=True, gtin=gtin("693120400007"), photos=2,
             description="<p>清明前采摘一芽一叶初展，<strong>手工炒制</strong>，豆香明显。</p>",
             lots=[Lot(230, 40, "狮峰山茶园", inputs=[(FERT, "菜籽饼肥", 300, "150 kg/亩", None)])]),
        Item("Longjing green tea, pre-rain (Yuqian), 250 g", "green-tea", U.BOX, "0.25", "320.00", 50, (4, 5),
             origin="浙江杭州西湖龙井村", gi=True,
             description="Picked after Qingming and before Guyu; fuller taste, good for every day."),
        Item("龙井茶 口粮茶 500g 袋装", "green-tea", U.BAG, "0.5", "260.00", 60, (4, 5, 6), origin="浙江杭州西湖",
             description="夏前采的龙井，耐泡实惠，自家喝的口粮茶。"),
        Item("西湖春笋", "root-vegetables", U.KG, "1", "16.00", 80, (3, 4), origin="浙江杭州西湖",
             perishable=True, cold_chain=True, description="清晨挖的毛笋，鲜嫩无渣，油焖春笋首选。"),
        Item("龙井村土蜂蜜", "honey", U.BOTTLE, "0.5", "88.00", 40, (5, 6, 7, 8), origin="浙江杭州西湖龙井村",
             description="茶山上中华蜂的百花蜜，一年只取一次。"),
    ]),
    DemoShop("farmer2", "龙井村茶农合作社", COOP, "longjing", "龙井村茶农联合加工与销售，统一收鲜叶，统一炒制。",
             verification=Shop.Verification.PENDING, members=[("farmer5", MEMBER)], items=[
        Item("龙井二级 罐装 100g", "green-tea", U.PIECE, "0.1", "128.00", 100, (4, 5), origin="浙江杭州西湖",
             description="小罐装，送人自饮都合适。"),
        Item("九曲红梅 红茶 250g", "tea", U.BOX, "0.25", "198.00", 40, (4, 5), origin="浙江杭州西湖区",
             description="杭州传统红茶，条索弯曲如鱼钩，汤色红亮。"),
        Item("龙井茶礼盒 双罐 2×125g", "green-tea", U.BOX, "0.25", "468.00", 30, (3, 4),
             origin="浙江杭州西湖", gtin=gtin("693120400014"), description="明前龙井两罐装礼盒，附手提袋。"),
        Item("梅家坞龙井 茶末", "green-tea", U.BAG, "0.25", "49.00", 120, (4, 5, 6), origin="浙江杭州梅家坞",
             description="炒制时筛下的碎茶，味道浓，适合冷泡。"),
        Item("杭白菊 胎菊", "tea", U.BAG, "0.1", "35.00", 150, (10, 11), origin="浙江嘉兴桐乡",
             description="未开放的胎菊，泡水清甜，和龙井一起泡也好喝。"),
    ]),
    DemoShop("farmer5", "黄杜白茶园", FARM, "huangdu", "安吉黄杜村的白茶园，竹林环绕，生态种植。", items=[
        Item("Anji white tea, 125 g", "green-tea", U.BOX, "0.125", "298.00", 60, (4,), origin="浙江湖州安吉",
             gi=True, photos=2, description="A green tea with pale spring leaves, rich in amino acids.",
             lots=[Lot(220, 30, "黄杜 1 号茶园", inputs=[(FERT, "有机肥", 280, "200 kg/亩", None)])]),
        Item("安吉白茶 明前精品 250g", "green-tea", U.BOX, "0.25", "560.00", 25, (3, 4), origin="浙江湖州安吉",
             gi=True, organic=True, description="明前头采，叶白脉绿，鲜爽回甘。"),
        Item("安吉冬笋", "root-vegetables", U.KG, "1", "22.00", 100, (11, 12, 1), origin="浙江湖州安吉",
             perishable=True, description="竹林里挖的冬笋，个头小，口感脆嫩。"),
        Item("竹林散养土鸡", "poultry", U.PIECE, "1.5", "168.00", 30, tuple(range(1, 13)), origin="浙江湖州安吉",
             perishable=True, cold_chain=True, description="竹林散养一年以上，现杀冷链发货。"),
        Item("竹林土鸡蛋 30 枚", "eggs", U.BOX, "1.5", "45.00", 80, tuple(range(1, 13)), origin="浙江湖州安吉",
             perishable=True, description="竹林散养鸡下的蛋，蛋清浓稠。"),
        Item("手工笋干", "nuts-and-dried", U.BAG, "0.5", "69.00", 90, tuple(range(1, 13)), origin="浙江湖州安吉",
             description="春笋煮熟后自然晒干，泡发后炖肉一绝。"),
    ]),
    DemoShop("farmer5", "溪龙乡蜂农小铺", FARM, "huangdu", "跟着花期走的蜂农，春天在安吉，夏天去北方。",
             verification=Shop.Verification.UNVERIFIED, items=[
        Item("Wildflower honey, 500 g", "honey", U.BOTTLE, "0.5", "68.00", 100, (5, 6, 7, 8, 9),
             origin="浙江湖州安吉", description="Raw multi-floral honey from bamboo-forest hives."),
        Item("油菜花蜜 1kg", "honey", U.BOTTLE, "1", "78.00", 80, (3, 4, 5), origin="浙江湖州安吉",
             description="油菜花期的蜜，容易结晶，结晶后像猪油一样细腻。"),
        Item("洋槐蜜 500g", "honey", U.BOTTLE, "0.5", "75.00", 90, (5, 6), origin="陕西延安",
             gtin=gtin("693982700002"), description="水白色，不易结晶，味道清甜。", photos=2),
        Item("蜂巢蜜 整块", "honey", U.BOX, "0.5", "128.00", 30, (6, 7, 8), origin="浙江湖州安吉",
             description="连着蜂蜡一起吃的原始蜂巢蜜。"),
        Item("油菜蜂花粉", "honey", U.BAG, "0.25", "56.00", 60, (3, 4), origin="浙江湖州安吉",
             description="晒干的新鲜蜂花粉，可以直接嚼着吃。"),
    ]),
    DemoShop("farmer6", "贺开古茶山", FARM, "hekai", "勐海贺开村拉祜族古茶园，古树茶手工制作。", items=[
        Item("Raw Pu'er tea cake, 357 g (Hekai ancient trees)", "dark-tea", U.PIECE, "0.357", "398.00", 40,
             (3, 4), origin="云南西双版纳勐海贺开", gi=True, photos=2,
             description="Spring leaves from century-old trees, sun-dried and stone-pressed.",
             lots=[Lot(210, 60, "古茶园 A 区", notes="春茶头采。")]),
        Item("贺开古树 普洱熟茶 357g", "dark-tea", U.PIECE, "0.357", "268.00", 50, (3, 4, 5),
             origin="云南西双版纳勐海", gi=True, description="古树料渥堆发酵，汤色红浓，陈香明显。"),
        Item("普洱小沱茶 100g", "dark-tea", U.BOX, "0.1", "88.00", 100, tuple(range(1, 13)),
             origin="云南西双版纳勐海", description="一颗一泡，出差旅行方便带。"),
        Item("滇红 古树红茶 250g", "tea", U.BAG, "0.25", "158.00", 60, (3, 4, 5), origin="云南西双版纳勐海",
             description="金毫显露，蜜香甜润。"),
        Item("勐海野生蜂蜜", "honey", U.BOTTLE, "0.5", "98.00", 40, (2, 3, 4), origin="云南西双版纳勐海",
             description="山里野生蜂巢取的蜜，颜色深，味道浓。"),
    ]),
    DemoShop("farmer3", "勐海贺开茶叶专业合作社", COOP, "hekai", "贺开村茶农合作社，统一收购鲜叶，统一初制。",
             members=[("farmer6", MEMBER), ("farmer9", MEMBER)], items=[
        Item("普洱生茶 春茶饼 357g", "dark-tea", U.PIECE, "0.357", "218.00", 80, (3, 4), origin="云南西双版纳勐海",
             gtin=gtin("694561200003"), description="台地茶与古树茶拼配，适合存放。",
             lots=[Lot(200, 120, "曼弄老寨茶园", grower="farmer6",
                       inputs=[(FERT, "农家肥", 260, "1 t/亩", None)])]),
        Item("普洱熟茶 散茶 500g", "dark-tea", U.BAG, "0.5", "128.00", 100, tuple(range(1, 13)),
             origin="云南西双版纳勐海", description="宫廷级散茶，耐泡，煮着喝也好。"),
        Item("月光白 白茶 250g", "tea", U.BAG, "0.25", "148.00", 50, (3, 4, 9), origin="云南西双版纳勐海",
             description="一面白一面黑，月光下晾干，花果香。"),
        Item("勐海香米 5kg", "rice", U.BAG, "5", "59.00", 80, (10, 11, 12), origin="云南西双版纳勐海",
             description="傣家梯田种的香米，煮饭满屋香。", photos=2),
        Item("干牛肝菌 250g", "mushrooms", U.BAG, "0.25", "89.00", 60, (7, 8, 9), origin="云南西双版纳",
             description="雨季山里采的牛肝菌，切片晒干，炒肉炖汤都鲜。"),
    ]),
    DemoShop("farmer3", "杨丽高原果蔬", FARM, "dounan", "斗南的高原蔬菜和菌子，早上采，下午发。", items=[
        Item("高原球生菜", "leafy-greens", U.PIECE, "0.5", "5.80", 200, tuple(range(1, 13)), origin="云南昆明呈贡",
             perishable=True, cold_chain=True, description="高原冷凉种植，球紧叶脆。"),
        Item("荷兰豆", "beans", U.JIN, "0.5", "9.80", 150, (11, 12, 1, 2, 3, 4), origin="云南昆明呈贡",
             perishable=True, min_order=2, description="豆荚扁平鲜嫩，清炒几分钟就好。"),
        Item("小米辣", "vegetables", U.JIN, "0.5", "12.00", 100, (6, 7, 8, 9, 10), origin="云南昆明",
             description="云南小米辣，辣味足，做蘸水必备。"),
        Item("鲜鸡枞菌", "mushrooms", U.JIN, "0.5", "88.00", 30, (6, 7, 8), origin="云南楚雄",
             perishable=True, cold_chain=True, description="雨季野生鸡枞，当天采当天冷链发出。", photos=2),
        Item("云南小土豆（洋芋）", "root-vegetables", U.BAG, "5", "25.00", 100, (3, 4, 5, 6, 9, 10),
             origin="云南昆明", description="黄心小土豆，油炸煮烤都香糯。"),
        Item("Yunnan blueberries, 4 × 125 g", "berries", U.BOX, "0.5", "79.00", 60, (4, 5, 6, 7),
             origin="云南昆明呈贡", organic=True, perishable=True, cold_chain=True,
             description="Large, firm highland blueberries; keep refrigerated.",
             lots=[Lot(5, 40, "蓝莓 2 号棚", inputs=[
                 (FERT, "生物有机肥", 60, "300 kg/亩", None),
                 (PEST, "苦参碱", 30, "稀释 1000 倍", 10)])]),
    ]),
    DemoShop("farmer9", "斗南花果小铺", FARM, "dounan", "一家人打理的小果园和草莓棚，东西不多，都是自家种的。",
             verification=Shop.Verification.UNVERIFIED, items=[
        Item("高原草莓 红颜", "berries", U.BOX, "1.5", "68.00", 50, (12, 1, 2, 3, 4), origin="云南昆明呈贡",
             perishable=True, cold_chain=True, description="奶油草莓，香甜软糯，收到请冷藏。", photos=2,
             lots=[Lot(1, 30, "草莓 1 号棚")]),
        Item("云南沃柑 5kg", "citrus", U.BOX, "5", "59.00", 100, (1, 2, 3, 4), origin="云南玉溪",
             description="皮薄好剥，化渣多汁。"),
        Item("冰糖橙 5kg", "citrus", U.BOX, "5", "55.00", 80, (11, 12, 1), origin="云南玉溪新平",
             description="甜度高，酸度低，老人孩子都爱吃。"),
        Item("Yunnan mangoes, 5 kg", "tropical-fruit", U.BOX, "5", "88.00", 40, (6, 7, 8), origin="云南红河元江",
             perishable=True, description="Sweet, fibre-free mangoes, picked firm to ripen at home."),
        Item("紫皮百香果", "tropical-fruit", U.KG, "1", "16.00", 120, (7, 8, 9, 10, 11), origin="云南红河",
             description="果皮起皱时最甜，挖出果肉泡水喝。"),
    ]),
]


def _farmers() -> dict[str, User]:
    for username, name in EXTRA_FARMERS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"role": User.Role.FARMER, "display_name": name,
                                         "email": f"{username}@farmgate.example"})
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
    return {u.username: u for u in User.objects.filter(role=User.Role.FARMER)}


def _village(key: str) -> Village:
    province, county, name = VILLAGES[key]
    return Village.objects.get(province=province, county=county, name=name)


def _shop(spec: DemoShop, farmers: dict[str, User], admin: User | None, seed: int) -> Shop:
    owner = farmers[spec.owner]
    shop = Shop.objects.filter(owner=owner, name=spec.name).first()
    if shop is None:
        shop = services.create_shop(owner=owner, name=spec.name, kind=spec.kind, village=_village(spec.village),
                                    description=spec.description, contact_phone=f"1390535{seed:04d}")
    for username, role in spec.members:
        if not ShopMember.objects.filter(shop=shop, user=farmers[username]).exists():
            services.add_member(shop=shop, actor=owner, username=username, role=role)
    if shop.verification == Shop.Verification.UNVERIFIED:
        if spec.verification == Shop.Verification.PENDING:
            services.submit_verification(shop=shop, actor=owner,
                                         licence_photo=demo_photo("licence", seed, size=PHOTO_SIZE))
        elif spec.verification == Shop.Verification.VERIFIED and admin is not None:
            services.review_verification(shop=shop, reviewer=admin, approve=True)
    return shop


def _product(shop: Shop, item: Item, categories: dict[str, Category], farmers: dict[str, User],
             seed: int) -> Product:
    owner = shop.owner
    product = Product.objects.filter(shop=shop, title=item.title).first()
    if product is None:
        product = services.create_product(
            shop=shop, actor=owner, category=categories[item.category], title=item.title,
            description=item.description, unit=item.unit, unit_weight_kg=Decimal(item.weight),
            price=Decimal(item.price), stock=item.stock, min_order=item.min_order, perishable=item.perishable,
            cold_chain=item.cold_chain, season_months=item.months, origin=item.origin, organic=item.organic,
            green_food=item.green_food, geographical_indication=item.gi, gtin=item.gtin)
    if not ProductImage.objects.filter(product=product).exists():
        for n in range(item.photos):
            images.add_product_image(product=product, actor=owner, alt_text=item.title[:120],
                                     upload=demo_photo(f"{item.category} {item.title}", seed * 10 + n,
                                                       size=PHOTO_SIZE))
    if item.lots and not product.lots.exists():
        today = timezone.localdate()
        for spec in item.lots:
            harvested_on = today - timedelta(days=spec.days_ago)
            lot = services.record_lot(product=product, actor=owner, harvested_on=harvested_on,
                                      quantity=spec.quantity, grower=farmers[spec.grower] if spec.grower else None,
                                      plot=spec.plot, notes=spec.notes)
            for kind, name, days_before, dose, interval in spec.inputs:
                services.add_input_application(lot=lot, actor=owner, kind=kind, product_name=name,
                                               applied_on=harvested_on - timedelta(days=days_before), dose=dose,
                                               pre_harvest_interval_days=interval)
    return product


def load(out) -> None:
    farmers = _farmers()
    admin = User.objects.filter(username="admin", is_staff=True).first()
    categories = {c.slug: c for c in Category.objects.all()}
    products = 0
    for shop_seed, spec in enumerate(SHOPS, start=1):
        shop = _shop(spec, farmers, admin, shop_seed)
        for item_seed, item in enumerate(spec.items, start=1):
            _product(shop, item, categories, farmers, shop_seed * 100 + item_seed)
            products += 1
    _weighed_product(categories, farmers)
    # Photos of an earlier load get the variants added since (smaller widths, AVIF, placeholders).
    images.schedule_missing_variants()
    out.write(f"Demo catalogue: {len(SHOPS)} shops, {products + 1} products (farmers farmer to farmer9, "
              f"password '{DEMO_PASSWORD}').")


# Sold by weight: ¥4.80 per kg, about 5 kg a melon, so ¥24.00 estimated each; weighed when the farm packs it.
WEIGHED = Item("麒麟西瓜（按重量）", "gourds", Product.Unit.PIECE, "5", "24.00", 40, (6, 7, 8), origin="山东潍坊寿光",
               perishable=True, description="按实际重量计价：每公斤 4.80 元，约 5 公斤一个，打包时称重。",
               lots=[Lot(2, 60, "2 号大棚")])


def _weighed_product(categories: dict, farmers: dict) -> None:
    shop = Shop.objects.filter(name="老刘家大棚").first()
    if shop is None:
        return
    product = _product(shop, WEIGHED, categories, farmers, seed=999)
    if not product.is_weighed:
        services.update_product(product=product, actor=shop.owner, pricing=Product.Pricing.WEIGHT,
                                kg_price=Decimal("4.80"))
