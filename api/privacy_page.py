"""The public privacy page (POLICY-PUBLISHED), in Vietnamese and English, built
from the live configuration: purposes (whether each discloses data), the
sensitive data processed and what each notice says of it (SENSITIVE-DATA), who
consents for a child (CHILDREN), deadlines and the DPO's contact."""

import html
from typing import Any

from api.privacy import STYLE
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
        "discloses": "Chia sẻ dữ liệu cho bên khác",
        "yes": "có",
        "no": "không",
        "sensitive": "Dữ liệu cá nhân nhạy cảm",
        "sensitive_intro": "Chúng tôi xử lý các dữ liệu cá nhân nhạy cảm dưới đây, "
        "chỉ cho các mục đích được nêu; chỉ nhân viên có quyền truy cập chặt chẽ "
        "hơn mới được đọc các dữ liệu này.",
        "sensitive_none": "Chúng tôi không xử lý dữ liệu cá nhân nhạy cảm.",
        "sensitive_data": "Dữ liệu nhạy cảm",
        "sensitive_statement": "Điều chúng tôi thông báo cho bạn",
        "children": "Trẻ em: với trẻ dưới 16 tuổi, người đại diện theo pháp luật "
        "đồng ý thay trẻ; trẻ từ đủ 7 tuổi trở lên cũng đồng ý với các mục đích có "
        "chia sẻ dữ liệu cho bên khác.",
        "rights": "Quyền của bạn và thời hạn trả lời",
        "right": "Quyền",
        "deadline": "Thời hạn thực hiện (ngày, có bên xử lý)",
        "acknowledge": "Mỗi yêu cầu được xác nhận trong vòng {n} ngày làm việc.",
        "extension": "Mỗi thời hạn có thể được gia hạn một lần, có nêu lý do.",
        "how": "Cách thực hiện quyền",
        "how_text": "Gửi yêu cầu qua biểu mẫu dưới đây (hoặc POST "
        "/v1/public/requests) hoặc liên hệ người phụ trách bảo vệ dữ liệu cá "
        "nhân. Chúng tôi xác minh danh tính trước khi thực hiện yêu cầu.",
        "complain": "Bạn có quyền khiếu nại với chúng tôi và với cơ quan chuyên "
        "trách bảo vệ dữ liệu cá nhân (Bộ Công an).",
        "contact": "Liên hệ người phụ trách bảo vệ dữ liệu cá nhân",
        "form": "Gửi yêu cầu",
        "form_kind": "Yêu cầu",
        "form_name": "Họ và tên",
        "form_contact": "Email hoặc số điện thoại để liên hệ",
        "form_purposes": "Mục đích (khi phản đối hoặc rút lại sự đồng ý)",
        "form_details": "Nội dung",
        "form_send": "Gửi",
        "received": "Chúng tôi đã nhận yêu cầu của bạn",
        "receipt": "Mã yêu cầu: {id}. Xác nhận trước ngày {ack}; thực hiện trước "
        "ngày {due}. Chúng tôi sẽ liên hệ để xác minh danh tính của bạn.",
        "refused": "Chưa gửi được yêu cầu",
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
        "discloses": "Discloses data to others",
        "yes": "yes",
        "no": "no",
        "sensitive": "Sensitive personal data",
        "sensitive_intro": "We process the sensitive personal data below, only for "
        "the purposes listed; only staff with stricter access may read it.",
        "sensitive_none": "We process no sensitive personal data.",
        "sensitive_data": "Sensitive data",
        "sensitive_statement": "What we tell you",
        "children": "Children: for a child under 16, their legal representative "
        "consents; a child aged 7 to 15 also consents to purposes that disclose "
        "data to others.",
        "rights": "Your rights and our deadlines",
        "right": "Right",
        "deadline": "Done within (days, with processors)",
        "acknowledge": "Every request is acknowledged within {n} working days.",
        "extension": "Each deadline may be extended once, with a stated reason.",
        "how": "How to exercise your rights",
        "how_text": "Send a request with the form below (or POST "
        "/v1/public/requests), or contact the data protection officer. We verify "
        "your identity before acting on a request.",
        "complain": "You may complain to us and to the personal data protection "
        "authority (the Ministry of Public Security).",
        "contact": "Data protection officer",
        "form": "Send a request",
        "form_kind": "Request",
        "form_name": "Full name",
        "form_contact": "E-mail or phone number to reach you",
        "form_purposes": "Purposes (to object or withdraw consent)",
        "form_details": "Details",
        "form_send": "Send",
        "received": "We have received your request",
        "receipt": "Request reference: {id}. Acknowledged by {ack}; done by {due}. "
        "We will contact you to verify your identity.",
        "refused": "Your request was not sent",
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
    active = [p for p in purposes if not p.retired]
    purpose_rows = "".join(
        f"<tr><td>{e(p.title_vi if lang == 'vi' else p.title_en)}</td>"
        f"<td>{e(t['bases'][p.legal_basis])}</td><td>{p.retention_days}</td>"
        f"<td>{e(t['yes'] if p.discloses else t['no'])}</td></tr>"
        for p in active
    )
    right_rows = "".join(
        f"<tr><td>{e(t['kinds'][kind])}</td><td>{days} ({with_processors})</td></tr>"
        for kind, (days, with_processors) in EXECUTION_DAYS.items()
    )
    other = "en" if lang == "vi" else "vi"
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{e(t['title'])}</title><style>{STYLE}</style></head><body>"
        f'<p><a href="?lang={other}" hreflang="{other}">{other.upper()}</a></p>'
        f"<h1>{e(t['title'])}</h1>"
        f"<p>{e(t['controller'])}: {e(settings.controller_name)}</p>"
        f"<h2>{e(t['purposes'])}</h2><table><tr><th>{e(t['purposes'])}</th>"
        f"<th>{e(t['basis'])}</th><th>{e(t['retention'])}</th>"
        f"<th>{e(t['discloses'])}</th></tr>{purpose_rows}</table>"
        f"{_sensitive_processing(active, lang)}<p>{e(t['children'])}</p>"
        f"<h2>{e(t['rights'])}</h2>"
        f"<p>{e(t['acknowledge'].format(n=ACKNOWLEDGE_WORKING_DAYS))} "
        f"{e(t['extension'])}</p><table><tr><th>{e(t['right'])}</th>"
        f"<th>{e(t['deadline'])}</th></tr>{right_rows}</table>"
        f"<h2>{e(t['how'])}</h2><p>{e(t['how_text'])}</p><p>{e(t['complain'])}</p>"
        f"<h2>{e(t['contact'])}</h2><p>{e(settings.dpo_contact)}</p>"
        f"{_request_form(purposes, lang)}</body></html>"
    )


