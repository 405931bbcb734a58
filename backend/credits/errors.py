"""Error codes of credit projects."""

from __future__ import annotations

from backend.kit.errors import DomainError


class WrongProjectState(DomainError):
    code = "WRONG_PROJECT_STATE"
    message_en = "The project is {status}: it cannot {step} now."
    message_zh = "项目当前为 {status}，现在不能执行该步骤（{step}）。"


class WrongIssuanceState(DomainError):
    code = "WRONG_ISSUANCE_STATE"
    message_en = "The request is {status}: it cannot {step} now."
    message_zh = "申请当前为 {status}，现在不能执行该步骤（{step}）。"


class NoticeNotOver(DomainError):
    code = "NOTICE_NOT_OVER"
    message_en = "The public notice runs until {ends_on} inclusive."
    message_zh = "公示期至 {ends_on}（含）结束。"


class OpenObjections(DomainError):
    code = "OPEN_OBJECTIONS"
    message_en = "{count} objections are not resolved yet."
    message_zh = "尚有 {count} 条异议未处理。"


class PeriodOverlaps(DomainError):
    code = "PERIOD_OVERLAPS"
    message_en = "The period overlaps another request of this project."
    message_zh = "监测期与本项目的其他申请重叠。"


class NothingToIssue(DomainError):
    code = "NOTHING_TO_ISSUE"
    message_en = "No unreserved, delegated records make a whole kilogram in this period."
    message_zh = "该监测期内可计入的减排量不足 1 千克。"


class BlockNotMovable(DomainError):
    code = "BLOCK_NOT_MOVABLE"
    message_en = "These units are {status} and cannot move."
    message_zh = "这些减排量{status_zh}，不能再转移、注销或转出。"


class NotEnoughUnits(DomainError):
    code = "NOT_ENOUGH_UNITS"
    message_en = "The block holds {available} kg; {requested} kg were asked for."
    message_zh = "该区块仅有 {available} 千克，请求 {requested} 千克。"


class ExportRefused(DomainError):
    code = "EXPORT_REFUSED"
    message_en = "The carbon trading platform refused the export (转出): {reason}."
    message_zh = "交易平台拒绝了转出：{reason}。"
