"""Ship the category tree and real places (province, city, county, township) as data."""
from django.db import migrations

CATEGORIES = [
    # slug, Chinese, English, children
    ("fruit", "水果", "Fruit", [
        ("apples", "苹果", "Apples"), ("citrus", "柑橘橙柚", "Citrus"), ("pears", "梨", "Pears"),
        ("stone-fruit", "桃李杏", "Stone fruit"), ("berries", "浆果", "Berries"),
        ("tropical-fruit", "热带水果", "Tropical fruit"), ("kiwi", "猕猴桃", "Kiwi fruit"),
    ]),
    ("vegetables", "蔬菜", "Vegetables", [
        ("leafy-greens", "叶菜", "Leafy greens"), ("root-vegetables", "根茎类", "Root vegetables"),
        ("gourds", "瓜类", "Gourds and squash"), ("beans", "豆类蔬菜", "Beans and peas"),
    ]),
    ("grain-and-oil", "粮油", "Grain and oil", [
        ("rice", "大米", "Rice"), ("flour", "面粉杂粮", "Flour and coarse grains"), ("oil", "食用油", "Cooking oil"),
    ]),
    ("tea", "茶叶", "Tea", [
        ("green-tea", "绿茶", "Green tea"), ("oolong", "乌龙茶", "Oolong"), ("dark-tea", "普洱黑茶", "Pu'er and dark tea"),
    ]),
    ("eggs-and-poultry", "禽蛋", "Eggs and poultry", [
        ("eggs", "鸡蛋鸭蛋", "Eggs"), ("poultry", "土鸡鸭鹅", "Poultry"),
    ]),
    ("meat", "肉类", "Meat", [("pork", "猪肉", "Pork"), ("beef-and-lamb", "牛羊肉", "Beef and lamb")]),
    ("aquatic", "水产", "Aquatic products", [("fish", "鱼", "Fish"), ("shellfish", "虾蟹贝", "Shrimp, crab and shellfish")]),
    ("mushrooms", "菌菇", "Mushrooms", []),
    ("nuts-and-dried", "坚果干货", "Nuts and dried goods", [
        ("nuts", "坚果", "Nuts"), ("dried-fruit", "果干", "Dried fruit"),
    ]),
    ("honey", "蜂蜜", "Honey", []),
]

VILLAGES = [
    # province, city, county, township, village, English name
    ("山东省", "烟台市", "栖霞市", "桃村镇", "国路夼村", "Guoluku"),
    ("山东省", "烟台市", "栖霞市", "松山街道", "东院头村", "Dongyuantou"),
    ("山东省", "烟台市", "蓬莱区", "大辛店镇", "木兰沟村", "Mulangou"),
    ("山东省", "潍坊市", "寿光市", "孙家集街道", "三元朱村", "Sanyuanzhu"),
    ("浙江省", "杭州市", "西湖区", "西湖街道", "龙井村", "Longjing"),
    ("浙江省", "杭州市", "西湖区", "西湖街道", "梅家坞村", "Meijiawu"),
    ("浙江省", "湖州市", "安吉县", "溪龙乡", "黄杜村", "Huangdu"),
    ("浙江省", "丽水市", "庆元县", "屏都街道", "菊水村", "Jushui"),
    ("云南省", "普洱市", "思茅区", "南屏镇", "整碗村", "Zhengwan"),
    ("云南省", "西双版纳傣族自治州", "勐海县", "勐混镇", "贺开村", "Hekai"),
    ("云南省", "昆明市", "呈贡区", "斗南街道", "斗南村", "Dounan"),
    ("黑龙江省", "哈尔滨市", "五常市", "民乐朝鲜族乡", "民乐村", "Minle"),
    ("江西省", "赣州市", "信丰县", "安西镇", "坪石村", "Pingshi"),
    ("陕西省", "延安市", "洛川县", "凤栖街道", "谷咀村", "Guzui"),
    ("四川省", "成都市", "蒲江县", "鹤山街道", "明月村", "Mingyue"),
    ("福建省", "泉州市", "安溪县", "感德镇", "槐川村", "Huaichuan"),
    ("广西壮族自治区", "百色市", "田东县", "林逢镇", "东养村", "Dongyang"),
    ("湖北省", "宜昌市", "秭归县", "郭家坝镇", "烟灯堡村", "Yandengbao"),
]


def forwards(apps, schema_editor):
    Category = apps.get_model("shops", "Category")
    Village = apps.get_model("shops", "Village")
    for position, (slug, zh, en, children) in enumerate(CATEGORIES):
        parent, _ = Category.objects.update_or_create(
            slug=slug, defaults={"name_zh": zh, "name_en": en, "position": position, "parent": None})
        for child_position, (child_slug, child_zh, child_en) in enumerate(children):
            Category.objects.update_or_create(
                slug=child_slug,
                defaults={"name_zh": child_zh, "name_en": child_en, "position": child_position, "parent": parent})
    for province, city, county, township, name, name_en in VILLAGES:
        Village.objects.get_or_create(province=province, county=county, township=township, name=name,
                                      defaults={"city": city, "name_en": name_en})


class Migration(migrations.Migration):
    dependencies = [("shops", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