def _sensitive_processing(purposes: list[Purpose], lang: str) -> str:
    """SENSITIVE-DATA: each purpose with sensitive data, its sensitive categories
    and the statement of its latest notice, in the page's language."""
    t, e = TEXT[lang], html.escape
    sensitive = [p for p in purposes if p.sensitive]
    if not sensitive:
        return f"<h2>{e(t['sensitive'])}</h2><p>{e(t['sensitive_none'])}</p>"
    rows = "".join(
        f"<tr><td>{e(p.title_vi if lang == 'vi' else p.title_en)}</td>"
        f"<td>{e(', '.join(p.sensitive_categories))}</td>"
        f"<td>{e(_statement(p, lang) or '—')}</td></tr>"
        for p in sensitive
    )
    return (
        f"<h2>{e(t['sensitive'])}</h2><p>{e(t['sensitive_intro'])}</p><table><tr>"
        f"<th>{e(t['purposes'])}</th><th>{e(t['sensitive_data'])}</th>"
        f"<th>{e(t['sensitive_statement'])}</th></tr>{rows}</table>"
    )


def _statement(purpose: Purpose, lang: str) -> str | None:
    notice = purpose.latest_notice or {}
    statement: str | None = notice.get(f"sensitive_statement_{lang}")
    return statement


def _request_form(purposes: list[Purpose], lang: str) -> str:
    """A plain HTML form that posts to the public request form endpoint."""
    t, e = TEXT[lang], html.escape
    kinds = "".join(
        f'<option value="{kind}">{e(label)}</option>'
        for kind, label in t["kinds"].items()
    )
    choices = "".join(
        f'<option value="{e(p.code)}">'
        f"{e(p.title_vi if lang == 'vi' else p.title_en)}</option>"
        for p in purposes
        if not p.retired
    )
    return (
        f"<h2>{e(t['form'])}</h2>"
        f'<form method="post" action="/v1/public/requests/form?lang={lang}">'
        f'<p><label>{e(t["form_kind"])} <select name="kind">{kinds}</select>'
        f'</label></p><p><label>{e(t["form_name"])} <input name="requester_name" '
        f'required maxlength="200"></label></p><p><label>{e(t["form_contact"])} '
        f'<input name="requester_contact" required maxlength="200"></label></p>'
        f'<p><label>{e(t["form_purposes"])} <select name="purpose_codes" multiple>'
        f"{choices}</select></label></p><p><label>{e(t['form_details'])}<br>"
        f'<textarea name="details" rows="5" cols="60" maxlength="5000"></textarea>'
        f'</label></p><p><button type="submit">{e(t["form_send"])}</button></p>'
        "</form>"
    )


def form_answer(lang: str, title_key: str, message: str) -> str:
    """The page answering a form post: received, or what to fix."""
    t, e = TEXT[lang], html.escape
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{e(t[title_key])}</title><style>{STYLE}</style></head>"
        f"<body><h1>{e(t[title_key])}</h1>"
        f'<p>{e(message)}</p><p><a href="/v1/public/privacy?lang={lang}">'
        f"{e(t['title'])}</a></p></body></html>"
    )
