"""The public privacy page (POLICY-PUBLISHED), in Vietnamese and English, built
from the live configuration: purposes, deadlines and the DPO's contact."""

import html
from typing import Any

from api.settings import Settings
from domain import Purpose
from domain.subject_requests import ACKNOWLEDGE_WORKING_DAYS, EXECUTION_DAYS

TEXT: dict[str, dict[str, Any]] = {
    "vi": {
        "title": "Chính sách bảo vệ dữ liệu cá nhân",
        "controller": "Bên kiểm soát dữ liệu",
        "purposes": "Mục đích xử lý",
        "basis": "Cơ sở pháp lý",
        "retention": "Thời gian lưu trữ (ngày)",
        "rights": "Quyền của bạn và thời hạn trả lời",
        "right": "Quyền",
        "deadline": "Thời hạn thực hiện (ngày, có bên xử lý)",
        "acknowledge": "Mỗi yêu cầu được xác nhận trong vòng {n} ngày làm việc.",
        "extension": "Mỗi thời hạn có thể được gia hạn một lần, có nêu lý do.",
        "how": "Cách thực hiện quyền",
        "how_text": "Gửi yêu cầu qua biểu mẫu công khai (POST /v1/public/requests) "
        "hoặc liên hệ người phụ trách bảo vệ dữ liệu cá nhân. Chúng tôi xác minh "
        "danh tính trước khi thực hiện yêu cầu.",
        "complain": "Bạn có quyền khiếu nại với chúng tôi và với cơ quan chuyên "
        "trách bảo vệ dữ liệu cá nhân (Bộ Công an).",
        "contact": "Liên hệ người phụ trách bảo vệ dữ liệu cá nhân",
        "kinds": {
            "access": "Xem và nhận bản sao dữ liệu",
            "rectify": "Chỉnh sửa dữ liệu",
            "erase": "Xóa dữ liệu",
            "restrict": "Hạn chế xử lý",
            "object": "Phản đối xử lý, ngừng quảng cáo",
            "withdraw-consent": "Rút lại sự đồng ý",
        },
        "bases": {
            "consent": "sự đồng ý",
            "agreement": "thực hiện hợp đồng",
            "legal-obligation": "nghĩa vụ pháp lý",
        },
    },
    "en": {
        "title": "Personal data protection policy",
        "controller": "Data controller",
        "purposes": "Purposes of processing",
        "basis": "Legal basis",
        "retention": "Retention (days)",
        "rights": "Your rights and our deadlines",
        "right": "Right",
        "deadline": "Done within (days, with processors)",
        "acknowledge": "Every request is acknowledged within {n} working days.",
        "extension": "Each deadline may be extended once, with a stated reason.",
        "how": "How to exercise your rights",
        "how_text": "Send a request through the public form (POST "
        "/v1/public/requests) or contact the data protection officer. We verify "
        "your identity before acting on a request.",
        "complain": "You may complain to us and to the personal data protection "
        "authority (the Ministry of Public Security).",
        "contact": "Data protection officer",
        "kinds": {
            "access": "See and receive a copy of your data",
            "rectify": "Correct your data",
            "erase": "Erase your data",
            "restrict": "Restrict processing",
            "object": "Object to processing, stop advertising",
            "withdraw-consent": "Withdraw consent",
        },
        "bases": {
            "consent": "consent",
            "agreement": "performing an agreement",
            "legal-obligation": "legal obligation",
        },
    },
}


def privacy_page(settings: Settings, purposes: list[Purpose], lang: str) -> str:
    t = TEXT[lang]
    e = html.escape
    purpose_rows = "".join(
        f"<tr><td>{e(p.title_vi if lang == 'vi' else p.title_en)}</td>"
        f"<td>{e(t['bases'][p.legal_basis])}</td><td>{p.retention_days}</td></tr>"
        for p in purposes
        if not p.retired
    )
    right_rows = "".join(
        f"<tr><td>{e(t['kinds'][kind])}</td><td>{days} ({with_processors})</td></tr>"
        for kind, (days, with_processors) in EXECUTION_DAYS.items()
    )
    other = "en" if lang == "vi" else "vi"
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{e(t['title'])}</title></head><body>"
        f'<p><a href="?lang={other}" hreflang="{other}">{other.upper()}</a></p>'
        f"<h1>{e(t['title'])}</h1>"
        f"<p>{e(t['controller'])}: {e(settings.controller_name)}</p>"
        f"<h2>{e(t['purposes'])}</h2><table><tr><th>{e(t['purposes'])}</th>"
        f"<th>{e(t['basis'])}</th><th>{e(t['retention'])}</th></tr>{purpose_rows}"
        f"</table><h2>{e(t['rights'])}</h2>"
        f"<p>{e(t['acknowledge'].format(n=ACKNOWLEDGE_WORKING_DAYS))} "
        f"{e(t['extension'])}</p><table><tr><th>{e(t['right'])}</th>"
        f"<th>{e(t['deadline'])}</th></tr>{right_rows}</table>"
        f"<h2>{e(t['how'])}</h2><p>{e(t['how_text'])}</p><p>{e(t['complain'])}</p>"
        f"<h2>{e(t['contact'])}</h2><p>{e(settings.dpo_contact)}</p>"
        "</body></html>"
    )
