"""A small Vietnamese demo data set, loaded through the application like any input."""

from domain import (
    CRM,
    Actor,
    AgreementCapture,
    ConsentCapture,
    CustomerProfile,
    PersonalDetails,
    notice_sha256,
)
from domain.errors import PurposeExistsError

DEMO_ACTOR = Actor(user_id="demo-loader", role="admin")
SALES = Actor(user_id="demo-sales", role="sales")

PURPOSES = [
    {
        "code": "marketing-email",
        "title_vi": "Gửi thư quảng cáo qua e-mail",
        "title_en": "Marketing e-mails",
        "legal_basis": "consent",
        "data_categories": [("họ tên và e-mail", "basic")],
        "retention_days": 730,
        "text_vi": "Chúng tôi dùng họ tên và e-mail của bạn để gửi ưu đãi. "
        "Bạn có thể rút lại sự đồng ý bất cứ lúc nào.",
        "text_en": "We use your name and e-mail to send offers. "
        "You may withdraw your consent at any time.",
    },
    {
        "code": "customer-care",
        "title_vi": "Chăm sóc khách hàng theo hợp đồng",
        "title_en": "Customer care under the service agreement",
        "legal_basis": "agreement",
        "data_categories": [("liên hệ", "basic"), ("địa chỉ", "basic")],
        "retention_days": 1825,
        "text_vi": "Chúng tôi dùng thông tin liên hệ để thực hiện hợp đồng dịch vụ.",
        "text_en": "We use contact details to perform the service agreement.",
    },
]

CUSTOMERS = [
    (
        "Nguyễn Văn An",
        "0912 345 678",
        "an.nguyen@example.vn",
        "12 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội",
        "1985-02-14",
    ),
    (
        "Trần Thị Bình",
        "0987 654 321",
        "binh.tran@example.vn",
        "45 Lê Lợi, Quận 1, TP. Hồ Chí Minh",
        "1992-07-03",
    ),
    (
        "Lê Hoàng Cường",
        "0903 112 233",
        "cuong.le@example.vn",
        "8 Trần Phú, Hải Châu, Đà Nẵng",
        "1978-11-30",
    ),
    (
        "Phạm Thu Dung",
        "0934 556 677",
        None,
        "101 Nguyễn Trãi, Thanh Xuân, Hà Nội",
        None,
    ),
    (
        "Hoàng Minh Đức",
        "+84 28 3822 1234",
        "duc.hoang@example.vn",
        None,
        "2001-01-09",
    ),
    (
        "Vũ Ngọc Hà",
        "0977 889 900",
        "ha.vu@example.vn",
        "23 Hai Bà Trưng, Ninh Kiều, Cần Thơ",
        "1995-05-21",
    ),
]


def load_demo(crm: CRM) -> int:
    """Defines the demo purposes and registers the demo customers; returns how many."""
    hashes = {}
    for purpose in PURPOSES:
        hashes[purpose["code"]] = _define(crm, purpose)
    if hashes["marketing-email"] is None:
        return 0  # loaded before
    for number, (name, phone, email, address, born) in enumerate(CUSTOMERS):
        marketing = ConsentCapture(
            "marketing-email",
            1,
            hashes["marketing-email"],
            "web-form",
            f"demo-{number}",
        )
        care = AgreementCapture("customer-care", f"HD-2026-{100 + number}")
        written = crm.register_customer(
            SALES,
            PersonalDetails(name, phone, email, address, born),
            CustomerProfile(
                stage=("lead", "prospect", "customer")[number % 3],
                owner="demo-sales",
                tags=["demo"],
            ),
            consents=[marketing] if number % 2 == 0 else [],
            agreements=[care] if number % 2 == 1 or number == 0 else [],
        )
        crm.log_interaction(
            SALES, written.id, "call", f"Gọi điện tư vấn gói dịch vụ lần {number + 1}."
        )
    return len(CUSTOMERS)


def _define(crm: CRM, purpose: dict[str, object]) -> str | None:
    try:
        crm.define_purpose(
            DEMO_ACTOR,
            str(purpose["code"]),
            str(purpose["title_vi"]),
            str(purpose["title_en"]),
            str(purpose["legal_basis"]),
            purpose["data_categories"],  # type: ignore[arg-type]
            int(purpose["retention_days"]),  # type: ignore[call-overload]
        )
    except PurposeExistsError:
        return None
    text_vi, text_en = str(purpose["text_vi"]), str(purpose["text_en"])
    crm.publish_notice(DEMO_ACTOR, str(purpose["code"]), text_vi, text_en)
    return notice_sha256(text_vi, text_en)
