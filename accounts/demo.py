"""Demo users, one or more per role, with Chinese and English names."""
from .models import Address, User

# Public demo credentials, printed by `make run`; load_demo refuses to run in production.
DEMO_PASSWORD = "farmgate-demo"  # noqa: S105
STAFF_PASSWORD = "farmgate-admin"  # noqa: S105

DEMO_USERS = [
    # username, role, display name, email
    ("buyer", User.Role.BUYER, "李娜 Li Na", "buyer@farmgate.example"),
    ("buyer2", User.Role.BUYER, "Emma Zhang 张艾玛", "buyer2@farmgate.example"),
    ("farmer", User.Role.FARMER, "王秀英 Wang Xiuying", "farmer@farmgate.example"),
    ("farmer2", User.Role.FARMER, "陈建国 Chen Jianguo", "farmer2@farmgate.example"),
    ("farmer3", User.Role.FARMER, "杨丽 Yang Li", "farmer3@farmgate.example"),
    ("agent", User.Role.AGENT, "刘强 Liu Qiang", "agent@farmgate.example"),
]


def load(out) -> None:
    for username, role, name, email in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"role": role, "display_name": name, "email": email}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
    admin, created = User.objects.get_or_create(
        username="admin",
        defaults={"role": User.Role.STAFF, "display_name": "管理员 Admin", "email": "admin@farmgate.example",
                  "is_staff": True, "is_superuser": True},
    )
    if created:
        admin.set_password(STAFF_PASSWORD)
        admin.save()
    buyer = User.objects.get(username="buyer")
    if not buyer.addresses.exists():
        Address.objects.create(user=buyer, name="李娜", phone="13800138000", province="上海市", city="上海市",
                               district="徐汇区", line="漕溪北路 88 号 5 楼", postal_code="200030", is_default=True)
    out.write(f"Demo users (password '{DEMO_PASSWORD}'): " + ", ".join(u[0] for u in DEMO_USERS))
    out.write(f"Staff user: admin / {STAFF_PASSWORD}")
