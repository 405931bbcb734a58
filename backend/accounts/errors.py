"""Error codes of accounts: login, sessions, organisations and platforms."""

from __future__ import annotations

from backend.kit.errors import DomainError


class InvalidPhone(DomainError):
    code = "INVALID_PHONE"
    message_en = "This is not a mainland China mobile number."
    message_zh = "不是有效的中国大陆手机号码。"


class RateLimited(DomainError):
    code = "RATE_LIMITED"
    message_en = "Too many requests; try again in {retry_after_seconds} seconds."
    message_zh = "请求过于频繁，请 {retry_after_seconds} 秒后再试。"


class LoginCodeRejected(DomainError):
    """Base of the ways a login code can fail; one GraphQL type, several codes."""


class LoginCodeWrong(LoginCodeRejected):
    code = "LOGIN_CODE_WRONG"
    message_en = "The code is wrong; {attempts_left} attempts left."
    message_zh = "验证码错误，还可尝试 {attempts_left} 次。"


class LoginCodeExpired(LoginCodeRejected):
    code = "LOGIN_CODE_EXPIRED"
    message_en = "The code has expired or was never sent; ask for a new one."
    message_zh = "验证码已过期或不存在，请重新获取。"


class LoginCodeUsed(LoginCodeRejected):
    code = "LOGIN_CODE_USED"
    message_en = "The code was already used; ask for a new one."
    message_zh = "验证码已使用，请重新获取。"


class LoginCodeExhausted(LoginCodeRejected):
    code = "LOGIN_CODE_EXHAUSTED"
    message_en = "Too many wrong attempts; ask for a new code."
    message_zh = "错误次数过多，请重新获取验证码。"


class RefreshTokenRejected(DomainError):
    code = "REFRESH_TOKEN_INVALID"
    message_en = "The session has ended; sign in again."
    message_zh = "会话已失效，请重新登录。"


class RefreshTokenReused(RefreshTokenRejected):
    code = "REFRESH_TOKEN_REUSED"
    message_en = "This refresh token was already used; the session is ended for safety."
    message_zh = "刷新令牌已被使用过，为安全起见会话已终止。"


class SecondFactorRejected(DomainError):
    code = "SECOND_FACTOR_INVALID"
    message_en = "The authenticator code is wrong or was already used."
    message_zh = "动态验证码错误或已使用。"


class SecondFactorRequired(SecondFactorRejected):
    code = "SECOND_FACTOR_REQUIRED"
    message_en = (
        "This organisation needs an authenticator code (set one up first if you have none)."
    )
    message_zh = "该机构需要动态验证码（如未绑定请先绑定）。"


class NotAMember(DomainError):
    code = "NOT_A_MEMBER"
    message_en = "You are not an active member of this organisation."
    message_zh = "您不是该机构的有效成员。"


class OrganisationSuspended(DomainError):
    code = "ORGANISATION_SUSPENDED"
    message_en = "This organisation is suspended."
    message_zh = "该机构已被暂停。"


class InvitationInvalid(DomainError):
    code = "INVITATION_INVALID"
    message_en = "There is no open invitation for you here."
    message_zh = "没有待您接受的邀请。"
