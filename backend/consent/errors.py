"""Error codes of consent."""

from __future__ import annotations

from backend.kit.errors import DomainError


class PlatformUnavailable(DomainError):
    code = "PLATFORM_UNAVAILABLE"
    message_en = "There is no such active data platform."
    message_zh = "该数据平台不存在或已被暂停。"


class NoticeUnknown(DomainError):
    code = "NOTICE_UNKNOWN"
    message_en = "There is no such published consent notice."
    message_zh = "该授权告知书不存在或未发布。"


class GrantEnded(DomainError):
    code = "GRANT_ENDED"
    message_en = "This authorisation has already ended ({status})."
    message_zh = "该授权已终止（{status}）。"


class LinkCodeRejected(DomainError):
    code = "LINK_CODE_INVALID"
    message_en = "The link code is wrong, used or expired."
    message_zh = "绑定码错误、已使用或已过期。"


class UnknownSubjects(DomainError):
    code = "UNKNOWN_SUBJECTS"
    message_en = "{count} of the subject ids are not linked to your platform."
    message_zh = "有 {count} 个主体标识未与贵平台绑定。"
